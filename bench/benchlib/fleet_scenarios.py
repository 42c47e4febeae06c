"""Scenarios beyond one provider per account: many numbers on one provider (f), and sharding (g)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twilio_operator import sharding
from twilio_operator.api.models import GROUP, VERSION
from twilio_operator.settings import env_name
from twilio_operator.testing.controlplane import ControlPlane

from .kube import DoneWatcher, Obj, object_path, operator_ready, providers_path
from .leader_scenario import LEASE_NAME, LeasePoller, campaign_env, chart_election_settings
from .procs import Operator, cpu_seconds, loadavg, peak_rss_mb, read_lines
from .scenarios import (
    ApiMeter,
    Env,
    idle_rss,
    make_accounts,
    provider_body,
    reads_writes,
    rss_samples,
    running_operator,
    wait_resumed_many,
)

TRAILING_S = 3.0  # how long the last writes of a burst or a resume may trail its last Ready or resume


def number_body(name: str, provider: str, phone_number: str) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TwilioPhoneNumber",
        "metadata": {"name": name},
        "spec": {"providerRef": {"name": provider}, "phoneNumber": phone_number},
    }


def scenario_numbers(
    env: Env,
    count: int,
    latency_ms: float,
    twilio_concurrency_limit: int,
    operator_concurrency: int,
    timeout: float,
) -> dict[str, Any]:
    """`count` TwilioPhoneNumbers imported onto one provider at once. The emulator refuses more than
    `twilio_concurrency_limit` requests in flight per account with 429 (as Twilio does); the
    operator bounds itself to `operator_concurrency` per account."""
    namespace = env.namespace("bench-f")
    accounts = make_accounts(env, namespace, ["numbers"])
    account = accounts["numbers"]
    numbers = env.emulator.admin.add_numbers(account, count=count)
    env.emulator.admin.configure(latency_ms=latency_ms, concurrency_limit=twilio_concurrency_limit)
    concurrency = {"TWILIO_OPERATOR_MAX_CONCURRENCY_PER_ACCOUNT": str(operator_concurrency)}
    try:
        with running_operator(env, namespace, extra_env=concurrency) as (operator, watcher):
            provider_started = time.monotonic()
            env.kube.create(providers_path(namespace), provider_body("numbers", account, "1h"))
            if not watcher.wait(["numbers"], 120):
                raise RuntimeError("the provider of the numbers scenario did not become Ready")
            provider_ready_s = time.monotonic() - provider_started
            numbers_watcher = DoneWatcher(env.kube, namespace, operator_ready, "twiliophonenumbers").start()
            try:
                names = [f"n-{i:05d}" for i in range(count)]
                mark = env.twilio_mark()
                cpu_before = cpu_seconds(operator.pid)
                started = time.monotonic()

                def create(pair: tuple[str, dict[str, Any]]) -> None:
                    name, number = pair
                    body = number_body(name, "numbers", number["phone_number"])
                    env.kube.create(object_path("twiliophonenumbers", namespace), body)

                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(create, zip(names, numbers, strict=True)))
                finished = numbers_watcher.wait(names, timeout)
                done = numbers_watcher.count_done(names)
                elapsed = (
                    max(numbers_watcher.done_at[n] for n in names) if finished else time.monotonic()
                ) - started
                calls = env.twilio_calls(mark, {account})
            finally:
                numbers_watcher.stop()
            on_trunk = _numbers_on_trunk(env, account)
            return {
                "numbers": count,
                "latency_ms": latency_ms,
                "twilio_concurrency_limit": twilio_concurrency_limit,
                "operator_concurrency_per_account": operator_concurrency,
                "provider_ready_s": round(provider_ready_s, 2),
                "all_ready": finished,
                "ready": done,
                "elapsed_s": round(elapsed, 2),
                "numbers_per_s": round(done / elapsed, 2) if elapsed else 0.0,
                "twilio": {
                    **reads_writes(calls),
                    "http_429": sum(1 for c in calls if c.get("status") == 429),
                },
                "numbers_on_trunk": on_trunk,
                "operator_cpu_s": round(cpu_seconds(operator.pid) - cpu_before, 2),
                "peak_rss_mb": round(peak_rss_mb(operator.pid), 1),
            }
    finally:
        env.emulator.admin.configure(latency_ms=0, concurrency_limit=0)


def _numbers_on_trunk(env: Env, account: str) -> int:
    state = env.emulator.admin.state()
    mine = next(a for a in state["accounts"] if a["sid"] == account)
    return sum(1 for n in mine["incoming_phone_numbers"] if n.get("trunk_sid"))


def scenario_shards(
    env: Env, per_shard: int, latency_ms: float, timeout: float, settle: float, election: bool = False
) -> dict[str, Any]:
    """One operator over 2 x `per_shard` providers, then two operators with disjoint label shards
    (TWILIO_OPERATOR_SHARD_SELECTOR shard=a and shard=b) over `per_shard` each; with `election`, each
    operator campaigns for its shard's own Lease with the chart's timings, as the chart runs it.

    Per operator process: time until its providers are all Ready, peak RSS, CPU over the burst, idle
    RSS `settle` s after, its writes (the audit log, under an identity of its own) and its accounts'
    Twilio calls; per run: the API-server requests of all its operators together (the API server's
    counter does not say who asked), and which objects each operator's log shows it handled (they must
    not overlap). Then shard a's failover with shard b looking on (_failover)."""
    if election and env.kopf_overlay:
        raise ValueError("the kopf settings overlay runs kopf directly, without the election: not both")
    settings = chart_election_settings() if election else None
    count = 2 * per_shard
    single, _ = _converge(env, count, latency_ms, timeout, settle, [""], settings)
    sharded, failover = _converge(
        env, count, latency_ms, timeout, settle, ["a", "b"], settings, failover=True
    )
    result: dict[str, Any] = {
        "providers": count,
        "providers_per_shard": per_shard,
        "latency_ms": latency_ms,
        "leader_election": settings,
        "one": single,
        "two": sharded,
        "failover": failover,
    }
    if single["elapsed_s"] and sharded["elapsed_s"]:
        result["speed_up"] = round(single["elapsed_s"] / sharded["elapsed_s"], 2)
    return result


