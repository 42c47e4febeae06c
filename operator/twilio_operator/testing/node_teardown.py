"""The local node's complete teardown, step by step, and the check that nothing is left.

It works from the node's layout alone (directory, namespace name, cgroup name), not from live process
handles, so `make node-down` cleans up after a node whose supervisor crashed as well as after a clean
stop. Every step runs even when an earlier one failed; the report names each step and what failed.

What a node leaves when nothing is done, and the step that removes it:
- containers and their shims (children of containerd, outliving it): stopped through containerd
  while it runs (`ctr tasks kill/delete`, `ctr containers delete`), else killed;
- processes in the node's network namespace or in its cgroups, or whose command line names its
  directory (a crashed supervisor's children): SIGTERM, then SIGKILL;
- mounts under its directory (pod volumes, container root filesystems, pod network namespaces,
  which containerd mounts there): unmounted, deepest first;
- its cgroups (in every cgroup v1 hierarchy): removed, deepest first;
- the kubelet's links in /var/log/containers that point into its directory;
- the network namespace, and with it the bridge, the veths, every iptables chain of kube-proxy, the
  kubelet and the CNI plugins, and the conntrack table: nothing of these was ever on the host.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from twilio_operator.testing.netns import NetworkNamespace
from twilio_operator.testing.node_config import NodeLayout

CGROUP_MOUNT = Path("/sys/fs/cgroup")
CONTAINER_LOG_LINKS = Path("/var/log/containers")
# The CNI library's cache (go-cni in containerd 1.6 has no setting for it): one file per sandbox and
# network, named <network>-<sandbox id>-<interface>; a CNI DEL removes them, a killed sandbox does not.
CNI_CACHE = Path("/var/lib/cni/results")
# Host directories the kubelet and the CNI library create when they are missing; a teardown removes
# them again if the node created them and they are empty.
HOST_DIRS = (CONTAINER_LOG_LINKS, Path("/var/lib/cni/results"), Path("/var/lib/cni"))
KILL_TIMEOUT = 10.0


@dataclass
class Step:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class TeardownReport:
    steps: list[Step] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(step.ok for step in self.steps) and not self.leftovers

    def lines(self) -> list[str]:
        out = [
            f"{s.name}: {'ok' if s.ok else 'FAILED'}{': ' + s.detail if s.detail else ''}" for s in self.steps
        ]
        out += [f"left behind: {item}" for item in self.leftovers]
        return out


def run_step(report: TeardownReport, name: str, action: Callable[[], str | None]) -> None:
    try:
        detail = action() or ""
    except Exception as error:  # every step runs; the report says which one failed and why
        report.steps.append(Step(name, False, f"{type(error).__name__}: {error}"))
    else:
        report.steps.append(Step(name, True, detail))


# -- what belongs to the node ---------------------------------------------------------------------


def unescape_mount_path(raw: str) -> str:
    """/proc/self/mountinfo escapes space, tab, newline and backslash as octal (\\040 ...)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        raw = raw.replace(code, char)
    return raw


def mounts_under(directory: Path, mountinfo: str | None = None) -> list[Path]:
    """Mount points at or below directory, deepest first (the order to unmount them in)."""
    if mountinfo is None:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    root = str(directory)
    found = set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = unescape_mount_path(fields[4])
        if point == root or point.startswith(root + "/"):
            found.add(point)
    return [Path(p) for p in sorted(found, key=lambda p: (p.count("/"), p), reverse=True)]


def cgroup_dirs(cgroup_root: str, mount: Path = CGROUP_MOUNT) -> list[Path]:
    """The node's cgroup directories in every hierarchy, deepest first."""
    found: list[Path] = []
    if not mount.is_dir():
        return found
    for hierarchy in sorted(mount.iterdir()):
        top = hierarchy / cgroup_root.strip("/")
        if top.is_dir():
            found.extend(Path(p) for p, _, _ in os.walk(top))
    return sorted(found, key=lambda p: (len(p.parts), str(p)), reverse=True)


def cgroup_pids(cgroup_root: str) -> set[int]:
    pids: set[int] = set()
    for directory in cgroup_dirs(cgroup_root):
        with contextlib.suppress(OSError):
            pids.update(int(line) for line in (directory / "cgroup.procs").read_text().split())
    return pids


def pids_naming(directory: Path) -> set[int]:
    """Processes whose command line contains the node's directory (its daemons, containerd's shims)."""
    needle = str(directory).encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
    return found


def node_pids(layout: NodeLayout) -> set[int]:
    return (
        set(NetworkNamespace(layout.netns).pids())
        | cgroup_pids(layout.cgroup_root)
        | pids_naming(layout.workdir)
    ) - {os.getpid()}


