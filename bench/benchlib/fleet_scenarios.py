"""Scenarios beyond one provider per account: many numbers on one provider (f), and sharding (g)."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from twilio_operator.api.models import GROUP, VERSION

from .kube import DoneWatcher, Obj, object_path, operator_ready, providers_path
from .procs import Operator, cpu_seconds, peak_rss_mb
from .scenarios import Env, make_accounts, provider_body, reads_writes, running_operator


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


def scenario_shards(env: Env, count: int, latency_ms: float, timeout: float) -> dict[str, Any]:
    """`count` providers converged by one operator, then `count` more by two operators with disjoint
    label shards (TWILIO_OPERATOR_SHARD_SELECTOR). Reports both times, the speed-up, and which
    objects each shard's log shows it handled (they must not overlap)."""
    single = _converge(env, count, latency_ms, timeout, shards=[""])
    sharded = _converge(env, count, latency_ms, timeout, shards=["a", "b"])
    result: dict[str, Any] = {"providers": count, "latency_ms": latency_ms, "one": single, "two": sharded}
    if single["elapsed_s"] and sharded["elapsed_s"]:
        result["speed_up"] = round(single["elapsed_s"] / sharded["elapsed_s"], 2)
    return result


def _converge(env: Env, count: int, latency_ms: float, timeout: float, shards: list[str]) -> dict[str, Any]:
    namespace = env.namespace(f"bench-g{len(shards)}")
    names = [f"g-{i:05d}" for i in range(count)]
    label_of = {name: shards[i % len(shards)] for i, name in enumerate(names)}
    accounts = make_accounts(env, namespace, names)
    env.emulator.admin.configure(latency_ms=latency_ms)
    operators: list[Operator] = []
    with ExitStack() as stack:
        stack.callback(env.emulator.admin.configure, latency_ms=0)
        for shard in shards:
            extra = {"TWILIO_OPERATOR_SHARD_SELECTOR": f"shard={shard}"} if shard else {}
            context = running_operator(env, namespace, extra_env=extra, instance=shard)
            operator, watcher = stack.enter_context(context)
            operators.append(operator)
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
        handled = [_handled(op, namespace) & set(names) for op in operators]
        overlap = set.intersection(*handled) if len(handled) > 1 else set()
        return {
            "operators": len(shards),
            "all_ready": finished,
            "ready": watcher.count_done(names),
            "elapsed_s": round(elapsed, 2),
            "handled_per_operator": [len(h) for h in handled],
            "handled_by_both": len(overlap),
            "misplaced": sum(
                1
                for shard, h in zip(shards, handled, strict=True)
                for n in h
                if shard and label_of[n] != shard
            ),
            "peak_rss_mb": [round(peak_rss_mb(op.pid), 1) for op in operators],
        }


def _handled(operator: Operator, namespace: str) -> set[str]:
    """Providers whose names appear in this operator's own log (kopf prefixes lines [namespace/name])."""
    text = operator.log_path.read_text(errors="replace")
    return set(re.findall(rf"\[{re.escape(namespace)}/(g-\d+)\]", text))
