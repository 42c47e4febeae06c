"""Twilio fault storm shared by the CI test (test_twilio_faults.py) and the soak (soak.py).

N providers are created at once while the emulator answers 5xx at random (fault_rate), 429 bursts
with Retry-After, and 1-3 s stalls (delay faults). All must converge with exactly one trunk, one
credential list and one credential each. Returns figures: time to converge, Twilio calls per object
per minute while failing, how many 429/5xx answers the operator absorbed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from fixtures.emulator import TwilioAccount
from fixtures.kube import PROVIDERS, condition, create, get, provider_spec, put_secret
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import assert_converged_once


@dataclass
class StormFigures:
    providers: int
    fault_rate: float
    seconds_to_converge: float
    calls: int
    calls_per_object_per_minute: float
    statuses: dict[int, int]
    idle_calls_per_minute: float

    def report(self) -> str:
        failed = {k: v for k, v in sorted(self.statuses.items()) if k >= 400}
        return (
            f"{self.providers} providers, fault_rate {self.fault_rate}: converged in "
            f"{self.seconds_to_converge:.1f}s; {self.calls} Twilio calls = "
            f"{self.calls_per_object_per_minute:.1f} calls/object/minute while failing; "
            f"error answers absorbed {failed}; idle afterwards {self.idle_calls_per_minute:.1f} calls/minute"
        )


def storm(
    cp: ControlPlane,
    emulator: EmulatorAdmin,
    namespace: str,
    account: TwilioAccount,
    providers: int,
    *,
    fault_rate: float = 0.1,
    burst_every_n: int = 50,
    burst_length: int = 5,
    retry_after: int = 2,
    stall_probability: float = 0.03,
    timeout: float = 300.0,
    idle_seconds: float = 10.0,
) -> StormFigures:
    put_secret(cp, namespace, "twilio-credentials", {"authToken": account.auth_token})
    start_seq = max([0] + [r["seq"] for r in emulator.requests()])
    emulator.configure(
        fault_rate=fault_rate,
        rate_limit={"burst_every_n": burst_every_n, "burst_length": burst_length, "retry_after": retry_after},
    )
    for delay_ms in (1000, 2000, 3000):  # 1-3 s stalls, each on a few percent of all requests
        emulator.add_fault(r"/.*", "delay", delay_ms=delay_ms, probability=stall_probability, times=None)
    names = [f"storm-{i:03d}" for i in range(providers)]
    started = time.monotonic()
    for name in names:
        create(cp, PROVIDERS, namespace, name, provider_spec(account))
    pending = set(names)
    deadline = started + timeout
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            obj = get(cp, PROVIDERS, namespace, name)
            cond = condition(obj)
            if cond.get("status") == "True" and cond.get("observedGeneration") == 1:
                pending.discard(name)
        time.sleep(0.5)
    converged = time.monotonic() - started
    emulator.configure(fault_rate=0.0, rate_limit={"burst_every_n": 0, "burst_length": 1, "retry_after": 1})
    emulator.clear_faults()
    assert not pending, f"not Ready after {timeout}s: {sorted(pending)[:10]} (+{max(0, len(pending) - 10)})"

    window = [r for r in emulator.requests(since=start_seq) if r["account_sid"] == account.sid]
    statuses = Counter(int(r["status"]) for r in window)
    # Idle means after the last round of work that Ready set off (verifications woken by the storm's
    # own late answers) has drained: no request for 2 s, within 30 s.
    drain_until = time.monotonic() + 30
    while time.monotonic() < drain_until:
        before = max([start_seq] + [r["seq"] for r in emulator.requests(since=start_seq)])
        time.sleep(2)
        if max([start_seq] + [r["seq"] for r in emulator.requests(since=start_seq)]) == before:
            break
    idle_from = max([start_seq] + [r["seq"] for r in emulator.requests(since=start_seq)])
    time.sleep(idle_seconds)
    idle = [r for r in emulator.requests(since=idle_from) if r["account_sid"] == account.sid]
    for name in names:
        assert_converged_once(cp, emulator, account.sid, namespace, name)
    return StormFigures(
        providers=providers,
        fault_rate=fault_rate,
        seconds_to_converge=converged,
        calls=len(window),
        calls_per_object_per_minute=len(window) / providers / max(converged / 60, 1e-9),
        statuses=dict(statuses),
        idle_calls_per_minute=len(idle) / (idle_seconds / 60),
    )
