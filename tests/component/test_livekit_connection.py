"""A LiveKitConnection's reconcile against a real livekit-server (with its Redis), a provider reconciled
against the Twilio emulator, and the in-memory cluster: trunks and rules kept equal to the provider's
numbers, drift repaired, only our own objects touched, conflicts that quote LiveKit, readable errors,
deletion, and the SIP credential rotation from end to end (LiveKit's pair authenticates in Twilio)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from twilio_operator.api import livekit as marks
from twilio_operator.api import names
from twilio_operator.api.errors import LiveKitError, LiveKitErrorKind
from twilio_operator.api.livekit_values import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    MediaEncryption,
    OutboundTrunkSpec,
    Transport,
)
from twilio_operator.api.models import LiveKitDispatch
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.testing.livekit import LiveKitServer

from .conftest import NAMESPACE, World
from .livekit_world import API_SECRET, SIP_URI, LiveKitWorld, address_of, make_connection

A, B, C, D = "+15550001111", "+15550002222", "+15550003333", "+15550004444"
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest_asyncio.fixture
async def lk(world: World, livekit: LiveKitServer) -> AsyncIterator[LiveKitWorld]:
    connector = LiveKitLibraryConnector(timeout=3.0)
    world.deps.livekit = connector
    world.kube.put_secret(NAMESPACE, API_SECRET, {"apiKey": livekit.api_key, "apiSecret": livekit.api_secret})
    connection = make_connection()
    connection = replace(connection, spec=connection.spec.model_copy(update={"url": livekit.url}))
    lk = LiveKitWorld(world, livekit, connector, connector.connect(address_of(livekit)), connection)
    assert (await lk.reconcile_provider()).ready
    try:
        yield lk
    finally:
        await connector.close()


def agents_of(rule_specs: list[Any]) -> dict[str, tuple[str, ...]]:
    return {r.spec.agents[0]: tuple(sorted(r.spec.numbers)) for r in rule_specs}


async def test_the_trunks_and_one_rule_per_agent_follow_the_provider(lk: LiveKitWorld) -> None:
    lk.add_number(A, "support-a", "support")
    lk.add_number(B, "support-b", "support")
    lk.add_number(C, "sales", "sales")
    assert (await lk.reconcile()).ready

    [inbound] = await lk.port.list_inbound_trunks()
    [outbound] = await lk.port.list_outbound_trunks()
    rules = await lk.port.list_dispatch_rules()
    assert sorted(inbound.spec.numbers) == [A, B, C]  # Twilio's E.164, exactly
    assert sorted(outbound.spec.numbers) == [A, B, C]
    sip = lk.sip_secret()
    assert outbound.spec.address == lk.twilio.status.trunk_domain_name
    assert (outbound.spec.auth_username, outbound.spec.auth_password) == (sip["username"], sip["password"])
    assert lk.authenticates(outbound.spec.auth_username, outbound.spec.auth_password)
    assert agents_of(rules) == {"support": (A, B), "sales": (C,)}
    for rule in rules:
        assert rule.spec.trunk_ids == (inbound.id,) and rule.rule_type == "individual"
        assert rule.spec.room_prefix == "call-"
    for metadata in (inbound.spec.metadata, outbound.spec.metadata, *(r.spec.metadata for r in rules)):
        assert json.loads(metadata)[marks.CONNECTION_UID] == lk.connection.uid

    status = lk.status
    assert status.inbound_trunk is not None and status.inbound_trunk.id == inbound.id
    assert status.outbound_trunk is not None and status.outbound_trunk.username == sip["username"]
    assert {r.agent: r.id for r in status.dispatch_rules} == {r.spec.agents[0]: r.id for r in rules}
    rule_of = {r.spec.agents[0]: r.id for r in rules}
    assert {(n.phone_number, n.agent, n.dispatch_rule_id) for n in status.numbers} == {
        (A, "support", rule_of["support"]),
        (B, "support", rule_of["support"]),
        (C, "sales", rule_of["sales"]),
    }
    assert status.number_count == 3
    for type_ in ("Ready", "LiveKitReachable", "TrunksInSync", "DispatchInSync", "OriginationInSync"):
        assert lk.condition(type_)[0] == "True", (type_, lk.condition(type_))
    assert lk.condition("Conflict")[0] == "False"
    assert status.origination_uri == SIP_URI
    reasons = [reason for _, reason, _ in lk.events()]
    assert reasons.count("LiveKitTrunkCreated") == 2 and reasons.count("DispatchRuleCreated") == 2
    assert "InSync" in reasons

    # Converged: the next round lists and writes nothing, not even the status.
    before, status_writes = lk.counts(), len(lk.twilio.kube.status_writes)
    from twilio_operator.api.patches import status_patch

    was = lk.status
    assert (await lk.reconcile()).ready
    assert lk.writes_since(before) == {}
    assert len(lk.twilio.kube.status_writes) == status_writes, status_patch(was, lk.status)


async def test_numbers_added_removed_and_rerouted_show_up_in_both_trunks_and_the_rules(
    lk: LiveKitWorld,
) -> None:
    lk.add_number(A, "a", "support")
    lk.add_number(B, "b", "sales")
    await lk.reconcile()
    lk.add_number(C, "c", "sales")  # added
    lk.remove_number("a")  # removed: its agent has no number left
    lk.add_number(B, "b", "support")  # re-routed to another agent
    assert (await lk.reconcile()).ready
    [inbound] = await lk.port.list_inbound_trunks()
    [outbound] = await lk.port.list_outbound_trunks()
    assert sorted(inbound.spec.numbers) == sorted(outbound.spec.numbers) == [B, C]
    assert agents_of(await lk.port.list_dispatch_rules()) == {"support": (B,), "sales": (C,)}
    # A number that is not on the trunk (its object not Ready) is in neither trunk.
    lk.add_number(D, "d", "sales", ready=False)
    await lk.reconcile()
    [inbound] = await lk.port.list_inbound_trunks()
    assert D not in inbound.spec.numbers

    # The last number goes: no trunk is left (an inbound trunk without numbers takes every call).
    for name in ("b", "c", "d"):
        lk.remove_number(name)
    assert (await lk.reconcile()).ready
    assert await lk.port.list_inbound_trunks() == [] and await lk.port.list_outbound_trunks() == []
    assert await lk.port.list_dispatch_rules() == []
    assert lk.condition("TrunksInSync")[1] == "NoNumbers"


async def test_a_moved_number_never_sits_in_two_of_our_rules(lk: LiveKitWorld) -> None:
    """Numbers swapped between two agents: each rule first gives up what it loses."""
    lk.add_number(A, "a", "one")
    lk.add_number(B, "b", "one")
    lk.add_number(C, "c", "two")
    lk.add_number(D, "d", "two")
    await lk.reconcile()
    lk.add_number(B, "b", "two")
    lk.add_number(C, "c", "one")
    before = lk.counts()
    assert (await lk.reconcile()).ready
    assert agents_of(await lk.port.list_dispatch_rules()) == {"one": (A, C), "two": (B, D)}
    refused = {k: n for k, n in lk.writes_since(before).items() if k[1]}
    assert refused == {}  # no write LiveKit refused on the way


async def test_a_default_agent_answers_the_numbers_without_an_agent(lk: LiveKitWorld) -> None:
    lk.add_number(A, "a")
    lk.add_number(B, "b", "sales")
    await lk.reconcile()
    assert agents_of(await lk.port.list_dispatch_rules()) == {"sales": (B,)}
    assert f"{A} name no agent" in lk.condition("DispatchInSync")[2]

    lk.with_spec(dispatch=LiveKitDispatch(default_agent="reception", room_prefix="lkc-"))
    assert (await lk.reconcile()).ready
    rules = await lk.port.list_dispatch_rules()
    assert agents_of(rules) == {"sales": (B,), "reception": (A,)}
    assert {r.spec.room_prefix for r in rules} == {"lkc-"}


async def test_drift_made_by_hand_is_repaired(lk: LiveKitWorld) -> None:
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    [inbound] = await lk.port.list_inbound_trunks()
    [outbound] = await lk.port.list_outbound_trunks()
    [rule] = await lk.port.list_dispatch_rules()

    await lk.port.update_inbound_trunk(inbound.id, replace(inbound.spec, numbers=(A, D), krisp_enabled=True))
    await lk.port.update_outbound_trunk(
        outbound.id, replace(outbound.spec, auth_password="edited-by-hand-123")
    )
    await lk.port.update_dispatch_rule(rule.id, replace(rule.spec, agents=("someone-else",)))
    assert (await lk.reconcile()).ready
    assert (await lk.port.list_inbound_trunks())[0].spec == inbound.spec
    assert (await lk.port.list_outbound_trunks())[0].spec == outbound.spec
    assert (await lk.port.list_dispatch_rules())[0].spec == rule.spec

    # Deleted by hand: created again (with new IDs), and the status follows.
    await lk.port.delete_dispatch_rule(rule.id)
    await lk.port.delete_trunk(inbound.id)
    await lk.port.delete_trunk(outbound.id)
    assert (await lk.reconcile()).ready
    [again] = await lk.port.list_inbound_trunks()
    assert (
        again.id != inbound.id
        and lk.status.inbound_trunk is not None
        and lk.status.inbound_trunk.id == again.id
    )
    assert len(await lk.port.list_outbound_trunks()) == 1
    [rule_again] = await lk.port.list_dispatch_rules()
    assert rule_again.spec.trunk_ids == (again.id,)


async def test_a_restart_finds_its_own_objects_and_leaves_others_alone(lk: LiveKitWorld) -> None:
    foreign_in = await lk.port.create_inbound_trunk(InboundTrunkSpec(name="by hand", numbers=(D,)))
    foreign_out = await lk.port.create_outbound_trunk(
        OutboundTrunkSpec(name="by hand", address="elsewhere.example.com", numbers=(D,))
    )
    foreign_rule = await lk.port.create_dispatch_rule(
        DispatchRuleSpec(name="by hand", trunk_ids=(foreign_in.id,), numbers=(D,), agents=("mine",))
    )
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    ours = {t.id for t in await lk.port.list_inbound_trunks()} | {
        t.id for t in await lk.port.list_outbound_trunks()
    }

    # The status is lost (a restore, a crash before its write): the UID mark finds everything again.
    lk.connection = replace(lk.connection, status=type(lk.status)())
    before = lk.counts()
    assert (await lk.reconcile()).ready
    assert lk.writes_since(before) == {}
    again = {t.id for t in await lk.port.list_inbound_trunks()} | {
        t.id for t in await lk.port.list_outbound_trunks()
    }
    assert again == ours

    # A duplicate of ours (a second operator by mistake) goes; nothing unmarked is touched.
    [inbound] = [t for t in await lk.port.list_inbound_trunks() if t.id != foreign_in.id]
    [rule] = [r for r in await lk.port.list_dispatch_rules() if r.id != foreign_rule.id]
    twin = await lk.port.create_outbound_trunk(
        (await lk.port.list_outbound_trunks(trunk_ids=[lk.status.outbound_trunk.id]))[0].spec
    )  # type: ignore[union-attr]
    await lk.reconcile()
    outbound_ids = {t.id for t in await lk.port.list_outbound_trunks()}
    assert twin.id not in outbound_ids and foreign_out.id in outbound_ids and len(outbound_ids) == 2
    assert foreign_in in await lk.port.list_inbound_trunks()
    assert foreign_rule in await lk.port.list_dispatch_rules()
    assert inbound in await lk.port.list_inbound_trunks() and rule in await lk.port.list_dispatch_rules()


async def test_another_inbound_trunk_with_our_number_is_a_conflict_that_quotes_livekit(
    lk: LiveKitWorld,
) -> None:
    theirs = await lk.port.create_inbound_trunk(InboundTrunkSpec(name="made by hand", numbers=(B,)))
    lk.add_number(A, "a", "support")
    lk.add_number(B, "b", "support")
    outcome = await lk.reconcile()
    assert not outcome.ready and outcome.conflict
    status, reason, message = lk.condition()
    assert (status, reason) == ("False", "Conflict")
    assert theirs.id in message and B in message and "made by hand" in message
    assert (
        "LiveKit said: cannot create LiveKit inbound trunk: HTTP 400, invalid_argument: "
        "Conflicting inbound SIP Trunks" in message
    )
    assert lk.condition("Conflict")[0] == "True"
    # The rest is served: our trunk holds A, and A's rule exists.
    [ours] = [t for t in await lk.port.list_inbound_trunks() if t.id != theirs.id]
    assert ours.spec.numbers == (A,)
    assert agents_of(await lk.port.list_dispatch_rules()) == {"support": (A,)}
    assert [n.dispatch_rule_id is not None for n in lk.status.numbers] == [True, False]
    assert ("Warning", "Conflict") in [(k, r) for k, r, _ in lk.events()]

    # A standing conflict costs reads only, keeps LiveKit's words, and says it once.
    before, events = lk.counts(), len(lk.events())
    await lk.reconcile()
    assert lk.writes_since(before) == {}
    assert lk.condition()[2] == message
    assert len(lk.events()) == events

    # The other trunk lets go of the number: the connection takes it (checked by number first).
    await lk.port.update_inbound_trunk(theirs.id, InboundTrunkSpec(name="made by hand", numbers=(D,)))
    assert (await lk.reconcile()).ready
    assert sorted((await lk.port.list_inbound_trunks(trunk_ids=[ours.id]))[0].spec.numbers) == [A, B]
    assert lk.condition("Conflict")[0] == "False"


async def test_an_update_never_adds_a_number_another_trunk_holds(lk: LiveKitWorld) -> None:
    """livekit-server does not check an updated trunk's numbers: the operator lists by number first."""
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    theirs = await lk.port.create_inbound_trunk(
        InboundTrunkSpec(name="theirs", numbers=(C.removeprefix("+"),))
    )
    lk.add_number(C, "c", "support")
    await lk.reconcile()
    ours = lk.status.inbound_trunk
    assert ours is not None and ours.numbers == [A]
    _, reason, message = lk.condition()
    assert reason == "Conflict" and theirs.id in message and C in message
    listed = await lk.port.list_inbound_trunks(numbers=[C])
    assert [t.id for t in listed] == [theirs.id]  # LiveKit routes C to one trunk only


