"""TwilioPhoneNumber across Twilio's processing regions, against the emulator, in either of its worlds
(the session's mode: `pytest --emulator-strict` runs the same tests against the strict one).

Detaching is proven by reading the number back (issue 24, item 4): in IE1 the trunk's PhoneNumbers
subresource is not served and strict mode refuses TrunkSid="", so the one way left is giving the
number back the voice application it had before the import."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from twilio_operator.api.errors import DeletionBlocked
from twilio_operator.api.models import PROVIDER, TwilioPhoneNumberStatus, TwilioProviderStatus
from twilio_operator.deletion import release_number
from twilio_operator.phone_number.reconcile import PhoneNumber, ProviderView, reconcile_number
from twilio_operator.provider.reconcile import reconcile_provider

from .conftest import NAMESPACE, World, make_provider

IE1_NUMBER = "+353100000001"
US_NUMBER = "+15005550006"
APPLICATION = "AP" + "a" * 32


def strict(world: World) -> bool:
    return bool(world.emulator.configure()["strict"])


def number_route(world: World, e164: str) -> dict[str, Any] | None:
    routes = world.account_state()["number_routes"]
    return next((r for r in routes if r.get("phone_number") == e164), None)


def voice(world: World, e164: str) -> dict[str, Any]:
    """The number's voice configuration per region and its route, as the emulator holds them."""
    return next(n for n in world.emulator.numbers(world.account["sid"]) if n["phone_number"] == e164)


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
    provider = make_provider(world.account["sid"], name=name, **spec)
    outcome = await reconcile_provider(provider, world.deps)
    assert outcome.ready, outcome.message
    status = TwilioProviderStatus.model_validate(world.kube.statuses[(PROVIDER.plural, NAMESPACE, name)])
    return ProviderView(name, provider.uid, provider.spec, status)


async def view(world: World) -> ProviderView:
    assert (await world.reconcile()).ready
    return ProviderView(world.provider.name, world.provider.uid, world.provider.spec, world.provider.status)


async def test_us1_import_leaves_an_unset_voice_region_alone(world: World) -> None:
    us1 = await view(world)
    assert (await reconcile_number(phone_number(US_NUMBER), us1, [], world.deps)).ready
    assert world.account_state()["number_routes"] == []


# --------------------------------------------------------------------------- item 4: detach, read back


async def test_ie1_import_sets_verifies_and_restores_the_voice_region_and_application(world: World) -> None:
    """The number had a voice application in ie1: attaching deletes it (Twilio's API reference), and
    detaching gives it back, which clears the trunk in every region, strict IE1 included."""
    world.emulator.add_numbers(
        world.account["sid"],
        numbers=[{"phone_number": IE1_NUMBER, "voice_application_sid": APPLICATION}],
        region="ie1",
    )
    world.provider = make_provider(world.account["sid"], region="ie1")
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
    world.emulator.add_numbers(world.account["sid"], numbers=[{"phone_number": IE1_NUMBER}], region="ie1")
    world.provider = make_provider(world.account["sid"], region="ie1")
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
