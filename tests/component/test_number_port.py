"""The Twilio port's number-lifecycle methods against the emulator (issue 27): search, buy, find by
friendly name, the emergency address of a number, release, the balance, and Addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from fixtures.emulator import TwilioAccount
from twilio_operator.api.credentials import TwilioCredentials
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.api.twilio_values import AddressFields, NumberSearch
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector
from twilio_operator.ports.twilio.port import TwilioPort

HQ = AddressFields(
    customer_name="Acme Inc",
    street="1 Market St",
    city="San Francisco",
    region="CA",
    postal_code="94105",
    iso_country="US",
)


@pytest_asyncio.fixture
async def port(emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> AsyncIterator[TwilioPort]:
    connector = TwilioLibraryConnector(emulator.base_url, timeout=3.0)
    credentials = TwilioCredentials(
        twilio_account.sid, twilio_account.sid, twilio_account.auth_token, ResolvedRegion.of(None)
    )
    try:
        yield connector.connect(credentials)
    finally:
        await connector.close()


async def test_search_passes_only_the_filters_that_are_asked_for(
    port: TwilioPort, emulator: EmulatorAdmin
) -> None:
    emulator.add_available_numbers(
        [
            {"phone_number": "+14155550100", "capabilities": {"voice": True, "sms": False}},
            {"phone_number": "+14155550177", "capabilities": {"voice": True, "sms": True}},
            {"phone_number": "+12125550100"},
            {"phone_number": "+18005550100", "type": "toll-free"},
            {
                "phone_number": "+447700900100",
                "iso_country": "GB",
                "type": "mobile",
                "address_requirements": "any",
            },
        ]
    )
    local = NumberSearch(country="US", number_type="local")
    assert [n.phone_number for n in await port.search_numbers_for_sale(local, 5)] == [
        "+14155550100",
        "+14155550177",
        "+12125550100",
    ]
    sms = NumberSearch(country="US", number_type="local", area_code="415", sms=True)
    assert [n.phone_number for n in await port.search_numbers_for_sale(sms, 5)] == ["+14155550177"]
    contains = NumberSearch(country="US", number_type="local", contains="555*177")
    assert [n.phone_number for n in await port.search_numbers_for_sale(contains, 5)] == ["+14155550177"]
    toll_free = NumberSearch(country="US", number_type="toll-free")
    assert [n.phone_number for n in await port.search_numbers_for_sale(toll_free, 5)] == ["+18005550100"]
    [gb] = await port.search_numbers_for_sale(NumberSearch(country="GB", number_type="mobile"), 5)
    assert (gb.iso_country, gb.address_requirements) == ("GB", "any")
    assert await port.search_numbers_for_sale(NumberSearch(country="US", number_type="mobile"), 5) == []
    searches = [r for r in emulator.requests() if "AvailablePhoneNumbers" in r["path"]]
    assert all(r["method"] == "GET" for r in searches) and len(searches) == 6


async def test_buy_find_by_name_link_unlink_and_release(port: TwilioPort, emulator: EmulatorAdmin) -> None:
    emulator.add_available_numbers([{"phone_number": "+14155550100"}])
    before = await port.fetch_balance()

    bought = await port.buy_number("+14155550100", "ns/line (twpn-1)", address_sid=None, bundle_sid=None)

    assert (bought.phone_number, bought.friendly_name, bought.trunk_sid) == (
        "+14155550100",
        "ns/line (twpn-1)",
        None,
    )
    assert [n.sid for n in await port.list_numbers_named("ns/line (twpn-1)")] == [bought.sid]
    assert await port.list_numbers_named("ns/line") == []  # exact, not a prefix
    after = await port.fetch_balance()
    assert (before.amount - after.amount, after.currency) == (Decimal("1.15"), "USD")

    address = await port.create_emergency_address("twpe-1", HQ)
    linked = await port.set_number_emergency_address(bought.sid, address.sid)
    assert (linked.emergency_address_sid, linked.emergency_address_status) == (address.sid, "registered")
    assert [d.sid for d in await port.list_address_dependents(address.sid)] == [bought.sid]
    unlinked = await port.set_number_emergency_address(bought.sid, None)
    assert (unlinked.emergency_address_sid, unlinked.emergency_address_status) == (None, "unregistered")

    assert await port.release_number(bought.sid) is True
    assert await port.release_number(bought.sid) is False  # gone: 404 counts as done
    with pytest.raises(TwilioError) as again:  # a released number is never for sale again
        await port.buy_number("+14155550100", "x", address_sid=None, bundle_sid=None)
    assert (again.value.kind, again.value.code) == (ErrorKind.REJECTED, 21422)


async def test_addresses_round_trip_and_validation_refusals(
    port: TwilioPort, emulator: EmulatorAdmin
) -> None:
    created = await port.create_emergency_address("twpe-hq", HQ)
    assert (created.fields, created.emergency_enabled, created.validated, created.verified) == (
        HQ,
        True,
        True,
        False,
    )
    assert [a.sid for a in await port.list_addresses_named("twpe-hq")] == [created.sid]
    moved = HQ.__class__(**{**HQ.__dict__, "street": "2 Market St", "street_secondary": "Floor 3"})
    updated = await port.update_address(created.sid, moved)
    assert updated.fields == moved
    fetched = await port.fetch_address(created.sid)
    assert fetched is not None and fetched.fields == moved

    emulator.add_address_rule("Nowhere", "reject", message="Address Validation Error")
    emulator.add_address_rule("Main Street", "correct", corrected={"street": "1 Main St"})
    for street, code in (("7 Nowhere Rd", 21628), ("1 Main Street", 21629)):
        with pytest.raises(TwilioError) as refused:
            await port.create_emergency_address("twpe-bad", HQ.__class__(**{**HQ.__dict__, "street": street}))
        assert (refused.value.kind, refused.value.code) == (ErrorKind.REJECTED, code)
    assert "1 Main St" in str(refused.value)  # the suggestion reaches the condition message

    assert await port.delete_address(created.sid) is True
    assert await port.fetch_address(created.sid) is None
    assert await port.delete_address(created.sid) is False
