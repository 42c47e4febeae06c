"""h: what unrelated Secrets cost the operator. Helm keeps each release in a Secret of up to ~1 MiB,
so a real cluster holds many large Secrets that have nothing to do with Twilio; an operator that
receives them all (kopf's watch does, and filters labels afterwards) pays for them in memory."""

from __future__ import annotations

import base64
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .kube import secrets_path
from .procs import Operator, loadavg, peak_rss_mb


def rss_mb(pid: int) -> float:
    """VmRSS: the process's resident set size now."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def measure_operator(env: Any, settle: float, label: str) -> dict[str, Any]:
    """Start our operator cluster-wide (the chart's default), no TwilioProviders anywhere; after it is
    live, sample its RSS for `settle` s. Peak: VmHWM at the end; idle: median RSS of the last 5 s."""
    operator = Operator(
        env.cp.kubeconfig,
        "",
        env.log_dir / f"operator-h-{label}.log",
        env.emulator.url,
        overlay=env.kopf_overlay,
    )
    started = time.monotonic()
    operator.start()
    live_after = time.monotonic() - started
    samples: list[tuple[float, float]] = []
    try:
        while (elapsed := time.monotonic() - started) < live_after + settle:
            operator.check_alive()
            samples.append((elapsed, rss_mb(operator.pid)))
            time.sleep(0.5)
        peak = peak_rss_mb(operator.pid)
    finally:
        operator.stop()
    last = [mb for t, mb in samples if t >= samples[-1][0] - 5.0]
    return {
        "live_after_s": round(live_after, 2),
        "peak_rss_mb": round(peak, 1),
        "idle_rss_mb": round(statistics.median(last), 1),
    }


def scenario_unrelated_secrets(env: Any, count: int, size_kib: int, settle: float) -> dict[str, Any]:
    """Operator RSS started cluster-wide with no providers: first with no Secrets but the control
    plane's own, then with `count` unrelated Secrets of `size_kib` KiB (random, incompressible) in one
    namespace. The Secrets are deleted afterwards, so that later scenarios do not pay for them."""
    load_before = loadavg()
    without = measure_operator(env, settle, "without")
    namespace = env.namespace("bench-h")

    def create(i: int) -> None:
        payload = base64.b64encode(os.urandom(size_kib * 1024)).decode()
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"release-{i:05d}"}}
        body["data"] = {"release": payload}
        env.kube.create(secrets_path(namespace), body)

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(count)))
    created_in = time.monotonic() - started
    try:
        with_secrets = measure_operator(env, settle, "with")
    finally:
        status, _ = env.kube.request("DELETE", secrets_path(namespace))
        if status != 200:
            raise RuntimeError(f"cannot delete the Secrets of {namespace}: HTTP {status}")
    return {
        "secrets": count,
        "secret_kib": size_kib,
        "secrets_created_in_s": round(created_in, 1),
        "settle_s": settle,
        "without": without,
        "with": with_secrets,
        "peak_delta_mb": round(with_secrets["peak_rss_mb"] - without["peak_rss_mb"], 1),
        "idle_delta_mb": round(with_secrets["idle_rss_mb"] - without["idle_rss_mb"], 1),
        "loadavg_before_after": [load_before, loadavg()],
    }