async def test_another_rule_for_our_trunk_and_number_is_a_conflict_naming_it(lk: LiveKitWorld) -> None:
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    [ours] = await lk.port.list_dispatch_rules()
    trunk_id = ours.spec.trunk_ids[0]
    await lk.port.delete_dispatch_rule(ours.id)
    theirs = await lk.port.create_dispatch_rule(
        DispatchRuleSpec(name="someone's rule", trunk_ids=(trunk_id,), numbers=(A,), agents=("other",))
    )
    outcome = await lk.reconcile()
    assert outcome.conflict and not outcome.ready
    _, reason, message = lk.condition("DispatchInSync")
    assert reason == "Conflict" and theirs.id in message and "someone's rule" in message
    assert (
        "LiveKit said: cannot create LiveKit dispatch rule: HTTP 400, invalid_argument: "
        "Dispatch rule for the same trunk" in message
    )
    assert await lk.port.list_dispatch_rules() == [theirs]  # theirs is never touched

    before = lk.counts()
    await lk.reconcile()
    assert lk.writes_since(before) == {}  # a standing conflict is not asked again
    assert lk.condition("DispatchInSync")[2] == message


async def test_settings_reach_the_trunks(lk: LiveKitWorld) -> None:
    from twilio_operator.api.models import LiveKitInbound, LiveKitOutbound

    lk.add_number(A, "a", "support")
    lk.with_spec(
        inbound=LiveKitInbound(allowed_addresses=["54.172.60.0/30", "54.244.51.0/30"], krisp_enabled=True),
        outbound=LiveKitOutbound(transport="tls", destination_country="US"),
        media_encryption="allow",
    )
    assert (await lk.reconcile()).ready
    [inbound] = await lk.port.list_inbound_trunks()
    [outbound] = await lk.port.list_outbound_trunks()
    assert (inbound.spec.allowed_addresses, inbound.spec.krisp_enabled) == (
        ("54.172.60.0/30", "54.244.51.0/30"),
        True,
    )
    assert inbound.spec.media_encryption is MediaEncryption.ALLOW
    assert (outbound.spec.transport, outbound.spec.destination_country) == (Transport.TLS, "US")


