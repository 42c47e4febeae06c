"""l: leader election. Failover after SIGKILL of the leader, and handover on SIGTERM (a rolling update).

Two `twilio-operator run` processes on one namespace with TWILIO_OPERATOR_LEADER_ELECTION on and the
chart's leaderElection defaults (leaseDuration, renewDeadline, retryPeriod from
charts/twilio-operator/values.yaml, set as the chart's Deployment sets them), each with its own
POD_NAME so that the Lease's holder says which one leads. A few providers are created and become Ready;
then, `repeats` times each:

- failover: SIGKILL the leader;
- handover: SIGTERM the leader (it stops kopf, then releases the Lease);

and right after the signal the bench creates a new provider (the probe). Measured from the signal:

- lease taken: when the bench first sees the standby's identity in the Lease (polled every 50 ms);
- first reconcile by the new leader: when the probe is seen Ready (Ready=True for its generation, by a
  watch). Only the leader runs kopf, so this is the new leader's first finished reconcile of new work;
  it includes the new leader's start (importing the handlers, kopf's startup and its resume of the
  existing providers) and one create at 0 ms emulator latency (about 0.1 s, scenario a).

After each signal the old leader's slot is started again as a fresh standby (a new process, a new
Lease identity, as a restarted pod), and it stands by for a few retry periods before the next signal,
so that it has observed the Lease's renewals like a long-running standby.
"""

from __future__ import annotations

import signal
import statistics
import sys
import threading
import time
from typing import Any

import yaml

from twilio_operator.ports.kube import leader as election
from twilio_operator.settings import env_name

from .kube import DoneWatcher, KubeClient, operator_ready, providers_path
from .procs import REPO, Operator, loadavg, machine_busy_seconds
from .scenarios import Env, make_accounts, provider_body

CHART_VALUES = REPO / "charts" / "twilio-operator" / "values.yaml"
LEASE_NAME = election.DEFAULT_LEASE_NAME
POLL_PERIOD = 0.05


def chart_election_settings() -> dict[str, Any]:
    """The chart's leaderElection defaults, and whether the operator's own defaults agree."""
    values = yaml.safe_load(CHART_VALUES.read_text())["leaderElection"]
    chart = {
        "lease_duration_s": values["leaseDuration"],
        "renew_deadline_s": values["renewDeadline"],
        "retry_period_s": values["retryPeriod"],
    }
    operator = {
        "lease_duration_s": election.DEFAULT_LEASE_DURATION,
        "renew_deadline_s": election.DEFAULT_RENEW_DEADLINE,
        "retry_period_s": election.DEFAULT_RETRY_PERIOD,
    }
    return {
        **chart,
        "source": "charts/twilio-operator/values.yaml leaderElection, as the chart's Deployment sets them",
        "operator_defaults_agree": all(float(chart[k]) == float(operator[k]) for k in chart),
    }


class LeasePoller:
    """Reads the Lease every POLL_PERIOD on a thread; records (monotonic, holder pod, renewTime) each
    time the holder or the renewal time changes."""

    def __init__(self, kube: KubeClient, namespace: str, name: str = LEASE_NAME) -> None:
        self.kube = kube
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
        self.changes: list[tuple[float, str, str]] = []
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=f"lease-{namespace}", daemon=True)

    def start(self) -> LeasePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self._thread.join(5)

    def _run(self) -> None:
        last: tuple[str, str] | None = None
        while not self._stopped:
            try:
                status, body = self.kube.request("GET", self.path)
            except OSError:
                status, body = 0, None
            now = time.monotonic()
            if status == 200:
                spec = body.get("spec") or {}
                identity = str(spec.get("holderIdentity") or "")
                current = (identity.rsplit("_", 1)[0], str(spec.get("renewTime") or ""))
                if current != last:
                    last = current
                    with self._cond:
                        self.changes.append((now, *current))
                        self._cond.notify_all()
            time.sleep(POLL_PERIOD)

    def wait_holder(self, pod: str, after: float, timeout: float) -> float | None:
        """The first time at or after `after` that `pod` was seen holding the Lease (None: timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for seen, holder, _ in self.changes:
                    if seen >= after and holder == pod:
                        return seen
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def last_change(self) -> float | None:
        with self._cond:
            return self.changes[-1][0] if self.changes else None


def campaign_env(namespace: str, pod: str, settings: dict[str, Any]) -> dict[str, str]:
    """The environment of an operator in pod `pod` that campaigns for the Lease in `namespace` with
    `settings` (chart_election_settings). A shard selector appends the shard to the Lease's name."""
    return {
        env_name("leader_election"): "true",
        env_name("leader_election_namespace"): namespace,
        env_name("leader_election_lease_name"): LEASE_NAME,
        env_name("leader_election_lease_duration"): str(settings["lease_duration_s"]),
        env_name("leader_election_renew_deadline"): str(settings["renew_deadline_s"]),
        env_name("leader_election_retry_period"): str(settings["retry_period_s"]),
        env_name("pod_name"): pod,
    }


