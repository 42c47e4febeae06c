"""A network namespace of the local node's own, and loopback forwarders into it.

The local node (testing/node.py) runs every component inside one network namespace that this module
creates, so that the node address, the pod range and the Service range exist only there: nothing on
the host's interfaces but loopback is ever a target. The host reaches the inside through forwarders:
a listening socket on the host's 127.0.0.1 whose connections are relayed, by a thread that entered the
namespace, to an address inside it (the API server, the Twilio emulator, a Service's ClusterIP).

Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), Linux, and iproute2's `ip` and util-linux's `nsenter`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
_BUFFER = 65536


class NetnsError(RuntimeError):
    """A namespace operation failed; the message carries the command's error output."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")


def _setns(path: Path) -> None:
    """Move the calling thread (only it) into the network namespace at path."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise NetnsError(f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def inode(path: Path) -> int:
    """The namespace's identity: processes inside it have /proc/PID/ns/net with the same inode."""
    return os.stat(path).st_ino


class NetworkNamespace:
    """A named network namespace (`ip netns add NAME`), with loopback up."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def path(self) -> Path:
        return NETNS_DIR / self.name

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> None:
        _ip("netns", "add", self.name)
        _ip("-n", self.name, "link", "set", "lo", "up")

    def add_address(self, cidr: str, device: str = "lo") -> None:
        _ip("-n", self.name, "address", "add", cidr, "dev", device)

    def add_route(self, destination: str, device: str, source: str) -> None:
        _ip("-n", self.name, "route", "add", destination, "dev", device, "src", source)

    def set_sysctl(self, key: str, value: str) -> None:
        """A per-namespace sysctl under /proc/sys/net (written from a thread inside the namespace)."""
        proc_path = Path("/proc/sys") / key.replace(".", "/")
        self.call(lambda: proc_path.write_text(value))

    def delete(self) -> None:
        if self.exists():
            _ip("netns", "delete", self.name)

    def argv(self, argv: Sequence[str]) -> list[str]:
        """argv run inside the namespace: nsenter enters only the network namespace (a process started
        with `ip netns exec` would get a private mount namespace, and the kubelet's volume mounts must
        stay visible to containerd)."""
        return ["nsenter", f"--net={self.path}", "--", *argv]

    def run(
        self, argv: Sequence[str], *, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise NetnsError(f"{' '.join(argv)} (in {self.name}): {result.stderr.strip()}")
        return result

    def call(self, fn: Callable[[], T], timeout: float = 60) -> T:
        """fn() run on a thread that entered the namespace (a socket it opens lives there)."""
        box: dict[str, T | BaseException] = {}

        def target() -> None:
            try:
                _setns(self.path)
                box["result"] = fn()
            except BaseException as error:  # handed to the caller below
                box["error"] = error

        thread = threading.Thread(target=target, name=f"netns-{self.name}", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"call inside {self.name} still running after {timeout:.0f}s")
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["result"]  # type: ignore[return-value]

    def pids(self) -> list[int]:
        """Processes whose network namespace is this one (e.g. left behind by a crash)."""
        if not self.exists():
            return []
        wanted = inode(self.path)
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.stat(entry / "ns" / "net").st_ino == wanted:
                    found.append(int(entry.name))
        return found


class Forwarder:
    """127.0.0.1:port on the host, relayed to (host, port) inside a namespace, until close()."""

    def __init__(self, namespace: NetworkNamespace, target: tuple[str, int], listen_port: int = 0) -> None:
        self.namespace = namespace
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", listen_port), reuse_port=False)
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"forward-{self.port}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            try:
                _setns(self.namespace.path)
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                return  # the client sees the connection closed, as with a refused connection
            with upstream:
                upstream.settimeout(None)
                _pump(client, upstream, self._closed)


def _pump(a: socket.socket, b: socket.socket, closed: threading.Event) -> None:
    """Copy bytes both ways until both directions ended (half-closes are passed on)."""
    peers = {a: b, b: a}
    open_reads = {a, b}
    while open_reads and not closed.is_set():
        readable, _, _ = select.select(list(open_reads), [], [], 1.0)
        for sock in readable:
            try:
                data = sock.recv(_BUFFER)
            except OSError:
                data = b""
            if data:
                try:
                    peers[sock].sendall(data)
                except OSError:
                    return
            else:
                open_reads.discard(sock)
                with contextlib.suppress(OSError):
                    peers[sock].shutdown(socket.SHUT_WR)