@pytest.mark.parametrize(
    ("breakage", "reason", "reachable", "text"),
    [
        ("key", "LiveKitAuthFailed", "False", "LiveKit did not accept the API key and secret"),
        ("secret", "LiveKitAuthFailed", "False", "check the API key and secret"),
        ("url", "LiveKitUnreachable", "False", "cannot connect to 127.0.0.1:1"),
        ("scheme", "LiveKitRejected", "False", "must start with http://"),
        ("down", "LiveKitUnreachable", "False", "connection refused"),
        ("redis", "LiveKitUnavailable", "True", "connection refused"),
    ],
)
async def test_livekit_failures_are_readable_conditions(
    lk: LiveKitWorld, breakage: str, reason: str, reachable: str, text: str
) -> None:
    lk.add_number(A, "a", "support")
    assert (await lk.reconcile()).ready
    if breakage in ("key", "secret"):
        wrong = (
            {"apiKey": "APIwrong"}
            if breakage == "key"
            else {"apiSecret": "wrong-secret-that-is-long-enough-12345"}
        )
        lk.twilio.kube.put_secret(
            NAMESPACE, API_SECRET, {"apiKey": lk.livekit.api_key, "apiSecret": lk.livekit.api_secret, **wrong}
        )
    elif breakage == "url":
        lk.with_spec(url="http://127.0.0.1:1")
    elif breakage == "scheme":
        lk.connection = replace(
            lk.connection, spec=lk.connection.spec.model_copy(update={"url": "127.0.0.1:7880"})
        )
    elif breakage == "down":
        lk.livekit.stop_livekit()
        with pytest.raises(LiveKitError):  # may go out on the pooled connection the server closed
            await lk.reconcile()
    else:
        lk.livekit.stop_redis()
    with pytest.raises(LiveKitError):
        await lk.reconcile()
    status, got, message = lk.condition()
    assert (status, got) == ("False", reason) and text in message, message
    assert lk.condition("LiveKitReachable")[0] == reachable
    assert lk.livekit.api_secret not in message
    # The status keeps what LiveKit held (nothing is claimed gone).
    assert lk.status.inbound_trunk is not None
    assert ("Warning", reason) in [(k, r) for k, r, _ in lk.events()]


