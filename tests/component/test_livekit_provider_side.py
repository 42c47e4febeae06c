"""What a TwilioProvider does for its LiveKitConnections, against the emulator: their SIP URIs join the
trunk's origination URIs (the provider stays the one writer of them), and a rotated-out SIP credential
stays in Twilio while a connection's LiveKit outbound trunk still uses it. The connections come in as
the handlers' index hands them over (`LiveKitLinks`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from twilio_operator.api import names
from twilio_operator.api.livekit import Connected, LiveKitLinks
from twilio_operator.api.models import OriginationUri
from twilio_operator.provider.reconcile import reconcile_provider
from twilio_operator.provider.resource import Outcome
from twilio_operator.provider.rotation import seconds_until_next_step

from .conftest import NAMESPACE, World
from .test_adoption import made_by_hand

LIVEKIT_URI = "sip:acme-agents.sip.livekit.cloud;transport=tcp"
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(world: World) -> Clock:
    clock = Clock()
    world.deps.clock = clock
    return clock


async def reconcile(world: World, *connections: Connected) -> Outcome:
    try:
        return await reconcile_provider(world.provider, world.deps, livekit=LiveKitLinks(connections))
    finally:
        world.refresh()


def originations(world: World) -> dict[str, int]:
    [trunk] = world.account.state()["trunks"]
    return {o["sip_url"]: o["priority"] for o in trunk["origination_urls"]}


def sip_secret(world: World) -> dict[str, str]:
    return world.kube.secret_text(NAMESPACE, "acme-sip-credentials")


def usernames_in_twilio(world: World) -> list[str]:
    [credential_list] = world.account.state()["credential_lists"]
    return sorted(c["username"] for c in credential_list["credentials"])


async def test_a_connections_sip_uri_joins_the_spec_uris_and_leaves_with_the_connection(world: World) -> None:
    world.with_spec(origination_uris=[OriginationUri(sip_url="sip:pbx.example.com", priority=1)])
    assert (await reconcile(world, Connected("agents", LIVEKIT_URI))).ready
    assert originations(world) == {"sip:pbx.example.com": 1, LIVEKIT_URI: 10}
    assert world.status.origination_uris == ["sip:pbx.example.com", LIVEKIT_URI]

    assert (await reconcile(world)).ready  # the connection is gone
    assert originations(world) == {"sip:pbx.example.com": 1}
    assert world.status.origination_uris == ["sip:pbx.example.com"]


async def test_a_spec_uri_equal_to_a_connections_by_normal_form_counts_once_as_the_spec_gives_it(
    world: World,
) -> None:
    spelled = "sip:ACME-AGENTS.sip.livekit.cloud;Transport=TCP"  # the same URI, other case
    world.with_spec(origination_uris=[OriginationUri(sip_url=spelled, priority=3, weight=7)])
    # Two connections naming the same URI count once too.
    await reconcile(world, Connected("a", LIVEKIT_URI), Connected("b", LIVEKIT_URI))
    [trunk] = world.account.state()["trunks"]
    assert [(o["sip_url"], o["priority"], o["weight"]) for o in trunk["origination_urls"]] == [
        (spelled, 3, 7)
    ]
    seq = world.last_seq()
    await reconcile(world, Connected("a", LIVEKIT_URI))
    assert world.writes_since(seq) == []  # converged: no loop between the two spellings


async def test_without_spec_uris_the_trunk_points_at_livekit_only(world: World) -> None:
    assert (await reconcile(world, Connected("agents", LIVEKIT_URI))).ready
    assert originations(world) == {LIVEKIT_URI: 10}
    assert world.status.origination_uris == [LIVEKIT_URI]
    # Changing the connection's URI moves the trunk with it.
    await reconcile(world, Connected("agents", "sip:10.0.0.7:5060;transport=tcp"))
    assert originations(world) == {"sip:10.0.0.7:5060;transport=tcp": 10}


async def test_an_adopted_trunk_gets_the_livekit_uri_added_and_keeps_its_owners(
    world: World, twilio_client: Any
) -> None:
    trunk = made_by_hand(twilio_client)  # its own origination: sip:abc.sip.livekit.cloud
    world.with_spec(trunk_sid=trunk.sid)
    assert (await reconcile(world, Connected("agents", LIVEKIT_URI))).ready
    assert originations(world) == {"sip:abc.sip.livekit.cloud": 1, LIVEKIT_URI: 10}
    assert set(world.status.origination_uris or []) == {"sip:abc.sip.livekit.cloud", LIVEKIT_URI}


async def test_observe_only_reports_the_missing_uri_and_writes_nothing(world: World) -> None:
    assert (await world.reconcile()).ready
    world.with_spec(management_policy="ObserveOnly")
    seq = world.last_seq()
    await reconcile(world, Connected("agents", LIVEKIT_URI))
    assert world.writes_since(seq) == []
    assert world.status.origination_uris == []
    managed = next(d for d in world.status.verification_details if d.check_name == "managedResources")
    assert f"origination URI {LIVEKIT_URI} is missing" in managed.message


async def test_the_previous_credential_stays_while_a_livekit_trunk_uses_it(
    world: World, clock: Clock
) -> None:
    assert (await world.reconcile()).ready
    old = sip_secret(world)["username"]
    world.provider = replace(world.provider, annotations={names.ROTATE_SIP_CREDENTIALS: "one"})
    await reconcile(world, Connected("agents", LIVEKIT_URI, outbound_username=old))
    new = sip_secret(world)["username"]
    assert new != old and usernames_in_twilio(world) == sorted([old, new])

    # The grace period is over, LiveKit still dials with the old pair: it stays, and the status says why.
    clock.advance(hours=2)
    outcome = await reconcile(world, Connected("agents", LIVEKIT_URI, outbound_username=old))
    assert outcome.ready
    assert usernames_in_twilio(world) == sorted([old, new])
    assert sip_secret(world)["previousUsername"] == old
    status = world.status.sip_credentials
    assert status is not None and status.previous_kept_for == ["agents"]
    assert seconds_until_next_step(status, clock.now) is None  # no timer: the connection's switch wakes it
    assert outcome.next_step_in is None
    stored = next(c for c in world.status.conditions if c.type == "SipCredentialsStored")
    assert stored.status == "True" and f"the previous credential {old} is kept" in stored.message
    assert world.kube.reasons().count("SipCredentialRetirementWaiting") == 1
    await reconcile(world, Connected("agents", LIVEKIT_URI, outbound_username=old))
    assert world.kube.reasons().count("SipCredentialRetirementWaiting") == 1  # said once per wait

    # A new rotation asked for meanwhile waits too (it would retire the old pair early).
    world.provider = replace(world.provider, annotations={names.ROTATE_SIP_CREDENTIALS: "two"})
    await reconcile(world, Connected("agents", LIVEKIT_URI, outbound_username=old))
    assert sip_secret(world)["username"] == new and usernames_in_twilio(world) == sorted([old, new])

    # LiveKit switched: the old pair goes, then the pending request rotates.
    await reconcile(world, Connected("agents", LIVEKIT_URI, outbound_username=new))
    third = sip_secret(world)["username"]
    assert old not in usernames_in_twilio(world)
    assert third not in (old, new) and sip_secret(world)["previousUsername"] == new
    status = world.status.sip_credentials
    assert status is not None and status.previous_kept_for is None
    assert status.last_rotation_request == "two"


async def test_a_connection_on_another_username_does_not_hold_the_retirement(
    world: World, clock: Clock
) -> None:
    assert (await world.reconcile()).ready
    world.provider = replace(world.provider, annotations={names.ROTATE_SIP_CREDENTIALS: "one"})
    await reconcile(world)
    new = sip_secret(world)["username"]
    clock.advance(hours=2)
    # Switched already, and a connection that never made an outbound trunk (no username).
    await reconcile(world, Connected("a", LIVEKIT_URI, outbound_username=new), Connected("b", LIVEKIT_URI))
    assert usernames_in_twilio(world) == [new]
    assert "previousUsername" not in sip_secret(world)