def log_links(directory: Path, links_dir: Path = CONTAINER_LOG_LINKS) -> list[Path]:
    """The kubelet's /var/log/containers/*.log links that point into the node's directory."""
    if not links_dir.is_dir():
        return []
    return [
        link
        for link in links_dir.iterdir()
        if link.is_symlink() and str(Path(os.readlink(link))).startswith(str(directory) + "/")
    ]


# -- the steps ------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def kill_all(pids: Iterable[int], timeout: float = KILL_TIMEOUT) -> list[int]:
    """SIGTERM, wait, SIGKILL; returns the pids still alive afterwards."""
    pids = [p for p in pids if _alive(p)]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while (pids := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pids:
            break
    return pids


def stop_containers(layout: NodeLayout, ctr: str = "ctr") -> str:
    """Kill and delete every container through the node's containerd (if it still answers), so that
    the shims exit on their own and remove their sockets."""
    record_sandbox_ids(layout, ids_on_disk(layout))  # also when containerd is gone
    socket = layout.containerd_socket
    if not socket.exists():
        return "containerd not running"

    def ctr_run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ctr, f"--address={socket}", "--namespace=k8s.io", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    listed = ctr_run("containers", "list", "--quiet")
    if listed.returncode != 0:
        return f"containerd does not answer ({listed.stderr.strip()}): containers are killed instead"
    containers = listed.stdout.split()
    record_sandbox_ids(layout, containers)
    for container in containers:
        ctr_run("tasks", "kill", "--all", "--signal=SIGKILL", container)
    for container in containers:
        deadline = time.monotonic() + 15
        while True:
            deleted = ctr_run("tasks", "delete", container)
            if deleted.returncode == 0 or "not found" in deleted.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.3)  # the task is still exiting
        ctr_run("containers", "delete", container)
    left = ctr_run("containers", "list", "--quiet").stdout.split()
    if left:
        raise RuntimeError(f"containers still there: {' '.join(left)}")
    return f"{len(containers)} containers deleted"


def argv0_name(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(
            Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        ).name
    return ""


def stop_named(layout: NodeLayout, name: str) -> str:
    """Stop the node's processes of one binary (e.g. the kubelet, before its containers go, so that
    it does not start them again)."""
    pids = [pid for pid in pids_naming(layout.workdir) if argv0_name(pid) == name]
    alive = kill_all(pids)
    if alive:
        raise RuntimeError(f"still running after SIGKILL: {alive}")
    return f"stopped {pids}" if pids else "not running"


def ids_on_disk(layout: NodeLayout) -> list[str]:
    """Container and sandbox ids from containerd's directories (readable without containerd)."""
    found: list[str] = []
    for directory in (
        layout.containerd_dir / "root" / "io.containerd.grpc.v1.cri" / "sandboxes",
        layout.containerd_dir / "state" / "io.containerd.runtime.v2.task" / "k8s.io",
    ):
        if directory.is_dir():
            found.extend(entry.name for entry in directory.iterdir())
    return found


def record_sandbox_ids(layout: NodeLayout, ids: Iterable[str]) -> None:
    """Remember container ids for the CNI cache sweep (kept in logs/, which outlives the teardown)."""
    path = layout.logs / "container-ids"
    known = set(path.read_text().split()) if path.exists() else set()
    layout.logs.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(sorted(known | set(ids))) + "\n")


def cni_cache_entries(layout: NodeLayout, cache: Path = CNI_CACHE) -> list[Path]:
    """The CNI cache files of the node's sandboxes: its network's, and the loopback ones of its ids."""
    if not cache.is_dir():
        return []
    ids_file = layout.logs / "container-ids"
    ids = set(ids_file.read_text().split()) if ids_file.exists() else set()
    network = layout.netns  # the node's CNI network is named after its namespace
    return [
        entry
        for entry in cache.iterdir()
        if entry.name.startswith(f"{network}-")
        or (
            entry.name.startswith("cni-loopback-")
            and entry.name.removeprefix("cni-loopback-").removesuffix("-lo") in ids
        )
    ]


def remove_cni_cache(layout: NodeLayout) -> str:
    entries = cni_cache_entries(layout)
    for entry in entries:
        entry.unlink(missing_ok=True)
    return f"{len(entries)} removed" if entries else "none"


def remove_created_host_dirs(layout: NodeLayout) -> str:
    """The host directories of HOST_DIRS that did not exist before the node started, if empty."""
    created = layout.logs / "created-host-dirs"
    if not created.exists():
        return "none"
    removed, kept = [], []
    for line in created.read_text().split():
        directory = Path(line)
        try:
            directory.rmdir()
            removed.append(line)
        except FileNotFoundError:
            pass
        except OSError:
            kept.append(line)  # not empty: something else uses it now
    return f"removed {removed}" + (f", kept (not empty) {kept}" if kept else "")


