"""The emergency address of a number: spec.emergencyAddressRef names a TwilioEmergencyAddress, whose
Twilio Address becomes the number's EmergencyAddressSid; removing the reference unlinks it.

Twilio's emergency-calling pages (voice/sip/api/emergency-calling-api): associate an emergency address
with the number, check that its emergency_address_status is registered; to change it, dis-associate
the old one first; to delete it, "Set Emergency Address to Null". The operator unlinks only the
address it linked itself (status.emergencyAddressSid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api.twilio_values import IncomingNumber
from twilio_operator.phone_number.shapes import NumberObject, StatusDraft
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort

REGISTERED = "registered"
PENDING = frozenset({"pending-registration"})


@dataclass(frozen=True)
class AddressView:
    """A TwilioEmergencyAddress as a number sees it (from an in-memory index: no read per number)."""

    name: str
    provider: str
    sid: str | None
    ready: bool
    reason: str | None = None
    message: str = ""
    deleting: bool = False

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> AddressView:
        status = body.get("status") or {}
        ready = c.ReadyState.of(status)
        return cls(
            name=body["metadata"]["name"],
            provider=((body.get("spec") or {}).get("providerRef") or {}).get("name", ""),
            sid=status.get("addressSid"),
            ready=ready.is_true,
            reason=ready.reason,
            message=ready.message,
            deleting=bool(body["metadata"].get("deletionTimestamp")),
        )


@dataclass(frozen=True)
class EmergencyProblem:
    """Why the number's emergency address is not registered as the spec asks (a Ready reason)."""

    reason: str
    message: str


async def ensure_emergency_address(
    twilio: TwilioPort,
    number: NumberObject,
    found: IncomingNumber,
    address: AddressView | None,
    draft: StatusDraft,
    deps: Deps,
) -> EmergencyProblem | None:
    """Link or unlink the number's emergency address as the spec says; None when it is as asked."""
    ref = number.spec.emergency_address_ref
    if ref is None:
        await _unlink_ours(twilio, number, found, deps)
        draft.set(emergency_address_sid=None, emergency_address_status=None)
        return None
    problem = _unusable(number, ref.name, address)
    if problem is not None or address is None or address.sid is None:
        return problem
    current = found
    if found.emergency_address_sid != address.sid:
        if found.emergency_address_sid:  # Twilio's order: dis-associate the old address first
            await twilio.set_number_emergency_address(found.sid, None)
        current = await twilio.set_number_emergency_address(found.sid, address.sid)
        await deps.kube.post_event(
            number.ref,
            "Normal",
            c.EMERGENCY_ADDRESS_LINKED,
            f"registered TwilioEmergencyAddress {ref.name} ({address.sid}) as the emergency address of "
            f"{found.phone_number}: {current.emergency_address_status or 'status unknown'}",
        )
    draft.set(emergency_address_sid=address.sid, emergency_address_status=current.emergency_address_status)
    return _registration_problem(current, ref.name)


async def unlink_emergency_address(
    twilio: TwilioPort, number: NumberObject, found: IncomingNumber, deps: Deps, *, any_address: bool
) -> bool:
    """Unlink the number's emergency address: the one this object linked, or (`any_address`, before a
    release, which Twilio refuses while one is linked) any. True if one was unlinked."""
    if not found.emergency_address_sid:
        return False
    if not any_address and found.emergency_address_sid != number.status.emergency_address_sid:
        return False
    await twilio.set_number_emergency_address(found.sid, None)
    await deps.kube.post_event(
        number.ref,
        "Normal",
        c.EMERGENCY_ADDRESS_UNLINKED,
        f"removed the emergency address {found.emergency_address_sid} from {found.phone_number}",
    )
    return True


async def _unlink_ours(twilio: TwilioPort, number: NumberObject, found: IncomingNumber, deps: Deps) -> None:
    if number.status.emergency_address_sid:
        await unlink_emergency_address(twilio, number, found, deps, any_address=False)


def _unusable(number: NumberObject, name: str, address: AddressView | None) -> EmergencyProblem | None:
    provider = number.spec.provider_ref.name
    if address is None:
        return EmergencyProblem(
            c.EMERGENCY_ADDRESS_NOT_READY,
            f"{number.status.phone_number} routes calls, but its emergency address is missing: "
            f"TwilioEmergencyAddress {number.namespace}/{name} not found",
        )
    if address.provider != provider:
        return EmergencyProblem(
            c.EMERGENCY_ADDRESS_NOT_READY,
            f"TwilioEmergencyAddress {name} belongs to TwilioProvider {address.provider}, this number to "
            f"{provider}: an Address can be the emergency address only of numbers of its own Twilio account",
        )
    if not address.ready or not address.sid:
        why = f"{address.reason}: {address.message}" if address.reason else "not reconciled yet"
        return EmergencyProblem(
            c.EMERGENCY_ADDRESS_NOT_READY,
            f"{number.status.phone_number} routes calls, but its emergency address waits for "
            f"TwilioEmergencyAddress {name} to be Ready ({why})",
        )
    return None


def _registration_problem(current: IncomingNumber, name: str) -> EmergencyProblem | None:
    status = current.emergency_address_status
    if status == REGISTERED:
        return None
    if status in PENDING:
        return EmergencyProblem(
            c.EMERGENCY_ADDRESS_NOT_READY,
            f"the emergency address of {current.phone_number} (TwilioEmergencyAddress {name}) is {status}",
        )
    return EmergencyProblem(
        c.EMERGENCY_ADDRESS_NOT_REGISTERED,
        f"Twilio did not register TwilioEmergencyAddress {name} for emergency calls from "
        f"{current.phone_number} (emergency_address_status {status or 'unknown'}): check that Twilio's "
        "emergency calling covers the address's country (docs/numbers.md lists them)",
    )
