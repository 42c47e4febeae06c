"""TwilioEmergencyAddress and a number's emergencyAddressRef against the emulator (issue 27): the
Address is created once with emergency calling, its validation reported, refusals in Twilio's words;
numbers link it and report emergencyAddressStatus; deleting it waits for the numbers, never asks
Twilio to delete an Address in use (strict mode refuses that with 90000), and never hangs silently."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from twilio_operator.api.errors import DeletionBlocked, ErrorKind, TwilioError
from twilio_operator.api.models import EMERGENCY_ADDRESS, TwilioEmergencyAddressStatus
from twilio_operator.api.names import address_name
from twilio_operator.emergency_address.reconcile import AddressOutcome, EmergencyAddress, reconcile_address
from twilio_operator.emergency_address.removal import remove_address
from twilio_operator.phone_number.emergency import AddressView
from twilio_operator.phone_number.reconcile import ProviderView

from .conftest import NAMESPACE, World
from .numbers_rig import NumberRig, numbers_in_account, wait_for_the_hung_answer

ADDRESSES = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/Addresses\.json"
HQ = {
    "providerRef": {"name": "acme"},
    "customerName": "Acme Inc",
    "street": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postalCode": "94105",
    "isoCountry": "US",
}


class AddressRig:
    def __init__(self, world: World, name: str = "hq", **spec: Any) -> None:
        self.world = world
        self.name = name
        self.uid = str(uuid.uuid4())
        self.generation = 1
        self.spec: dict[str, Any] = {**HQ, **spec}
        self.status: dict[str, Any] = {}
        self.annotations: dict[str, str] = {}

    def obj(self) -> EmergencyAddress:
        return EmergencyAddress.from_body(self.body())

    def body(self) -> dict[str, Any]:
        meta = {"namespace": NAMESPACE, "name": self.name, "uid": self.uid, "generation": self.generation}
        return {
            "metadata": {**meta, "annotations": dict(self.annotations)},
            "spec": copy.deepcopy(self.spec),
            "status": copy.deepcopy(self.status),
        }

    def provider(self) -> ProviderView:
        w = self.world
        return ProviderView("acme", w.provider.uid, w.provider.spec, w.provider.status)

    def _carry(self) -> None:
        written = self.world.kube.statuses.get((EMERGENCY_ADDRESS.plural, NAMESPACE, self.name))
        if written is not None:
            self.status = copy.deepcopy(written)

    async def reconcile(self) -> AddressOutcome:
        try:
            return await reconcile_address(self.obj(), self.provider(), self.world.deps)
        finally:
            self._carry()

    async def remove(self, users: list[str] | None = None) -> str:
        try:
            return await remove_address(self.obj(), self.provider(), self.world.deps, users or [])
        finally:
            self._carry()

    def view(self) -> AddressView:
        return AddressView.from_body(self.body())

    @property
    def parsed(self) -> TwilioEmergencyAddressStatus:
        return TwilioEmergencyAddressStatus.model_validate(self.status)

    def twilio_addresses(self) -> list[dict[str, Any]]:
        state = self.world.account.state()
        return [a for a in state["addresses"] if a["friendly_name"] == address_name(self.uid)]


async def ready_provider(world: World) -> None:
    assert (await world.reconcile()).ready


async def test_the_address_is_created_once_with_emergency_calling_and_follows_the_spec(world: World) -> None:
    await ready_provider(world)
    rig = AddressRig(world)

    outcome = await rig.reconcile()

    assert outcome.ready and outcome.reason == "AddressAccepted", outcome.message
    [address] = rig.twilio_addresses()
    assert address["emergency_enabled"] is True and address["street"] == "1 Market St"
    status = rig.parsed
    assert (status.address_sid, status.validation, status.validated, status.verified) == (
        address["sid"],
        "validated",
        True,
        False,
    )
    seq = world.last_seq()
    assert (await rig.reconcile()).ready and world.writes_since(seq) == []  # nothing to change

    world.emulator.patch_address(world.account.sid, address["sid"], verified=True)  # Twilio's review
    rig.spec["street"] = "2 Market St"
    rig.generation += 1
    assert (await rig.reconcile()).ready
    [address] = rig.twilio_addresses()
    assert address["street"] == "2 Market St" and rig.parsed.validation == "verified"
    assert len(world.account.state()["addresses"]) == 1


async def test_a_create_whose_answer_was_lost_is_found_by_its_friendly_name(world: World) -> None:
    await ready_provider(world)
    rig = AddressRig(world)
    world.emulator.add_fault(ADDRESSES, "commit_then_hang", method="POST", hang_seconds=5)
    seq = world.last_seq()

    with pytest.raises(TwilioError) as lost:
        await rig.reconcile()
    assert lost.value.kind is ErrorKind.TRANSIENT

    assert (await rig.reconcile()).ready
    assert len(rig.twilio_addresses()) == 1 == len(world.account.state()["addresses"])
    wait_for_the_hung_answer(world, seq, ADDRESSES)


@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
async def test_twilio_refusing_the_address_is_address_refused_with_its_reason(
    world: World, strict: bool
) -> None:
    """21628 and 21629 are documented (usage/api/address): the same in both modes."""
    await ready_provider(world)
    world.emulator.configure(strict=strict)
    world.emulator.add_address_rule("Nowhere", "reject", message="Address Validation Error")
    world.emulator.add_address_rule("Main Street", "correct", corrected={"street": "1 Main St"})

    refused = AddressRig(world, name="nowhere", street="7 Nowhere Rd")
    outcome = await refused.reconcile()
    assert (outcome.ready, outcome.reason) == (False, "AddressRefused")
    assert "Twilio error 21628" in outcome.message and "could not validate" in outcome.message
    assert refused.parsed.validation == "refused"

    corrected = AddressRig(world, name="main", street="1 Main Street")
    outcome = await corrected.reconcile()
    assert outcome.reason == "AddressRefused" and "Twilio error 21629" in outcome.message
    assert "1 Main St" in outcome.message and "suggests a corrected address" in outcome.message
    assert world.account.state()["addresses"] == []


async def test_a_number_links_reports_and_unlinks_its_emergency_address(world: World) -> None:
    await ready_provider(world)
    hq = AddressRig(world)
    assert (await hq.reconcile()).ready
    number = NumberRig(world, phoneNumber="+15005550006", emergencyAddressRef={"name": "hq"})

    outcome = await number.reconcile(address=hq.view())

    assert outcome.ready, outcome.message
    linked = numbers_in_account(world)["+15005550006"]
    assert linked["emergency_address_sid"] == hq.parsed.address_sid
    assert (number.parsed.emergency_address_sid, number.parsed.emergency_address_status) == (
        hq.parsed.address_sid,
        "registered",
    )
    assert "registered TwilioEmergencyAddress hq" in number.events("EmergencyAddressLinked")[0]

    number.change(emergencyAddressRef=None)
    del number.spec["emergencyAddressRef"]
    assert (await number.reconcile()).ready
    assert numbers_in_account(world)["+15005550006"]["emergency_address_sid"] is None
    assert number.parsed.emergency_address_status is None and number.events("EmergencyAddressUnlinked")


async def test_a_number_says_why_its_emergency_address_is_not_registered(world: World) -> None:
    await ready_provider(world)
    number = NumberRig(world, phoneNumber="+15005550006", emergencyAddressRef={"name": "hq"})

    missing = await number.reconcile(address=None)
    assert (missing.ready, missing.reason) == (False, "EmergencyAddressNotReady")
    assert "TwilioEmergencyAddress tenant-a/hq not found" in missing.message
    assert numbers_in_account(world)["+15005550006"]["trunk_sid"] == world.status.trunk_sid  # still routes

    waiting = AddressView("hq", "acme", None, False, "AddressRefused", "Twilio error 21628")
    outcome = await number.reconcile(address=waiting)
    assert (
        outcome.reason == "EmergencyAddressNotReady"
        and "AddressRefused: Twilio error 21628" in outcome.message
    )

    elsewhere = AddressView("hq", "other-provider", "AD" + "0" * 32, True)
    outcome = await number.reconcile(address=elsewhere)
    assert "belongs to TwilioProvider other-provider" in outcome.message

    berlin = AddressRig(world, name="berlin", city="Berlin", region="BE", postalCode="10115", isoCountry="DE")
    assert (await berlin.reconcile()).ready
    number.change(emergencyAddressRef={"name": "berlin"})
    outcome = await number.reconcile(address=berlin.view())
    assert (outcome.ready, outcome.reason) == (False, "EmergencyAddressNotRegistered")
    assert "registration-failure" in outcome.message and "covers the address's country" in outcome.message


@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
async def test_deleting_an_address_in_use_is_in_use_then_goes_without_a_refused_request(
    world: World, strict: bool
) -> None:
    """Twilio refuses to delete an Address numbers use (assumed 20001; strict mode 90000): the
    operator never asks while any does, and says who."""
    await ready_provider(world)
    world.emulator.configure(strict=strict)
    hq = AddressRig(world)
    assert (await hq.reconcile()).ready
    number = NumberRig(world, phoneNumber="+15005550006", emergencyAddressRef={"name": "hq"})
    assert (await number.reconcile(address=hq.view())).ready
    seq = world.last_seq()

    with pytest.raises(DeletionBlocked):
        await hq.remove(users=["line"])
    ready = next(c for c in hq.parsed.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "InUse")
    assert "TwilioPhoneNumber line still name this emergency address" in ready.message
    assert world.emulator.requests(since=seq) == []  # decided from the cluster alone

    # The object no longer names it, but the number in Twilio still has it (an Orphan-deleted object).
    with pytest.raises(DeletionBlocked) as blocked:
        await hq.remove(users=[])
    assert "Twilio numbers +15005550006 still use Address" in str(blocked.value)
    assert "deletion-policy=Orphan" in str(blocked.value)

    number.change(emergencyAddressRef=None)
    del number.spec["emergencyAddressRef"]
    assert (await number.reconcile()).ready  # unlinks it
    assert (await hq.remove(users=[])).startswith("deleted AD")
    assert world.account.state()["addresses"] == []
    # No write was refused (a number whose inbound route was never set reads as 404: that means us1).
    refused = [r for r in world.emulator.requests(since=seq) if r["status"] >= 400 and r["method"] != "GET"]
    assert refused == []


async def test_orphan_annotation_keeps_the_address(world: World) -> None:
    await ready_provider(world)
    hq = AddressRig(world)
    assert (await hq.reconcile()).ready
    hq.annotations["voip.twilio-operator.dev/deletion-policy"] = "Orphan"
    assert "left Address AD" in await hq.remove(users=["line"])
    assert len(world.account.state()["addresses"]) == 1
