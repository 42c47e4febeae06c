"""The benchmark scenarios. Each returns a JSON-able dict; run.py prints and stores them.

Every provider gets its own emulator account and its own credentials Secret: each TwilioProvider is a
customer's account in practice, and it lets the emulator's request log be split per provider exactly
(filtering on account_sid)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twilio_operator.api.models import GROUP, VERSION
from twilio_operator.testing.controlplane import ControlPlane, unique_name

from .kube import (
    DoneWatcher,
    KubeClient,
    Obj,
    apiserver_requests,
    diff_requests,
    floor_done,
    operator_ready,
    providers_path,
    secrets_path,
)
from .procs import Emulator, Operator, cpu_seconds, loadavg, machine_busy_seconds, peak_rss_mb, read_lines

TWILIO_CRITICAL_PATH = 3  # sequential Twilio round trips per create: reads, creates, credential+attach
ACCOUNT_FETCH = re.compile(r"^/2010-04-01/Accounts/AC[0-9a-f]{32}\.json$")
_SID = re.compile(r"\b[A-Z]{2}[0-9a-f]{32}\b")


@dataclass
class Env:
    cp: ControlPlane
    kube: KubeClient
    emulator: Emulator
    log_dir: Path
    background_rps: float = 0.0  # API-server requests/s it makes on its own (measured idle)
    profile_dir: Path | None = None  # run our operator under cProfile, stats written here
    cpu_profile_dir: Path | None = None  # sample our operator with py-spy, collapsed stacks written here
    mem_profile_dir: Path | None = None  # run our operator under memray, captures written here
    mem_native: bool = False  # memray with native (C) frames too
    kopf_overlay: str = ""  # kopf settings to try on our operator (bench/settings_overlay.py)
    twilio_seq: int = 0
    twilio_log: list[Obj] = field(default_factory=list)
    _profile_paths: set[Path] = field(default_factory=set)

    def profilers(self, stem: str, floor: bool = False) -> dict[str, Any]:
        """Operator() arguments for the profilers asked for (none for the floor operator). A name is
        used once: an operator started again (a restart) gets a numbered file, not the same one."""
        if floor:
            return {}
        result: dict[str, Any] = {}
        for key, directory, ext in (
            ("cpu_profile_path", self.cpu_profile_dir, "py-spy.txt"),
            ("mem_profile_path", self.mem_profile_dir, "memray.bin"),
        ):
            if directory is not None:
                path, n = directory / f"{stem}.{ext}", 1
                while path.exists() or path in self._profile_paths:
                    n += 1
                    path = directory / f"{stem}-{n}.{ext}"
                self._profile_paths.add(path)
                result[key] = path
        if self.mem_profile_dir is not None:
            result["mem_native"] = self.mem_native
        return result

    def namespace(self, prefix: str) -> str:
        name = unique_name(prefix)
        self.kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
        return name

    def twilio_mark(self) -> int:
        """The emulator's newest request seq (pulling the log so far into twilio_log)."""
        self.twilio_calls(0)
        return self.twilio_seq

    def twilio_calls(self, since: int, accounts: set[str] | None = None) -> list[Obj]:
        """Twilio requests after seq `since`, optionally only those authenticated as `accounts`."""
        fresh = self.emulator.admin.requests(since=self.twilio_seq)
        if fresh:
            self.twilio_log.extend(fresh)
            self.twilio_seq = fresh[-1]["seq"]
        return [
            e
            for e in self.twilio_log
            if e["seq"] > since and (accounts is None or e.get("account_sid") in accounts)
        ]


# --------------------------------------------------------------------------- small helpers


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "median_s": round(statistics.median(ordered), 4),
        "p95_s": round(p95, 4),
        "max_s": round(ordered[-1], 4),
        "mean_s": round(statistics.fmean(ordered), 4),
    }


def reads_writes(entries: list[Obj]) -> dict[str, int]:
    writes = sum(1 for e in entries if e.get("write"))
    return {"reads": len(entries) - writes, "writes": writes, "total": len(entries)}


def call_shapes(entries: list[Obj]) -> dict[str, int]:
    """'METHOD /path/{sid}' -> count, to show which calls were made."""
    shapes = Counter(f"{e['method']} {_SID.sub('{sid}', e['path'])}" for e in entries)
    return dict(sorted(shapes.items()))


