"""Deleting a TwilioEmergencyAddress: its Twilio Address goes once nothing uses it.

Twilio refuses to delete an Address that numbers still use (their DependentPhoneNumbers), so the
operator never asks while any does: a TwilioPhoneNumber that still names the address in
spec.emergencyAddressRef, or a number in Twilio that still has it (linked by hand, or left by an
object deleted with the Orphan annotation). Each is a clear InUse condition naming them, and the
deletion goes on as soon as they are gone; the deletion-policy Orphan annotation leaves the Address
in Twilio and lets the object go at once. Only an Address carrying this object's friendly name is
ever deleted.
"""

from __future__ import annotations

from collections.abc import Collection

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.errors import DeletionBlocked, ErrorKind, TwilioError
from twilio_operator.emergency_address.reconcile import AddressWriter, EmergencyAddress, connect_account
from twilio_operator.phone_number.reconcile import ProviderView
from twilio_operator.ports.deps import Deps


async def remove_address(
    address: EmergencyAddress, provider: ProviderView | None, deps: Deps, users: Collection[str]
) -> str:
    """Delete the Address, or raise DeletionBlocked saying what still uses it. `users`: the names of
    the TwilioPhoneNumbers of the namespace whose spec.emergencyAddressRef names this object."""
    if address.annotations.get(names.DELETION_POLICY_OVERRIDE) == "Orphan":
        kept = address.status.address_sid or "(none recorded)"
        return f"left Address {kept} in Twilio (deletion-policy Orphan)"
    if users:
        await in_use(
            address,
            deps,
            f"TwilioPhoneNumber {', '.join(sorted(users))} still name this emergency address in "
            "spec.emergencyAddressRef: remove it there (or delete them) first; the Address is deleted "
            "right after",
        )
    if provider is None:
        await deps.kube.post_event(
            address.ref,
            "Warning",
            c.DELETED,
            f"left Address {address.status.address_sid or '(none recorded)'} in Twilio: TwilioProvider "
            f"{address.spec.provider_ref.name} is gone, so its account cannot be reached",
        )
        return "the provider is gone"
    twilio = await connect_account(address.namespace, provider, deps)
    if twilio is None:
        raise TwilioError(
            "delete emergency address",
            ErrorKind.AUTH,
            detail=f"the credentials of TwilioProvider {provider.name} are not usable",
        )
    found = await twilio.list_addresses_named(address.friendly_name)
    if not found:
        return "no Address of this object is in Twilio"
    deleted = []
    for each in found:
        dependents = await twilio.list_address_dependents(each.sid)
        if dependents:
            numbers = ", ".join(sorted(d.phone_number for d in dependents))
            await in_use(
                address,
                deps,
                f"Twilio numbers {numbers} still use Address {each.sid} (linked outside this cluster's "
                f"TwilioPhoneNumbers): remove it from them in Twilio, or annotate "
                f"{names.DELETION_POLICY_OVERRIDE}=Orphan to keep the Address and let this object go",
            )
        if await twilio.delete_address(each.sid):
            deleted.append(each.sid)
    if deleted:
        await deps.kube.post_event(address.ref, "Normal", c.DELETED, f"deleted Address {', '.join(deleted)}")
    return f"deleted {', '.join(deleted) or 'nothing'}"


async def in_use(address: EmergencyAddress, deps: Deps, message: str) -> None:
    """Say so in the Ready condition (and an Event, once per message), then stop this attempt."""
    writer = AddressWriter(address, deps)
    ready = c.find(address.status.conditions, c.READY)
    if ready is None or (ready.reason, ready.message) != (c.IN_USE, message):
        await writer.finish(False, c.IN_USE, message)
    raise DeletionBlocked(message)
