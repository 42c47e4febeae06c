"""What a TwilioEmergencyAddress's reconcile does with what it observed: create the Address, update it,
or leave it; and how Twilio's view of it reads in status. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from twilio_operator.api.models import AddressValidation, TwilioEmergencyAddressSpec
from twilio_operator.api.twilio_values import Address, AddressFields


@dataclass(frozen=True)
class Create:
    fields: AddressFields


@dataclass(frozen=True)
class Update:
    sid: str
    fields: AddressFields
    changed: tuple[str, ...]  # the fields that differ, for the Event


Change = Create | Update


def fields_of(spec: TwilioEmergencyAddressSpec) -> AddressFields:
    return AddressFields(
        customer_name=spec.customer_name,
        street=spec.street,
        city=spec.city,
        region=spec.region,
        postal_code=spec.postal_code,
        iso_country=spec.iso_country,
        street_secondary=spec.street_secondary,
    )


_UPDATABLE = ("customer_name", "street", "street_secondary", "city", "region", "postal_code")


def plan(wanted: AddressFields, found: Address | None) -> Change | None:
    """The one change that makes Twilio's Address what the spec says, or None. The country is never
    changed (Twilio does not; the spec keeps it immutable)."""
    if found is None:
        return Create(wanted)
    changed = tuple(
        name
        for name in _UPDATABLE
        if (getattr(wanted, name) or None) != (getattr(found.fields, name) or None)
    )
    if not found.emergency_enabled:
        changed += ("emergency_enabled",)
    return Update(found.sid, wanted, changed) if changed else None


def validation_of(address: Address) -> AddressValidation:
    """Twilio's two flags in one word: verified beats validated; neither is "accepted" (stored; Twilio
    says the flags are false where the country requires no validation)."""
    if address.verified:
        return "verified"
    if address.validated:
        return "validated"
    return "accepted"


def pick(found: list[Address], recorded_sid: str | None) -> Address | None:
    """Ours by friendly name, the one the status recorded first."""
    return next(iter(sorted(found, key=lambda a: a.sid != recorded_sid)), None)
