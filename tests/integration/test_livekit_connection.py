"""A LiveKitConnection with the operator process, on the real API server, against the Twilio emulator and
a real livekit-server: a call to an imported number reaches its agent with nothing typed by hand.

Proven from both ends: every imported number with an agent has exactly one dispatch rule naming that
agent, the Twilio trunk's origination points at LiveKit's SIP URI, and the credentials LiveKit's
outbound trunk holds authenticate against the Twilio trunk before, during and after a rotation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    CONNECTIONS,
    NUMBERS,
    PROVIDERS,
    REPO,
    condition,
    create,
    decoded,
    delete,
    events,
    get,
    merge_patch,
    provider_spec,
    put_secret,
    secret,
    wait_for,
    wait_ready,
)
from fixtures.livekit import livekit_address
from fixtures.operator_process import OperatorProcess, StartOperator
from twilio_operator.api.errors import LiveKitError
from twilio_operator.api.livekit_values import InboundTrunkSpec
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.livekit.port import LiveKitPort
from twilio_operator.testing.controlplane import ControlPlane
from twilio_operator.testing.livekit import LiveKitServer

FIRST, SECOND, THIRD = "+15005550006", "+15005550007", "+15005550008"
SIP_URI = "sip:agents.sip.example.test;transport=tcp"
API_SECRET = "livekit-api"
ROTATE = "voip.twilio-operator.dev/rotate-sip-credentials"
# Resync every few seconds, so that drift made by hand comes back within a test's patience.
OPERATOR_ENV = {"TWILIO_OPERATOR_LIVEKIT_RESYNC_SECONDS": "4"}


@pytest_asyncio.fixture
async def lk_port(livekit: LiveKitServer) -> AsyncIterator[LiveKitPort]:
    connector = LiveKitLibraryConnector()
    try:
        yield connector.connect(livekit_address(livekit))
    finally:
        await connector.close()


@pytest.fixture
def lk_operator(start_operator: StartOperator) -> OperatorProcess:
    return start_operator(**OPERATOR_ENV)


def connection_spec(livekit: LiveKitServer, **extra: Any) -> dict[str, Any]:
    return {
        "providerRef": {"name": "acme"},
        "url": livekit.url,
        "apiSecretRef": {"name": API_SECRET},
        "sipUri": SIP_URI,
        **extra,
    }


def number(cp: ControlPlane, namespace: str, name: str, phone: str, agent: str | None) -> None:
    spec: dict[str, Any] = {"providerRef": {"name": "acme"}, "phoneNumber": phone}
    if agent:
        spec["agentRef"] = {"name": agent}
    create(cp, NUMBERS, namespace, name, spec)


async def settle(check: Any, timeout: float, what: str) -> Any:
    """Poll an async check (LiveKit seen through the port) until it returns something truthy. A
    LiveKit that was restarted meanwhile may drop the port's pooled connection once: asked again."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except LiveKitError as error:
            last = error
        else:
            if last:
                return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


async def rules_by_agent(port: LiveKitPort) -> dict[str, list[str]]:
    return {
        r.spec.agents[0]: sorted(r.spec.numbers) for r in await port.list_dispatch_rules() if r.spec.agents
    }


def trunk_of(account: TwilioAccount, sid: str) -> dict[str, Any]:
    return next(t for t in account.state()["trunks"] if t["sid"] == sid)


@pytest.fixture
def world(
    crds: ControlPlane,
    namespace: str,
    twilio_account: TwilioAccount,
    credentials: str,
    livekit: LiveKitServer,
) -> Iterator[dict[str, Any]]:
    put_secret(crds, namespace, API_SECRET, {"apiKey": livekit.api_key, "apiSecret": livekit.api_secret})
    yield {"cp": crds, "ns": namespace, "account": twilio_account}