class Candidate:
    """One operator slot: a pod name, restarted as a fresh process (a new Lease identity) each time."""

    def __init__(self, env: Env, namespace: str, slot: str, settings: dict[str, Any]) -> None:
        self.pod = f"bench-leader-{slot}"
        # No kopf settings overlay: the overlay runs kopf directly, without the election.
        self.operator = Operator(
            env.cp.kubeconfig,
            namespace,
            env.log_dir / f"operator-{namespace}-{slot}.log",
            env.emulator.url,
            extra_env=campaign_env(namespace, self.pod, settings),
        )
        self.exited_at: float | None = None
        self.exit_code: int | None = None

    def start(self) -> None:
        self.exited_at = self.exit_code = None
        self.operator.start()  # returns once /healthz answers: the standby's own endpoint

    def signal(self, signum: int) -> None:
        process = self.operator.process
        if process is None:
            raise RuntimeError(f"{self.pod} is not running")
        process.send_signal(signum)

        def reap() -> None:
            self.exit_code = process.wait()
            self.exited_at = time.monotonic()

        threading.Thread(target=reap, name=f"reap-{self.pod}", daemon=True).start()

    def wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.exited_at is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def log_text(self) -> str:
        return self.operator.log_path.read_text(errors="replace")


def _stats(samples: list[float | None]) -> dict[str, Any]:
    measured = [s for s in samples if s is not None]
    return {
        "samples_s": [None if s is None else round(s, 2) for s in samples],
        "median_s": round(statistics.median(measured), 2) if measured else None,
        "max_s": round(max(measured), 2) if measured else None,
        "timeouts": len(samples) - len(measured),
    }


def scenario_leader(env: Env, providers: int, repeats: int, timeout: float = 120.0) -> dict[str, Any]:
    namespace = env.namespace("bench-l")
    settings = chart_election_settings()
    standby_settle = 3 * float(settings["retry_period_s"])
    names = [f"l-{i:03d}" for i in range(providers)]
    probes = {kind: [f"probe-{kind}-{i}" for i in range(repeats)] for kind in ("kill", "term")}
    accounts = make_accounts(env, namespace, names + probes["kill"] + probes["term"])
    env.emulator.admin.configure(latency_ms=0)
    poller = LeasePoller(env.kube, namespace).start()
    watcher = DoneWatcher(env.kube, namespace, operator_ready).start()
    candidates = [Candidate(env, namespace, slot, settings) for slot in ("a", "b")]
    rounds: list[dict[str, Any]] = []
    failed = ""  # a round without a new leader: the rest are not run
    load_before, busy_before = loadavg(), machine_busy_seconds()
    started = time.monotonic()
    try:
        leader, standby = candidates
        leader.start()
        if poller.wait_holder(leader.pod, 0.0, 60) is None:
            raise RuntimeError(f"{leader.pod} did not take the Lease (log: {leader.operator.log_path})")
        standby.start()
        for name in names:
            env.kube.create(providers_path(namespace), provider_body(name, accounts[name], "1h"))
        if not watcher.wait(names, timeout):
            raise RuntimeError(f"{watcher.count_done(names)}/{providers} providers Ready")
        time.sleep(standby_settle)
        for kind, signum in (("kill", signal.SIGKILL), ("term", signal.SIGTERM)):
            if failed:
                break
            for probe in probes[kind]:
                last_renewal = poller.last_change()
                signalled = time.monotonic()
                leader.signal(signum)
                env.kube.create(providers_path(namespace), provider_body(probe, accounts[probe], "1h"))
                taken = poller.wait_holder(standby.pod, signalled, timeout)
                ready = watcher.done_at[probe] if watcher.wait([probe], timeout) else None
                leader.wait_exit(30)
                text = leader.log_text()
                rounds.append(
                    {
                        "kind": kind,
                        "old_leader": leader.pod,
                        "new_leader": standby.pod,
                        "lease_taken_s": None if taken is None else round(taken - signalled, 2),
                        "first_reconcile_s": None if ready is None else round(ready - signalled, 2),
                        "last_lease_change_before_signal_s": (
                            None if last_renewal is None else round(signalled - last_renewal, 2)
                        ),
                        "old_leader_exit_s": (
                            None if leader.exited_at is None else round(leader.exited_at - signalled, 2)
                        ),
                        "old_leader_exit_code": leader.exit_code,
                        "old_leader_released_lease": "released Lease" in text.rsplit("campaigning", 1)[-1],
                        "loadavg": loadavg(),
                    }
                )
                print(f"[bench] l: {rounds[-1]}", file=sys.stderr, flush=True)
                if taken is None or ready is None:
                    failed = f"{kind}: no new leader within {timeout} s (logs: {env.log_dir})"
                    break
                # The old leader's pod comes back as a standby (a fresh process and Lease identity).
                leader.operator.stop()
                leader.start()
                time.sleep(standby_settle)
                leader, standby = standby, leader
    finally:
        watcher.stop()
        poller.stop()
        for candidate in candidates:
            candidate.operator.stop()
    elapsed = time.monotonic() - started
    by_kind = {kind: [r for r in rounds if r["kind"] == kind] for kind in ("kill", "term")}
    result: dict[str, Any] = {
        "namespace": namespace,
        "providers": providers,
        "repeats": repeats,
        "lease_settings": settings,
        "first_reconcile_definition": "a provider created right after the signal is seen Ready",
        "rounds": rounds,
        "failed": failed or None,
        "loadavg_before_after": [load_before, loadavg()],
        "machine_busy_cpu_s": round(machine_busy_seconds() - busy_before, 1),
        "elapsed_s": round(elapsed, 1),
    }
    for kind, key in (("kill", "failover_sigkill"), ("term", "handover_sigterm")):
        runs = by_kind[kind]
        result[key] = {
            "lease_taken": _stats([r["lease_taken_s"] for r in runs]),
            "first_reconcile": _stats([r["first_reconcile_s"] for r in runs]),
        }
    return result
