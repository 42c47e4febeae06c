"""kopf glue for TwilioPhoneNumber: import onto the provider's trunk, keep it there, detach on delete.

The provider and the other numbers of the namespace come from in-memory kopf indexes, so importing
500 numbers costs no API-server reads per number. Handler ids are set explicitly (see provider.py).
"""

from __future__ import annotations

from typing import Any

import kopf

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.errors import DeletionBlocked, ErrorKind, NotFoundError, TwilioError
from twilio_operator.api.models import GROUP, PHONE_NUMBER, VERSION
from twilio_operator.deletion import finalize_number
from twilio_operator.handlers.emergency_address import address_view, wake_let_go
from twilio_operator.handlers.indexes import (
    ClaimKey,
    Indexes,
    NamespaceClaims,
    NumberClaim,
    NumberOnTrunk,
    ProviderRef,
    Providers,
)
from twilio_operator.handlers.runtime import SHARD, run_periodically, to_kopf_errors
from twilio_operator.handlers.state import ObjectKey, OperatorState, state_of
from twilio_operator.phone_number.claims import Claimant, Contender, claim_keys, contender_of
from twilio_operator.phone_number.lifecycle import Lifecycle
from twilio_operator.phone_number.reconcile import (
    NumberOutcome,
    PhoneNumber,
    ProviderView,
    reconcile_number,
)

NUMBERS = (GROUP, VERSION, PHONE_NUMBER.plural)
RECHECK_READY = 3600.0  # the provider's verification notices a detached number sooner and wakes us
# A number that is not Ready (not in the account yet, in Conflict) is rechecked at most every
# Settings.number_recheck_seconds; the provider also wakes NotFound numbers as soon as its
# verification sees them in the account.
# A number on another trunk: rechecked after 30 s, 1 min, then every 2 minutes (one read each), so a
# number freed by hand is attached within minutes; one freed by deleting its TwilioPhoneNumber
# elsewhere wakes the objects waiting for it at once.
CONFLICT_RECHECK_BASE = 30.0
CONFLICT_RECHECK_MAX = 120.0


def _lifecycle(number: PhoneNumber, indexes: Indexes, state: OperatorState) -> Lifecycle:
    """What the number's purchase and emergency address need from outside the object."""
    ref = number.spec.emergency_address_ref
    return Lifecycle(
        purchase_retry=state.settings.purchase_retry_seconds,
        emergency_address=address_view(indexes.emergency_addresses, number.namespace, ref.name)
        if ref
        else None,
    )