@pytest.mark.usefixtures("lk_operator")
async def test_numbers_reach_their_agents_and_the_trunk_points_at_livekit(
    world: dict[str, Any],
    emulator: EmulatorAdmin,
    livekit: LiveKitServer,
    lk_port: LiveKitPort,
) -> None:
    cp, ns, account = world["cp"], world["ns"], world["account"]
    emulator.add_numbers(account.sid, numbers=[{"phone_number": THIRD}])
    create(cp, PROVIDERS, ns, "acme", provider_spec(account))
    wait_ready(cp, PROVIDERS, ns, "acme", timeout=45)
    create(cp, CONNECTIONS, ns, "agents", connection_spec(livekit))
    number(cp, ns, "support-1", FIRST, "support")
    number(cp, ns, "support-2", SECOND, "support")
    number(cp, ns, "sales", THIRD, "sales")

    expected = {"support": [FIRST, SECOND], "sales": [THIRD]}
    assert (
        await settle(lambda: _equal(rules_by_agent(lk_port), expected), 60, "one rule per agent") == expected
    )
    connection = wait_ready(cp, CONNECTIONS, ns, "agents", timeout=60)
    provider = get(cp, PROVIDERS, ns, "acme") or {}
    # The Twilio trunk sends inbound calls to LiveKit.
    trunk = trunk_of(account, provider["status"]["trunkSid"])
    assert [o["sip_url"] for o in trunk["origination_urls"]] == [SIP_URI]
    assert SIP_URI in provider["status"]["originationUris"]
    assert condition(connection, "OriginationInSync")["status"] == "True"
    # Every imported number with an agent has exactly one rule naming that agent, on our inbound trunk.
    [inbound] = await lk_port.list_inbound_trunks()
    [outbound] = await lk_port.list_outbound_trunks()
    rules = await lk_port.list_dispatch_rules()
    for phone, agent in ((FIRST, "support"), (SECOND, "support"), (THIRD, "sales")):
        holding = [r for r in rules if phone in r.spec.numbers]
        assert [r.spec.agents for r in holding] == [(agent,)], phone
        assert holding[0].spec.trunk_ids == (inbound.id,)
    assert sorted(inbound.spec.numbers) == sorted(outbound.spec.numbers) == [FIRST, SECOND, THIRD]
    # LiveKit's outbound credentials authenticate against the Twilio trunk.
    assert outbound.spec.address == trunk["domain_name"]
    assert emulator.sip_auth(trunk["domain_name"], outbound.spec.auth_username, outbound.spec.auth_password)
    status = connection["status"]
    assert status["inboundTrunk"]["id"] == inbound.id and status["outboundTrunk"]["id"] == outbound.id
    assert {n["phoneNumber"]: n.get("dispatchRuleId") for n in status["numbers"]} == {
        r_phone: next(r.id for r in rules if r_phone in r.spec.numbers) for r_phone in (FIRST, SECOND, THIRD)
    }
    reasons = {e["reason"] for e in events(cp, ns, "agents")}
    assert {"LiveKitTrunkCreated", "DispatchRuleCreated", "InSync"} <= reasons

    # Re-routed to another agent, then detached: both trunks and the rules follow within seconds.
    merge_patch(cp, "twpn", ns, "support-2", {"spec": {"agentRef": {"name": "sales"}}})
    expected = {"support": [FIRST], "sales": [SECOND, THIRD]}
    await settle(lambda: _equal(rules_by_agent(lk_port), expected), 30, "the number re-routed")
    delete(cp, ns, "sales", plural=NUMBERS)
    expected = {"support": [FIRST], "sales": [SECOND]}
    await settle(lambda: _equal(rules_by_agent(lk_port), expected), 30, "the number detached")
    await settle(lambda: _numbers_of(lk_port, [FIRST, SECOND]), 30, "both trunks without the number")

    # Drift made by hand comes back at the next resync.
    await lk_port.delete_trunk(outbound.id)
    await settle(lambda: _outbound_count(lk_port, 1), 30, "the outbound trunk back")

    # Deleting the connection removes what it made in LiveKit and its URI from the Twilio trunk.
    delete(cp, ns, "agents", plural=CONNECTIONS)
    wait_for(lambda: get(cp, CONNECTIONS, ns, "agents") is None, 30, "the connection gone")
    assert await lk_port.list_inbound_trunks() == [] and await lk_port.list_dispatch_rules() == []
    # The provider's next reconcile (woken at once, but rate bound after the many wake-ups above).
    wait_for(
        lambda: trunk_of(account, provider["status"]["trunkSid"])["origination_urls"] == [],
        150,
        "the LiveKit URI off the Twilio trunk",
    )


