"""TwilioPhoneNumber across Twilio's processing regions, against the emulator, each test in both of
its worlds (`both_worlds`: the documented one and strict mode, whatever the session's).

Numbers are the account's in every region, their voice configuration is per region, and their
inbound route (routes.twilio.com /v2/PhoneNumbers) is one for the whole account (issue 24, item 1):
a number live on a trunk in another region is a Conflict, named with its region and trunk, unless
allowTakeover. Detaching is proven by reading the number back (item 4): in IE1 the trunk's
PhoneNumbers subresource is not served and strict mode refuses TrunkSid="", so the one way left is
giving the number back the voice application it had before the import."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount
from twilio_operator.api.errors import DeletionBlocked
from twilio_operator.api.models import PROVIDER, TwilioPhoneNumberStatus, TwilioProviderStatus
from twilio_operator.deletion import release_number
from twilio_operator.phone_number.reconcile import PhoneNumber, ProviderView, reconcile_number
from twilio_operator.provider.reconcile import reconcile_provider

from .conftest import CREDENTIALS_SECRET, NAMESPACE, World, make_provider

IE1_NUMBER = "+353100000001"
US_NUMBER = "+15005550006"
APPLICATION = "AP" + "a" * 32

pytestmark = pytest.mark.usefixtures("both_worlds")


def strict(world: World) -> bool:
    return bool(world.emulator.configure()["strict"])


def number_route(world: World, e164: str) -> dict[str, Any] | None:
    routes = world.account.state()["number_routes"]
    return next((r for r in routes if r.get("phone_number") == e164), None)


def voice(world: World, e164: str) -> dict[str, Any]:
    """The number's voice configuration per region and its route, as the emulator holds them."""
    return next(n for n in world.emulator.numbers(world.account.sid) if n["phone_number"] == e164)


def phone_number(
    e164: str,
    status: TwilioPhoneNumberStatus | None = None,
    *,
    name: str = "support-line",
    provider: str = "acme",
    allow_takeover: bool = False,
) -> PhoneNumber:
    return PhoneNumber.from_body(
        {
            "metadata": {
                "namespace": NAMESPACE,
                "name": name,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
                "generation": 1,
                "creationTimestamp": "2026-11-30T00:00:00Z",
            },
            "spec": {"providerRef": {"name": provider}, "phoneNumber": e164, "allowTakeover": allow_takeover},
            "status": (status or TwilioPhoneNumberStatus()).model_dump(by_alias=True, exclude_none=True),
        }
    )


def written(world: World, name: str = "support-line") -> TwilioPhoneNumberStatus:
    return TwilioPhoneNumberStatus.model_validate(
        world.kube.statuses[("twiliophonenumbers", NAMESPACE, name)]
    )


async def ready_provider(world: World, name: str, **spec: Any) -> ProviderView:
    """Another provider of the same account (the same credentials Secret), reconciled to Ready."""
    provider = make_provider(world.account.sid, name=name, **spec)
    outcome = await reconcile_provider(provider, world.deps)
    assert outcome.ready, outcome.message
    status = TwilioProviderStatus.model_validate(world.kube.statuses[(PROVIDER.plural, NAMESPACE, name)])
    return ProviderView(name, provider.uid, provider.spec, status)


async def view(world: World) -> ProviderView:
    assert (await world.reconcile()).ready
    return ProviderView(world.provider.name, world.provider.uid, world.provider.spec, world.provider.status)


# --------------------------------------------------------------------------- item 1: numbers are global


async def test_a_number_on_another_providers_us1_trunk_is_a_conflict_for_an_ie1_provider(
    world: World,
) -> None:
    us1 = await view(world)
    assert (await reconcile_number(phone_number(US_NUMBER, name="us-line"), us1, [], world.deps)).ready
    ie1 = await ready_provider(world, "acme-eu", region="ie1")
    seq = world.last_seq()

    for allow in (False, True):  # allowTakeover never moves a number off another provider's trunk
        outcome = await reconcile_number(
            phone_number(US_NUMBER, provider="acme-eu", allow_takeover=allow), ie1, [], world.deps
        )
        assert not outcome.ready and outcome.reason == "Conflict", outcome.message
        assert f"{us1.status.trunk_sid} in us1" in outcome.message, outcome.message

    assert world.writes_since(seq) == []  # nothing attached, no route moved
    number = voice(world, US_NUMBER)
    assert number["voice"]["us1"]["trunk_sid"] == us1.status.trunk_sid
    assert "ie1" not in number["voice"] and number["voice_region"] is None


