"""`make cluster`: a detached control plane kept alive by a supervisor process.

    python -m twilio_operator.testing.cluster_cli up [--dir DIR] [--without-controller-manager]
                                                                      # last line: the kubeconfig path
    python -m twilio_operator.testing.cluster_cli status [--dir DIR]
    python -m twilio_operator.testing.cluster_cli down [--dir DIR]

State directory (default <repo>/.cache/cluster): supervisor.pid, pids.json, kubeconfig, supervisor.log and
work/ (certificates, etcd data, process logs). The supervisor owns etcd, kube-apiserver and
kube-controller-manager (left out with --without-controller-manager); on SIGTERM it stops them, and if it
is killed outright the kernel kills them (parent-death signal).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from twilio_operator.testing.binaries import find_binaries, repo_root
from twilio_operator.testing.controlplane import START_ATTEMPTS, ControlPlane, start_timeout

MODULE = "twilio_operator.testing.cluster_cli"
# The module a supervisor ran as before this one was its own entry point (controlplane.py ran this
# module's main): a supervisor started then is still one of ours.
EARLIER_MODULE = "twilio_operator.testing.controlplane"
DOWN_TIMEOUT = 30.0
WITHOUT_CONTROLLER_MANAGER = "--without-controller-manager"


def default_state_dir() -> Path:
    root = repo_root()
    return root / ".cache" / "cluster" if root else Path.home() / ".cache" / "twilio-operator" / "cluster"


def is_running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned supervisor may sit unreaped under a container's init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _supervisor_pid(state: Path) -> int | None:
    """The recorded supervisor pid if that process is still one of ours (guards against pid reuse)."""
    try:
        pid = int((state / "supervisor.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    ours = any(module.encode() in cmdline for module in (MODULE, EARLIER_MODULE))
    return pid if ours and is_running(pid) else None


def _recorded_pids(state: Path) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in json.loads((state / "pids.json").read_text()).items()}
    except (OSError, ValueError):
        return {}


def up(state: Path, *, controller_manager: bool = True) -> int:
    if _supervisor_pid(state) and (state / "kubeconfig").is_file():
        print(f"already running (state in {state})", file=sys.stderr)
        print(state / "kubeconfig")
        return 0
    # Fail here, with the `make controlplane` hint, rather than in a detached process.
    find_binaries(controller_manager=controller_manager)
    shutil.rmtree(state, ignore_errors=True)  # leftovers of a crashed run
    state.mkdir(parents=True)
    started = time.monotonic()
    argv = [sys.executable, "-m", MODULE, "supervise", "--dir", str(state)]
    if not controller_manager:
        argv.append(WITHOUT_CONTROLLER_MANAGER)
    with (state / "supervisor.log").open("wb") as log:
        supervisor = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command, the terminal and make
        )
    (state / "supervisor.pid").write_text(f"{supervisor.pid}\n")
    deadline = started + start_timeout() * START_ATTEMPTS + 10
    while not (state / "ready").exists():
        if supervisor.poll() is not None or time.monotonic() > deadline:
            tail = (state / "supervisor.log").read_text(errors="replace")[-4000:]
            print(f"control plane failed to start:\n{tail}", file=sys.stderr)
            down(state)
            return 1
        time.sleep(0.1)
    pids = _recorded_pids(state)
    print(f"control plane ready in {time.monotonic() - started:.1f}s; pids {pids}", file=sys.stderr)
    print(f"use: export KUBECONFIG={state / 'kubeconfig'}; stop: make cluster-down", file=sys.stderr)
    print(state / "kubeconfig")
    return 0


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def supervise(state: Path, *, controller_manager: bool = True) -> int:
    """Runs detached: start the control plane, publish its kubeconfig, wait for a signal, stop it."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_exit)  # unwinds through `with`, which stops every process in order
    with ControlPlane(state / "work", controller_manager=controller_manager) as control_plane:
        shutil.copy(control_plane.kubeconfig, state / "kubeconfig")
        pids = {"supervisor": os.getpid(), **control_plane.pids}
        (state / "pids.json").write_text(json.dumps(pids) + "\n")
        (state / "ready").write_text(control_plane.url + "\n")
        print(f"ready: {control_plane.url} pids {pids}", flush=True)
        while True:
            signal.pause()
    return 0  # pragma: no cover - the loop only ends by SystemExit


def down(state: Path) -> int:
    """Stop the supervisor (SIGTERM, then SIGKILL), make sure its children are gone, remove the state."""
    children = {k: v for k, v in _recorded_pids(state).items() if k != "supervisor"}
    if (pid := _supervisor_pid(state)) is not None:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, DOWN_TIMEOUT):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
    for name, child in children.items():
        if _is_binary(child, name):  # the supervisor normally reaped them already
            os.kill(child, signal.SIGKILL)
            _wait_gone(child, 5)
    shutil.rmtree(state, ignore_errors=True)
    print(f"control plane stopped; removed {state}", file=sys.stderr)
    return 0


def status(state: Path) -> int:
    pid = _supervisor_pid(state)
    if pid is None:
        print(f"not running (state dir {state})")
        return 3
    url = (state / "ready").read_text().strip() if (state / "ready").exists() else "(starting)"
    print(f"running: {url}; pids {_recorded_pids(state)}; kubeconfig {state / 'kubeconfig'}")
    return 0


def _is_binary(pid: int, name: str) -> bool:
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return argv0.endswith(name.encode()) and is_running(pid)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "supervise"])
    parser.add_argument(
        "--dir", type=Path, default=None, help="state directory (default <repo>/.cache/cluster)"
    )
    parser.add_argument(
        WITHOUT_CONTROLLER_MANAGER,
        dest="controller_manager",
        action="store_false",
        help="no kube-controller-manager: deleted namespaces stay Terminating, no garbage collection",
    )
    options = parser.parse_args(argv)
    state = (options.dir or default_state_dir()).resolve()
    if options.command == "up":
        return up(state, controller_manager=options.controller_manager)
    if options.command == "supervise":
        return supervise(state, controller_manager=options.controller_manager)
    return down(state) if options.command == "down" else status(state)


if __name__ == "__main__":
    sys.exit(main())