def per_account(entries: list[Obj], accounts: list[str]) -> list[dict[str, int]]:
    by_account: dict[str, list[Obj]] = {a: [] for a in accounts}
    for e in entries:
        by_account.setdefault(e["account_sid"], []).append(e)
    return [reads_writes(by_account[a]) for a in accounts]


def mean_counts(counts: list[dict[str, int]]) -> dict[str, float]:
    keys = ("reads", "writes", "total")
    result: dict[str, float] = {k: round(statistics.fmean(c[k] for c in counts), 2) for k in keys}
    result["max_total"] = max(c["total"] for c in counts)
    result["min_total"] = min(c["total"] for c in counts)
    return result


def provider_body(name: str, account_sid: str, interval: str) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TwilioProvider",
        "metadata": {"name": name},
        "spec": {
            "displayName": f"Bench {name}",
            "accountSid": account_sid,
            "credentialsSecretRef": {"name": f"cred-{name}"},
            "verificationInterval": interval,
        },
    }


def make_accounts(env: Env, namespace: str, names: list[str], with_secrets: bool = True) -> dict[str, str]:
    """One emulator account and one credentials Secret per provider name -> account SID."""

    def one(name: str) -> tuple[str, str]:
        account = env.emulator.admin.create_account(friendly_name=name)
        if with_secrets:
            secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": f"cred-{name}"},
                "stringData": {"authToken": account["auth_token"]},
            }
            env.kube.create(secrets_path(namespace), secret)
        return name, str(account["sid"])

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, names))


