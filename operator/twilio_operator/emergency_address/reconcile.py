"""The reconcile of a TwilioEmergencyAddress: observe its Twilio Address (found by the friendly name
derived from the object's UID, `names.address_name`), decide (decide.py), act, then decide Ready once.

The Address is created with EmergencyEnabled and AutoCorrectAddress=false: Twilio refuses an address
it cannot validate (21628) or would correct (21629, with its suggestion), and that refusal, in Twilio's
words, is the Ready condition. The SID goes into status right after the create; a create whose
answer was lost is found by its friendly name by the next reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.conditions import ConditionUpdate, merge_conditions
from twilio_operator.api.credentials import CredentialProblem, parse_credentials
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import (
    EMERGENCY_ADDRESS,
    TwilioEmergencyAddressSpec,
    TwilioEmergencyAddressStatus,
)
from twilio_operator.api.objects import ObjectRef, identity
from twilio_operator.api.patches import status_patch
from twilio_operator.api.twilio_values import Address
from twilio_operator.emergency_address.decide import Create, fields_of, pick, plan, validation_of
from twilio_operator.phone_number.reconcile import ProviderView
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort


@dataclass(frozen=True)
class EmergencyAddress:
    """What a reconcile needs of a TwilioEmergencyAddress object."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: TwilioEmergencyAddressSpec
    status: TwilioEmergencyAddressStatus
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(EMERGENCY_ADDRESS, self.namespace, self.name, self.uid)

    @property
    def friendly_name(self) -> str:
        return names.address_name(self.uid)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> EmergencyAddress:
        return cls(
            **identity(body),
            spec=TwilioEmergencyAddressSpec.model_validate(body.get("spec") or {}),
            status=TwilioEmergencyAddressStatus.model_validate(body.get("status") or {}),
        )


@dataclass(frozen=True)
class AddressOutcome:
    ready: bool
    reason: str
    message: str
    address_sid: str | None


class AddressWriter:
    """The status a reconcile builds, written once at its end (and the SID right after a create)."""

    def __init__(self, address: EmergencyAddress, deps: Deps) -> None:
        self._address = address
        self._deps = deps
        self.status = address.status

    def set(self, **fields: Any) -> None:
        self.status = self.status.model_copy(update=fields)

    async def save_now(self) -> None:
        a = self._address
        await self._deps.kube.patch_status(
            EMERGENCY_ADDRESS, a.namespace, a.name, status_patch(a.status, self.status)
        )

    async def finish(self, ready: bool, reason: str, message: str) -> AddressOutcome:
        a = self._address
        previous = c.find(a.status.conditions, c.READY)
        update = ConditionUpdate(c.READY, "True" if ready else "False", reason, message)
        conditions = merge_conditions(self.status.conditions, [update], a.generation, self._deps.clock())
        self.set(conditions=conditions, observed_generation=a.generation)
        await self._deps.kube.patch_status(
            EMERGENCY_ADDRESS, a.namespace, a.name, status_patch(a.status, self.status)
        )
        metrics.STATES.record(a.uid, a.namespace, a.name, metrics.ObjectHealth(EMERGENCY_ADDRESS.kind, ready))
        if previous is None or (previous.status, previous.reason, previous.message) != (
            update.status,
            update.reason,
            update.message,
        ):
            await self._deps.kube.post_event(a.ref, "Normal" if ready else "Warning", reason, message)
        return AddressOutcome(ready, reason, message, self.status.address_sid)


async def reconcile_address(
    address: EmergencyAddress, provider: ProviderView | None, deps: Deps
) -> AddressOutcome:
    """Make the Twilio Address what the spec says. Raises TwilioError for Twilio to be retried."""
    writer = AddressWriter(address, deps)
    twilio = await usable_account(address, provider, deps, writer)
    if isinstance(twilio, AddressOutcome):
        return twilio
    try:
        found = pick(await twilio.list_addresses_named(address.friendly_name), address.status.address_sid)
        change = plan(fields_of(address.spec), found)
        if change is not None:
            found = await _apply(twilio, address, writer, deps, change)
    except TwilioError as error:
        if error.kind is ErrorKind.REJECTED:
            writer.set(validation="refused")
            return await writer.finish(False, c.ADDRESS_REFUSED, _refused(error))
        if error.kind is ErrorKind.AUTH:
            reason = c.twilio_failure_reason(error)
            return await writer.finish(False, reason, c.twilio_failure_message(error, reason))
        raise
    assert found is not None
    validation = validation_of(found)
    writer.set(
        address_sid=found.sid, validation=validation, validated=found.validated, verified=found.verified
    )
    return await writer.finish(
        True,
        c.ADDRESS_ACCEPTED,
        f"Address {found.sid} of Twilio account {provider.spec.account_sid if provider else ''} has "
        f"emergency calling enabled ({validation})",
    )


async def _apply(
    twilio: TwilioPort, address: EmergencyAddress, writer: AddressWriter, deps: Deps, change: Any
) -> Address:
    if isinstance(change, Create):
        created = await twilio.create_emergency_address(address.friendly_name, change.fields)
        writer.set(address_sid=created.sid)
        await writer.save_now()  # before anything else: the next reconcile trusts its friendly name anyway
        await deps.kube.post_event(
            address.ref, "Normal", c.ADDRESS_ACCEPTED, f"created Address {created.sid} for emergency calls"
        )
        return created
    updated = await twilio.update_address(change.sid, change.fields)
    await deps.kube.post_event(
        address.ref,
        "Normal",
        c.ADDRESS_ACCEPTED,
        f"updated Address {change.sid}: {', '.join(change.changed)}",
    )
    return updated


def _refused(error: TwilioError) -> str:
    hint = {
        21628: "Twilio could not validate the address: check the street, city, region (the two-letter "
        "state for US addresses) and postal code",
        21629: "Twilio suggests a corrected address (above): put it into the spec if it is right",
    }.get(error.code or 0, "fix the spec")
    return f"{error}. {hint}"


async def usable_account(
    address: EmergencyAddress, provider: ProviderView | None, deps: Deps, writer: AddressWriter
) -> TwilioPort | AddressOutcome:
    """The provider's Twilio account, or how the reconcile ends because the provider cannot be used."""
    name = address.spec.provider_ref.name
    if provider is None:
        return await writer.finish(
            False, c.PROVIDER_NOT_FOUND, f"TwilioProvider {address.namespace}/{name} not found"
        )
    twilio = await connect_account(address.namespace, provider, deps) if provider.ready else None
    if twilio is not None:
        return twilio
    why = (
        f"the credentials of TwilioProvider {name} are not usable"
        if provider.ready
        else f"waiting for TwilioProvider {name} to become Ready"
    )
    return await writer.finish(False, c.PROVIDER_NOT_READY, why)


async def connect_account(namespace: str, provider: ProviderView, deps: Deps) -> TwilioPort | None:
    """The provider's Twilio account, or None while its credentials are unusable (the provider's own
    conditions say why)."""
    ref = provider.spec.credentials_secret_ref
    secret = await deps.kube.read_secret(namespace, ref.name)
    credentials = parse_credentials(
        ref, namespace, secret.data if secret else None, provider.spec.account_sid, provider.region
    )
    if isinstance(credentials, CredentialProblem):
        return None
    return deps.twilio.connect(credentials)