@pytest.mark.usefixtures("lk_operator")
async def test_rotation_switches_livekit_before_the_old_credential_is_deleted(
    world: dict[str, Any],
    emulator: EmulatorAdmin,
    livekit: LiveKitServer,
    lk_port: LiveKitPort,
) -> None:
    cp, ns, account = world["cp"], world["ns"], world["account"]
    create(cp, PROVIDERS, ns, "acme", provider_spec(account, sipCredentials={"gracePeriod": "6s"}))
    provider = wait_ready(cp, PROVIDERS, ns, "acme", timeout=45)
    domain = provider["status"]["trunkDomainName"]
    create(cp, CONNECTIONS, ns, "agents", connection_spec(livekit))
    number(cp, ns, "support", FIRST, "support")
    # Ready comes once before the number is on the trunk (no numbers: no trunks yet): wait for the
    # outbound trunk itself.
    [before] = await settle(lk_port.list_outbound_trunks, 60, "the outbound trunk")
    wait_ready(cp, CONNECTIONS, ns, "agents", timeout=60)
    old = (before.spec.auth_username, before.spec.auth_password)
    assert emulator.sip_auth(domain, *old)

    # LiveKit is down when the rotation comes: the old credential stays past its grace period.
    livekit.stop_livekit()
    merge_patch(cp, "twp", ns, "acme", {"metadata": {"annotations": {ROTATE: "first"}}})
    new_username = wait_for(
        lambda: (
            (decoded(secret(cp, ns, "acme-sip-credentials") or {}).get("username") or None)
            if decoded(secret(cp, ns, "acme-sip-credentials") or {}).get("username") != old[0]
            else None
        ),
        30,
        "the new pair in the SIP Secret",
    )
    kept = wait_for(
        lambda: (
            ((get(cp, PROVIDERS, ns, "acme") or {}).get("status") or {})
            .get("sipCredentials", {})
            .get("previousKeptFor")
        ),
        40,
        "the retirement held back for the connection",
    )
    assert kept == ["agents"]
    assert emulator.sip_auth(domain, *old)  # never cut off
    # The connection learns that LiveKit is down at its own next look (woken by the new pair).
    wait_for(
        lambda: condition(get(cp, CONNECTIONS, ns, "agents"))["reason"] == "LiveKitUnreachable",
        30,
        "the connection's LiveKitUnreachable",
    )
    wait_for(
        lambda: "SipCredentialRetirementWaiting" in {e["reason"] for e in events(cp, ns, "acme")},
        30,
        "the Event of the retirement that waits",
    )

    # LiveKit is back: the trunk switches, then (only then) the old credential goes.
    livekit.start_livekit()
    switched = await settle(lambda: _outbound_user(lk_port, new_username), 60, "LiveKit on the new pair")
    assert emulator.sip_auth(domain, switched.spec.auth_username, switched.spec.auth_password)
    wait_for(lambda: not emulator.sip_auth(domain, *old), 60, "the old credential retired")
    [after] = await settle(lk_port.list_outbound_trunks, 10, "the outbound trunk")
    assert emulator.sip_auth(domain, after.spec.auth_username, after.spec.auth_password)
    # Twilio loses the old credential before the status says so: wait for the status too.
    wait_for(
        lambda: (
            "previousKeptFor"
            not in ((get(cp, PROVIDERS, ns, "acme") or {}).get("status") or {}).get("sipCredentials", {})
        ),
        30,
        "previousKeptFor gone from the status",
    )


async def test_a_standing_conflict_is_a_condition_and_costs_few_requests(
    world: dict[str, Any],
    emulator: EmulatorAdmin,
    livekit: LiveKitServer,
    lk_port: LiveKitPort,
    operator: OperatorProcess,  # the default resync (5 min): the conflict's own backoff counts
) -> None:
    cp, ns, account = world["cp"], world["ns"], world["account"]
    theirs = await lk_port.create_inbound_trunk(InboundTrunkSpec(name="made by hand", numbers=(FIRST,)))
    create(cp, PROVIDERS, ns, "acme", provider_spec(account))
    wait_ready(cp, PROVIDERS, ns, "acme", timeout=45)
    number(cp, ns, "support", FIRST, "support")
    wait_for(
        lambda: condition(get(cp, NUMBERS, ns, "support")).get("status") == "True", 30, "number attached"
    )
    create(cp, CONNECTIONS, ns, "agents", connection_spec(livekit))
    found = wait_for(
        lambda: (
            (obj := get(cp, CONNECTIONS, ns, "agents")) and condition(obj).get("reason") == "Conflict" and obj
        ),
        60,
        "the Conflict condition",
    )
    message = condition(found)["message"]
    assert theirs.id in message and FIRST in message and "LiveKit said:" in message
    counts_before = livekit.request_counts()
    time.sleep(20)
    counts_after = livekit.request_counts()
    spent = sum(counts_after.values()) - sum(counts_before.values())
    print(f"LiveKit requests during 20 s of a standing conflict: {spent}")
    # At most two rounds of three lists (a wake-up from the provider, the first recheck after 30 s is
    # outside the window); no write at all.
    assert spent <= 6, {k: v - counts_before.get(k, 0) for k, v in counts_after.items()}
    assert await lk_port.list_inbound_trunks() == [theirs]  # theirs untouched, no trunk without numbers


async def _equal(value: Any, expected: Any) -> Any:
    got = await value
    return got if got == expected else None


