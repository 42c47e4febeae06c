"""SIGKILL the operator right after each LiveKit write of a LiveKitConnection (LiveKit committed it, its
answer never arrived), start it again, and count: 0 duplicates (at most one trunk of each kind and one
rule per agent carry the connection's UID, at the kill and once converged again) and 0 orphans (after
the connection is deleted, nothing in LiveKit carries its UID, even when the kill cut the deletion).

The writes are cut by a proxy in front of livekit-server (livekit_proxy.py) that holds back LiveKit's
answer after LiveKit did the write: the operator is stuck right after it, and is killed there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    CONNECTIONS,
    NUMBERS,
    PROVIDERS,
    condition,
    create,
    delete,
    get,
    merge_patch,
    provider_spec,
    put_secret,
    wait_for,
    wait_ready,
)
from fixtures.livekit import livekit_address
from fixtures.operator_process import OperatorProcess
from twilio_operator.api import livekit as marks
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.livekit.port import LiveKitPort
from twilio_operator.testing.controlplane import ControlPlane
from twilio_operator.testing.livekit import LiveKitServer

from .livekit_proxy import HangingProxy
from .rsupport import kill

FIRST, SECOND = "+15005550006", "+15005550007"
AGENTS = {"support": [FIRST], "sales": [SECOND]}
ROTATE = "voip.twilio-operator.dev/rotate-sip-credentials"


@dataclass(frozen=True)
class CrashPoint:
    phase: str  # "create": while converging a new connection; "rotate"; "delete": while finalizing
    method: str  # the Twirp method whose answer is held back
    nth: int = 1


POINTS = [
    CrashPoint("create", "CreateSIPInboundTrunk"),
    CrashPoint("create", "CreateSIPOutboundTrunk"),
    CrashPoint("create", "CreateSIPDispatchRule", 1),
    CrashPoint("create", "CreateSIPDispatchRule", 2),
    CrashPoint("rotate", "UpdateSIPOutboundTrunk"),
    CrashPoint("delete", "DeleteSIPDispatchRule", 1),
    CrashPoint("delete", "DeleteSIPDispatchRule", 2),
    CrashPoint("delete", "DeleteSIPTrunk", 1),
    CrashPoint("delete", "DeleteSIPTrunk", 2),
]


@pytest_asyncio.fixture
async def lk_port(livekit: LiveKitServer) -> AsyncIterator[LiveKitPort]:
    connector = LiveKitLibraryConnector()
    try:
        yield connector.connect(livekit_address(livekit))
    finally:
        await connector.close()


@pytest.fixture
def proxy(livekit: LiveKitServer) -> Iterator[HangingProxy]:
    running = HangingProxy(livekit.url)
    try:
        yield running
    finally:
        running.stop()


async def ours(port: LiveKitPort, uid: str) -> dict[str, list[Any]]:
    """Everything in LiveKit that carries the connection's mark, by role (rules by agent)."""
    for attempt in range(3):  # a LiveKit connection pooled from before may be dropped once
        try:
            inbound = await port.list_inbound_trunks()
            outbound = await port.list_outbound_trunks()
            rules = await port.list_dispatch_rules()
            break
        except Exception:
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    found: dict[str, list[Any]] = {
        "inbound": [t for t in inbound if marks.owned_by(uid, t.spec.metadata, "inbound")],
        "outbound": [t for t in outbound if marks.owned_by(uid, t.spec.metadata, "outbound")],
    }
    for rule in rules:
        mark = marks.owned_by(uid, rule.spec.metadata, "dispatch")
        if mark is not None:
            found.setdefault(f"rule {mark.agent}", []).append(rule)
    return found


def no_duplicates(found: dict[str, list[Any]], where: str) -> None:
    assert all(len(items) <= 1 for items in found.values()), (
        where,
        {k: [o.id for o in v] for k, v in found.items()},
    )


def converged(found: dict[str, list[Any]]) -> bool:
    rules = {
        k.removeprefix("rule "): sorted(v[0].spec.numbers) for k, v in found.items() if k.startswith("rule ")
    }
    return len(found["inbound"]) == len(found["outbound"]) == 1 and rules == AGENTS


async def test_sigkill_after_every_livekit_write_leaves_no_duplicate_and_no_orphan(
    crds: ControlPlane,
    namespace: str,
    twilio_account: TwilioAccount,
    credentials: str,
    livekit: LiveKitServer,
    lk_port: LiveKitPort,
    proxy: HangingProxy,
    start_operator: Any,
) -> None:
    cp, ns = crds, namespace
    put_secret(cp, ns, "livekit-api", {"apiKey": livekit.api_key, "apiSecret": livekit.api_secret})
    running: OperatorProcess = start_operator()
    create(cp, PROVIDERS, ns, "acme", provider_spec(twilio_account, sipCredentials={"gracePeriod": "4s"}))
    wait_ready(cp, PROVIDERS, ns, "acme", timeout=45)
    for agent, numbers in AGENTS.items():
        spec = {"providerRef": {"name": "acme"}, "phoneNumber": numbers[0], "agentRef": {"name": agent}}
        create(cp, NUMBERS, ns, agent, spec)
        wait_ready(cp, NUMBERS, ns, agent, timeout=45)
    timings = []
    for index, point in enumerate(POINTS):
        started = time.monotonic()
        name = f"c{index}"
        spec = {"providerRef": {"name": "acme"}, "url": proxy.url, "apiSecretRef": {"name": "livekit-api"},
                "sipUri": f"sip:{name}.sip.example.test"}  # fmt: skip
        if point.phase == "create":
            committed = proxy.hang(point.method, point.nth)
        uid = create(cp, CONNECTIONS, ns, name, spec)["metadata"]["uid"]
        if point.phase != "create":
            wait_ready(cp, CONNECTIONS, ns, name, timeout=60)
            committed = proxy.hang(point.method, point.nth)
            if point.phase == "rotate":
                merge_patch(cp, "twp", ns, "acme", {"metadata": {"annotations": {ROTATE: str(index)}}})
            else:
                delete(cp, ns, name, plural=CONNECTIONS)
        assert committed.wait(45), f"{point}: the write never came ({proxy.calls[-8:]})"
        kill(running)
        proxy.release()
        no_duplicates(await ours(lk_port, uid), f"at the kill after {point}")
        running = start_operator()

        if point.phase == "delete":
            wait_for(lambda n=name: get(cp, CONNECTIONS, ns, n) is None, 60, f"{name} gone after {point}")
            assert await ours(lk_port, uid) == {"inbound": [], "outbound": []}, f"orphans after {point}"
        else:
            found = await _settle(
                lambda u=uid: ours(lk_port, u), converged, 60, f"{name} converged after {point}"
            )
            no_duplicates(found, f"converged after {point}")
            ready = wait_ready(cp, CONNECTIONS, ns, name, timeout=60)
            assert condition(ready, "Conflict")["status"] == "False"
            delete(cp, ns, name, plural=CONNECTIONS)
            wait_for(lambda n=name: get(cp, CONNECTIONS, ns, n) is None, 60, f"{name} deleted")
            assert await ours(lk_port, uid) == {"inbound": [], "outbound": []}, f"orphans after {point}"
        timings.append(f"{point.phase} {point.method} #{point.nth}: {time.monotonic() - started:.1f}s")
    # Nothing of any connection is left, and nothing else was made.
    assert await lk_port.list_inbound_trunks() == [] and await lk_port.list_dispatch_rules() == []
    print("\n".join(timings))


async def _settle(read: Any, done: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await read()
        if done(last):
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
