"""A real livekit-server with its SIP API on loopback, for tests: redis-server (where LiveKit keeps SIP
trunks and dispatch rules; without it every SIP call answers "sip not connected (redis required)") and
livekit-server, each a ManagedProcess on free ports, started and stopped like etcd and kube-apiserver.

    with LiveKitServer() as lk:
        lk.url, lk.api_key, lk.api_secret      # what a client needs
        lk.reset()                             # FLUSHDB: no trunk or rule left from the test before
        lk.stop_livekit(); lk.start_livekit()  # "LiveKit is down", and back (state stays in Redis)
        lk.request_counts()                    # the API requests the server itself counted

Only loopback: `--dev --bind 127.0.0.1` still opens LiveKit's media ports on every interface, so the
config binds the API to 127.0.0.1, turns the RTC TCP port off and pins the one RTC UDP port, the node IP
and the ICE candidates to 127.0.0.1. Redis listens on 127.0.0.1 only, with persistence off.

Binaries: livekit-server from LIVEKIT_SERVER_BINARY, else $LIVEKIT_BIN/livekit-server, else
<repo>/.cache/livekit/bin/livekit-server (all built by `make livekit`, hack/livekit/build.sh);
redis-server from REDIS_SERVER, else PATH (Debian's package, installed by `make livekit`).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from twilio_operator.testing.binaries import BinaryNotFoundError, repo_root
from twilio_operator.testing.ports import free_ports, free_udp_port
from twilio_operator.testing.process import ManagedProcess

__all__ = ["LiveKitServer", "LiveKitStartupError", "find_livekit_server", "find_redis_server"]

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
RUNNING_DELAY = 0.2  # seconds; see _wait_livekit_ready
START_ATTEMPTS = 3  # fresh ports each time: a free port can be taken between probing and binding
# The counter livekit-server keeps of its own Twirp API requests (pkg/telemetry/prometheus/node.go).
REQUEST_COUNTER = "livekit_node_twirp_request_status"

# Loopback only: never route through an HTTP(S)_PROXY from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LiveKitStartupError(RuntimeError):
    """redis-server or livekit-server did not become ready; the message carries the tail of its log."""


def find_livekit_server() -> Path:
    candidates: list[Path] = []
    if explicit := os.environ.get("LIVEKIT_SERVER_BINARY"):
        candidates.append(Path(explicit))
    if shared := os.environ.get("LIVEKIT_BIN"):
        candidates.append(Path(shared) / "livekit-server")
    if (root := repo_root()) is not None:
        candidates.append(root / ".cache" / "livekit" / "bin" / "livekit-server")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    searched = "\n  ".join(str(p) for p in candidates) or "(no candidate locations)"
    raise BinaryNotFoundError(
        "livekit-server not found; run `make livekit` to build it from its Go module "
        f"(or set LIVEKIT_SERVER_BINARY). Searched:\n  {searched}"
    )


def find_redis_server() -> Path:
    explicit = os.environ.get("REDIS_SERVER")
    found = explicit or shutil.which("redis-server")
    if found and os.access(found, os.X_OK):
        return Path(found)
    where = f"REDIS_SERVER={explicit} is not an executable" if explicit else "not on PATH"
    raise BinaryNotFoundError(
        f"redis-server {where}; run `make livekit` to install Debian's redis-server package "
        "(or set REDIS_SERVER)"
    )


class LiveKitServer:
    """redis-server + livekit-server in a work directory (a fresh temp dir unless given); see module
    docstring. The API key and secret are random per instance; the secret is 40 characters (LiveKit
    wants at least 32)."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._requested_workdir = workdir
        self.workdir = Path()
        self.api_key = "APItest" + secrets.token_hex(4)
        self.api_secret = secrets.token_urlsafe(30)  # 40 characters
        self.port = 0  # the API (HTTP and WebSocket)
        self.rtc_udp_port = 0
        self.metrics_port = 0
        self.redis_port = 0
        self._redis: ManagedProcess | None = None
        self._livekit: ManagedProcess | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LiveKitServer:
        livekit, redis = find_livekit_server(), find_redis_server()  # fail before any side effect
        self.workdir = self._make_workdir()
        atexit.register(self.stop)
        try:
            self._start_processes(livekit, redis)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop livekit-server, then redis-server (SIGTERM, then SIGKILL); remove the work directory.

        Idempotent.
        """
        for process in (self._livekit, self._redis):
            if process is not None:
                process.stop()
        self._livekit = self._redis = None
        if self.workdir != Path():
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = Path()
        atexit.unregister(self.stop)

    def __enter__(self) -> LiveKitServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop_livekit(self, *, graceful: bool = True) -> None:
        """Stop livekit-server only (graceful=False: SIGKILL, like a crash); Redis and its data stay."""
        livekit = self._require(self._livekit)
        if graceful:
            livekit.stop()
        else:
            livekit.kill()

    def start_livekit(self) -> None:
        """Start livekit-server again, on the same ports with the same key; returns once it serves."""
        livekit = self._require(self._livekit)
        livekit.start()
        self._wait_livekit_ready(livekit)

    def restart_livekit(self, *, graceful: bool = True) -> None:
        self.stop_livekit(graceful=graceful)
        self.start_livekit()

    def stop_redis(self) -> None:
        """Stop redis-server only: livekit-server keeps serving, and every SIP call fails (HTTP 500)."""
        self._require(self._redis).stop()

    def start_redis(self) -> None:
        """Start redis-server again, empty (no persistence), on the same port."""
        redis = self._require(self._redis)
        redis.start()
        _wait_until(redis, lambda: self._redis_command("PING") == "+PONG", "redis-server PING")

    def ensure_running(self) -> None:
        """Start whichever of redis-server and livekit-server a test stopped (a fixture's teardown)."""
        redis, livekit = self._require(self._redis), self._require(self._livekit)
        if not redis.running():
            self.start_redis()
        if not livekit.running():
            self.start_livekit()

    def reset(self) -> None:
        """Delete every trunk and dispatch rule: FLUSHDB of LiveKit's Redis database.

        Two keys of LiveKit's own go too: `nodes` (its node registration), which livekit-server writes
        again within 2 s (seen here), and `livekit_version`, which it only reads and writes at start
        (pkg/service/redisstore.go); the SIP API reads neither.
        """
        answer = self._redis_command("FLUSHDB")
        if answer != "+OK":
            raise RuntimeError(f"redis-server answered FLUSHDB with {answer!r}")

    # -- what tests use ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pids(self) -> dict[str, int]:
        processes = (self._redis, self._livekit)
        return {p.name: p.pid for p in processes if p is not None and p.pid is not None}

    @property
    def livekit_log(self) -> Path:
        return self._log("livekit-server")

    def request_counts(self) -> dict[tuple[str, str], int]:
        """(Twirp method, error code or "" for success) -> requests answered, as livekit-server counts
        them itself (its Prometheus counter), since it started. E.g. ("CreateSIPInboundTrunk",
        "invalid_argument"). Requests that its authentication refused never reach the counter."""
        with _OPENER.open(f"http://{HOST}:{self.metrics_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        counts: dict[tuple[str, str], int] = {}
        for line in text.splitlines():
            if not line.startswith(REQUEST_COUNTER + "{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
            key = (labels.get("method", ""), labels.get("code", ""))
            counts[key] = counts.get(key, 0) + int(float(line.rsplit(" ", 1)[1]))
        return counts

    def listening_addresses(self) -> set[tuple[str, str, int]]:
        """(protocol, address, port) of every socket livekit-server and redis-server listen on:
        TCP in LISTEN state and bound UDP sockets, from /proc (Linux)."""
        return {address for pid in self.pids.values() for address in _listening_sockets(pid)}

    # -- internals ------------------------------------------------------------------------------

    def _make_workdir(self) -> Path:
        if self._requested_workdir is None:
            return Path(tempfile.mkdtemp(prefix="twilio-livekit-"))
        self._requested_workdir.mkdir(parents=True, exist_ok=True)
        return self._requested_workdir

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _start_processes(self, livekit: Path, redis: Path) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port, self.metrics_port, self.redis_port = free_ports(3)
            self.rtc_udp_port = free_udp_port()
            self._redis = ManagedProcess("redis-server", self._redis_argv(redis), self._log("redis-server"))
            config = self.workdir / "livekit.yaml"
            config.write_text(json.dumps(self._livekit_config(), indent=2) + "\n")  # JSON is YAML
            config.chmod(0o600)  # it holds the API secret
            self._livekit = ManagedProcess(
                "livekit-server", [str(livekit), f"--config={config}"], self._log("livekit-server")
            )
            try:
                self._redis.start()
                _wait_until(self._redis, lambda: self._redis_command("PING") == "+PONG", "redis-server PING")
                self._livekit.start()
                self._wait_livekit_ready(self._livekit)
                return
            except LiveKitStartupError as error:
                for process in (self._livekit, self._redis):
                    process.stop()
                if attempt == START_ATTEMPTS or "address already in use" not in str(error):
                    raise

    def _redis_argv(self, redis: Path) -> list[str]:
        return [
            str(redis),
            "--bind",
            HOST,
            "--port",
            str(self.redis_port),
            "--save",
            "",  # no RDB snapshots
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]

    def _livekit_config(self) -> dict[str, object]:
        return {
            "port": self.port,
            "bind_addresses": [HOST],
            "keys": {self.api_key: self.api_secret},
            "redis": {"address": f"{HOST}:{self.redis_port}"},
            "rtc": {
                "tcp_port": 0,  # no ICE over TCP: its listener would bind every interface
                "udp_port": self.rtc_udp_port,
                "node_ip": HOST,
                "use_external_ip": False,
                "enable_loopback_candidate": True,
                "ips": {"includes": [f"{HOST}/32"]},
            },
            "prometheus": {"port": self.metrics_port},  # binds to bind_addresses; request_counts() reads it
            "logging": {"level": "info"},
        }

    def _wait_livekit_ready(self, livekit: ManagedProcess) -> None:
        def serving() -> bool:
            with _OPENER.open(self.url + "/", timeout=2) as resp:
                return bool(resp.status == 200)

        _wait_until(livekit, serving, "livekit-server GET /")
        # livekit-server serves 100 ms before it marks itself running (pkg/service/server.go, Start), and
        # drops a SIGTERM that arrives in between: it then never stops until SIGKILL. Seen here: a stop
        # 40 ms after the first answer took the full STOP_TIMEOUT.
        time.sleep(RUNNING_DELAY)

    def _redis_command(self, *words: str) -> str:
        """One Redis command in RESP over a socket; the first line of the answer ("+OK", "+PONG", ...)."""
        payload = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
        with socket.create_connection((HOST, self.redis_port), timeout=5) as sock:
            sock.sendall(payload.encode())
            answer = b""
            while not answer.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return answer.decode(errors="replace").split("\r\n", 1)[0]

    @staticmethod
    def _require(process: ManagedProcess | None) -> ManagedProcess:
        if process is None:
            raise RuntimeError("the LiveKit server is not started")
        return process


def _wait_until(process: ManagedProcess, check: Callable[[], bool], what: str) -> None:
    """Poll `check` until it holds; fail fast with the log tail if the process exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not process.running():
            raise LiveKitStartupError(f"{process.name} exited ({process.exit_code()}):\n{process.log_tail()}")
        try:
            if check():
                return
        except (OSError, ValueError):
            pass  # not listening yet, or still starting up
        time.sleep(0.05)
    raise LiveKitStartupError(
        f"{what} not ready after {START_TIMEOUT:.0f}s; {process.name} log:\n{process.log_tail()}"
    )


def _listening_sockets(pid: int) -> set[tuple[str, str, int]]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    found: set[tuple[str, str, int]] = set()
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        table = Path(f"/proc/{pid}/net/{protocol}")
        if not table.exists():
            continue
        for row in table.read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            listening = state == "0A" if protocol.startswith("tcp") else state == "07"  # LISTEN / UNCONN
            if inode in inodes and listening:
                found.add((protocol, *_decode_address(local)))
    return found


def _decode_address(hex_address: str) -> tuple[str, int]:
    """/proc/net's "0100007F:1F90" (little-endian words) -> ("127.0.0.1", 8080)."""
    address, port = hex_address.split(":")
    raw = bytes.fromhex(address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1]), int(port, 16)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words), int(port, 16)