async def _numbers_of(port: LiveKitPort, numbers: list[str]) -> bool:
    inbound, outbound = await port.list_inbound_trunks(), await port.list_outbound_trunks()
    return [sorted(t.spec.numbers) for t in (*inbound, *outbound)] == [numbers, numbers]


async def _outbound_count(port: LiveKitPort, count: int) -> bool:
    return len(await port.list_outbound_trunks()) == count


async def _outbound_user(port: LiveKitPort, username: str) -> Any:
    found = await port.list_outbound_trunks()
    return found[0] if found and found[0].spec.auth_username == username else None


async def test_time_from_a_new_number_to_its_dispatch_rule(
    world: dict[str, Any],
    emulator: EmulatorAdmin,
    livekit: LiveKitServer,
    lk_port: LiveKitPort,
    operator: OperatorProcess,  # default settings: the wake-ups alone bring the number to LiveKit
) -> None:
    """The figure of the issue: from `kubectl apply` of a TwilioPhoneNumber with an agent to its
    dispatch rule in LiveKit (the number is imported into Twilio on the way)."""
    cp, ns, account = world["cp"], world["ns"], world["account"]
    phones = [f"+1500555{n:04d}" for n in range(1010, 1014)]
    emulator.add_numbers(account.sid, numbers=[{"phone_number": p} for p in phones])
    create(cp, PROVIDERS, ns, "acme", provider_spec(account))
    wait_ready(cp, PROVIDERS, ns, "acme", timeout=45)
    number(cp, ns, "first", FIRST, "support")
    create(cp, CONNECTIONS, ns, "agents", connection_spec(livekit))
    wait_ready(cp, CONNECTIONS, ns, "agents", timeout=60)
    await settle(lambda: _equal(rules_by_agent(lk_port), {"support": [FIRST]}), 30, "the first rule")
    took = []
    for index, phone in enumerate(phones):
        started = time.monotonic()
        number(cp, ns, f"n{index}", phone, f"agent-{index}")
        await settle(lambda p=phone: _rule_for(lk_port, p), 60, f"the rule of {phone}")
        took.append(time.monotonic() - started)
    print(
        "TwilioPhoneNumber created -> its dispatch rule in LiveKit: " + ", ".join(f"{t:.1f}s" for t in took)
    )
    assert max(took) < 30, took


def test_the_example_is_accepted_by_the_api_server(crds: ControlPlane, namespace: str) -> None:
    example = REPO / "examples" / "livekit" / "livekit-connection.yaml"
    result = crds.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(example))
    assert result.returncode == 0, result.stderr
    assert "livekitconnection.voip.twilio-operator.dev/agents created (server dry run)" in result.stdout


async def _rule_for(port: LiveKitPort, phone: str) -> bool:
    return any(phone in rule.spec.numbers for rule in await port.list_dispatch_rules())


async def test_deleting_the_provider_first_gives_a_clear_condition_and_no_hang(
    world: dict[str, Any],
    emulator: EmulatorAdmin,
    livekit: LiveKitServer,
    lk_port: LiveKitPort,
    operator: OperatorProcess,
) -> None:
    cp, ns, account = world["cp"], world["ns"], world["account"]
    create(cp, PROVIDERS, ns, "acme", provider_spec(account))
    wait_ready(cp, PROVIDERS, ns, "acme", timeout=45)
    number(cp, ns, "support", FIRST, "support")
    create(cp, CONNECTIONS, ns, "agents", connection_spec(livekit))
    wait_ready(cp, CONNECTIONS, ns, "agents", timeout=60)

    delete(cp, ns, "acme")  # the provider goes first: its deletion does not wait for the connection
    wait_for(lambda: get(cp, PROVIDERS, ns, "acme") is None, 60, "the provider gone")
    found = wait_for(
        lambda: (
            (obj := get(cp, CONNECTIONS, ns, "agents"))
            and condition(obj).get("reason") == "ProviderNotFound"
            and obj
        ),
        30,
        "ProviderNotFound on the connection",
    )
    assert "delete this LiveKitConnection to remove them" in condition(found)["message"]
    assert len(await lk_port.list_inbound_trunks()) == 1  # LiveKit is left as it is meanwhile

    delete(cp, ns, "agents", plural=CONNECTIONS)  # and the connection still goes, with its LiveKit objects
    wait_for(lambda: get(cp, CONNECTIONS, ns, "agents") is None, 30, "the connection gone")
    assert await lk_port.list_inbound_trunks() == [] and await lk_port.list_outbound_trunks() == []
    assert await lk_port.list_dispatch_rules() == []
