"""twilio-operator benchmarks: create -> Ready latency, Twilio calls, scale, idle cost, kopf's floor.

    .venv/bin/python bench/run.py                       # the default set (about 16 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick               # a small smoke run (about 2 minutes)
    .venv/bin/python bench/run.py --scenarios a,b --providers 20

Starts its own control plane, emulator and operators (all on 127.0.0.1), prints a markdown table and
writes bench/results/<YYYY-MM-DD>.json. Scenarios:
  a  create -> Ready latency (sequential creates) at several emulator latencies
  b  Twilio calls per create, per verification round, per operator restart
  c  scale: N providers at once, 50 ms emulator latency
  d  idle cost per provider per hour (interval 1h) and the cost of one verification round
  e  the floor: a bare kopf operator on the same number of objects (compare with c)
  h  operator RSS (peak, idle) started cluster-wide with no providers, without and with 1,000
     unrelated Secrets of 100 KiB each (runs before the others, which leave Secrets behind)
  r  after c: the operator's idle RSS after the burst; then a restart over c's Ready providers (peak
     RSS, time to resume, CPU, requests) and its idle RSS, the baseline without a burst
  x  (opt-in) 10,000 providers at 50 ms: time to all Ready, peak RSS, then idle CPU over a window
  l  leader election with the chart's Lease timings: two operators on one namespace; SIGKILL
     of the leader (failover) and SIGTERM (handover), each repeated, timed to the Lease taken by the
     standby and to its first reconcile (a provider created right after the signal becoming Ready)
  f  (opt-in) many numbers on one provider
  g  (opt-in) sharding: one operator over 2 x N providers against two label shards of N each (time,
     per operator peak and idle RSS, CPU, writes, Twilio calls; API-server requests per run); then
     SIGKILL of shard a's operator and a fresh one over its Ready providers, timed to all resumed,
     while shard b's process, Ready conditions, writes, Events and Twilio calls are watched

Profiling (each adds its own overhead to the operator's time, CPU and RSS; keep the figures of a
profiled run apart from the plain ones):
  --profile-cpu DIR   py-spy attached to each of our operators: DIR/operator-*.py-spy.txt (collapsed
                      stacks; speedscope and flamegraph.pl read them) and *.summary.txt (top frames)
  --profile-mem DIR   each of our operators under `memray run --aggregate --trace-python-allocators`:
                      DIR/operator-*.memray.bin (`memray flamegraph|stats|summary FILE`) and
                      *.summary.txt (top allocators at the peak)
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--scenarios",
        default="a,b,c,d,e,h,l",
        help="comma-separated subset of a,b,c,d,e,f,g,h,l,r,x (f, g and x are opt-in)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--providers", type=int, default=50, help="a: providers per latency (50)")
    parser.add_argument("--latencies", default="0,50,200", help="a: emulator latencies in ms")
    parser.add_argument("--issue-providers", type=int, default=20, help="a: second set (20)")
    parser.add_argument("--issue-latencies", default="0,100", help="a: second set's latencies")
    parser.add_argument("--call-providers", type=int, default=5, help="b: providers")
    parser.add_argument("--scale-providers", type=int, default=1000, help="c, e: providers")
    parser.add_argument("--scale-latency", type=float, default=50.0, help="c, e: emulator latency ms")
    parser.add_argument("--scale-timeout", type=float, default=480.0, help="c, e: give up after s")
    parser.add_argument("--scale-threads", type=int, default=4, help="c, e: client threads creating")
    parser.add_argument(
        "--scale-spread",
        type=float,
        default=0.0,
        help="c, e: issue the creates evenly over this many seconds (0: as fast as the threads go)",
    )
    parser.add_argument(
        "--scale-backlog",
        action="store_true",
        help="c, x: stop the operator (SIGSTOP) while the creates are issued and continue it after: it"
        " meets every create at once, as after an outage, whatever the machine's speed",
    )
    parser.add_argument(
        "--restart-settle", type=float, default=20.0, help="r, g: idle RSS sampling window, s (20)"
    )
    parser.add_argument("--huge-providers", type=int, default=10000, help="x: providers (10000)")
    parser.add_argument("--huge-timeout", type=float, default=900.0, help="x: give up after s")
    parser.add_argument("--huge-idle-window", type=float, default=60.0, help="x: idle CPU window, s")
    parser.add_argument("--idle-providers", type=int, default=100, help="d without c: fleet size")
    parser.add_argument("--idle-window", type=float, default=60.0, help="d: measuring window s")
    parser.add_argument("--round-providers", type=int, default=20, help="d: short-interval fleet")
    parser.add_argument("--round-window", type=float, default=30.0, help="d: short-interval window s")
    parser.add_argument("--numbers", type=int, default=500, help="f: TwilioPhoneNumbers on one provider")
    parser.add_argument("--numbers-latency", type=float, default=50.0, help="f: emulator latency ms")
    parser.add_argument(
        "--numbers-twilio-limit",
        default="10",
        help="f: emulated Twilio concurrency limits per account to try, e.g. 1,10,100",
    )
    parser.add_argument(
        "--numbers-operator-concurrency", default="8", help="f: operator per-account bounds to try, e.g. 8,32"
    )
    parser.add_argument(
        "--shard-providers",
        type=int,
        default=2000,
        help="g: N, providers per shard: two shards over N each against one operator over 2 x N (2000)",
    )
    parser.add_argument(
        "--shard-election",
        action="store_true",
        help="g: each shard's operator campaigns for its own Lease (chart timings), as with\n"
        "leaderElection.enabled; the failover then waits for shard a's Lease to expire",
    )
    parser.add_argument("--unrelated-secrets", type=int, default=1000, help="h: unrelated Secrets (1000)")
    parser.add_argument("--unrelated-secret-kib", type=int, default=100, help="h: size of each, KiB (100)")
    parser.add_argument("--unrelated-settle", type=float, default=30.0, help="h: RSS sampling after live, s")
    parser.add_argument("--leader-providers", type=int, default=5, help="l: providers before the signals")
    parser.add_argument(
        "--leader-repeats", type=int, default=3, help="l: SIGKILLs, then as many SIGTERMs, of the leader (3)"
    )
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default results/DATE.json)")
    parser.add_argument(
        "--report", type=Path, default=None, help="print the tables of an earlier run's JSON; run nothing"
    )
    parser.add_argument(
        "--kopf-settings",
        default="",
        help="kopf settings to try on our operator (bench/settings_overlay.py), e.g.\n"
        "persistence.consistency_timeout=30,log.kopf.objects=WARNING",
    )
    parser.add_argument("--profile", type=Path, default=None, help="cProfile our operator into DIR/*.prof")
    parser.add_argument("--profile-cpu", type=Path, default=None, help="py-spy our operator into DIR")
    parser.add_argument("--profile-mem", type=Path, default=None, help="memray our operator into DIR")
    parser.add_argument(
        "--profile-mem-native", action="store_true", help="memray with native (C) frames (slower)"
    )
    parser.add_argument(
        "--code",
        default="snapshot",
        help="which operator/ and crds/ to run: 'snapshot' (default: the working tree copied to a temp\n"
        "dir at start, so edits made during the run cannot change it), a git revision, or 'worktree'",
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.providers, options.issue_providers, options.call_providers = 5, 3, 2
        options.scale_providers, options.idle_providers = 50, 20
        options.idle_window, options.round_providers, options.round_window = 10.0, 5, 10.0
        options.numbers, options.shard_providers = 50, 25
        options.unrelated_secrets, options.unrelated_settle = 100, 10.0
        options.restart_settle, options.huge_providers, options.huge_idle_window = 10.0, 200, 10.0
        options.leader_providers, options.leader_repeats = 2, 1
    return options


def use_code(revision: str) -> tuple[Path, str]:
    """Put `revision`'s operator/ first on the import path of this process and of every child; returns
    the directory holding its crds/ and a description of the code."""
    if revision == "worktree":
        return REPO, "worktree (live)"
    root = Path(tempfile.mkdtemp(prefix="twilio-bench-code-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    if revision == "snapshot":
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
        for part in ("operator", "crds"):
            shutil.copytree(REPO / part, root / part, ignore=ignore)
        description = "snapshot of the working tree (see machine.operator_worktree_sha1)"
    else:
        sha = subprocess.run(
            ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        archive = subprocess.run(
            ["git", "archive", sha, "operator", "crds"], cwd=REPO, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
        description = f"git {sha}"
    sys.path.insert(0, str(root / "operator"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(root / "operator"), os.environ.get("PYTHONPATH")])
    )
    # The control-plane binaries are found relative to the package; point at the repository's build.
    binaries = REPO / ".cache" / "controlplane" / "bin"
    if binaries.is_dir():
        os.environ.setdefault("CONTROLPLANE_BIN", str(binaries))
    return root, description


def machine_info() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    # Others edit the operator in this tree: fingerprint the uncommitted operator code too.
    diff = subprocess.run(["git", "diff", "HEAD", "--", "operator"], cwd=REPO, capture_output=True)
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "operator"], cwd=REPO, capture_output=True
    )
    digest = hashlib.sha1(diff.stdout)
    for name in sorted(untracked.stdout.decode().split()):
        digest.update((REPO / name).read_bytes())
    from importlib.metadata import version

    return {
        "nproc": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "kopf": version("kopf"),
        "kernel": platform.release(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "git_head": head.stdout.strip(),
        "operator_worktree_sha1": digest.hexdigest()[:12],
    }


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def run(options: argparse.Namespace) -> dict[str, Any]:
    code_root, code = use_code(options.code)
    # Imported only now: they must load the code chosen above.
    from benchlib.fleet_scenarios import scenario_numbers, scenario_shards
    from benchlib.kube import KubeClient
    from benchlib.leader_scenario import scenario_leader
    from benchlib.procs import Emulator
    from benchlib.scenarios import (
        Env,
        Fleet,
        measure_background,
        scenario_calls,
        scenario_idle,
        scenario_latency,
        scenario_restart,
        scenario_scale,
        scenario_verify_rounds,
    )
    from benchlib.secrets_scenario import scenario_unrelated_secrets

    from twilio_operator.testing.controlplane import ControlPlane

    chosen = set(options.scenarios.split(","))
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "machine": machine_info(),
        "code": code,
        "setup": {
            "accounts": "one emulator account and one credentials Secret per TwilioProvider",
            "emulator": "no contract checking; latency set through the admin API",
            "operator_log_level": "INFO (no --verbose)",
            "operator_metrics_server": "off (TWILIO_OPERATOR_METRICS_PORT=0)",
            "control_plane": "etcd + kube-apiserver, no kube-controller-manager",
            "kopf_settings_overlay": options.kopf_settings or None,
            "profilers": {
                "cprofile": str(options.profile) if options.profile else None,
                "py_spy": str(options.profile_cpu) if options.profile_cpu else None,
                "memray": str(options.profile_mem) if options.profile_mem else None,
            },
        },
    }
    log_dir = Path(tempfile.mkdtemp(prefix="twilio-bench-"))
    report["log_dir"] = str(log_dir)
    # No kube-controller-manager: its requests (garbage collection of the SIP Secrets, discovery) would
    # be counted as the operator's by the API-server request meter, and the figures compared with
    # earlier runs, which had none.
    with ControlPlane(controller_manager=False) as cp:
        applied = cp.kubectl("apply", "--server-side", "-f", str(code_root / "crds"))
        if applied.returncode:
            raise RuntimeError(applied.stderr)
        waited = cp.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/twilioproviders.voip.twilio-operator.dev",
        )
        if waited.returncode:
            raise RuntimeError(waited.stderr)
        emulator = Emulator(log_dir).start()
        kube = KubeClient(cp.kubeconfig)
        try:
            env = Env(
                cp,
                kube,
                emulator,
                log_dir,
                profile_dir=options.profile,
                kopf_overlay=options.kopf_settings,
                cpu_profile_dir=options.profile_cpu,
                mem_profile_dir=options.profile_mem,
                mem_native=options.profile_mem_native,
            )
            for directory in (options.profile, options.profile_cpu, options.profile_mem):
                if directory:
                    directory.mkdir(parents=True, exist_ok=True)
            env.background_rps = measure_background(env)
            report["apiserver_background_rps"] = round(env.background_rps, 3)
            if "h" in chosen:  # first: the other scenarios leave their credentials Secrets behind
                report["h_unrelated_secrets"] = timed(
                    "h",
                    lambda: scenario_unrelated_secrets(
                        env, options.unrelated_secrets, options.unrelated_secret_kib, options.unrelated_settle
                    ),
                )
            if "a" in chosen:
                runs = [(options.providers, lat) for lat in floats(options.latencies)]
                runs += [(options.issue_providers, lat) for lat in floats(options.issue_latencies)]
                report["a_create_latency"] = timed("a", lambda: scenario_latency(env, runs))
            if "b" in chosen:
                report["b_twilio_calls"] = timed("b", lambda: scenario_calls(env, options.call_providers))
            fleet: Fleet | None = None
            try:
                if "c" in chosen:
                    scale, fleet = timed(
                        "c",
                        lambda: scenario_scale(
                            env,
                            options.scale_providers,
                            options.scale_latency,
                            options.scale_timeout,
                            keep=bool({"d", "r"} & chosen),
                            threads=options.scale_threads,
                            spread_s=options.scale_spread,
                            backlog=options.scale_backlog,
                        ),
                    )
                    report["c_scale"] = scale
                if "d" in chosen:
                    if fleet is None:
                        _, fleet = scenario_scale(env, options.idle_providers, 0.0, 300.0, keep=True)
                    if fleet is None:
                        raise RuntimeError("no fleet for the idle scenario")
                    idle_fleet = fleet
                    report["d_idle"] = timed("d", lambda: scenario_idle(env, idle_fleet, options.idle_window))
                if "r" in chosen and fleet is not None and "c_scale" in report:
                    burst_fleet, fleet = fleet, None  # it stops the fleet's operator itself
                    report["r_restart"] = timed(
                        "r",
                        lambda: scenario_restart(
                            env, burst_fleet, options.restart_settle, options.scale_timeout
                        ),
                    )
            finally:
                if fleet is not None:
                    fleet.close()
            if "d" in chosen:
                report["d_verification_round"] = timed(
                    "d2", lambda: scenario_verify_rounds(env, options.round_providers, options.round_window)
                )
            if "e" in chosen:
                floor, _ = timed(
                    "e",
                    lambda: scenario_scale(
                        env,
                        options.scale_providers,
                        options.scale_latency,
                        options.scale_timeout,
                        floor=True,
                        threads=options.scale_threads,
                        spread_s=options.scale_spread,
                    ),
                )
                report["e_floor"] = floor
                if "c_scale" in report and floor["elapsed_s"]:
                    report["e_floor"]["ours_over_floor"] = round(
                        report["c_scale"]["elapsed_s"] / floor["elapsed_s"], 2
                    )
            if "f" in chosen:
                report["f_numbers"] = [
                    timed(
                        f"f (Twilio limit {limit}, operator bound {bound})",
                        lambda bound=bound, limit=limit: scenario_numbers(
                            env,
                            options.numbers,
                            options.numbers_latency,
                            int(limit),
                            int(bound),
                            options.scale_timeout,
                        ),
                    )
                    for limit in options.numbers_twilio_limit.split(",")
                    for bound in options.numbers_operator_concurrency.split(",")
                ]
            if "x" in chosen:
                report["x_huge"] = timed("x", lambda: scenario_huge(env, options))
            if "l" in chosen:
                report["l_leader"] = timed(
                    "l", lambda: scenario_leader(env, options.leader_providers, options.leader_repeats)
                )
            if "g" in chosen:
                report["g_shards"] = timed(
                    "g",
                    lambda: scenario_shards(
                        env,
                        options.shard_providers,
                        options.scale_latency,
                        options.scale_timeout,
                        options.restart_settle,
                        election=options.shard_election,
                    ),
                )
        finally:
            kube.close()
            emulator.stop()
    report["goals"] = goals(report)
    report["profiles"] = summarize_profiles(options)
    return report


def scenario_huge(env: Any, options: argparse.Namespace) -> dict[str, Any]:
    """x: scenario c at --huge-providers (10,000), then the idle cost of that fleet over a window."""
    from benchlib.scenarios import scenario_idle, scenario_scale

    result, fleet = scenario_scale(
        env,
        options.huge_providers,
        options.scale_latency,
        options.huge_timeout,
        keep=True,
        threads=options.scale_threads,
        backlog=options.scale_backlog,
    )
    if fleet is not None:
        try:
            result["idle"] = scenario_idle(env, fleet, options.huge_idle_window)
        finally:
            fleet.close()
    return result


def summarize_profiles(options: argparse.Namespace) -> dict[str, str]:
    """DIR/<capture>.summary.txt for each py-spy and memray capture; returns capture -> summary path."""
    from profile_summary import summarize

    written: dict[str, str] = {}
    for directory, pattern in ((options.profile_cpu, "*.py-spy.txt"), (options.profile_mem, "*.memray.bin")):
        if not directory:
            continue
        for capture in sorted(directory.glob(pattern)):
            target = capture.with_name(
                capture.name.split(".", 1)[0] + f".{capture.suffixes[0][1:]}.summary.txt"
            )
            try:
                target.write_text(summarize(capture))
            except Exception as error:  # a capture cut short must not lose the run's figures
                target.write_text(f"{capture.name}: cannot summarize: {error!r}\n")
            written[str(capture)] = str(target)
            print(f"[bench] profile summary {target}", file=sys.stderr, flush=True)
    return written


def timed(label: str, work: Any) -> Any:
    started = time.monotonic()
    print(f"[bench] scenario {label} ...", file=sys.stderr, flush=True)
    result = work()
    print(f"[bench] scenario {label} took {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return result


def goals(report: dict[str, Any]) -> dict[str, Any]:
    """The targets from the issues, as booleans (None when the scenario was not run)."""
    result: dict[str, Any] = {}
    if "a_create_latency" in report:
        rows = report["a_create_latency"]["runs"]
        result["median_within_1.5x_bound_plus_0.3s"] = all(r.get("goal_met") for r in rows)
    if "b_twilio_calls" in report:
        result["zero_writes_on_restart"] = report["b_twilio_calls"]["restart_writes_total"] == 0
    if "d_verification_round" in report:
        rounds = report["d_verification_round"]["rounds_per_provider_per_interval"]
        result["one_round_per_interval"] = rounds <= 1.05
    for row in scale_goals(report):
        result[row["key"]] = row["met"]
    return result


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def scale_goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 17's goals table, one row each: target, measured (None: its scenario was not run or cannot
    measure it), met (None likewise). Every row is listed, measured or not."""
    c, e, h, r = (report.get(k) for k in ("c_scale", "e_floor", "h_unrelated_secrets", "r_restart"))
    x, a = report.get("x_huge"), report.get("a_create_latency")
    rows: list[dict[str, Any]] = []

    def row(key: str, goal: str, target: str, measured: Any, met: bool | None, note: str = "") -> None:
        rows.append(
            {"key": key, "goal": goal, "target": target, "measured": measured, "met": met, "note": note}
        )

    at_scale = c is not None and c["providers"] >= 1000
    elapsed = c["elapsed_s"] if c and c["all_done"] else None
    row(
        "scale_1000_ready_within_20s",
        "1,000 providers Ready at 50 ms, 2 cores",
        "<= 20 s",
        elapsed,
        None if not at_scale else elapsed is not None and elapsed <= 20,
        "c" if at_scale else "c at >= 1,000 not run",
    )
    ratio = e.get("ours_over_floor") if e else None
    row(
        "scale_ours_over_floor_at_most_2.5",
        "ours / bare-kopf floor time (same objects)",
        "<= 2.5",
        ratio,
        None if ratio is None or not at_scale else ratio <= 2.5,
        f"floor {e['elapsed_s']} s" if e else "c and e not both run",
    )
    per = c["providers"] if c else 0
    cpu_ms = _round(1000 * c["operator_cpu_s"] / per if c and per else None)
    row(
        "cpu_per_create_at_most_10ms",
        "operator CPU per create",
        "<= 10 ms",
        cpu_ms,
        None if cpu_ms is None or not at_scale else cpu_ms <= 10,
        "c: operator CPU over the burst / providers",
    )
    api = _round(c["apiserver"]["operator_requests"] / per if c and per else None, 2)
    row(
        "apiserver_requests_per_create_at_most_5",
        "API-server requests per create",
        "<= 5",
        api,
        None if api is None or not at_scale else api <= 5,
        "c: API server's counter minus the bench's own and the background rate, / providers",
    )
    peak = c["peak_rss_mb"] if c else None
    within = c["creates_issued_in_s"] if c else None
    row(
        "peak_rss_burst_at_most_150mb",
        "operator peak RSS, 1,000 providers created within 2 s",
        "<= 150 MB",
        peak,
        None if peak is None or not at_scale else peak <= 150,
        f"c: creates issued in {within} s"
        + (" (slower than 2 s: a gentler burst)" if within and within > 2 else ""),
    )
    restart = r["restart"] if r else None
    row(
        "peak_rss_restart_at_most_150mb",
        "operator peak RSS, restart over 1,000 existing providers",
        "<= 150 MB",
        restart["peak_rss_mb"] if restart else None,
        None if not restart or not at_scale else restart["peak_rss_mb"] <= 150,
        f"r: all resumed after {restart['resumed_after_s']} s" if restart else "r not run",
    )
    row(
        "unrelated_secrets_cost_at_most_10mb",
        "operator RSS with 1,000 unrelated 100 KiB Secrets, no providers",
        "<= 10 MB above without",
        f"peak {h['peak_delta_mb']:+}, idle {h['idle_delta_mb']:+} MB" if h else None,
        None if not h else h["secrets"] >= 1000 and h["peak_delta_mb"] <= 10 and h["idle_delta_mb"] <= 10,
        "h" if h else "h not run",
    )
    ratio_idle = r["idle_after_burst_over_without"] if r else None
    row(
        "idle_rss_after_burst_at_most_1.2x",
        "operator RSS idle after a burst of 1,000 / idle without a burst",
        "<= 1.2 x",
        ratio_idle,
        None if ratio_idle is None or not at_scale else ratio_idle <= 1.2,
        f"r: {r['burst_operator']['idle_rss_mb']} MB after the burst, {restart['idle_rss_mb']} MB "
        "after a restart over the same providers"
        if r and restart
        else "r not run",
    )
    if x:
        ready = x["elapsed_s"] if x["all_done"] else None
        idle = x.get("idle", {}).get("per_provider_per_hour", {}).get("operator_cpu_s")
        measured = f"Ready in {ready} s, peak {x['peak_rss_mb']} MB, idle CPU {idle} s/provider/h"
        met = (
            None if x["providers"] < 10000 else ready is not None and ready <= 360 and x["peak_rss_mb"] <= 800
        )
    else:
        measured, met = None, None
    row(
        "scale_10000_within_6min_800mb",
        "10,000 providers at 50 ms (opt-in x)",
        "all Ready <= 6 min; peak RSS <= 800 MB; idle CPU reported",
        measured,
        met,
        "x" if x else "x not run (opt-in)",
    )
    zero = next((run for run in a["runs"] if run["latency_ms"] == 0 and run.get("n")), None) if a else None
    median_ms = _round(1000 * zero["median_s"]) if zero else None
    row(
        "create_to_ready_0ms_at_most_30ms",
        "create -> Ready at 0 ms emulator latency (median)",
        "<= 30 ms if load allows",
        median_ms,
        None if median_ms is None else median_ms <= 30,
        f"a: {zero['providers']} sequential creates" if zero else "a not run",
    )
    leader = report.get("l_leader")
    for key, kind, goal, target, limit in (
        (
            "leader_failover_at_most_15s",
            "failover_sigkill",
            "leader failover after SIGKILL of the leader, to the new leader's first reconcile",
            "<= 15 s",
            15.0,
        ),
        (
            "leader_handover_at_most_3s",
            "handover_sigterm",
            "handover on SIGTERM (rolling update), to the new leader's first reconcile",
            "<= 3 s",
            3.0,
        ),
    ):
        if not leader:
            row(key, goal, target, None, None, "l not run")
            continue
        first, lease = leader[kind]["first_reconcile"], leader[kind]["lease_taken"]
        complete = len(first["samples_s"]) == leader["repeats"] and not first["timeouts"]
        settings = leader["lease_settings"]
        row(
            key,
            goal,
            target,
            f"median {first['median_s']} s, max {first['max_s']} s "
            f"(Lease taken: median {lease['median_s']} s, max {lease['max_s']} s)",
            complete and first["max_s"] is not None and first["max_s"] <= limit,
            f"l: {len(first['samples_s'])} of {leader['repeats']} runs, met if the max is within; "
            f"chart defaults leaseDuration {settings['lease_duration_s']} s, renewDeadline "
            f"{settings['renew_deadline_s']} s, retryPeriod {settings['retry_period_s']} s; first reconcile "
            "= a provider created right after the signal is Ready",
        )
    return rows


