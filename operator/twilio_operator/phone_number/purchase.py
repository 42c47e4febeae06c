"""Buy the number of a TwilioPhoneNumber with spec.purchase, exactly once.

The number is bought with a friendly name derived from the object's namespace and name
(`names.purchased_number_name`), and its SID goes into status at once. Before any purchase the
account is asked for a number of that name: a purchase whose answer was lost (a crash, a timeout)
or an object deleted with releasePolicy Retain and created again is found, not bought twice.
An attempt that buys nothing (nothing for sale, a refusal) is retried less often each time.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import PHONE_NUMBER, NumberPurchase
from twilio_operator.api.patches import dump
from twilio_operator.api.twilio_values import Balance, IncomingNumber
from twilio_operator.phone_number import purchase_rules as rules
from twilio_operator.phone_number.shapes import NumberObject, StatusDraft
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort

_ATTEMPT_FIELDS = ("failures", "lastAttemptAt", "attemptedGeneration")


@dataclass(frozen=True)
class NotBought:
    """No number yet: why (a Ready reason and message), and the seconds until the next attempt."""

    reason: str
    message: str
    retry_in: float | None


async def ensure_bought(
    twilio: TwilioPort, number: NumberObject, draft: StatusDraft, deps: Deps, retry_base: float
) -> str | NotBought | None:
    """The SID of the number this object bought (found again, or bought now); NotBought; or None
    when the object imports a number instead (no spec.purchase)."""
    purchase = number.spec.purchase
    if purchase is None:
        return None
    recorded = number.status.purchase
    if recorded is not None and recorded.sid:
        return recorded.sid
    wait = rules.retry_wait(recorded, number.generation, deps.clock(), retry_base)
    if wait > 0:
        return _still_waiting(number, wait)
    try:
        return await _find_or_buy(twilio, number, purchase, draft, deps, retry_base)
    except TwilioError as error:
        if error.kind is not ErrorKind.AUTH:
            raise  # transient: the outcome of a purchase is unknown; the next reconcile looks first
        reason = c.twilio_failure_reason(error)
        return NotBought(reason, c.twilio_failure_message(error, reason), None)


def _still_waiting(number: NumberObject, wait: float) -> NotBought:
    """Between attempts nothing is asked of Twilio: the last attempt's verdict stands."""
    ready = c.find(number.status.conditions, c.READY)
    if ready is not None and ready.status == "False":
        return NotBought(ready.reason, ready.message, wait)
    return NotBought(c.NO_NUMBER_AVAILABLE, "waiting before the next purchase attempt", wait)


async def _find_or_buy(
    twilio: TwilioPort,
    number: NumberObject,
    purchase: NumberPurchase,
    draft: StatusDraft,
    deps: Deps,
    retry_base: float,
) -> str | NotBought:
    friendly_name = names.purchased_number_name(number.namespace, number.name)
    found = await twilio.list_numbers_named(friendly_name)
    if found:
        return await _record(number, draft, deps, found[0], again=True)
    offered = await twilio.search_numbers_for_sale(rules.search_of(purchase), rules.SEARCH_LIMIT)
    candidate = rules.choose(purchase, offered)
    if candidate is None:
        return _failed(number, draft, deps, rules.nothing_for_sale(purchase), retry_base)
    try:
        bought = await twilio.buy_number(
            candidate.phone_number,
            friendly_name,
            address_sid=purchase.address_sid,
            bundle_sid=purchase.bundle_sid,
        )
    except TwilioError as error:
        if error.kind is not ErrorKind.REJECTED:
            raise
        refusal = rules.refusal(error, candidate, purchase)
        if refusal.reason == c.PURCHASE_REFUSED:
            refusal = rules.with_balance(refusal, await _balance(twilio))
        return _failed(number, draft, deps, refusal, retry_base)
    return await _record(number, draft, deps, bought, again=False)


async def _record(
    number: NumberObject, draft: StatusDraft, deps: Deps, bought: IncomingNumber, *, again: bool
) -> str:
    """The SID goes into status before anything else happens, then the Event says what was done."""
    purchase = rules.bought(bought.sid, bought.phone_number, deps.clock())
    draft.set(purchase=purchase, sid=bought.sid, phone_number=bought.phone_number)
    written = {**dict.fromkeys(_ATTEMPT_FIELDS), **dump(purchase)}  # null: the failed attempts go
    await deps.kube.patch_status(
        PHONE_NUMBER, number.namespace, number.name, {"purchase": written, "sid": bought.sid}
    )
    if again:
        message = (
            f"found {bought.phone_number} ({bought.sid}) again by its friendly name "
            f"{bought.friendly_name!r}: it was bought for this object before; nothing was bought now"
        )
    else:
        message = (
            f"bought {bought.phone_number} ({bought.sid}); it stays in the Twilio account when this object "
            f"is deleted unless spec.releasePolicy is Release"
        )
    await deps.kube.post_event(number.ref, "Normal", c.PURCHASED, message)
    return bought.sid


def _failed(
    number: NumberObject, draft: StatusDraft, deps: Deps, refusal: rules.Refusal, retry_base: float
) -> NotBought:
    attempt = rules.after_failure(number.status.purchase, number.generation, deps.clock())
    draft.set(purchase=attempt)
    return NotBought(refusal.reason, refusal.message, rules.retry_after(attempt.failures or 1, retry_base))


async def _balance(twilio: TwilioPort) -> Balance | None:
    try:
        return await twilio.fetch_balance()
    except TwilioError:
        return None  # the balance only adds to the message