async def test_a_missing_api_secret_or_provider_blocks_without_asking_livekit(lk: LiveKitWorld) -> None:
    del lk.twilio.kube.secrets[(NAMESPACE, API_SECRET)]
    before = lk.counts()
    outcome = await lk.reconcile()
    assert (outcome.ready, outcome.reason) == (False, "SecretNotFound")
    assert f"Secret {NAMESPACE}/{API_SECRET} not found" in outcome.message
    lk.twilio.kube.put_secret(NAMESPACE, API_SECRET, {"apiKey": lk.livekit.api_key})
    assert (await lk.reconcile()).reason == "SecretKeyMissing"
    outcome = await lk.reconcile(provider=None)
    assert outcome.reason == "ProviderNotFound" and "left as they are" in outcome.message
    assert lk.writes_since(before) == {}


async def test_deletion_removes_only_our_objects_or_keeps_them_with_orphan(lk: LiveKitWorld) -> None:
    foreign = await lk.port.create_inbound_trunk(InboundTrunkSpec(name="by hand", numbers=(D,)))
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    lk.twilio.kube.secrets[(NAMESPACE, API_SECRET)].setdefault("finalizers", set())
    assert lk.twilio.deps.in_use_finalizer in lk.twilio.kube.secrets[(NAMESPACE, API_SECRET)]["finalizers"]

    orphaned = replace(
        lk.connection, spec=lk.connection.spec.model_copy(update={"deletion_policy": "Orphan"})
    )
    kept = await replace(lk, connection=orphaned).finalize()
    assert kept.policy == "Orphan" and len(await lk.port.list_inbound_trunks()) == 2

    teardown = await lk.finalize()
    assert teardown.policy == "Delete" and len(teardown.removed) == 3
    assert await lk.port.list_inbound_trunks() == [foreign]
    assert await lk.port.list_outbound_trunks() == [] and await lk.port.list_dispatch_rules() == []
    assert (
        lk.twilio.deps.in_use_finalizer not in lk.twilio.kube.secrets[(NAMESPACE, API_SECRET)]["finalizers"]
    )


