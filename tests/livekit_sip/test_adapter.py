"""The LiveKit port's adapter against a real livekit-server (and its Redis): each SIP object created,
listed, replaced and deleted, and read back exactly as it was written."""

from __future__ import annotations

import json

from twilio_operator.api.livekit_values import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    MediaEncryption,
    OutboundTrunkSpec,
    Transport,
)
from twilio_operator.ports.livekit.port import LiveKitPort

# What a connection will write: its UID in every object's metadata (crash-safe adoption).
METADATA = json.dumps({"twilio-operator.dev/connection-uid": "0c6f0e0e-5b1c-4b8e-9f00-3f6c1c1f7a11"})
A, B, C = "+15550001111", "+15550002222", "+15550003333"


async def test_inbound_trunk_round_trip(livekit_port: LiveKitPort) -> None:
    spec = InboundTrunkSpec(
        name="lkc-demo-inbound",
        numbers=(A, B),
        metadata=METADATA,
        allowed_addresses=("54.172.60.0/30", "54.244.51.0/30"),
        krisp_enabled=True,
        media_encryption=MediaEncryption.ALLOW,
    )
    created = await livekit_port.create_inbound_trunk(spec)
    assert created.id.startswith("ST_")
    assert created.spec == spec
    assert await livekit_port.list_inbound_trunks() == [created]
    assert await livekit_port.list_inbound_trunks(trunk_ids=[created.id]) == [created]

    changed = InboundTrunkSpec(name="lkc-demo-inbound", numbers=(B, C), metadata=METADATA)
    updated = await livekit_port.update_inbound_trunk(created.id, changed)
    assert (updated.id, updated.spec) == (created.id, changed)  # replaced whole: krisp and addresses reset
    assert await livekit_port.list_inbound_trunks() == [updated]

    await livekit_port.delete_trunk(created.id)
    assert await livekit_port.list_inbound_trunks() == []


async def test_outbound_trunk_round_trip_switches_the_password(livekit_port: LiveKitPort) -> None:
    spec = OutboundTrunkSpec(
        name="lkc-demo-outbound",
        address="demo-3f6c1c1f.pstn.twilio.com",
        numbers=(A,),
        metadata=METADATA,
        transport=Transport.TLS,
        destination_country="US",
        auth_username="lkc-demo",
        auth_password="old-password-0123456789abcdefgh",
        media_encryption=MediaEncryption.REQUIRE,
    )
    created = await livekit_port.create_outbound_trunk(spec)
    assert created.id.startswith("ST_")
    assert created.spec == spec
    assert await livekit_port.list_outbound_trunks() == [created]
    assert await livekit_port.list_inbound_trunks() == []  # the two kinds are listed apart

    rotated = OutboundTrunkSpec(
        name="lkc-demo-outbound",
        address="demo-3f6c1c1f.pstn.twilio.com",
        numbers=(A, B),
        metadata=METADATA,
        auth_username="lkc-demo",
        auth_password="new-password-abcdefgh0123456789",
    )
    updated = await livekit_port.update_outbound_trunk(created.id, rotated)
    # LiveKit returns the stored password, so a reconcile sees whether the switch happened.
    (listed,) = await livekit_port.list_outbound_trunks(trunk_ids=[created.id])
    assert listed == updated
    assert listed.spec.auth_password == "new-password-abcdefgh0123456789"
    assert (listed.spec.transport, listed.spec.numbers) == (Transport.AUTO, (A, B))

    await livekit_port.delete_trunk(created.id)
    assert await livekit_port.list_outbound_trunks() == []


async def test_dispatch_rule_round_trip(livekit_port: LiveKitPort) -> None:
    trunk = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A, B)))
    spec = DispatchRuleSpec(
        name="lkc-demo-support",
        trunk_ids=(trunk.id,),
        numbers=(A,),
        room_prefix="call-",
        agents=("support",),
        metadata=METADATA,
    )
    created = await livekit_port.create_dispatch_rule(spec)
    assert created.id.startswith("SDR_")
    assert (created.spec, created.rule_type) == (spec, "individual")
    assert await livekit_port.list_dispatch_rules(trunk_ids=[trunk.id]) == [created]
    assert await livekit_port.list_dispatch_rules(rule_ids=[created.id]) == [created]

    changed = DispatchRuleSpec(
        name="lkc-demo-support",
        trunk_ids=(trunk.id,),
        numbers=(A,),
        room_prefix="support-",
        agents=("support", "recorder"),
        metadata=METADATA,
    )
    updated = await livekit_port.update_dispatch_rule(created.id, changed)
    assert (updated.id, updated.spec) == (created.id, changed)
    assert await livekit_port.list_dispatch_rules() == [updated]

    assert await livekit_port.delete_dispatch_rule(created.id) is True
    assert await livekit_port.list_dispatch_rules() == []
    assert await livekit_port.delete_dispatch_rule(created.id) is False  # already gone


async def test_trunks_listed_by_number(livekit_port: LiveKitPort) -> None:
    first = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="first", numbers=(A,)))
    second = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="second", numbers=(B, C)))
    outbound = await livekit_port.create_outbound_trunk(
        OutboundTrunkSpec(name="out", address="x.pstn.twilio.com", numbers=(C,))
    )

    assert await livekit_port.list_inbound_trunks(numbers=[A]) == [first]
    assert await livekit_port.list_inbound_trunks(numbers=[C]) == [second]
    assert await livekit_port.list_inbound_trunks(numbers=["+15559999999"]) == []
    # LiveKit matches numbers normalised: Twilio's E.164 form and the same digits without "+".
    assert await livekit_port.list_inbound_trunks(numbers=[A.removeprefix("+")]) == [first]
    assert await livekit_port.list_outbound_trunks(numbers=[C]) == [outbound]
    assert await livekit_port.list_outbound_trunks(numbers=[A]) == []


async def test_rules_listed_by_trunk_include_rules_for_every_trunk(livekit_port: LiveKitPort) -> None:
    trunk = await livekit_port.create_inbound_trunk(InboundTrunkSpec(name="in", numbers=(A,)))
    ours = await livekit_port.create_dispatch_rule(
        DispatchRuleSpec(name="ours", trunk_ids=(trunk.id,), numbers=(A,), agents=("support",))
    )
    catch_all = await livekit_port.create_dispatch_rule(
        DispatchRuleSpec(name="catch-all", trunk_ids=(), numbers=(), room_prefix="any-")
    )

    listed = await livekit_port.list_dispatch_rules(trunk_ids=[trunk.id])
    # LiveKit's filter keeps rules without trunk IDs: a reconcile must check trunk_ids itself.
    assert sorted(r.id for r in listed) == sorted([ours.id, catch_all.id])
    assert await livekit_port.list_dispatch_rules(trunk_ids=["ST_notatrunk"]) == [catch_all]