@dataclass
class _Shard:
    """One operator process of a run and the providers its label selects ("": all of them)."""

    label: str
    names: list[str]
    accounts: set[str]
    user: str  # its identity in the API server's audit log, and its pod's name
    kubeconfig: Path
    operator: Operator


def _lease(label: str) -> str:
    return sharding.lease_name(LEASE_NAME, {"shard": label} if label else {})


def _shard_operator(
    env: Env,
    namespace: str,
    label: str,
    pod: str,
    kubeconfig: Path,
    settings: dict[str, Any] | None,
    instance: str,
) -> AbstractContextManager[tuple[Operator, DoneWatcher]]:
    extra = {env_name("shard_selector"): f"shard={label}"} if label else {}
    if settings is not None:
        extra |= campaign_env(namespace, pod, settings)
    return running_operator(env, namespace, extra_env=extra, instance=instance, kubeconfig=kubeconfig)


def _converge(
    env: Env,
    count: int,
    latency_ms: float,
    timeout: float,
    settle: float,
    labels: list[str],
    settings: dict[str, Any] | None,
    failover: bool = False,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    namespace = env.namespace(f"bench-g{len(labels)}")
    names = [f"g-{i:05d}" for i in range(count)]
    label_of = {name: labels[i % len(labels)] for i, name in enumerate(names)}
    accounts = make_accounts(env, namespace, names)
    env.emulator.admin.configure(latency_ms=latency_ms)
    shards: list[_Shard] = []
    with ExitStack() as stack:
        stack.callback(env.emulator.admin.configure, latency_ms=0)
        for label in labels:
            user = f"bench-shard-{label or 'all'}"
            kubeconfig = env.cp.kubeconfig_for_user(user, ("system:masters",))
            context = _shard_operator(env, namespace, label, user, kubeconfig, settings, label)
            operator, watcher = stack.enter_context(context)
            mine = [n for n in names if label_of[n] == label]
            shards.append(_Shard(label, mine, {accounts[n] for n in mine}, user, kubeconfig, operator))
            if settings is not None:  # kopf starts once the Lease is held: the creates must not wait for it
                poller = LeasePoller(env.kube, namespace, _lease(label)).start()
                held = poller.wait_holder(user, 0.0, 60)
                poller.stop()
                if held is None:
                    raise RuntimeError(
                        f"{user} did not take Lease {_lease(label)} (log: {operator.log_path})"
                    )
        audit = AuditLog(env.cp)
        mark = env.twilio_mark()
        cpu_before = [cpu_seconds(s.operator.pid) for s in shards]
        load_before = loadavg()
        meter = ApiMeter(env)
        started = time.monotonic()

        def create(name: str) -> None:
            body = provider_body(name, accounts[name], "1h")
            if label_of[name]:
                body["metadata"]["labels"] = {"shard": label_of[name]}
            env.kube.create(providers_path(namespace), body)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, names))
        finished = watcher.wait(names, timeout)
        elapsed = (max(watcher.done_at[n] for n in names) if finished else time.monotonic()) - started
        api = meter.stop()
        cpu = [cpu_seconds(s.operator.pid) - before for s, before in zip(shards, cpu_before, strict=True)]
        writes = audit.since()
        load_after = loadavg()
        samples, idle = _idle(env, namespace, shards, settle)
        per_operator = []
        for shard, cpu_s, rss, quiet in zip(shards, cpu, samples, idle, strict=True):
            own = [w for w in writes if _user(w) == shard.user]
            all_ready = watcher.count_done(shard.names) == len(shard.names)
            last_ready = max(watcher.done_at[n] for n in shard.names) if all_ready else None
            per_operator.append(
                {
                    "shard": f"shard={shard.label}" if shard.label else "all",
                    "providers": len(shard.names),
                    "ready_s": None if last_ready is None else round(last_ready - started, 2),
                    "peak_rss_mb": round(peak_rss_mb(shard.operator.pid), 1),
                    "idle_rss_mb": idle_rss(rss),
                    "cpu_s": round(cpu_s, 2),
                    "apiserver_writes": len(own),
                    "apiserver_writes_by": _by_verb(own),
                    "twilio": reads_writes(env.twilio_calls(mark, shard.accounts)),
                    "lease": _lease(shard.label) if settings is not None else None,
                    "idle": quiet,
                }
            )
        handled = [_handled(s.operator, namespace) & set(names) for s in shards]
        overlap = set.intersection(*handled) if len(handled) > 1 else set()
        result = {
            "operators": len(labels),
            "all_ready": finished,
            "ready": watcher.count_done(names),
            "elapsed_s": round(elapsed, 2),
            "handled_per_operator": [len(h) for h in handled],
            "handled_by_both": len(overlap),
            "misplaced": sum(
                1
                for shard, h in zip(labels, handled, strict=True)
                for n in h
                if shard and label_of[n] != shard
            ),
            "peak_rss_mb": [p["peak_rss_mb"] for p in per_operator],
            "apiserver": api,
            "loadavg_before_after": [load_before, load_after],
            "settle_s": settle,
            "per_operator": per_operator,
        }
        return result, _failover(env, namespace, shards, settings, timeout) if failover else None