async def test_deletion_when_livekit_refuses_the_key_is_blocked_until_orphan(lk: LiveKitWorld) -> None:
    from twilio_operator.api.errors import DeletionBlocked

    lk.add_number(A, "a", "support")
    await lk.reconcile()
    lk.twilio.kube.put_secret(NAMESPACE, API_SECRET, {"apiKey": "APIwrong", "apiSecret": "x" * 40})
    with pytest.raises(DeletionBlocked) as blocked:
        await lk.finalize()
    assert names.DELETION_POLICY_OVERRIDE in str(blocked.value)
    lk.refresh()
    assert lk.condition()[1] == "DeletionBlocked"
    lk.connection = replace(lk.connection, annotations={names.DELETION_POLICY_OVERRIDE: "Orphan"})
    assert (await lk.finalize()).policy == "Orphan"


async def test_rotation_switches_livekit_before_the_old_credential_goes(
    lk: LiveKitWorld, emulator: EmulatorAdmin
) -> None:
    """The proof from both ends: what LiveKit's outbound trunk holds authenticates in Twilio before,
    during and after a rotation, and the old credential leaves Twilio only after LiveKit switched."""
    clock = Clock()
    lk.twilio.deps.clock = clock
    lk.add_number(A, "a", "support")
    await lk.reconcile()

    async def livekit_pair() -> tuple[str, str]:
        [outbound] = await lk.port.list_outbound_trunks()
        return outbound.spec.auth_username, outbound.spec.auth_password

    old = await livekit_pair()
    assert lk.authenticates(*old)
    lk.twilio.provider = replace(lk.twilio.provider, annotations={names.ROTATE_SIP_CREDENTIALS: "now"})
    await lk.reconcile_provider()
    new_username = lk.sip_secret()["username"]
    assert new_username != old[0]
    assert lk.authenticates(*await livekit_pair())  # during: LiveKit still on the old pair, which works

    # LiveKit is down when the connection should switch: the old credential outlives the grace period.
    lk.livekit.stop_livekit()
    with pytest.raises(LiveKitError):
        await lk.reconcile()
    clock.advance(hours=2)
    assert (await lk.reconcile_provider()).ready
    assert lk.twilio.status.sip_credentials is not None
    assert lk.twilio.status.sip_credentials.previous_kept_for == ["agents"]
    lk.livekit.start_livekit()
    assert lk.authenticates(*await livekit_pair())  # never cut off

    assert (await lk.reconcile()).ready
    switched = await livekit_pair()
    assert switched[0] == new_username and lk.status.outbound_trunk is not None
    assert lk.status.outbound_trunk.username == new_username
    assert "LiveKitCredentialSwitched" in [r for _, r, _ in lk.events()]
    assert lk.authenticates(*switched)
    await lk.reconcile_provider()  # the connection's status says it switched: the old one goes
    assert not lk.authenticates(*old)
    assert lk.authenticates(*switched)  # after
    assert "previousUsername" not in lk.sip_secret()


