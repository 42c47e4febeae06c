"""Addresses (twilio.com/docs/usage/api/address): required fields, emergency addresses (FriendlyName at
most 32), validation (21628 refused, 21629 suggested when AutoCorrectAddress=false; which addresses fail
is the emulator's rule list), validated/verified flags, numbers that depend on an address, and the
refused delete of an address in use (code assumed; strict 90000)."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import account_auth, assert_twilio_error, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin

FIELDS = {
    "customer_name": "Acme Voice",
    "street": "1 Main St",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "iso_country": "US",
}


def refused(call: Any) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as err:
        call()
    return err.value.status, int(err.value.code)


def test_round_trip_and_filters(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    plain = api.addresses.create(friendly_name="office", **FIELDS)
    emergency = api.addresses.create(friendly_name="e911", emergency_enabled=True, **FIELDS)
    assert (plain.emergency_enabled, plain.validated, plain.verified) == (False, True, False)
    assert emergency.emergency_enabled is True
    assert [a.sid for a in api.addresses.list(emergency_enabled=True)] == [emergency.sid]
    assert [a.sid for a in api.addresses.list(friendly_name="office")] == [plain.sid]
    updated = api.addresses(plain.sid).update(street="2 Main St", friendly_name="office 2")
    assert (updated.street, updated.friendly_name, updated.city) == ("2 Main St", "office 2", "Springfield")
    assert api.addresses(plain.sid).fetch().street == "2 Main St"
    verified = emulator.patch_address(twilio_account.sid, plain.sid, verified=True)
    assert verified["verified"] is True and api.addresses(plain.sid).fetch().verified is True
    api.addresses(plain.sid).delete()
    assert refused(api.addresses(plain.sid).fetch) == (404, 20404)
    state = twilio_account.state()
    assert [a["sid"] for a in state["addresses"]] == [emergency.sid]


def test_required_fields_and_name_lengths(
    emulator_url: str, twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    path = f"/2010-04-01/Accounts/{twilio_account.sid}/Addresses.json"
    headers = {**account_auth(twilio_account), "Content-Type": "application/x-www-form-urlencoded"}
    assert_twilio_error(raw(emulator_url, "POST", path, body=b"CustomerName=x", headers=headers), 400, 20001)
    long_name = "n" * 33
    assert api.addresses.create(friendly_name=long_name, **FIELDS).friendly_name == long_name  # up to 64
    assert refused(
        lambda: api.addresses.create(friendly_name=long_name, emergency_enabled=True, **FIELDS)
    ) == (
        400,
        20001,
    )


@pytest.mark.parametrize("strict", [False, True])  # documented: the same in both modes
def test_validation_rules(
    twilio_client: Client,
    twilio_account: TwilioAccount,
    emulator: EmulatorAdmin,
    strict: bool,
) -> None:
    emulator.configure(strict=strict)
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    emulator.add_address_rule("Nowhere", "reject")
    emulator.add_address_rule("1 Mian", "correct", corrected={"street": "1 Main St"})
    assert refused(lambda: api.addresses.create(**{**FIELDS, "street": "9 Nowhere Rd"})) == (400, 21628)
    corrected = api.addresses.create(**{**FIELDS, "street": "1 Mian St"})
    assert corrected.street == "1 Main St"
    with pytest.raises(TwilioRestException) as err:
        api.addresses.create(**{**FIELDS, "street": "1 Mian St"}, auto_correct_address=False)
    assert (err.value.code, "1 Main St" in err.value.msg) == (21629, True)
    emulator.clear_address_rules()
    assert api.addresses.create(**{**FIELDS, "street": "9 Nowhere Rd"}).street == "9 Nowhere Rd"


@pytest.mark.parametrize("strict", [False, True])
def test_address_in_use_cannot_be_deleted(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin, strict: bool
) -> None:
    emulator.configure(strict=strict)
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    address = api.addresses.create(emergency_enabled=True, **FIELDS)
    number = twilio_account.incoming_phone_numbers[0].sid
    api.incoming_phone_numbers(number).update(emergency_address_sid=address.sid)
    assert [d.sid for d in api.addresses(address.sid).dependent_phone_numbers.list()] == [number]
    assert refused(api.addresses(address.sid).delete) == ((400, 90000) if strict else (400, 20001))
    api.incoming_phone_numbers(number).update(emergency_address_sid="")
    api.addresses(address.sid).delete()


@pytest.mark.parametrize("strict", [False, True])
def test_emergency_links(
    twilio_client: Client,
    twilio_account: TwilioAccount,
    emulator: EmulatorAdmin,
    strict: bool,
) -> None:
    emulator.configure(strict=strict)
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    number = twilio_account.incoming_phone_numbers[0].sid
    plain = api.addresses.create(**FIELDS)
    not_emergency = refused(
        lambda: api.incoming_phone_numbers(number).update(emergency_address_sid=plain.sid)
    )
    assert not_emergency == ((400, 90000) if strict else (400, 20001))  # no code documented
    foreign = api.addresses.create(emergency_enabled=True, **{**FIELDS, "iso_country": "DE"})
    linked = api.incoming_phone_numbers(number).update(emergency_address_sid=foreign.sid)
    # Only US, CA and GB addresses register (emergency-calling-for-programmable-voice).
    assert linked.emergency_address_status == "registration-failure"
    emulator.patch_number(twilio_account.sid, number, emergency_address_sid=None)
    assert api.incoming_phone_numbers(number).fetch().emergency_address_sid is None
    # EmergencyStatus is ignored since 2021 (changelog "Changes to the Emergency Calling API").
    assert api.incoming_phone_numbers(number).update(emergency_status="Active").emergency_status == "Inactive"