def _idle(
    env: Env, namespace: str, shards: list[_Shard], settle: float
) -> tuple[list[list[float]], list[dict[str, Any]]]:
    """Each operator's RSS samples over `settle` s with all Ready, sampled side by side, and what
    touched each shard meanwhile once the burst's trailing writes are done (its idle: the baseline of
    the failover's figures)."""
    with ThreadPoolExecutor(len(shards)) as pool:
        sampling = pool.map(lambda shard: rss_samples(shard.operator, settle), shards)
        time.sleep(min(TRAILING_S, settle))
        activities = [ShardActivity(env, namespace, shard) for shard in shards]
        samples = list(sampling)
    return samples, [activity.stop() for activity in activities]


def _failover(
    env: Env, namespace: str, shards: list[_Shard], settings: dict[str, Any] | None, timeout: float
) -> dict[str, Any]:
    """SIGKILL of shard a's operator, and a fresh one in its place, timed to every one of shard a's
    providers resumed. Meanwhile shard b must see nothing beyond its idle: the same process, its
    providers Ready throughout, and no status write, Event or Twilio call it would not make anyway."""
    a, b = shards
    not_ready = DoneWatcher(env.kube, namespace, lambda obj: not operator_ready(obj)).start()
    leases = (
        {s.label: LeasePoller(env.kube, namespace, _lease(s.label)).start() for s in shards}
        if settings
        else {}
    )
    try:
        untouched = ShardActivity(env, namespace, b)
        mark = env.twilio_mark()
        b_process, b_cpu = b.operator.process, cpu_seconds(b.operator.pid)
        meter = ApiMeter(env)
        pod = f"{a.user}-2"  # a replacement pod: its own name, so that the Lease's holder tells it apart
        killed = time.monotonic()
        a.operator.kill()
        replacement = _shard_operator(env, namespace, a.label, pod, a.kubeconfig, settings, "a-failover")
        with replacement as (fresh, _):
            up = time.monotonic() - killed
            resumed = wait_resumed_many(fresh, namespace, a.names, timeout)
            resumed_after = time.monotonic() - killed
            # From its start, imports included: a small shard is resumed before /healthz answers.
            cpu_resume = cpu_seconds(fresh.pid)
            time.sleep(TRAILING_S)  # what trails the resume is counted too
            b_alive = b_process is not None and b_process.poll() is None and b.operator.process is b_process
            other = {
                "shard": f"shard={b.label}",
                "same_process": b_alive,
                "not_ready_seen": not_ready.count_done(b.names),
                "cpu_s": round(cpu_seconds(b.operator.pid) - b_cpu, 2) if b_alive else None,
                **untouched.stop(),
            }
            if leases:
                other["lease_holders"] = sorted({holder for _, holder, _ in leases["b"].changes})
            other["untouched"] = bool(
                b_alive
                and other.get("lease_holders", [b.user]) == [b.user]
                and other["not_ready_seen"] == 0
                and other["twilio"]["total"] == 0
                and other["writes_on_providers"] == 0
                and other["events"] == 0
                and other["operator_writes"] == 0  # Lease renewals apart: they are its idle
            )
            api = meter.stop()
            fresh_figures = {
                "peak_rss_mb": round(peak_rss_mb(fresh.pid), 1),
                "cpu_s": round(cpu_resume, 2),
                "twilio": reads_writes(env.twilio_calls(mark, a.accounts)),
            }
        taken = leases["a"].wait_holder(pod, killed, 1.0) if leases else None
        return {
            "shard": f"shard={a.label}",
            "providers": len(a.names),
            "signal": "SIGKILL",
            "all_resumed": resumed,
            "resumed_after_s": round(resumed_after, 2),
            "process_up_after_s": round(up, 2),
            "lease_taken_after_s": None if taken is None else round(taken - killed, 2),
            "not_ready_seen": not_ready.count_done(a.names),
            "fresh_operator": fresh_figures,
            "apiserver": api,
            "other_shard": other,
        }
    finally:
        not_ready.stop()
        for poller in leases.values():
            poller.stop()