def table(report: dict[str, Any]) -> str:
    lines = ["| scenario | figure | value |", "|---|---|---|"]

    def add(scenario: str, figure: str, value: Any) -> None:
        lines.append(f"| {scenario} | {figure} | {value} |")

    if "a_create_latency" in report:
        a = report["a_create_latency"]
        for r in a["runs"]:
            if not r.get("n"):
                add("a", f"{r['providers']} @ {r['latency_ms']:g} ms", "no provider became Ready")
                continue
            add(
                "a",
                f"create->Ready, {r['providers']} providers @ {r['latency_ms']:g} ms",
                f"median {r['median_s']:.3f} s, p95 {r['p95_s']:.3f} s, max {r['max_s']:.3f} s; "
                f"bound {a.get('critical_path', 3)}x{r['latency_ms']:g} ms = {r['bound_twilio_s']:.3f} s "
                f"(+ floor {a['k8s_floor_s']:.3f} s = {r['bound_with_floor_s']:.3f} s, ratio "
                f"{r['ratio_to_bound_with_floor']}); goal <= {r['goal_limit_s']:.3f} s: "
                f"{'met' if r['goal_met'] else 'NOT met'}"
                + (f"; {r['timeouts']} timeouts" if r["timeouts"] else ""),
            )
    if "b_twilio_calls" in report:
        b = report["b_twilio_calls"]
        for key, label in (
            ("per_create", "Twilio calls per create"),
            ("per_verification_round", "per verification round (Secret touched)"),
            ("per_restart", "per operator restart"),
        ):
            c = b[key]
            add(
                "b",
                label,
                f"{c['reads']:g} reads + {c['writes']:g} writes "
                f"(min/max total {c['min_total']}/{c['max_total']})",
            )
        add(
            "b",
            "restart: all providers resumed (kopf log) after",
            f"{b['restart_all_seen_after_s']} s; writes {b['restart_writes_total']}",
        )
        add("b", "restart: API-server requests", b["restart_apiserver_requests"])
    for key, name in (("c_scale", "c"), ("e_floor", "e")):
        if key in report:
            s = report[key]
            add(
                name,
                f"{s['operator']}: {s['providers']} providers @ {s['latency_ms']:g} ms",
                f"{s['done']}/{s['providers']} done in {s['elapsed_s']} s ({s['objects_per_s']}/s); "
                f"creates issued in {s['creates_issued_in_s']} s",
            )
            if s.get("per_object"):
                p = s["per_object"]
                add(
                    name,
                    "per-object create->done",
                    f"median {p['median_s']} s, p95 {p['p95_s']} s, max {p['max_s']} s",
                )
            add(name, "peak RSS / CPU", f"{s['peak_rss_mb']} MB / {s['operator_cpu_s']} s")
            cpu = ", ".join(f"{k} {v}" for k, v in s.get("cpu_s_by_process", {}).items())
            add(
                name, "CPU s by process (2 cores)", f"{cpu}; loadavg before/after {s['loadavg_before_after']}"
            )
            add(name, "API-server requests (operator)", s["apiserver"]["operator_requests"])
            if "twilio" in s:
                add(name, "Twilio calls", f"{s['twilio']['reads']} reads + {s['twilio']['writes']} writes")
            if "ours_over_floor" in s:
                add(name, "ours / floor time", s["ours_over_floor"])
    if "d_idle" in report:
        d = report["d_idle"]
        pp = d["per_provider_per_hour"]
        add(
            "d",
            f"idle, {d['providers']} providers, interval 1h, {d['window_s']:g} s window",
            f"Twilio {d['twilio']['total']}, API {d['apiserver_requests']}, CPU {d['operator_cpu_s']} s",
        )
        add(
            "d",
            "idle per provider per hour",
            f"Twilio {pp['twilio_calls']}, API {pp['apiserver_requests']}, CPU {pp['operator_cpu_s']} s",
        )
    if "d_verification_round" in report:
        v = report["d_verification_round"]
        r = v["per_round"]
        add(
            "d",
            f"interval {v['effective_interval_s']} s, {v['providers']} providers, {v['window_s']:g} s",
            f"{v['rounds']} rounds (expected ~{v['rounds_expected']}; "
            f"{v['rounds_per_provider_per_interval']} per provider per interval)",
        )
        add(
            "d",
            "one verification round costs",
            f"Twilio {r['twilio_reads']} reads + {r['twilio_writes']} writes, API {r['apiserver_requests']}, "
            f"CPU {r['operator_cpu_ms']} ms",
        )
    if "h_unrelated_secrets" in report:
        h = report["h_unrelated_secrets"]
        for key, label in (
            ("without", "no Secrets"),
            ("with", f"{h['secrets']} x {h['secret_kib']} KiB Secrets"),
        ):
            m = h[key]
            add(
                "h",
                f"operator cluster-wide, no providers, {label}",
                f"peak {m['peak_rss_mb']} MB, idle {m['idle_rss_mb']} MB",
            )
        add(
            "h",
            "cost of the unrelated Secrets",
            f"peak {h['peak_delta_mb']:+} MB, idle {h['idle_delta_mb']:+} MB",
        )
    for f in report.get("f_numbers", []):
        t = f["twilio"]
        add(
            "f",
            f"{f['numbers']} TwilioPhoneNumbers, 1 provider @ {f['latency_ms']:g} ms, "
            f"Twilio limit {f['twilio_concurrency_limit']}/account, "
            f"operator bound {f['operator_concurrency_per_account']}",
            f"provider Ready in {f.get('provider_ready_s', '?')} s; "
            f"{f['ready']}/{f['numbers']} Ready in {f['elapsed_s']} s ({f['numbers_per_s']}/s); "
            f"Twilio {t['reads']} reads + {t['writes']} writes, {t['http_429']} x 429; "
            f"{f['numbers_on_trunk']} on the trunk",
        )
    if "g_shards" in report:
        g = report["g_shards"]
        for key in ("one", "two"):
            run = g[key]
            add(
                "g",
                f"{g['providers']} providers @ {g['latency_ms']:g} ms, {run['operators']} operator(s)",
                f"{run['ready']}/{g['providers']} Ready in {run['elapsed_s']} s; handled per operator "
                f"{run['handled_per_operator']}, by both {run['handled_by_both']}, "
                f"misplaced {run['misplaced']}; "
                f"peak RSS {run['peak_rss_mb']} MB",
            )
            for op in run.get("per_operator", []):  # results from before the per-operator figures have none
                t = op["twilio"]
                add(
                    "g",
                    f"{run['operators']} operator(s): {op['shard']}, {op['providers']} providers",
                    ("not all Ready" if op["ready_s"] is None else f"all Ready in {op['ready_s']} s")
                    + f"; peak RSS {op['peak_rss_mb']} MB, idle {op['idle_rss_mb']} MB "
                    f"{run['settle_s']:g} s after; CPU {op['cpu_s']} s; API writes {op['apiserver_writes']}; "
                    f"Twilio {t['reads']} reads + {t['writes']} writes"
                    + (f"; Lease {op['lease']}" if op["lease"] else ""),
                )
            if "apiserver" in run:
                add(
                    "g",
                    f"{run['operators']} operator(s): API-server requests, all operators together",
                    f"{run['apiserver']['operator_requests']}; loadavg before/after "
                    f"{run['loadavg_before_after']}",
                )
        if "speed_up" in g:
            add("g", "speed-up of two shards", g["speed_up"])
        if g.get("failover"):
            f, o = g["failover"], g["failover"]["other_shard"]
            fresh = f["fresh_operator"]
            lease = f"Lease taken after {f['lease_taken_after_s']} s, " if g.get("leader_election") else ""
            add(
                "g",
                f"SIGKILL of {f['shard']}'s operator, a fresh one over its {f['providers']} Ready providers",
                f"{'all' if f['all_resumed'] else 'NOT all'} resumed after {f['resumed_after_s']} s "
                f"({lease}process up after {f['process_up_after_s']} s); peak RSS {fresh['peak_rss_mb']} MB, "
                f"CPU from its start {fresh['cpu_s']} s, Twilio {fresh['twilio']['total']}; "
                f"not Ready seen {f['not_ready_seen']}; "
                f"API-server requests (both shards) {f['apiserver']['operator_requests']}",
            )
            add(
                "g",
                f"{o['shard']} meanwhile ({o['window_s']:g} s): untouched?",
                f"{'yes' if o['untouched'] else '**NO**'}: same process {o['same_process']}, not Ready seen "
                f"{o['not_ready_seen']}, CPU {o['cpu_s']} s; {_shard_activity(o)}"
                + (f"; Lease holders {o['lease_holders']}" if "lease_holders" in o else ""),
            )
            idle = next(op["idle"] for op in g["two"]["per_operator"] if op["shard"] == o["shard"])
            add(
                "g", f"{o['shard']} idle before, the baseline ({idle['window_s']:g} s)", _shard_activity(idle)
            )
    if "r_restart" in report:
        r = report["r_restart"]
        rs = r["restart"]
        add(
            "r",
            f"burst operator, {r['settle_s']:g} s after all Ready",
            f"idle RSS {r['burst_operator']['idle_rss_mb']} MB "
            f"(peak {r['burst_operator']['peak_rss_mb']} MB)",
        )
        add(
            "r",
            f"restart over {r['providers']} Ready providers",
            f"all resumed after {rs['resumed_after_s']} s; peak RSS {rs['peak_rss_mb']} MB, idle "
            f"{rs['idle_rss_mb']} MB; CPU {rs['operator_cpu_s']} s; API {rs['apiserver_requests']}; "
            f"Twilio {rs['twilio']['reads']} reads + {rs['twilio']['writes']} writes",
        )
    if "x_huge" in report:
        x = report["x_huge"]
        add(
            "x",
            f"{x['providers']} providers @ {x['latency_ms']:g} ms",
            f"{x['done']}/{x['providers']} done in {x['elapsed_s']} s; peak RSS {x['peak_rss_mb']} MB; "
            f"CPU {x['operator_cpu_s']} s",
        )
        if "idle" in x:
            pp = x["idle"]["per_provider_per_hour"]
            add(
                "x",
                "idle per provider per hour",
                f"CPU {pp['operator_cpu_s']} s, API {pp['apiserver_requests']}",
            )
    if "l_leader" in report:
        ll = report["l_leader"]
        for kind, label in (("failover_sigkill", "SIGKILL of the leader"), ("handover_sigterm", "SIGTERM")):
            k = ll[kind]
            add(
                "l",
                f"{label}, {ll['providers']} providers, {len(k['first_reconcile']['samples_s'])} runs",
                f"Lease taken {k['lease_taken']['samples_s']} s (median {k['lease_taken']['median_s']}, max "
                f"{k['lease_taken']['max_s']}); first reconcile {k['first_reconcile']['samples_s']} s "
                f"(median {k['first_reconcile']['median_s']}, max {k['first_reconcile']['max_s']})",
            )
        add("l", "loadavg before/after", ll["loadavg_before_after"])
        if ll.get("failed"):
            add("l", "failed", ll["failed"])
    for goal, met in report.get("goals", {}).items():
        add("goal", goal, "not measured" if met is None else "met" if met else "NOT met")
    load = (report.get("machine") or {}).get("loadavg_at_start", "not recorded")
    lines += ["", f"Issue 17 goals (loadavg at start {load}):", ""]
    lines += ["| goal | target | measured | met | how |", "|---|---|---|---|---|"]
    for g in scale_goals(report):
        met = "-" if g["met"] is None else "met" if g["met"] else "**NOT met**"
        measured = "not measured" if g["measured"] is None else g["measured"]
        lines.append(f"| {g['goal']} | {g['target']} | {measured} | {met} | {g['note']} |")
    return "\n".join(lines)


def _shard_activity(activity: dict[str, Any]) -> str:
    """What touched a shard over a window (benchlib.fleet_scenarios.ShardActivity)."""
    return (
        f"Twilio {activity['twilio']['total']} calls, writes on its providers "
        f"{activity['writes_on_providers']}, Events {activity['events']}, its operator's writes "
        f"{activity['operator_writes']} (+ {activity['operator_lease_writes']} Lease)"
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if options.report:
        print(table(json.loads(options.report.read_text())))
        return 0
    report = run(options)
    output = options.output or RESULTS / f"{datetime.date.today().isoformat()}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nwrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
