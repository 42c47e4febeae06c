"""The reconcile of a TwilioPhoneNumber: import one number of the account onto its provider's trunk.

The number is attached by updating the IncomingPhoneNumber's trunk (the way
that works in every region, unlike the trunk's PhoneNumbers subresource).
Deleting the object detaches the number; it is never released from the account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.conditions import ConditionUpdate, merge_conditions
from twilio_operator.api.credentials import CredentialProblem, parse_credentials
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import (
    PHONE_NUMBER,
    PhoneCapabilities,
    TwilioPhoneNumberSpec,
    TwilioPhoneNumberStatus,
    TwilioProviderSpec,
    TwilioProviderStatus,
)
from twilio_operator.api.objects import ObjectRef, identity
from twilio_operator.api.patches import status_patch
from twilio_operator.api.regions import PROCESSING_REGIONS, ResolvedRegion
from twilio_operator.api.twilio_values import IncomingNumber, Trunk
from twilio_operator.phone_number.claims import Claimant, Contender
from twilio_operator.phone_number.decide import (
    Elsewhere,
    NumberSeen,
    Plan,
    Wanted,
    decide,
    needs_elsewhere,
)
from twilio_operator.phone_number.lifecycle import Lifecycle, NotBought, after_attach, before_find
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort


@dataclass(frozen=True)
class PhoneNumber:
    """What a reconcile needs of a TwilioPhoneNumber object."""

    namespace: str
    name: str
    uid: str
    generation: int
    created: str
    spec: TwilioPhoneNumberSpec
    status: TwilioPhoneNumberStatus
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(PHONE_NUMBER, self.namespace, self.name, self.uid)

    @property
    def wanted(self) -> str:
        bought = self.status.purchase.sid if self.status.purchase else None
        return self.spec.phone_number_sid or self.spec.phone_number or bought or ""

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> PhoneNumber:
        return cls(
            **identity(body),
            created=str(body["metadata"].get("creationTimestamp") or ""),
            spec=TwilioPhoneNumberSpec.model_validate(body.get("spec") or {}),
            status=TwilioPhoneNumberStatus.model_validate(body.get("status") or {}),
        )


@dataclass(frozen=True)
class ProviderView:
    """The provider as the number sees it (from an in-memory index, so no API read per number)."""

    name: str
    uid: str
    spec: TwilioProviderSpec
    status: TwilioProviderStatus
    adopted_from: str | None = None  # the adopt-from annotation (api/ownership.py)

    @property
    def ready(self) -> bool:
        return c.ReadyState.of(self.status).is_true and bool(self.status.trunk_sid)

    @property
    def region(self) -> ResolvedRegion:
        return ResolvedRegion.of(self.spec.region)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ProviderView:
        return cls(
            name=body["metadata"]["name"],
            uid=body["metadata"]["uid"],
            spec=TwilioProviderSpec.model_validate(body.get("spec") or {}),
            status=TwilioProviderStatus.model_validate(body.get("status") or {}),
            adopted_from=(body["metadata"].get("annotations") or {}).get(names.ADOPT_FROM) or None,
        )


@dataclass(frozen=True)
class NumberOutcome:
    ready: bool
    reason: str
    message: str
    waiting_for_provider: bool = False
    trunk_sid: str | None = None  # the trunk this object's number is on now (None: not attached by it)
    rivals: tuple[str, ...] = ()  # namespace/name of the objects in a takeover contest with this one
    retry_in: float | None = None  # seconds until the next try, when the reconcile knows (a purchase)


class NumberWriter:
    def __init__(self, number: PhoneNumber, deps: Deps) -> None:
        self._number = number
        self._deps = deps
        self.status = number.status
        self.now = deps.clock()

    def set(self, **fields: Any) -> None:
        self.status = self.status.model_copy(update=fields)

    async def finish(
        self,
        ready: bool,
        reason: str,
        message: str,
        *,
        event: str | None = None,
        rivals: tuple[str, ...] = (),
        retry_in: float | None = None,
    ) -> NumberOutcome:
        previous = c.find(self._number.status.conditions, c.READY)
        update = ConditionUpdate(c.READY, "True" if ready else "False", reason, message)
        conditions = merge_conditions(self.status.conditions, [update], self._number.generation, self.now)
        self.set(conditions=conditions, observed_generation=self._number.generation)
        n = self._number
        await self._deps.kube.patch_status(
            PHONE_NUMBER, n.namespace, n.name, status_patch(n.status, self.status)
        )
        metrics.STATES.record(n.uid, n.namespace, n.name, metrics.ObjectHealth("TwilioPhoneNumber", ready))
        if previous is None or (previous.status, previous.reason) != (update.status, update.reason):
            kind = event or ("Normal" if ready else "Warning")
            await self._deps.kube.post_event(n.ref, kind, reason, message)
        return NumberOutcome(
            ready,
            reason,
            message,
            waiting_for_provider=reason in _WAITING,
            trunk_sid=self.status.trunk_sid,
            rivals=rivals,
            retry_in=retry_in,
        )


_WAITING = {c.PROVIDER_NOT_FOUND, c.PROVIDER_NOT_READY}
IMPORT_ONLY = Lifecycle()


async def reconcile_number(
    number: PhoneNumber,
    provider: ProviderView | None,
    claimants: Sequence[Claimant],
    deps: Deps,
    contenders: Sequence[Contender] = (),
    lifecycle: Lifecycle = IMPORT_ONLY,
) -> NumberOutcome:
    """Attach the number (bought first for spec.purchase) to the trunk; raises TwilioError to retry."""
    writer = NumberWriter(number, deps)
    writer.set(agent=number.spec.agent_ref.name if number.spec.agent_ref else None)
    twilio = await _provider_usable(number, provider, deps, writer)
    if isinstance(twilio, NumberOutcome):
        return twilio
    assert provider is not None
    trunk_sid = provider.status.trunk_sid
    assert trunk_sid is not None
    if isinstance(bought := await before_find(twilio, number, writer, deps, lifecycle), NotBought):
        return await writer.finish(False, bought.reason, bought.message, retry_in=bought.retry_in)
    found = await _find(twilio, number, bought, writer)
    if isinstance(found, NumberOutcome):
        return found
    wanted = Wanted(
        number.name,
        number.namespace,
        number.created,
        number.spec.allow_takeover,
        number.wanted,
        provider.spec.account_sid,
        trunk_sid,
        provider.region.processing,
        number.status.previous_voice_region,
    )
    seen = await _observe(twilio, number, provider, deps, wanted, found)
    plan = decide(wanted, seen, claimants, contenders)
    await _act(twilio, writer, seen, plan)
    verdict = plan.verdict
    writer.set(trunk_sid=verdict.trunk_sid)
    message = verdict.message
    if verdict.ready and (plan.route is not None or provider.region.client is not None):
        message += f", inbound calls processed in {plan.route or seen.routed_to}"
    problem = None
    if verdict.ready and found is not None:
        problem = await after_attach(twilio, number, found, writer, deps, lifecycle)
    if problem is not None:
        return await writer.finish(False, problem.reason, problem.message)
    return await writer.finish(verdict.ready, verdict.reason, message, rivals=verdict.rivals)


async def _find(
    twilio: TwilioPort, number: PhoneNumber, bought: str | None, writer: NumberWriter
) -> IncomingNumber | NumberOutcome | None:
    """The number in the account (the one bought, else the spec's), written to the status; an
    outcome when Twilio refuses the credentials."""
    try:
        found = await twilio.find_incoming_number(
            sid=bought or number.spec.phone_number_sid, phone_number=number.spec.phone_number
        )
    except TwilioError as error:
        if error.kind is ErrorKind.AUTH:
            reason = c.twilio_failure_reason(error)
            return await writer.finish(False, reason, c.twilio_failure_message(error, reason))
        raise
    if found is None:
        writer.set(phone_number=number.spec.phone_number or number.status.phone_number)
    else:
        writer.set(
            sid=found.sid,
            phone_number=found.phone_number,
            capabilities=PhoneCapabilities(voice=found.voice, sms=found.sms, mms=found.mms, fax=found.fax),
        )
    return found


async def _act(twilio: TwilioPort, writer: NumberWriter, seen: NumberSeen, plan: Plan) -> None:
    """The attach, then the inbound route, as decided; what was read of the route otherwise."""
    found = seen.found
    if found is None:
        return
    if plan.attach is not None:
        if found.voice_application_sid:
            # Setting the trunk deletes the number's voice application (Twilio's API reference): kept,
            # to be given back on detach (phone_number/detach.py).
            writer.set(previous_voice_application_sid=found.voice_application_sid)
        await twilio.set_number_trunk(plan.attach.number_sid, plan.attach.trunk_sid)
    if plan.route is not None:
        await _set_route(twilio, writer, found.phone_number, seen.routed_to, plan.route)
    elif seen.route is not None:
        writer.set(voice_region=seen.route)


async def _provider_usable(
    number: PhoneNumber, provider: ProviderView | None, deps: Deps, writer: NumberWriter
) -> TwilioPort | NumberOutcome:
    """The provider's Twilio account, or how the reconcile ends because the provider cannot be used.
    While the provider has a problem of its own (not Ready, or credentials not usable), a number still
    on its trunk keeps routing calls: it stays Ready and the provider's own conditions and Events
    report the problem, once, not once per number."""
    provider_name = number.spec.provider_ref.name
    if provider is None:
        writer.set(trunk_sid=None)
        return await writer.finish(
            False, c.PROVIDER_NOT_FOUND, f"TwilioProvider {number.namespace}/{provider_name} not found"
        )
    attached = bool(provider.status.trunk_sid) and number.status.trunk_sid == provider.status.trunk_sid
    still_routing = attached and c.ReadyState.of(number.status).is_true
    routing_message = (
        f"{number.status.phone_number} is on trunk {provider.status.trunk_sid} (TwilioProvider "
        f"{provider_name} is not Ready: see its conditions)"
    )
    twilio = await connect(number, provider, deps) if provider.ready else None
    if twilio is not None:
        return twilio
    if still_routing:
        return await writer.finish(True, c.ATTACHED, routing_message)
    why = (
        f"the credentials of TwilioProvider {provider_name} are not usable"
        if provider.ready
        else f"waiting for TwilioProvider {provider_name} to become Ready"
    )
    return await writer.finish(False, c.PROVIDER_NOT_READY, why)


async def _observe(
    twilio: TwilioPort,
    number: PhoneNumber,
    provider: ProviderView,
    deps: Deps,
    wanted: Wanted,
    found: IncomingNumber | None,
) -> NumberSeen:
    """Observe before deciding: the number's inbound route (one for the whole account), the trunk it
    is on in this region when the spec allows a takeover, and, before an attach or when its calls are
    processed elsewhere, its voice configuration in every other processing region."""
    if found is None:
        return NumberSeen(None)
    route = await twilio.fetch_number_voice_region(found.phone_number)
    holder = None
    if found.trunk_sid not in (None, wanted.trunk_sid) and wanted.allow_takeover:
        holder = await _trunk_named(twilio, found.trunk_sid)
    elsewhere: tuple[Elsewhere, ...] = ()
    if needs_elsewhere(wanted, found, route):
        regions = [r for r in PROCESSING_REGIONS if r != wanted.region]
        elsewhere = tuple(
            await asyncio.gather(*(_look_in(number, provider, deps, r, found.sid, wanted) for r in regions))
        )
    return NumberSeen(found, holder, route, elsewhere)


async def _look_in(
    number: PhoneNumber, provider: ProviderView, deps: Deps, region: str, number_sid: str, wanted: Wanted
) -> Elsewhere:
    """The number in another processing region, through the provider's own credentials: readable only
    where they are valid (an account's Auth Token or key works only in the region that made it, so
    usually nowhere else; tests give one token to every region)."""
    there = await connect(number, provider, deps, region=region)
    if there is None:
        return Elsewhere(region, readable=False)
    try:
        seen = await there.find_incoming_number(sid=number_sid, phone_number=None)
    except TwilioError as error:
        if error.kind is not ErrorKind.AUTH:
            raise
        return Elsewhere(region, readable=False)
    trunk_sid = seen.trunk_sid if seen is not None else None
    holder = await _trunk_named(there, trunk_sid) if trunk_sid and wanted.allow_takeover else None
    return Elsewhere(region, readable=True, trunk_sid=trunk_sid, holder=holder)


async def _trunk_named(twilio: TwilioPort, trunk_sid: str | None) -> Trunk | None:
    """The trunk a number is on (whose domain tells whether a TwilioProvider manages it)."""
    return next((t for t in await twilio.list_trunks() if t.sid == trunk_sid), None)


async def _set_route(
    twilio: TwilioPort, writer: NumberWriter, phone_number: str, current: str, region: str
) -> None:
    """Calls from the phone network are processed in the number's inbound processing region, not
    the trunk's (twilio.com/docs/global-infrastructure/inbound-processing-api): the number must point
    to the provider's region. The route it had is kept for detach. A change can take minutes to show
    in reads, so a read that still shows the old value is written again (phone_number/decide.py),
    never reported as a failure."""
    if writer.status.previous_voice_region is None:
        writer.set(previous_voice_region=current)
    writer.set(voice_region=await twilio.update_number_voice_region(phone_number, region))


async def connect(
    number: PhoneNumber, provider: ProviderView, deps: Deps, *, region: str | None = None
) -> TwilioPort | None:
    """The provider's Twilio account as the number reaches it, or None while its credentials are
    unusable. `region`: another processing region, reached with the same credentials."""
    ref = provider.spec.credentials_secret_ref
    secret = await deps.kube.read_secret(number.namespace, ref.name)
    credentials = parse_credentials(
        ref,
        number.namespace,
        secret.data if secret else None,
        provider.spec.account_sid,
        provider.region if region is None else ResolvedRegion.of(region),
    )
    if isinstance(credentials, CredentialProblem):
        return None
    return deps.twilio.connect(credentials)