class ApiMeter:
    """The operator's API-server requests over a span: the API server's counter delta, minus the
    requests this benchmark sent itself, minus the API server's own background rate."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.before = apiserver_requests(env.cp)
        self.own_before = env.kube.sent
        self.started = time.monotonic()

    def stop(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        delta = diff_requests(self.before, apiserver_requests(self.env.cp))
        own = self.env.kube.sent - self.own_before
        background = self.env.background_rps * elapsed
        total = sum(delta.values())
        return {
            "operator_requests": max(0, round(total - own - background)),
            "apiserver_total_delta": total,
            "bench_own_requests": own,
            "apiserver_background_estimate": round(background, 1),
            "by_verb_resource": delta,
        }


@contextmanager
def running_operator(
    env: Env,
    namespace: str,
    done: Callable[[Obj], bool] = operator_ready,
    floor: bool = False,
    extra_env: dict[str, str] | None = None,
    instance: str = "",
    kubeconfig: Path | None = None,
) -> Iterator[tuple[Operator, DoneWatcher]]:
    """`instance` tells apart several operators on one namespace (their logs, their profiles);
    `kubeconfig`, their identities in the API server's audit log (default: the admin's)."""
    suffix = f"-{instance}" if instance else ""
    profile = (
        env.profile_dir / f"operator-{namespace}{suffix}.prof" if env.profile_dir and not floor else None
    )
    operator = Operator(
        kubeconfig or env.cp.kubeconfig,
        namespace,
        env.log_dir / f"{'floor' if floor else 'operator'}-{namespace}{suffix}.log",
        env.emulator.url,
        floor=floor,
        extra_env=extra_env,
        profile_path=profile,
        overlay="" if floor else env.kopf_overlay,
        **env.profilers(f"operator-{namespace}{suffix}", floor),
    )
    watcher = DoneWatcher(env.kube, namespace, done)
    try:
        operator.start()
        watcher.start()
        yield operator, watcher
    finally:
        watcher.stop()
        operator.stop()


def measure_background(env: Env, seconds: float = 10.0) -> float:
    """API-server requests/s with no client but the metrics scrape (its own loopback work)."""
    before = apiserver_requests(env.cp)
    time.sleep(seconds)
    delta = diff_requests(before, apiserver_requests(env.cp))
    return sum(delta.values()) / seconds


# --------------------------------------------------------------------------- a: create -> Ready latency


def scenario_latency(env: Env, runs: list[tuple[int, float]], timeout: float = 60.0) -> dict[str, Any]:
    """Sequential creates, each timed from POST to the watch event showing Ready (current generation)."""
    namespace = env.namespace("bench-a")
    results: list[dict[str, Any]] = []
    with running_operator(env, namespace) as (_, watcher):
        for index, (count, latency_ms) in enumerate(runs):
            names = [f"a{index}-{int(latency_ms)}ms-{i:03d}" for i in range(count)]
            accounts = make_accounts(env, namespace, names)  # outside the timed part
            env.emulator.admin.configure(latency_ms=latency_ms)
            samples: list[float] = []
            timeouts = 0
            try:
                for name in names:
                    started = time.monotonic()
                    env.kube.create(providers_path(namespace), provider_body(name, accounts[name], "1h"))
                    if watcher.wait([name], timeout):
                        samples.append(watcher.done_at[name] - started)
                    else:
                        timeouts += 1
            finally:
                env.emulator.admin.configure(latency_ms=0)
            row: dict[str, Any] = {"providers": count, "latency_ms": latency_ms, "timeouts": timeouts}
            row.update(summary(samples) if samples else {"n": 0})
            results.append(row)
    # The floor of everything but Twilio latency: the median at 0 ms (Kubernetes writes, watch
    # delivery, kopf dispatch, emulator processing).
    zero = [r["median_s"] for r in results if r["latency_ms"] == 0 and r.get("n")]
    floor = min(zero) if zero else 0.0
    for row in results:
        bound = TWILIO_CRITICAL_PATH * row["latency_ms"] / 1000
        row["bound_twilio_s"] = round(bound, 3)
        row["bound_with_floor_s"] = round(bound + floor, 3)
        if row.get("n"):
            row["ratio_to_bound_with_floor"] = round(row["median_s"] / (bound + floor), 2)
            row["goal_limit_s"] = round(1.5 * bound + 0.3, 3)
            row["goal_met"] = row["median_s"] <= 1.5 * bound + 0.3
    return {
        "namespace": namespace,
        "k8s_floor_s": floor,
        "critical_path": TWILIO_CRITICAL_PATH,
        "runs": results,
    }


# --------------------------------------------------------------------------- b: Twilio calls


def _wait_all_seen(env: Env, since: int, accounts: dict[str, str], timeout: float) -> bool:
    """Until every account has had an account fetch after `since` (the start of a reconcile)."""
    deadline = time.monotonic() + timeout
    wanted = set(accounts.values())
    while time.monotonic() < deadline:
        seen = {e["account_sid"] for e in env.twilio_calls(since, wanted) if ACCOUNT_FETCH.match(e["path"])}
        if seen >= wanted:
            return True
        time.sleep(0.2)
    return False


def _wait_all_resumed(
    operator: Operator, log_offset: int, namespace: str, names: list[str], timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with operator.log_path.open("rb") as log:
            log.seek(log_offset)
            text = log.read().decode(errors="replace")
        resumed = set(RESUMED.findall(text))
        if all((namespace, name) in resumed for name in names):
            return True
        time.sleep(0.2)
    return False


def scenario_calls(env: Env, count: int = 5, settle: float = 3.0) -> dict[str, Any]:
    namespace = env.namespace("bench-b")
    names = [f"b-{i:03d}" for i in range(count)]
    accounts = make_accounts(env, namespace, names)
    order = [accounts[n] for n in names]
    wanted = set(order)
    result: dict[str, Any] = {"providers": count}
    with running_operator(env, namespace) as (operator, watcher):
        mark = env.twilio_mark()
        for name in names:
            env.kube.create(providers_path(namespace), provider_body(name, accounts[name], "1h"))
            if not watcher.wait([name], 60):
                raise RuntimeError(f"{name} not Ready in 60 s")
        time.sleep(settle)  # anything after Ready (it must be nothing) is counted too
        entries = env.twilio_calls(mark, wanted)
        result["per_create"] = mean_counts(per_account(entries, order))
        result["per_create_calls"] = call_shapes(env.twilio_calls(mark, {order[0]}))

        # One verification round: touch each credentials Secret (the operator wakes that provider).
        mark = env.twilio_mark()
        for name in names:
            patch = {"metadata": {"annotations": {"bench/touched": str(time.time())}}}
            status, body = env.kube.request(
                "PATCH", secrets_path(namespace, f"cred-{name}"), patch, "application/merge-patch+json"
            )
            if status != 200:
                raise RuntimeError(f"touching cred-{name}: HTTP {status}: {body}")
        _wait_all_seen(env, mark, accounts, 30)
        time.sleep(settle)
        entries = env.twilio_calls(mark, wanted)
        result["per_verification_round"] = mean_counts(per_account(entries, order))
        result["per_verification_round_calls"] = call_shapes(env.twilio_calls(mark, {order[0]}))

        # Restart: SIGTERM, start again, wait until every provider is resumed (a log line per object,
        # see RESUMED: a resume may legitimately make no Twilio call), count.
        operator.stop()
        mark = env.twilio_mark()
        log_offset = operator.log_path.stat().st_size
        meter = ApiMeter(env)
        restarted = time.monotonic()
        operator.start()
        result["restart_all_seen"] = _wait_all_resumed(operator, log_offset, namespace, names, 60)
        result["restart_all_seen_after_s"] = round(time.monotonic() - restarted, 2)
        time.sleep(settle)
        entries = env.twilio_calls(mark, wanted)
        result["per_restart"] = mean_counts(per_account(entries, order))
        result["restart_writes_total"] = sum(1 for e in entries if e.get("write"))
        result["per_restart_calls"] = call_shapes(env.twilio_calls(mark, {order[0]}))
        api = meter.stop()
        result["restart_apiserver_requests"] = api["operator_requests"]
        result["restart_apiserver_by_verb"] = api["by_verb_resource"]
    return result


# --------------------------------------------------------------------------- c and e: scale


@dataclass
class Fleet:
    """A namespace of Ready providers with our operator still running (for the idle scenario)."""

    namespace: str
    names: list[str]
    accounts: dict[str, str]
    operator: Operator
    watcher: DoneWatcher
    close: Callable[[], None]


def _fake_account(name: str) -> str:
    return "AC" + hashlib.md5(name.encode()).hexdigest()  # a stable fake SID, not security


def scenario_scale(
    env: Env,
    count: int,
    latency_ms: float,
    timeout: float,
    floor: bool = False,
    keep: bool = False,
    threads: int = 4,
    spread_s: float = 0.0,
    backlog: bool = False,
) -> tuple[dict[str, Any], Fleet | None]:
    """Create `count` providers from `threads` client threads; time until all are done. With
    `spread_s`, create i is not issued before i * spread_s / count seconds: an even arrival over that
    window instead of as fast as the API server takes them (the memory goal compares the two).

    Accounts and Secrets exist before the clock starts; the clock covers the creates themselves.
    The floor operator ignores accounts and Secrets, so it gets neither. With `backlog`, the operator
    is stopped (SIGSTOP) while the creates are issued and continued after them: it meets all of them
    at once, as after an outage, and the figures do not depend on how fast the API server took them.
    """
    namespace = env.namespace("bench-e" if floor else "bench-c")
    names = [f"s-{i:05d}" for i in range(count)]
    accounts = {n: _fake_account(n) for n in names} if floor else make_accounts(env, namespace, names)
    env.emulator.admin.configure(latency_ms=latency_ms)
    context = running_operator(env, namespace, floor_done if floor else operator_ready, floor=floor)
    operator, watcher = context.__enter__()
    fleet: Fleet | None = None
    try:
        mark = env.twilio_mark()
        # CPU of every process on the machine's 2 cores: which one is the bottleneck?
        pids = {**env.cp.pids, "emulator": env.emulator.pid, "bench": os.getpid(), "operator": operator.pid}
        cpu_all_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        cpu_before = cpu_all_before["operator"]
        busy_before, load_before = machine_busy_seconds(), loadavg()
        meter = ApiMeter(env)
        created_at: dict[str, float] = {}

        pace = spread_s / count if count else 0.0

        def create(index: int) -> None:
            name = names[index]
            if pace and (wait := started + index * pace - time.monotonic()) > 0:
                time.sleep(wait)
            created_at[name] = time.monotonic()
            env.kube.create(providers_path(namespace), provider_body(name, accounts[name], "1h"))

        started = time.monotonic()
        if backlog:
            os.kill(operator.pid, signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(create, range(count)))
        finally:
            if backlog:
                os.kill(operator.pid, signal.SIGCONT)
        creates_done = time.monotonic() - started
        finished = watcher.wait(names, max(0.0, timeout - creates_done))
        done = watcher.count_done(names)
        elapsed = (max(watcher.done_at[n] for n in names) if finished else time.monotonic()) - started
        api = meter.stop()
        cpu_by_process = {
            name: round(cpu_seconds(pid) - cpu_all_before[name], 2) for name, pid in pids.items()
        }
        # Whatever the machine did beyond our processes: other tenants' load skews every figure.
        others = machine_busy_seconds() - busy_before - sum(cpu_by_process.values())
        cpu_by_process["others"] = round(others, 2)
        latencies = [watcher.done_at[n] - created_at[n] for n in names if n in watcher.done_at]
        result: dict[str, Any] = {
            "operator": "floor (bare kopf)" if floor else "twilio-operator",
            "providers": count,
            "latency_ms": latency_ms,
            "all_done": finished,
            "done": done,
            "elapsed_s": round(elapsed, 2),
            "creates_issued_in_s": round(creates_done, 2),
            "creates_spread_s": spread_s,
            "operator_stopped_during_creates": backlog,
            "objects_per_s": round(done / elapsed, 2) if elapsed else 0.0,
            "per_object": summary(latencies) if latencies else {},
            "peak_rss_mb": round(peak_rss_mb(operator.pid), 1),
            "operator_cpu_s": round(cpu_seconds(operator.pid) - cpu_before, 2),
            "cpu_s_by_process": cpu_by_process,
            "loadavg_before_after": [load_before, loadavg()],
            "apiserver": api,
        }
        if not floor:
            entries = env.twilio_calls(mark, set(accounts.values()))
            result["twilio"] = reads_writes(entries)
        if keep and not floor:

            def close() -> None:
                context.__exit__(None, None, None)

            fleet = Fleet(namespace, names, accounts, operator, watcher, close)
        return result, fleet
    finally:
        env.emulator.admin.configure(latency_ms=0)
        if fleet is None:
            context.__exit__(None, None, None)


# --------------------------------------------------------------------------- r: after the burst, restart


# A provider resumed by a restarted operator: kopf's resume handler's line (releases before the due
# queue), or the operator's own line of the resume or of the reconcile it planned instead.
RESUMED_LINE = "(?:Resuming is processed|TwilioProvider resumed|TwilioProvider reconciled)"
RESUMED = re.compile(rf"\[([^/\]]+)/([^\]]+)\] {RESUMED_LINE}")


def wait_resumed_many(operator: Operator, namespace: str, names: list[str], timeout: float) -> bool:
    """_wait_all_resumed for a thousand names: reads only what the log gained since the last look."""
    pattern = re.compile(rf"\[{re.escape(namespace)}/([^\]]+)\] {RESUMED_LINE}")
    wanted, seen, offset = set(names), set[str](), 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines, offset = read_lines(operator.log_path, offset)
        seen.update(pattern.findall("\n".join(lines)))
        if wanted <= seen:
            return True
        time.sleep(0.2)
    return False


def rss_samples(operator: Operator, seconds: float, every: float = 0.5) -> list[float]:
    """The operator's RSS (MB) every `every` s for `seconds`."""
    from .secrets_scenario import rss_mb

    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while True:
        operator.check_alive()
        samples.append(rss_mb(operator.pid))
        if time.monotonic() >= deadline:
            return samples
        time.sleep(every)