async def test_a_pending_rotation_pair_is_not_used_before_twilio_has_it(lk: LiveKitWorld) -> None:
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    [outbound] = await lk.port.list_outbound_trunks()
    stored = lk.twilio.kube.secrets[(NAMESPACE, "acme-sip-credentials")]
    # As the provider leaves the Secret right after the first write of a rotation (step 1).
    stored["data"]["previousUsername"] = stored["data"]["username"]
    stored["data"]["previousPassword"] = stored["data"]["password"]
    stored["annotations"][names.PREVIOUS_FINGERPRINT] = stored["annotations"][names.PASSWORD_FINGERPRINT]
    stored["annotations"][names.PREVIOUS_EXPIRES_AT] = "2099-01-01T00:00:00Z"
    stored["data"]["username"] = b"0" * 20 + b"r1764504000"  # not the provider's: no longer intact
    await lk.reconcile()
    assert (await lk.port.list_outbound_trunks())[0].spec == outbound.spec
    assert lk.condition("TrunksInSync")[1] == "SipCredentialsPending"


async def test_no_secret_reaches_status_events_or_messages(lk: LiveKitWorld) -> None:
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    password = lk.sip_secret()["password"]
    lk.livekit.stop_livekit()
    with pytest.raises(LiveKitError) as caught:
        await lk.reconcile()
    assert caught.value.kind is LiveKitErrorKind.UNREACHABLE
    written = json.dumps(list(lk.twilio.kube.statuses.values())) + json.dumps(lk.twilio.kube.events)
    for secret in (password, lk.livekit.api_secret):
        assert secret not in written
        assert secret not in str(caught.value)


