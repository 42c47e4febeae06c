"""The processes a benchmark starts (emulator, our operator, the bare-kopf floor operator) and what
/proc says about them. Every process is registered for cleanup at exit, also on failure."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.ports import free_port

REPO = Path(__file__).resolve().parents[2]
FLOOR_MODULE = REPO / "bench" / "floor_operator.py"
OVERLAY = REPO / "bench" / "settings_overlay.py"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # fields 14 and 15 of stat(5)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (from /proc/stat), to see other tenants' load."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / _CLOCK_TICKS


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def read_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """The complete lines of a file another process appends to, from byte `offset` on, and the offset
    after the last of them: a line still being written is left for the next read."""
    with path.open("rb") as file:
        file.seek(offset)
        chunk = file.read()
    end = chunk.rfind(b"\n") + 1
    return chunk[:end].decode(errors="replace").splitlines(), offset + end


class Managed:
    """A subprocess with a log file, stopped with SIGTERM (then SIGKILL) and at interpreter exit."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def spawn(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
        )
        log.close()
        atexit.register(self.stop)

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{self.name} exited:\n{tail}")

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown code of the process runs."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.stop()  # reaped already: only the bookkeeping is left (and an Operator's profiler)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _http_ok(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait_up(process: Managed, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not _http_ok(url):
        process.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} not up after {timeout}s (log: {process.log_path})")
        time.sleep(0.1)


