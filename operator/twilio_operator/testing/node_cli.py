"""`make node` / `make node-down`: a local node kept alive by a detached supervisor process.

    python -m twilio_operator.testing.node_cli up [--dir DIR]       # last line: the kubeconfig path
    python -m twilio_operator.testing.node_cli status [--dir DIR]
    python -m twilio_operator.testing.node_cli down [--dir DIR]     # complete teardown; exit 1 if incomplete

State directory (default <repo>/.cache/node): supervisor.pid, supervisor.log, kubeconfig, and work/ (the
node's own directory: certificates, configuration, data, logs/). The supervisor owns the node's
processes and the loopback forwarder to its API server; on SIGTERM it tears the node down. `down` then
runs the teardown again from work/node.json, which also cleans up after a supervisor that crashed,
and prints every step with its outcome.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from twilio_operator.testing.binaries import repo_root
from twilio_operator.testing.cluster_cli import is_running
from twilio_operator.testing.node import Node, NodeStartError, load_layout, step_timeout
from twilio_operator.testing.node_teardown import teardown

MODULE = "twilio_operator.testing.node_cli"
DOWN_TIMEOUT = 120.0
START_STEPS = 14


def default_state_dir() -> Path:
    if explicit := os.environ.get("NODE_DIR"):
        return Path(explicit)
    root = repo_root()
    return root / ".cache" / "node" if root else Path.home() / ".cache" / "twilio-operator" / "node"


def _supervisor_pid(state: Path) -> int | None:
    try:
        pid = int((state / "supervisor.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if MODULE.encode() in cmdline and is_running(pid) else None


def up(state: Path) -> int:
    if _supervisor_pid(state) and (state / "ready").exists():
        print(f"already running (state in {state})", file=sys.stderr)
        print(state / "kubeconfig")
        return 0
    if (state / "work").exists():  # leftovers of a crashed run: tear them down first
        down(state, quiet=True)
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    started = time.monotonic()
    with (state / "supervisor.log").open("wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", MODULE, "supervise", "--dir", str(state)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command, the terminal and make
        )
    (state / "supervisor.pid").write_text(f"{supervisor.pid}\n")
    deadline = started + step_timeout() * START_STEPS
    while not (state / "ready").exists():
        if supervisor.poll() is not None or time.monotonic() > deadline:
            tail = (state / "supervisor.log").read_text(errors="replace")[-6000:]
            print(f"node failed to start:\n{tail}", file=sys.stderr)
            down(state, quiet=True)
            return 1
        time.sleep(0.2)
    print(f"node ready in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(f"use: export KUBECONFIG={state / 'kubeconfig'}; stop: make node-down", file=sys.stderr)
    print(state / "kubeconfig")
    return 0


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def supervise(state: Path) -> int:
    """Runs detached: start the node, publish its kubeconfig, wait for a signal, tear the node down."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_exit)
    node = Node(state / "work")
    try:
        node.start()
    except NodeStartError as error:
        print(f"node up: {error}", flush=True)
        _print_report(node.teardown_report.lines() if node.teardown_report else [])
        return 1
    try:
        shutil.copy(node.kubeconfig, state / "kubeconfig")
        print(f"ready; start steps (s): {node.timings}; pids {node.pids}", flush=True)
        (state / "ready").write_text("ready\n")
        while True:
            signal.pause()
    finally:
        report = node.stop()
        _print_report(report.lines())


def _print_report(lines: list[str]) -> None:
    for line in lines:
        print(f"node down: {line}", flush=True)


def down(state: Path, *, quiet: bool = False) -> int:
    """Stop the supervisor (its own teardown), then run the complete teardown again and report it."""
    if (pid := _supervisor_pid(state)) is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT
        while is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if is_running(pid):
            os.kill(pid, signal.SIGKILL)
        if not quiet:  # the supervisor's own teardown, step by step (its log has the same lines)
            log = (state / "supervisor.log").read_text(errors="replace").splitlines()
            for line in (line for line in log if line.startswith("node down: ")):
                print(f"{line} (supervisor)", file=sys.stderr)
    layout = load_layout(state / "work")
    if layout is None:
        if not quiet:
            print(f"node down: nothing to do (no node recorded in {state / 'work'})", file=sys.stderr)
        return 0
    report = teardown(layout)  # again, from node.json: also cleans up after a crashed supervisor
    if not quiet or not report.complete:
        for line in report.lines():
            print(f"node down: {line} (check)", file=sys.stderr)
    if report.complete:
        (state / "ready").unlink(missing_ok=True)
        if not quiet:
            print(f"node down: complete; logs kept in {layout.logs}", file=sys.stderr)
        return 0
    print("node down: INCOMPLETE, see the steps above", file=sys.stderr)
    return 1


def status(state: Path) -> int:
    pid = _supervisor_pid(state)
    if pid is None or not (state / "ready").exists():
        print(f"not running (state dir {state})")
        return 3
    print(f"running; supervisor pid {pid}; kubeconfig {state / 'kubeconfig'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "supervise"])
    parser.add_argument(
        "--dir", type=Path, default=None, help="state directory (default $NODE_DIR or <repo>/.cache/node)"
    )
    options = parser.parse_args(argv)
    state = (options.dir or default_state_dir()).resolve()
    if options.command == "up":
        return up(state)
    if options.command == "supervise":
        return supervise(state)
    return down(state) if options.command == "down" else status(state)


if __name__ == "__main__":
    sys.exit(main())