class FailingInboundUpdates:
    """The real connector, whose ports fail every inbound trunk update (LiveKit's 5xx)."""

    def __init__(self, real: LiveKitLibraryConnector) -> None:
        self.real = real

    def connect(self, server: Any) -> Any:
        port = self.real.connect(server)

        async def refuse(*_: Any) -> Any:
            raise LiveKitError("update LiveKit inbound trunk", LiveKitErrorKind.TRANSIENT, status=503)

        port.update_inbound_trunk = refuse  # type: ignore[method-assign]
        return port

    async def close(self) -> None:
        await self.real.close()


async def test_a_round_that_fails_half_way_never_forgets_the_outbound_username(lk: LiveKitWorld) -> None:
    """The provider keeps a rotated-out credential while the connection's status names it: a failure
    before the outbound trunk was reached must leave that name in the status."""
    lk.add_number(A, "a", "support")
    await lk.reconcile()
    recorded = lk.status.outbound_trunk
    assert recorded is not None and recorded.username
    [inbound] = await lk.port.list_inbound_trunks()
    await lk.port.update_inbound_trunk(inbound.id, replace(inbound.spec, krisp_enabled=True))  # drift
    lk.twilio.deps.livekit = FailingInboundUpdates(lk.connector)  # type: ignore[assignment]
    with pytest.raises(LiveKitError):
        await lk.reconcile()
    assert lk.status.outbound_trunk == recorded
    assert lk.status.inbound_trunk is not None and lk.status.inbound_trunk.id == inbound.id
    assert {r.agent for r in lk.status.dispatch_rules} == {"support"}
    assert lk.condition()[1] == "LiveKitUnavailable"