def idle_rss(samples: list[float], every: float = 0.5, last_s: float = 5.0) -> float:
    """Median of the last `last_s` seconds of samples."""
    tail = samples[-max(1, int(last_s / every)) :]
    return round(statistics.median(tail), 1)


def scenario_restart(env: Env, fleet: Fleet, settle: float, timeout: float) -> dict[str, Any]:
    """The fleet of scenario c (all Ready): its operator's idle RSS `settle` s after the burst; then
    the operator is stopped and a fresh one started over the same existing providers (a restart, or a
    new leader): its peak RSS, time until every provider is resumed, CPU, requests, and its idle RSS
    `settle` s later, the "without a burst" baseline of the idle-after-burst figure."""
    after_burst = rss_samples(fleet.operator, settle)
    result: dict[str, Any] = {
        "providers": len(fleet.names),
        "settle_s": settle,
        "burst_operator": {
            "peak_rss_mb": round(peak_rss_mb(fleet.operator.pid), 1),
            "idle_rss_mb": idle_rss(after_burst),
        },
    }
    fleet.close()
    mark = env.twilio_mark()
    load_before = loadavg()
    with running_operator(env, fleet.namespace, instance="restart") as (operator, _):
        meter = ApiMeter(env)
        started = time.monotonic()
        cpu_before = cpu_seconds(operator.pid)  # after the liveness probe answers: imports are done
        resumed = wait_resumed_many(operator, fleet.namespace, fleet.names, timeout)
        resumed_after = time.monotonic() - started
        cpu_resume = cpu_seconds(operator.pid) - cpu_before
        api = meter.stop()
        samples = rss_samples(operator, settle)
        entries = env.twilio_calls(mark, set(fleet.accounts.values()))
        result["restart"] = {
            "all_resumed": resumed,
            "resumed_after_s": round(resumed_after, 2),
            "peak_rss_mb": round(peak_rss_mb(operator.pid), 1),
            "idle_rss_mb": idle_rss(samples),
            "operator_cpu_s": round(cpu_resume, 2),
            "apiserver_requests": api["operator_requests"],
            "apiserver_by_verb": api["by_verb_resource"],
            "twilio": reads_writes(entries),
            "loadavg_before_after": [load_before, loadavg()],
        }
    base = result["restart"]["idle_rss_mb"]
    result["idle_after_burst_over_without"] = round(result["burst_operator"]["idle_rss_mb"] / base, 2)
    return result