async def test_allow_takeover_moves_a_number_off_a_hand_made_trunk_of_another_region(
    world: World, twilio_client: Any
) -> None:
    by_hand = twilio_client.trunking.v1.trunks.create(
        friendly_name="by hand", domain_name="by-hand.pstn.twilio.com"
    )
    world.emulator.patch_number(
        world.account.sid,
        US_NUMBER,
        voice={"us1": {"trunk_sid": by_hand.sid}, "ie1": {"voice_application_sid": APPLICATION}},
    )
    world.provider = make_provider(world.account.sid, region="ie1")
    ie1 = await view(world)

    refused = await reconcile_number(phone_number(US_NUMBER), ie1, [], world.deps)
    assert refused.reason == "Conflict" and f"{by_hand.sid} in us1" in refused.message, refused.message
    assert "allowTakeover" in refused.message

    taken = await reconcile_number(phone_number(US_NUMBER, allow_takeover=True), ie1, [], world.deps)
    assert taken.ready, taken.message
    assert f"moved from {by_hand.sid} in us1" in taken.message and "processed in ie1" in taken.message
    number = voice(world, US_NUMBER)
    assert number["voice"]["ie1"]["trunk_sid"] == ie1.status.trunk_sid and number["voice_region"] == "ie1"
    status = written(world)
    assert status.previous_voice_region == "us1" and status.voice_region == "ie1"

    # Detached (its ie1 application given back): the route goes back to us1, where the hand-made
    # trunk still has the number.
    assert (await release_number(phone_number(US_NUMBER, status), ie1, world.deps)).startswith("detached")
    number = voice(world, US_NUMBER)
    assert number["voice_region"] == "us1" and number["voice"]["us1"]["trunk_sid"] == by_hand.sid


async def test_a_region_the_credentials_cannot_read_is_no_proof_the_number_is_free(world: World) -> None:
    """Twilio's credentials are per region: an ie1 token cannot read us1. A number whose calls are
    processed in us1 (its route was never set) may be live on a trunk there; only allowTakeover moves it."""
    own_token = secrets.token_hex(16)
    account = TwilioAccount.create(
        world.emulator,
        auth_token=secrets.token_hex(16),
        incoming_phone_numbers=[{"phone_number": "+15005550100"}, {"phone_number": "+15005550101"}],
        regions={"ie1": {"auth_token": own_token}},
    )
    world.kube.put_secret(NAMESPACE, CREDENTIALS_SECRET, {"authToken": own_token})
    world.provider = make_provider(account.sid, region="ie1")
    world.account = account
    ie1 = await view(world)

    blind = await reconcile_number(phone_number("+15005550100"), ie1, [], world.deps)
    assert blind.reason == "Conflict", blind.message
    assert "processed in us1" in blind.message and "cannot read us1" in blind.message, blind.message
    assert voice(world, "+15005550100")["voice_region"] is None

    taken = await reconcile_number(phone_number("+15005550100", allow_takeover=True), ie1, [], world.deps)
    assert taken.ready, taken.message
    assert voice(world, "+15005550100")["voice_region"] == "ie1"

    # A number routed to ie1 already needs no look elsewhere: its calls stay where they are.
    world.emulator.patch_number(account.sid, "+15005550101", voice_region="ie1")
    routed = await reconcile_number(phone_number("+15005550101", name="second"), ie1, [], world.deps)
    assert routed.ready, routed.message


async def test_a_route_moved_away_is_left_alone_when_the_number_is_live_there(
    world: World, twilio_client: Any
) -> None:
    world.provider = make_provider(world.account.sid, region="ie1")
    ie1 = await view(world)
    assert (await reconcile_number(phone_number(US_NUMBER), ie1, [], world.deps)).ready
    status = written(world)

    # Another team routes the number's calls to a us1 trunk of its own.
    other = twilio_client.trunking.v1.trunks.create(
        friendly_name="other", domain_name="other.pstn.twilio.com"
    )
    world.emulator.patch_number(
        world.account.sid, US_NUMBER, voice={"us1": {"trunk_sid": other.sid}}, voice_region="us1"
    )
    seq = world.last_seq()
    moved = await reconcile_number(phone_number(US_NUMBER, status), ie1, [], world.deps)
    assert moved.reason == "Conflict" and f"{other.sid} in us1" in moved.message, moved.message
    assert world.writes_since(seq) == [] and voice(world, US_NUMBER)["voice_region"] == "us1"

    # Once us1 has no trunk for it, a route pointing there is drift: set back to ie1.
    twilio_client.trunking.v1.trunks(other.sid).phone_numbers(written(world).sid).delete()
    back = await reconcile_number(phone_number(US_NUMBER, written(world)), ie1, [], world.deps)
    assert back.ready and "moved back from us1" in back.message, back.message
    assert voice(world, US_NUMBER)["voice_region"] == "ie1"


