"""What importing costs: resident memory and time of a fresh interpreter after each set of imports.

Issue 26, item 4 ("Imported code"). kubernetes_asyncio costs tens of MB in every operator process,
and kopf imports `kubernetes_asyncio.client` at its own import whenever the package is installed
(kopf/_cogs/helpers/thirdparty.py), so lazy imports in our code cannot shed it: only an environment
without the package can. To size that, each import set below is imported by a fresh `python -c` of
each interpreter given (each its own venv), which then reports VmRSS (resident now) and VmHWM (peak
resident) from /proc/self/status and the seconds its imports took (interpreter start-up excluded).
Median of --runs processes, after one unmeasured run that writes the bytecode caches. A set whose
modules a venv lacks is left out; the last column says whether kubernetes_asyncio got loaded.

    python bench/import_cost.py [--python PATH ...] [--runs 5]

e.g. .venv/bin/python bench/import_cost.py --python .venv/bin/python --python /tmp/venv-nok8s/bin/python
with /tmp/venv-nok8s holding kopf, the operator's other dependencies and lightkube, not kubernetes_asyncio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

# What adapter.py and leader.py import from kubernetes_asyncio.
K8S = [
    "kubernetes_asyncio.client",
    "kubernetes_asyncio.config",
    "kubernetes_asyncio.leaderelection.leaderelection",
    "kubernetes_asyncio.leaderelection.resourcelock.leaselock",
]
# What the adapter and the elector would import from lightkube: the client, core/v1 (Secret,
# ConfigMap, Event), coordination/v1 (Lease) and generic resources for our custom objects.
LIGHTKUBE = [
    "lightkube",
    "lightkube.resources.core_v1",
    "lightkube.resources.coordination_v1",
    "lightkube.generic_resource",
]
# Every third-party package the operator imports (pyproject's dependencies) except kubernetes_asyncio.
DEPS = [
    "kopf",
    "twilio.rest",
    "twilio.http.async_http_client",
    "aiohttp",
    "pydantic",
    "prometheus_client",
    "jinja2.sandbox",
    "livekit.api",
    "yaml",
]
SETS = {
    "python alone": [],
    "kopf": ["kopf"],
    "kubernetes_asyncio (as the operator uses it)": K8S,
    "lightkube (as the operator would use it)": LIGHTKUBE,
    "kopf + lightkube": ["kopf", *LIGHTKUBE],
    "operator's dependencies but the Kubernetes client": DEPS,
    "operator's dependencies + lightkube": [*DEPS, *LIGHTKUBE],
    "twilio_operator.handlers": ["twilio_operator.handlers"],
    "twilio_operator.process.launch (`run`)": ["twilio_operator.process.launch"],
}
CHILD = """
import importlib, json, sys, time
started = time.perf_counter()
for name in {modules!r}:
    importlib.import_module(name)
seconds = time.perf_counter() - started
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
kib = lambda key: int(status[key].split()[0])
print(json.dumps({{"s": seconds, "rss": kib("VmRSS"), "hwm": kib("VmHWM"),
                  "k8s": "kubernetes_asyncio" in sys.modules}}))
"""


def measure(python: str, modules: list[str]) -> dict[str, float] | None:
    """One fresh process importing `modules`; None if one of them cannot be imported."""
    done = subprocess.run([python, "-c", CHILD.format(modules=modules)], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--python", action="append", help="interpreter to measure (repeatable); default: this one"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| python | import set | VmRSS MB | VmHWM MB | import s | kubernetes_asyncio loaded |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for python in args.python or [sys.executable]:
        for label, modules in SETS.items():
            if measure(python, modules) is None:  # also the warm-up run
                continue
            runs = [run for run in (measure(python, modules) for _ in range(args.runs)) if run]
            median = {key: statistics.median(run[key] for run in runs) for key in ("s", "rss", "hwm")}
            print(
                f"| {python} | {label} | {median['rss'] / 1024:.1f} | {median['hwm'] / 1024:.1f} "
                f"| {median['s']:.3f} | {'yes' if runs[0]['k8s'] else 'no'} |"
            )


if __name__ == "__main__":
    main()
