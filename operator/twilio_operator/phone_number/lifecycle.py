"""What a number's reconcile does beyond importing (issue 27), in two steps around the import: before
it, buy the number (purchase.py); once the number is on the trunk, register its emergency address
(emergency.py). Deleting the object settles the number's fate in the account (release.py).

`Lifecycle` carries what these steps need from outside the object: the purchase retry base (a
setting) and the TwilioEmergencyAddress the spec names (from the handlers' in-memory index).
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio_operator.api.twilio_values import IncomingNumber
from twilio_operator.phone_number.emergency import AddressView, EmergencyProblem, ensure_emergency_address
from twilio_operator.phone_number.purchase import NotBought, ensure_bought
from twilio_operator.phone_number.purchase_rules import DEFAULT_RETRY
from twilio_operator.phone_number.shapes import NumberObject, StatusDraft
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort

__all__ = ["AddressView", "EmergencyProblem", "Lifecycle", "NotBought", "after_attach", "before_find"]


@dataclass(frozen=True)
class Lifecycle:
    purchase_retry: float = DEFAULT_RETRY  # seconds after a purchase attempt that bought nothing
    emergency_address: AddressView | None = None  # the TwilioEmergencyAddress spec.emergencyAddressRef names


async def before_find(
    twilio: TwilioPort, number: NumberObject, draft: StatusDraft, deps: Deps, lifecycle: Lifecycle
) -> str | NotBought | None:
    """The SID of the number the object bought (to import like any other), NotBought, or None when
    the spec names the number itself."""
    return await ensure_bought(twilio, number, draft, deps, lifecycle.purchase_retry)


async def after_attach(
    twilio: TwilioPort,
    number: NumberObject,
    found: IncomingNumber,
    draft: StatusDraft,
    deps: Deps,
    lifecycle: Lifecycle,
) -> EmergencyProblem | None:
    """The number is on the trunk: its emergency address as the spec says, or why not."""
    return await ensure_emergency_address(twilio, number, found, lifecycle.emergency_address, draft, deps)