async def test_a_us1_provider_takes_the_route_back_from_a_region_without_a_trunk(world: World) -> None:
    us1 = await view(world)
    world.emulator.patch_number(world.account.sid, US_NUMBER, voice_region="ie1")

    outcome = await reconcile_number(phone_number(US_NUMBER), us1, [], world.deps)

    assert outcome.ready and "processed in us1" in outcome.message, outcome.message
    assert voice(world, US_NUMBER)["voice_region"] == "us1"
    assert written(world).previous_voice_region == "ie1"


async def test_us1_import_leaves_an_unset_voice_region_alone(world: World) -> None:
    us1 = await view(world)
    assert (await reconcile_number(phone_number(US_NUMBER), us1, [], world.deps)).ready
    assert world.account.state()["number_routes"] == []


# --------------------------------------------------------------------------- item 4: detach, read back


async def test_ie1_import_sets_verifies_and_restores_the_voice_region_and_application(world: World) -> None:
    """The number had a voice application in ie1: attaching deletes it (Twilio's API reference), and
    detaching gives it back, which clears the trunk in every region, strict IE1 included."""
    world.emulator.add_numbers(
        world.account.sid,
        numbers=[{"phone_number": IE1_NUMBER, "voice_application_sid": APPLICATION}],
        region="ie1",
    )
    world.provider = make_provider(world.account.sid, region="ie1")
    provider = await view(world)
    assert number_route(world, IE1_NUMBER) is None  # never set: Twilio answers 404, meaning us1

    outcome = await reconcile_number(phone_number(IE1_NUMBER), provider, [], world.deps)

    assert outcome.ready, outcome.message
    assert "processed in ie1" in outcome.message
    route = number_route(world, IE1_NUMBER)
    assert route is not None and route["voice_region"] == "ie1"
    status = written(world)
    assert status.voice_region == "ie1" and status.previous_voice_region == "us1"
    assert status.previous_voice_application_sid == APPLICATION
    assert voice(world, IE1_NUMBER)["voice"]["ie1"].get("voice_application_sid") is None

    seq = world.last_seq()
    again = await reconcile_number(phone_number(IE1_NUMBER, status), provider, [], world.deps)
    assert again.ready and world.writes_since(seq) == []  # verified, not rewritten

    assert (await release_number(phone_number(IE1_NUMBER, status), provider, world.deps)).startswith(
        "detached"
    )
    ie1 = voice(world, IE1_NUMBER)["voice"]["ie1"]
    assert ie1.get("trunk_sid") is None and ie1["voice_application_sid"] == APPLICATION
    route = number_route(world, IE1_NUMBER)
    assert route is not None and route["voice_region"] == "us1"
    [message] = [m for _, _, reason, m in world.kube.events if reason == "Detached"]
    assert f"gave it back its voice application {APPLICATION}" in message


async def test_an_ie1_detach_is_done_only_when_the_number_reads_back_detached(world: World) -> None:
    """Without an application to give back, strict IE1 leaves no way: the number stays on the trunk,
    and the status and a Warning Event say so; the default world clears TrunkSid."""
    world.emulator.add_numbers(world.account.sid, numbers=[{"phone_number": IE1_NUMBER}], region="ie1")
    world.provider = make_provider(world.account.sid, region="ie1")
    provider = await view(world)
    assert (await reconcile_number(phone_number(IE1_NUMBER), provider, [], world.deps)).ready
    status = written(world)
    trunk_sid = provider.status.trunk_sid

    if not strict(world):
        assert (await release_number(phone_number(IE1_NUMBER, status), provider, world.deps)).startswith(
            "detached"
        )
        assert voice(world, IE1_NUMBER)["voice"].get("ie1", {}).get("trunk_sid") is None
        return
    with pytest.raises(DeletionBlocked) as blocked:
        await release_number(phone_number(IE1_NUMBER, status), provider, world.deps)
    assert f"{IE1_NUMBER} still on trunk {trunk_sid}" in str(blocked.value)
    assert voice(world, IE1_NUMBER)["voice"]["ie1"]["trunk_sid"] == trunk_sid
    [ready] = [c for c in written(world).conditions if c.type == "Ready"]
    assert ready.status == "False" and ready.reason == "DeletionBlocked" and IE1_NUMBER in ready.message
    warnings = [
        m for _, kind, reason, m in world.kube.events if reason == "DeletionBlocked" and kind == "Warning"
    ]
    assert warnings and IE1_NUMBER in warnings[0]
    assert "Detached" not in world.kube.reasons()