def note_host_dirs(layout: NodeLayout) -> None:
    """Before a start: which of HOST_DIRS are missing (so the teardown knows it made them)."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    missing = [str(d) for d in HOST_DIRS if not d.exists()]
    (layout.logs / "created-host-dirs").write_text("\n".join(missing) + "\n")


def kill_node_processes(layout: NodeLayout) -> str:
    pids = node_pids(layout)
    alive = kill_all(pids)
    if alive:
        raise RuntimeError(f"still running after SIGKILL: {alive}")
    return f"{len(pids)} stopped" if pids else "none left"


def unmount_all(layout: NodeLayout) -> str:
    mounts = mounts_under(layout.workdir)
    failed = []
    for point in mounts:
        result = subprocess.run(["umount", str(point)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            lazy = subprocess.run(
                ["umount", "--lazy", str(point)], capture_output=True, text=True, check=False
            )
            if lazy.returncode != 0:
                failed.append(f"{point}: {lazy.stderr.strip()}")
    if failed:
        raise RuntimeError("; ".join(failed))
    return f"{len(mounts)} unmounted" if mounts else "none"


def remove_cgroups(layout: NodeLayout) -> str:
    dirs = cgroup_dirs(layout.cgroup_root)
    failed = []
    for directory in dirs:  # deepest first
        for attempt in range(50):
            try:
                directory.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError as error:  # EBUSY while the last task is still exiting
                if attempt == 49:
                    failed.append(f"{directory}: {error.strerror}")
                time.sleep(0.1)
    if failed:
        raise RuntimeError("; ".join(failed))
    return f"{len(dirs)} removed" if dirs else "none"


def remove_log_links(layout: NodeLayout) -> str:
    links = log_links(layout.workdir)
    for link in links:
        link.unlink(missing_ok=True)
    return f"{len(links)} removed" if links else "none"


def delete_namespace(layout: NodeLayout) -> str:
    namespace = NetworkNamespace(layout.netns)
    if not namespace.exists():
        return "already gone"
    if pids := namespace.pids():
        raise RuntimeError(f"processes still inside: {pids}")
    namespace.delete()
    return "deleted (with its bridge, veths, iptables chains and conntrack table)"


def remove_files(layout: NodeLayout, keep: tuple[str, ...] = ("logs", "node.json")) -> str:
    """Everything in the directory but the logs (kept for a post-mortem) and node.json (what a later
    `make node-down` checks again)."""
    if not layout.workdir.is_dir():
        return "none"
    removed = 0
    for entry in layout.workdir.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            subprocess.run(["rm", "-rf", "--one-file-system", str(entry)], check=True, timeout=120)
        else:
            entry.unlink()
        removed += 1
    return f"{removed} entries removed, logs kept in {layout.logs}"


def leftovers(layout: NodeLayout) -> list[str]:
    """What still belongs to the node after a teardown: must be empty."""
    found = []
    if pids := node_pids(layout):
        found.append(f"processes {sorted(pids)}")
    if mounts := mounts_under(layout.workdir):
        found.append(f"mounts {[str(m) for m in mounts]}")
    if NetworkNamespace(layout.netns).exists():
        found.append(f"network namespace {layout.netns}")
    if dirs := cgroup_dirs(layout.cgroup_root):
        found.append(f"cgroups {[str(d) for d in dirs]}")
    if links := log_links(layout.workdir):
        found.append(f"log links {[str(link) for link in links]}")
    if entries := cni_cache_entries(layout):
        found.append(f"CNI cache entries {[str(e) for e in entries]}")
    return found


def teardown(
    layout: NodeLayout,
    *,
    graceful: Sequence[tuple[str, Callable[[], str | None]]] = (),
    stop_daemons: Callable[[], str | None] | None = None,
) -> TeardownReport:
    """Every step, in order (first the graceful ones of a live node, e.g. deleting its pods so that
    the kubelet stops their sandboxes); then the check that nothing is left."""
    report = TeardownReport()
    for name, action in graceful:
        run_step(report, name, action)
    run_step(report, "stop the kubelet", lambda: stop_named(layout, "kubelet"))
    run_step(report, "stop containers through containerd", lambda: stop_containers(layout))
    if stop_daemons is not None:
        run_step(report, "stop the node's daemons", stop_daemons)
    run_step(report, "kill what is left of the node's processes", lambda: kill_node_processes(layout))
    run_step(report, "unmount everything under the node's directory", lambda: unmount_all(layout))
    run_step(report, "remove the node's cgroups", lambda: remove_cgroups(layout))
    run_step(report, "remove the kubelet's links in /var/log/containers", lambda: remove_log_links(layout))
    run_step(report, "remove the CNI cache entries of the node's sandboxes", lambda: remove_cni_cache(layout))
    run_step(report, "remove the host directories the node created", lambda: remove_created_host_dirs(layout))
    run_step(report, "delete the network namespace", lambda: delete_namespace(layout))
    run_step(report, "remove the node's files", lambda: remove_files(layout))
    report.leftovers = leftovers(layout)
    return report