@kopf.index(*NUMBERS, id="numbers_by_provider", **SHARD)
async def numbers_by_provider(
    namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[ProviderRef, NumberOnTrunk]:
    """The provider -> this number object, and the trunk its status says it is on."""
    provider = (spec.get("providerRef") or {}).get("name")
    return {ProviderRef(namespace, provider): NumberOnTrunk(name, status.get("trunkSid"))}


@kopf.index(*NUMBERS, id="number_claims", **SHARD)
async def number_claims(
    namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[ClaimKey, Claimant | Contender]:
    """The namespace -> Claimant (one number per namespace: the oldest object wins), and, cluster-wide,
    each SID or E.164 form it asks for -> Contender (objects of several namespaces asking for one number)."""
    created = str(body.get("metadata", {}).get("creationTimestamp") or "")
    keys = claim_keys(dict(body))
    entries: dict[ClaimKey, Claimant | Contender] = {
        NamespaceClaims(namespace): Claimant(name=name, created=created, keys=keys)
    }
    contender = contender_of(str(namespace), name, dict(body))
    entries.update({NumberClaim(key): contender for key in keys})
    return entries


def _provider(number: PhoneNumber, providers: Providers) -> ProviderView | None:
    found = providers.body(number.namespace, number.spec.provider_ref.name)
    if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
        return None
    return ProviderView.from_body(found)


async def _reconcile(body: kopf.Body, state: OperatorState, indexes: Indexes) -> NumberOutcome:
    number = PhoneNumber.from_body(dict(body))
    claimants = indexes.claimants(number.namespace)
    contenders = {contender for key in claim_keys(dict(body)) for contender in indexes.contenders(key)}
    with metrics.timed_reconcile(PHONE_NUMBER.kind) as record:
        async with state.turn(number.uid):
            outcome = await reconcile_number(
                number,
                _provider(number, indexes.providers),
                claimants,
                state.deps,
                list(contenders),
                _lifecycle(number, indexes, state),
            )
        record.result = (
            "ready" if outcome.ready else "waiting" if outcome.waiting_for_provider else "not_ready"
        )
    ref = number.spec.emergency_address_ref
    linked = number.status.emergency_address_sid
    wake_let_go(state, indexes.emergency_addresses, number.namespace, linked, ref.name if ref else None)
    if outcome.trunk_sid != number.status.trunk_sid:
        # The provider's phoneNumberCount changed: let it recount now, not at its next verification.
        state.wake(ObjectKey.provider(number.namespace, number.spec.provider_ref.name))
    previous = c.find(number.status.conditions, c.READY)
    if outcome.rivals and (previous is None or previous.reason != c.CONFLICT):
        # Just entered a takeover contest: the other side learns of it now (once: a side that was in
        # Conflict already wakes nobody, so two contenders cannot keep waking each other).
        for rival in outcome.rivals:
            state.wake(ObjectKey.phone_number(*rival.split("/", 1)))
    return outcome


@kopf.on.resume(*NUMBERS, id="import_number", **SHARD)
@kopf.on.create(*NUMBERS, id="import_number", **SHARD)
@kopf.on.update(*NUMBERS, id="import_number", **SHARD)
@to_kopf_errors
async def import_number(
    body: kopf.Body,
    reason: str,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    number = PhoneNumber.from_body(dict(body))
    current = c.is_true(number.status.conditions) and number.status.observed_generation == number.generation
    if reason == kopf.Reason.RESUME and current:
        # A restart is no reason to call Twilio: the provider's verification notices a detached number.
        metrics.STATES.record(
            number.uid, number.namespace, number.name, metrics.ObjectHealth(PHONE_NUMBER.kind, True)
        )
        logger.info("TwilioPhoneNumber resumed: %s is attached, nothing to do", number.status.phone_number)
        return
    try:
        outcome = await _reconcile(body, state_of(memo), Indexes.of(kwargs))
    except NotFoundError:
        return
    logger.info("TwilioPhoneNumber %s: %s", outcome.reason, outcome.message)


@kopf.daemon(*NUMBERS, id="keep_number_attached", cancellation_timeout=5.0, **SHARD)
async def keep_number_attached(
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """Re-check when the provider changes or reports the number detached; slowly otherwise."""
    state = state_of(memo)

    indexes = Indexes.of(kwargs)
    conflicts = 0

    async def run_once() -> float:
        nonlocal conflicts
        outcome = await _reconcile(body, state, indexes)
        conflicts = conflicts + 1 if outcome.reason == c.CONFLICT else 0
        not_ready = state.settings.number_recheck_seconds
        if conflicts:
            return float(min(CONFLICT_RECHECK_BASE * 2 ** (conflicts - 1), CONFLICT_RECHECK_MAX, not_ready))
        if outcome.retry_in is not None:  # a purchase that bought nothing: its own backoff
            return outcome.retry_in
        return RECHECK_READY if outcome.ready else not_ready

    key = ObjectKey.phone_number(body["metadata"]["namespace"], body["metadata"]["name"])
    await run_periodically(key, state, stopped, body, logger, RECHECK_READY, run_once)


@kopf.on.delete(*NUMBERS, id="detach_number", **SHARD)
@to_kopf_errors
async def detach_number(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any) -> None:
    state = state_of(memo)
    number = PhoneNumber.from_body(dict(body))
    if number.annotations.get(names.DELETION_POLICY_OVERRIDE) == "Orphan":
        logger.info("left %s on its trunk (deletion-policy Orphan)", number.status.phone_number)
        return
    indexes = Indexes.of(kwargs)
    others = {
        f"{other.namespace}/{other.name}"
        for key in claim_keys(dict(body))
        for other in indexes.contenders(key)
        if (other.namespace, other.name) != (number.namespace, number.name)
    }
    try:
        async with state.turn(number.uid):
            provider = _provider(number, indexes.providers)
            result = await finalize_number(number, provider, state.deps, others)
    except TwilioError as error:
        if error.kind is ErrorKind.TRANSIENT:
            raise
        message = (
            f"cannot detach {number.status.phone_number}: {error}. Fix the provider's credentials, "
            f"or annotate with {names.DELETION_POLICY_OVERRIDE}=Orphan to leave the number on its trunk"
        )
        await state.deps.kube.post_event(number.ref, "Warning", c.DELETION_BLOCKED, message)
        raise DeletionBlocked(message) from None
    let_go = number.status.emergency_address_sid
    wake_let_go(state, indexes.emergency_addresses, number.namespace, let_go, None)
    state.forget(number.uid, ObjectKey.phone_number(number.namespace, number.name))
    metrics.STATES.forget(number.uid)
    state.wake(ObjectKey.provider(number.namespace, number.spec.provider_ref.name))  # recount its numbers
    # Objects that wait for this number (Duplicate here, Conflict elsewhere) may take it now.
    indexes = Indexes.of(kwargs)
    for key in claim_keys(dict(body)):
        for other in indexes.contenders(key):
            if (other.namespace, other.name) != (number.namespace, number.name):
                state.wake(ObjectKey.phone_number(other.namespace, other.name))
    logger.info("deleted: %s", result)