class Emulator(Managed):
    """The Twilio emulator without contract checking (checking costs ~3 ms per request)."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "twilio_operator.cli", "emulator", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port)]
        env = {"TWILIO_EMULATOR_OPENAPI_DIR": ""}
        super().__init__("emulator", argv, log_dir / "emulator.log", env)
        self.admin = EmulatorAdmin(self.url, timeout=60)

    def start(self) -> Emulator:
        self.spawn()
        _wait_up(self, f"{self.url}/_emulator/healthz")
        return self


class Operator(Managed):
    """`twilio-operator run --standalone` (or the floor: `kopf run --standalone bench/floor_operator.py`)
    watching one namespace (or, with namespace "", all of them), at the default INFO log level like a
    production install."""

    def __init__(
        self,
        kubeconfig: Path,
        namespace: str,
        log_path: Path,
        emulator_url: str = "",
        floor: bool = False,
        extra_env: dict[str, str] | None = None,
        profile_path: Path | None = None,
        overlay: str = "",
        cpu_profile_path: Path | None = None,
        mem_profile_path: Path | None = None,
        mem_native: bool = False,
    ) -> None:
        self.liveness_port = free_port()
        liveness = f"--liveness=http://127.0.0.1:{self.liveness_port}/healthz"
        scope = f"--namespace={namespace}" if namespace else "--all-namespaces"  # "": cluster-wide
        if floor:
            argv = [sys.executable, "-m", "kopf", "run", "--standalone", scope]
            argv += [liveness, str(FLOOR_MODULE)]
        else:
            # cProfile (when asked) writes its stats when SIGTERM makes kopf return; so does memray
            # (same process, so the RSS and CPU read from /proc are the operator's, tracker included).
            profile = ["-m", "cProfile", "-o", str(profile_path)] if profile_path else []
            if mem_profile_path:
                # --aggregate: a small file (stacks with their sizes at the peak and at exit), not
                # every allocation; --trace-python-allocators: each object is attributed to the code
                # that made it, not to whichever allocation happened to grow a pymalloc arena.
                profile = ["-m", "memray", "run", "-q", "-f", "--aggregate", "--trace-python-allocators"]
                profile += ["--native"] if mem_native else []
                profile += ["-o", str(mem_profile_path)]
            argv = [sys.executable, *profile, "-m", "twilio_operator.cli", "run", "--standalone"]
            argv += [scope, liveness]
            if overlay:  # kopf directly, so that bench/settings_overlay.py loads after the handlers
                argv = [sys.executable, *profile, "-m", "kopf", "run", "--standalone"]
                argv += [scope, liveness, "-m", "twilio_operator.handlers", str(OVERLAY)]
        env = {"KUBECONFIG": str(kubeconfig), "TWILIO_OPERATOR_TWILIO_BASE_URL": emulator_url}
        # What `twilio-operator run` sets for the watches the operator runs itself (kopf run does not).
        env["TWILIO_OPERATOR_WATCH_NAMESPACES"] = namespace
        # Its /metrics server would bind 0.0.0.0:9090 (shared by every run on the machine): off.
        env["TWILIO_OPERATOR_METRICS_PORT"] = "0"
        env["BENCH_KOPF_SETTINGS"] = overlay
        env.update(extra_env or {})
        super().__init__("floor-operator" if floor else "operator", argv, log_path, env)
        self.cpu_profile_path = cpu_profile_path
        self.mem_profile_path = mem_profile_path
        self.sampler: Managed | None = None
        self.starts = 0

    def start(self) -> Operator:
        self.starts += 1
        if self.starts > 1:  # started again (a restart): profile into new files, keep the first ones
            self._renumber_profiles()
        self.spawn()
        if self.cpu_profile_path:
            self.sampler = _sampler(self.pid, self.cpu_profile_path, self.log_path)
        _wait_up(self, f"http://127.0.0.1:{self.liveness_port}/healthz")
        return self

    def stop(self) -> None:
        super().stop()
        sampler, self.sampler = self.sampler, None
        if sampler is not None and sampler.process is not None:
            # py-spy writes its file when the process it samples has exited.
            for stop_signal in (None, signal.SIGINT):  # SIGINT: py-spy's own "stop and write"
                if stop_signal is not None:
                    sampler.process.send_signal(stop_signal)
                try:
                    sampler.process.wait(timeout=60)
                    break
                except subprocess.TimeoutExpired:
                    continue
            sampler.stop()

    def _renumber_profiles(self) -> None:
        def renumbered(path: Path) -> Path:
            stem, _, ext = path.name.partition(".")
            return path.with_name(f"{stem}-start{self.starts}.{ext}")

        if self.cpu_profile_path:
            self.cpu_profile_path = renumbered(self.cpu_profile_path)
        if self.mem_profile_path:
            new = renumbered(self.mem_profile_path)
            self.argv = [new.as_posix() if a == self.mem_profile_path.as_posix() else a for a in self.argv]
            self.mem_profile_path = new


PY_SPY_RATE = 100  # samples/s: py-spy's default; ~1 % of one core in py-spy itself


def _sampler(pid: int, output: Path, log_path: Path) -> Managed:
    """py-spy attached to `pid` (ptrace: root or CAP_SYS_PTRACE), writing collapsed stacks ("raw":
    one `frame;frame;... count` line per stack; speedscope and flamegraph.pl read it). Attached
    after the start rather than wrapping the command, so that the operator's pid stays the one whose
    RSS and CPU the scenarios read. --gil: only the thread holding the GIL is sampled, i.e. Python
    code running; py-spy's own idle detection counts threads blocked in C as busy (an idle
    ThreadPoolExecutor worker in queue.get, the event loop in epoll: half the samples without it).
    C code that releases the GIL (OpenSSL's reads and writes, zlib) is not in the profile. The first
    samples are taken during the imports. --nonblocking: a stack read while the interpreter changes
    it can be torn now and then, which a share of 10,000s of samples does not notice."""
    spy = Path(sys.executable).with_name("py-spy")
    argv = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", str(PY_SPY_RATE), "--gil"]
    argv += ["--nonblocking"]  # samples without pausing the operator: its timing stays near a plain run's
    argv += ["--output", str(output)]
    sampler = Managed("py-spy", argv, log_path.with_suffix(".py-spy.log"))
    sampler.spawn()
    return sampler
