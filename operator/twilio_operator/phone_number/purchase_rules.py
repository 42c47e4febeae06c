"""The pure rules of buying a number (spec.purchase): what to search for, which number for sale to buy,
what a refused purchase means in Twilio's own codes, and when to try again.

phone_number/purchase.py does the reads and the purchase; this decides. Twilio's codes, with their
sources: docs/numbers.md and docs/emulator.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from twilio_operator.api import conditions as c
from twilio_operator.api.errors import TwilioError
from twilio_operator.api.models import NumberPurchase, PurchaseStatus
from twilio_operator.api.times import parse_rfc3339, rfc3339
from twilio_operator.api.twilio_values import Balance, NumberForSale, NumberSearch

SEARCH_LIMIT = 20  # numbers for sale read per attempt: enough to prefer one without an address requirement
DEFAULT_RETRY = 60.0  # seconds after the first attempt that bought nothing; doubled per attempt
MAX_RETRY = 3600.0

# Twilio's refusals of a purchase (twilio.com/docs/api/errors/<code>).
CODE_ADDRESS_REQUIRED = 21631  # "Phone Number Requires an Address"
CODE_LOCAL_ADDRESS_REQUIRED = 21615  # "Phone Number Requires a Local Address"
CODE_BUNDLE_REQUIRED = 21649  # "Phone Number Requires a Bundle" (changelog 2020-02-12)
CODE_TRIAL_LIMIT = 10002  # "Trial accounts do not support the feature you tried to use"
CODE_NOT_AVAILABLE = 21422  # "Phone number is not available": bought by someone else meanwhile
# Twilio documents no code for a purchase the balance cannot pay; the emulator answers 10001 (assumed,
# docs/emulator.md). Any other refusal is reported with the balance, read then, beside Twilio's words.
CODE_INSUFFICIENT_FUNDS = 10001

_REQUIREMENT = {
    "any": "an Address (anywhere in the world)",
    "local": "an Address in {country} (local to the number)",
    "foreign": "an Address outside {country}",
}


@dataclass(frozen=True)
class Refusal:
    """Why this attempt bought nothing: a Ready reason and its message."""

    reason: str
    message: str


def search_of(purchase: NumberPurchase) -> NumberSearch:
    return NumberSearch(
        country=purchase.country,
        number_type=purchase.type,
        area_code=purchase.area_code,
        contains=purchase.contains,
        voice="voice" in purchase.capabilities,
        sms="sms" in purchase.capabilities,
        mms="mms" in purchase.capabilities,
    )


def describe_search(purchase: NumberPurchase) -> str:
    """The criteria in words, for messages: `US local numbers in area code 415 with voice and sms`."""
    parts = [f"{purchase.country} {purchase.type} numbers"]
    if purchase.area_code:
        parts.append(f"in area code {purchase.area_code}")
    if purchase.contains:
        parts.append(f"matching {purchase.contains}")
    parts.append("with " + " and ".join(purchase.capabilities))
    return " ".join(parts)


def choose(purchase: NumberPurchase, offered: Sequence[NumberForSale]) -> NumberForSale | None:
    """The first number for sale; without spec.purchase.addressSid, the first one that needs no
    address if there is one (else the first: Twilio's refusal then says which address it needs)."""
    if not offered:
        return None
    if purchase.address_sid is None:
        free = [n for n in offered if n.address_requirements in ("", "none")]
        if free:
            return free[0]
    return offered[0]


def nothing_for_sale(purchase: NumberPurchase) -> Refusal:
    return Refusal(
        c.NO_NUMBER_AVAILABLE,
        f"Twilio has no {describe_search(purchase)} for sale; searching again later (less often each "
        "time). Widen spec.purchase (another area code, a shorter contains) to search at once",
    )


def refusal(error: TwilioError, candidate: NumberForSale, purchase: NumberPurchase) -> Refusal:
    """What a refused purchase of `candidate` means, in Twilio's codes."""
    number = candidate.phone_number
    code = error.code
    if code in (CODE_ADDRESS_REQUIRED, CODE_LOCAL_ADDRESS_REQUIRED):
        requirement = candidate.address_requirements
        if code == CODE_LOCAL_ADDRESS_REQUIRED:
            requirement = "local"
        needed = _REQUIREMENT.get(requirement, "an Address").format(country=candidate.iso_country)
        given = (
            f"the Address given ({purchase.address_sid}) does not satisfy it"
            if purchase.address_sid
            else "set spec.purchase.addressSid to an Address (AD...) of the account that does"
        )
        return Refusal(
            c.ADDRESS_REQUIRED,
            f"{number} requires {needed} (Twilio error {code}): {given}. See docs/numbers.md",
        )
    if code == CODE_BUNDLE_REQUIRED:
        given = (
            f"the Bundle given ({purchase.bundle_sid}) is not an approved Bundle for these numbers"
            if purchase.bundle_sid
            else "set spec.purchase.bundleSid to an approved Bundle (BU...)"
        )
        return Refusal(
            c.BUNDLE_REQUIRED,
            f"{number} requires a regulatory Bundle for {candidate.iso_country} {purchase.type} numbers "
            f"(Twilio error {code}): the end user's identity and the supporting documents Twilio's "
            f"regulation for {candidate.iso_country} {purchase.type} numbers lists; {given}. "
            "See docs/numbers.md",
        )
    if code == CODE_TRIAL_LIMIT:
        return Refusal(
            c.TRIAL_NUMBER_LIMIT,
            f"a trial account holds one phone number and already has one (Twilio error {code}): "
            "upgrade the account, or import its number with spec.phoneNumber instead",
        )
    if code == CODE_INSUFFICIENT_FUNDS:
        return Refusal(c.INSUFFICIENT_FUNDS, f"the account cannot pay for {number}: {error}. Add funds")
    if code == CODE_NOT_AVAILABLE:
        return Refusal(
            c.NO_NUMBER_AVAILABLE,
            f"{number} was sold to someone else before it could be bought ({error}); searching again",
        )
    return Refusal(c.PURCHASE_REFUSED, f"Twilio refused to sell {number}: {error}")


def with_balance(found: Refusal, balance: Balance | None) -> Refusal:
    """A refusal Twilio gave no known code for, with the account's balance beside it (the one
    documented reason a purchase fails that no code names is the funds)."""
    if found.reason != c.PURCHASE_REFUSED or balance is None:
        return found
    amount = balance.amount.quantize(Decimal("0.01"))
    return Refusal(found.reason, f"{found.message}; the account balance is {amount} {balance.currency}")


def retry_wait(status: PurchaseStatus | None, generation: int, now: datetime, base: float) -> float:
    """Seconds until the next purchase attempt may be made: 0 now. After attempts that bought nothing
    the wait doubles (base, 2 base, 4 base, ... up to an hour), unless the spec changed since (a
    person's change is tried at once)."""
    if status is None or not status.failures or status.attempted_generation != generation:
        return 0.0
    last = parse_rfc3339(status.last_attempt_at)
    if last is None:
        return 0.0
    wait = retry_after(status.failures, base)
    return max(0.0, wait - (now - last).total_seconds())


def retry_after(failures: int, base: float) -> float:
    """The wait after the `failures`-th attempt in a row that bought nothing."""
    return min(base * 2.0 ** (max(failures, 1) - 1), MAX_RETRY)


def after_failure(status: PurchaseStatus | None, generation: int, now: datetime) -> PurchaseStatus:
    failures = (status.failures or 0) if status is not None else 0
    return PurchaseStatus(
        failures=failures + 1, last_attempt_at=rfc3339(now), attempted_generation=generation
    )


def bought(sid: str, phone_number: str, now: datetime) -> PurchaseStatus:
    return PurchaseStatus(sid=sid, phone_number=phone_number, purchased_at=rfc3339(now))
