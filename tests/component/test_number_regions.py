"""TwilioPhoneNumber of an ie1 provider against the emulator: the number's inbound processing region
(routes.twilio.com /v2/PhoneNumbers) is set when importing, verified, and restored on detach."""

from __future__ import annotations

import uuid
from typing import Any

from twilio_operator.api.models import TwilioPhoneNumberStatus
from twilio_operator.deletion import release_number
from twilio_operator.phone_number.reconcile import PhoneNumber, ProviderView, reconcile_number

from .conftest import NAMESPACE, World, make_provider

IE1_NUMBER = "+353100000001"


def number_route(world: World, e164: str) -> dict[str, Any] | None:
    routes = world.account_state()["number_routes"]
    return next((r for r in routes if r.get("phone_number") == e164), None)


def phone_number(status: TwilioPhoneNumberStatus | None = None) -> PhoneNumber:
    return PhoneNumber.from_body(
        {
            "metadata": {
                "namespace": NAMESPACE,
                "name": "support-line",
                "uid": str(uuid.uuid4()),
                "generation": 1,
                "creationTimestamp": "2026-11-30T00:00:00Z",
            },
            "spec": {"providerRef": {"name": "acme"}, "phoneNumber": IE1_NUMBER},
            "status": (status or TwilioPhoneNumberStatus()).model_dump(by_alias=True, exclude_none=True),
        }
    )


async def test_ie1_import_sets_verifies_and_restores_the_voice_region(world: World) -> None:
    world.emulator.add_numbers(world.account["sid"], numbers=[{"phone_number": IE1_NUMBER}], region="ie1")
    world.provider = make_provider(world.account["sid"], region="ie1")
    assert (await world.reconcile()).ready
    provider = ProviderView("acme", world.provider.uid, world.provider.spec, world.provider.status)
    assert number_route(world, IE1_NUMBER) is None  # never set: Twilio answers 404, meaning us1

    number = phone_number()
    outcome = await reconcile_number(number, provider, [], world.deps)

    assert outcome.ready, outcome.message
    assert "processed in ie1" in outcome.message
    route = number_route(world, IE1_NUMBER)
    assert route is not None and route["voice_region"] == "ie1"
    written = world.kube.statuses[("twiliophonenumbers", NAMESPACE, "support-line")]
    assert written["voiceRegion"] == "ie1" and written["previousVoiceRegion"] == "us1"

    status = TwilioPhoneNumberStatus.model_validate(written)
    seq = world.last_seq()
    again = await reconcile_number(phone_number(status), provider, [], world.deps)  # verified, not rewritten
    assert again.ready and world.writes_since(seq) == []

    assert (await release_number(phone_number(status), provider, world.deps)).startswith("detached")
    route = number_route(world, IE1_NUMBER)
    assert route is not None and route["voice_region"] == "us1"


async def test_us1_import_leaves_the_voice_region_alone(world: World) -> None:
    assert (await world.reconcile()).ready
    provider = ProviderView("acme", world.provider.uid, world.provider.spec, world.provider.status)
    number = PhoneNumber.from_body(
        {
            "metadata": {"namespace": NAMESPACE, "name": "n", "uid": "u", "generation": 1},
            "spec": {"providerRef": {"name": "acme"}, "phoneNumber": "+15005550006"},
        }
    )
    assert (await reconcile_number(number, provider, [], world.deps)).ready
    assert world.account_state()["number_routes"] == []