# --------------------------------------------------------------------------- d: idle cost


def _cost_window(env: Env, operator: Operator, accounts: set[str], window: float) -> dict[str, Any]:
    mark = env.twilio_mark()
    cpu_before = cpu_seconds(operator.pid)
    meter = ApiMeter(env)
    time.sleep(window)
    cpu = cpu_seconds(operator.pid) - cpu_before
    api = meter.stop()
    entries = env.twilio_calls(mark, accounts)
    return {
        "window_s": window,
        "twilio": reads_writes(entries),
        "account_fetches": sum(1 for e in entries if ACCOUNT_FETCH.match(e["path"])),
        "apiserver_requests": api["operator_requests"],
        "apiserver_by_verb": api["by_verb_resource"],
        "operator_cpu_s": round(cpu, 3),
    }


def scenario_idle(env: Env, fleet: Fleet, window: float, settle: float = 5.0) -> dict[str, Any]:
    """Steady state at verificationInterval 1h: what N Ready providers cost while nothing changes."""
    time.sleep(settle)
    cost = _cost_window(env, fleet.operator, set(fleet.accounts.values()), window)
    scale = 3600 / window / len(fleet.names)
    cost.update(
        providers=len(fleet.names),
        verification_interval="1h",
        per_provider_per_hour={
            "twilio_calls": round(cost["twilio"]["total"] * scale, 3),
            "apiserver_requests": round(cost["apiserver_requests"] * scale, 3),
            "operator_cpu_s": round(cost["operator_cpu_s"] * scale, 4),
        },
        peak_rss_mb=round(peak_rss_mb(fleet.operator.pid), 1),
    )
    return cost


