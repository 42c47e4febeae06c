"""The pure rules of a number's life (issue 27), table-tested: which number for sale is bought, what a
refused purchase means, when the next attempt may be made, when a release is refused, and what a
TwilioEmergencyAddress's reconcile changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from twilio_operator.api import names
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import NumberPurchase, PurchaseStatus, TwilioEmergencyAddressSpec
from twilio_operator.api.ownership import release_problem
from twilio_operator.api.twilio_values import Address, AddressFields, Balance, IncomingNumber, NumberForSale
from twilio_operator.emergency_address.decide import Create, Update, fields_of, plan, validation_of
from twilio_operator.phone_number import purchase_rules as rules

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def purchase(**fields: object) -> NumberPurchase:
    return NumberPurchase.model_validate({"country": "US", **fields})


def offer(number: str, requirement: str = "none", country: str = "US") -> NumberForSale:
    return NumberForSale(phone_number=number, iso_country=country, address_requirements=requirement)


@pytest.mark.parametrize(
    ("spec", "offered", "chosen", "why"),
    [
        ({}, [], None, "nothing for sale"),
        ({}, [offer("+1", "any"), offer("+2")], "+2", "without addressSid, one that needs no address"),
        ({}, [offer("+1", "any"), offer("+2", "local")], "+1", "all need one: the first (Twilio says which)"),
        (
            {"addressSid": "AD" + "0" * 32},
            [offer("+1", "any"), offer("+2")],
            "+1",
            "an address given: the first",
        ),
    ],
)
def test_choose(spec: dict[str, object], offered: list[NumberForSale], chosen: str | None, why: str) -> None:
    found = rules.choose(purchase(**spec), offered)
    assert (found.phone_number if found else None) == chosen, why


def test_search_and_its_words() -> None:
    p = purchase(areaCode="415", contains="555", capabilities=["voice", "sms"], type="local")
    search = rules.search_of(p)
    assert (search.country, search.number_type, search.area_code, search.contains) == (
        "US",
        "local",
        "415",
        "555",
    )
    assert (search.voice, search.sms, search.mms) == (True, True, False)
    assert rules.describe_search(p) == "US local numbers in area code 415 matching 555 with voice and sms"


def refused(code: int) -> TwilioError:
    return TwilioError("buy phone number", ErrorKind.REJECTED, status=400, code=code, detail="no")


@pytest.mark.parametrize(
    ("code", "requirement", "spec", "reason", "fragment"),
    [
        (
            21631,
            "any",
            {},
            "AddressRequired",
            "requires an Address (anywhere in the world) (Twilio error 21631)",
        ),
        (21631, "foreign", {}, "AddressRequired", "requires an Address outside DE"),
        (21615, "none", {}, "AddressRequired", "requires an Address in DE (local to the number)"),
        (21631, "any", {"addressSid": "AD" + "1" * 32}, "AddressRequired", "the Address given (AD111"),
        (21649, "none", {}, "BundleRequired", "regulatory Bundle for DE local numbers (Twilio error 21649)"),
        (21649, "none", {"bundleSid": "BU" + "1" * 32}, "BundleRequired", "is not an approved Bundle"),
        (10002, "none", {}, "TrialNumberLimit", "trial account holds one phone number"),
        (10001, "none", {}, "InsufficientFunds", "cannot pay for +4930"),
        (21422, "none", {}, "NoNumberAvailable", "sold to someone else"),
        (90000, "none", {}, "PurchaseRefused", "Twilio refused to sell +4930"),
    ],
)
def test_refusal(code: int, requirement: str, spec: dict[str, object], reason: str, fragment: str) -> None:
    found = rules.refusal(
        refused(code), offer("+4930", requirement, "DE"), purchase(**{**spec, "country": "DE"})
    )
    assert found.reason == reason
    assert fragment in found.message, found.message


def test_only_an_unknown_refusal_gets_the_balance() -> None:
    balance = Balance(Decimal("0.5"), "USD")
    unknown = rules.refusal(refused(90000), offer("+1"), purchase())
    assert rules.with_balance(unknown, balance).message.endswith("the account balance is 0.50 USD")
    known = rules.refusal(refused(21649), offer("+1"), purchase())
    assert rules.with_balance(known, balance) == known
    assert rules.with_balance(unknown, None) == unknown


def attempt(failures: int, at: datetime, generation: int = 1) -> PurchaseStatus:
    return PurchaseStatus(
        failures=failures, last_attempt_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"), attempted_generation=generation
    )


@pytest.mark.parametrize(
    ("status", "generation", "now", "wait", "why"),
    [
        (None, 1, T0, 0.0, "never tried"),
        (attempt(1, T0), 1, T0 + timedelta(seconds=10), 50.0, "first wait: the base"),
        (attempt(1, T0), 1, T0 + timedelta(seconds=61), 0.0, "the base passed"),
        (attempt(3, T0), 1, T0 + timedelta(seconds=100), 140.0, "third: four times the base"),
        (attempt(20, T0), 1, T0, 3600.0, "at most an hour"),
        (attempt(3, T0), 2, T0, 0.0, "the spec changed: at once"),
        (
            PurchaseStatus(failures=2, last_attempt_at="garbage", attempted_generation=1),
            1,
            T0,
            0.0,
            "bad time",
        ),
    ],
)
def test_retry_wait(
    status: PurchaseStatus | None, generation: int, now: datetime, wait: float, why: str
) -> None:
    assert rules.retry_wait(status, generation, now, 60.0) == wait, why


def test_after_failure_counts_and_a_purchase_clears() -> None:
    first = rules.after_failure(None, 3, T0)
    second = rules.after_failure(first, 3, T0)
    assert (first.failures, second.failures, second.attempted_generation) == (1, 2, 3)
    done = rules.bought("PN1", "+1", T0)
    assert (done.sid, done.failures, done.purchased_at) == ("PN1", None, "2026-12-01T00:00:00Z")


NS, NAME = "tenant-a", "line"
TAGGED = names.purchased_number_name(NS, NAME)


def number(friendly_name: str = TAGGED, trunk: str | None = None) -> IncomingNumber:
    return IncomingNumber(sid="PN1", phone_number="+1", trunk_sid=trunk, friendly_name=friendly_name)


@pytest.mark.parametrize(
    ("bought", "recorded", "found", "others", "problem"),
    [
        (True, "PN1", number(), (), None),
        (True, "PN1", number(TAGGED.replace(f"{NS}/{NAME}", "renamed")), (), None),  # the tag is the proof
        (False, "PN1", number(), (), "it was imported"),
        (True, None, number(), (), "status.purchase does not record PN1"),
        (True, "PN2", number(), (), "status.purchase does not record PN1"),
        (True, "PN1", number("(415) 555-0100"), (), "no longer carries this object's purchase tag"),
        (True, "PN1", number(names.purchased_number_name(NS, "other")), (), "no longer carries"),
        (True, "PN1", number(), ("b/x", "a/y"), "TwilioPhoneNumber a/y, b/x uses it too"),
        (True, "PN1", number(trunk="TK9"), (), "it is on trunk TK9"),
    ],
)
def test_release_problem(
    bought: bool, recorded: str | None, found: IncomingNumber, others: tuple[str, ...], problem: str | None
) -> None:
    said = release_problem(NS, NAME, bought, recorded, found, others)
    assert (said is None) == (problem is None), said
    if problem is not None:
        assert said is not None and problem in said


def test_the_purchase_tag_survives_re_creation_and_fits_twilio() -> None:
    assert names.number_tag(NS, NAME) == names.number_tag(NS, NAME)  # namespace and name, not the UID
    assert names.number_tag(NS, NAME) != names.number_tag("tenant-b", NAME)
    assert len(names.purchased_number_name("n" * 63, "x" * 253)) == 64
    assert names.is_purchased_by(names.purchased_number_name("n" * 63, "x" * 253), "n" * 63, "x" * 253)
    assert len(names.address_name("3c1f7a9e-2b4d-4e8f-9a61-7d2e5c0b8f13")) == 32  # Twilio: 32 at most


SPEC = TwilioEmergencyAddressSpec.model_validate(
    {
        "providerRef": {"name": "acme"},
        "customerName": "Acme",
        "street": "1 Market St",
        "city": "SF",
        "region": "CA",
        "postalCode": "94105",
        "isoCountry": "US",
    }
)


def twilio_address(
    emergency: bool = True, validated: bool = True, verified: bool = False, **fields: str
) -> Address:
    base = fields_of(SPEC)
    return Address(
        sid="AD1",
        friendly_name="twpe-x",
        fields=AddressFields(**{**base.__dict__, **fields}),
        emergency_enabled=emergency,
        validated=validated,
        verified=verified,
    )


def test_address_plan() -> None:
    assert plan(fields_of(SPEC), None) == Create(fields_of(SPEC))
    assert plan(fields_of(SPEC), twilio_address()) is None
    assert plan(fields_of(SPEC), twilio_address(street_secondary="")) is None  # "" and None are the same
    changed = plan(fields_of(SPEC), twilio_address(street="2 Market St", emergency=False))
    assert isinstance(changed, Update) and changed.changed == ("street", "emergency_enabled")
    assert plan(fields_of(SPEC), twilio_address(iso_country="CA")) is None  # never changed


@pytest.mark.parametrize(
    ("validated", "verified", "word"),
    [
        (True, True, "verified"),
        (False, True, "verified"),
        (True, False, "validated"),
        (False, False, "accepted"),
    ],
)
def test_validation_word(validated: bool, verified: bool, word: str) -> None:
    assert validation_of(twilio_address(validated=validated, verified=verified)) == word
