"""A child process of the control plane: its own session, output to a log file, a reliable stop."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

STOP_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel SIGKILL the child when the starting thread dies (e.g. pytest is killed).

    Only from the main thread: the signal fires when the *thread* that forked exits, so a child
    started from a short-lived worker thread would be killed too early.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now: nothing to import in the child
    except (OSError, AttributeError):
        return None

    def set_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return set_death_signal


class ManagedProcess:
    """One binary with fixed arguments; can be started again with the same arguments."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        if self.running():
            return
        with self.log_path.open("ab") as log:
            log.write(f"--- starting {' '.join(self.argv)}\n".encode())
            log.flush()
            # A new session: a Ctrl-C of the test run reaches pytest, which then stops us in order,
            # instead of killing the apiserver and etcd underneath a running teardown.
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),  # only a pre-resolved prctl call: fork-safe enough
            )

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exit_code(self) -> int | None:
        return self._popen.poll() if self._popen else None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after `timeout`; always reaps the child. Safe to call twice."""
        popen, self._popen = self._popen, None
        if popen is None:
            return
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout if timeout > 0 else 0.001)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait()

    def kill(self) -> None:
        """SIGKILL at once, like a crash, and reap."""
        self.stop(timeout=0)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # start_new_session made the child its own process-group leader.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