def scenario_verify_rounds(env: Env, count: int, window: float, floor_s: int = 2) -> dict[str, Any]:
    """verificationInterval 1m scaled down to `floor_s`: rounds happen every ~floor_s
    (x0.9..1.1 jitter). Counts rounds (account fetches) and the cost of one round per provider."""
    namespace = env.namespace("bench-d")
    names = [f"v-{i:03d}" for i in range(count)]
    accounts = make_accounts(env, namespace, names)
    extra = {"TWILIO_OPERATOR_VERIFICATION_INTERVAL_SCALE": str(floor_s / 60)}
    with running_operator(env, namespace, extra_env=extra) as (operator, watcher):
        for name in names:
            env.kube.create(providers_path(namespace), provider_body(name, accounts[name], "1m"))
        if not watcher.wait(names, 120):
            raise RuntimeError("verification-round fleet not Ready in 120 s")
        time.sleep(floor_s * 1.5)  # past the first rounds after Ready
        cost = _cost_window(env, operator, set(accounts.values()), window)
    rounds = cost["account_fetches"]
    expected = count * window / floor_s
    cost.update(
        providers=count,
        effective_interval_s=floor_s,
        rounds=rounds,
        rounds_expected=round(expected, 1),
        rounds_per_provider_per_interval=round(rounds / count / (window / floor_s), 3),
        per_round={
            "twilio_reads": round(cost["twilio"]["reads"] / rounds, 2) if rounds else None,
            "twilio_writes": round(cost["twilio"]["writes"] / rounds, 2) if rounds else None,
            "apiserver_requests": round(cost["apiserver_requests"] / rounds, 2) if rounds else None,
            "operator_cpu_ms": round(1000 * cost["operator_cpu_s"] / rounds, 2) if rounds else None,
        },
    )
    return cost