class AuditLog:
    """The API server's audit events from now on: every write (create, update, patch, delete), with
    who made it and on what; ControlPlane's audit policy logs no read."""

    def __init__(self, cp: ControlPlane) -> None:
        self.path = cp.workdir / "audit.log"
        # From the end of the last complete line: the tail is enough to find it.
        _, self.offset = read_lines(self.path, max(0, self.path.stat().st_size - 65536))

    def since(self) -> list[Obj]:
        lines, _ = read_lines(self.path, self.offset)
        return [json.loads(line) for line in lines if line.strip()]


class ShardActivity:
    """What touches one shard over a span: its accounts' Twilio calls, the writes on its providers by
    anyone, the Events about them (new ones, and repeats that bump an Event's count), and every write
    of its operator's identity, the Lease's renewals apart."""

    def __init__(self, env: Env, namespace: str, shard: _Shard) -> None:
        self.env = env
        self.namespace = namespace
        self.shard = shard
        self.names = set(shard.names)
        self.audit = AuditLog(env.cp)
        self.twilio_mark = env.twilio_mark()
        self.events = self._events()
        self.started = time.monotonic()

    def _events(self) -> dict[str, str]:
        """Events about the shard's providers: name -> resourceVersion."""
        status, body = self.env.kube.request("GET", f"/api/v1/namespaces/{self.namespace}/events")
        if status != 200:
            raise RuntimeError(f"listing Events: HTTP {status}: {body}")
        return {
            e["metadata"]["name"]: e["metadata"]["resourceVersion"]
            for e in body["items"]
            if e["involvedObject"].get("name") in self.names
        }

    def stop(self) -> dict[str, Any]:
        writes = self.audit.since()
        events = self._events()
        on_providers = [
            w
            for w in writes
            if (ref := w.get("objectRef") or {}).get("resource") == "twilioproviders"
            and ref.get("namespace") == self.namespace
            and ref.get("name") in self.names
        ]
        own = [w for w in writes if _user(w) == self.shard.user]
        lease = [w for w in own if (w.get("objectRef") or {}).get("resource") == "leases"]
        return {
            "window_s": round(time.monotonic() - self.started, 1),
            "twilio": reads_writes(self.env.twilio_calls(self.twilio_mark, self.shard.accounts)),
            "writes_on_providers": len(on_providers),
            "writes_on_providers_by": _by_verb(on_providers),
            "events": sum(1 for name, version in events.items() if self.events.get(name) != version),
            "operator_writes": len(own) - len(lease),
            "operator_lease_writes": len(lease),
            "operator_writes_by": _by_verb(own),
        }


def _user(write: Obj) -> str:
    return str((write.get("user") or {}).get("username") or "")


def _by_verb(writes: list[Obj]) -> dict[str, int]:
    """'verb resource[/subresource]' -> count."""
    counts = Counter(f"{w.get('verb')} {_resource(w.get('objectRef') or {})}" for w in writes)
    return dict(sorted(counts.items()))


def _resource(ref: Obj) -> str:
    return (
        f"{ref.get('resource')}/{ref['subresource']}" if ref.get("subresource") else str(ref.get("resource"))
    )


def _handled(operator: Operator, namespace: str) -> set[str]:
    """Providers whose names appear in this operator's own log (kopf prefixes lines [namespace/name])."""
    text = operator.log_path.read_text(errors="replace")
    return set(re.findall(rf"\[{re.escape(namespace)}/(g-\d+)\]", text))
