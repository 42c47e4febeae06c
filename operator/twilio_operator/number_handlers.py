"""kopf glue for TwilioPhoneNumber: import onto the provider's trunk, keep it there, detach on delete.

The provider and the other numbers of the namespace come from in-memory kopf
indexes, so importing 500 numbers costs no API-server reads per number.
"""

from __future__ import annotations

from typing import Any

import kopf

from twilio_operator import conditions as c
from twilio_operator import metrics, plan
from twilio_operator.errors import DeletionBlocked, ErrorKind, TwilioError
from twilio_operator.k8s_gateway import NotFoundError
from twilio_operator.models import GROUP, VERSION
from twilio_operator.numbers import (
    Claimant,
    NumberOutcome,
    PhoneNumber,
    ProviderView,
    claim_keys,
    reconcile_number,
    release_number,
)
from twilio_operator.objects import PHONE_NUMBERS_PLURAL, PLURAL
from twilio_operator.runtime import object_turn, run_periodically, to_kopf_errors, wake
from twilio_operator.sharding import SHARD

NUMBERS = (GROUP, VERSION, PHONE_NUMBERS_PLURAL)
RECHECK_READY = 3600.0  # the provider's verification notices a detached number sooner and wakes us
RECHECK_NOT_READY = 600.0  # e.g. a number the account does not own yet


@kopf.index(GROUP, VERSION, PLURAL, **SHARD)  # type: ignore[arg-type]
async def providers_by_name(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    return {(namespace, name): {k: body.get(k) for k in ("metadata", "spec", "status")}}


@kopf.index(*NUMBERS, **SHARD)  # type: ignore[arg-type]
async def numbers_by_provider(namespace: str, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
    return {(namespace, (spec.get("providerRef") or {}).get("name")): name}


@kopf.index(*NUMBERS, **SHARD)  # type: ignore[arg-type]
async def number_claims(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    created = str(body.get("metadata", {}).get("creationTimestamp") or "")
    return {namespace: Claimant(name=name, created=created, keys=claim_keys(dict(body)))}


def _provider(number: PhoneNumber, providers_by_name: kopf.Index[Any, Any]) -> ProviderView | None:
    found = list(providers_by_name.get((number.namespace, number.spec.provider_ref.name), []))
    if not found or (found[0].get("metadata") or {}).get("deletionTimestamp"):
        return None
    return ProviderView.from_body(found[0])


async def _reconcile(
    body: kopf.Body,
    memo: kopf.Memo,
    providers_by_name: kopf.Index[Any, Any],
    number_claims: kopf.Index[Any, Any],
) -> NumberOutcome:
    number = PhoneNumber.from_body(dict(body))
    claimants = list(number_claims.get(number.namespace, []))
    with metrics.timed_reconcile("TwilioPhoneNumber") as record:
        async with object_turn(memo, number.uid):
            outcome = await reconcile_number(
                number, _provider(number, providers_by_name), claimants, memo.deps
            )
        record.result = (
            "ready" if outcome.ready else "waiting" if outcome.waiting_for_provider else "not_ready"
        )
    if outcome.trunk_sid != number.status.trunk_sid:
        # The provider's phoneNumberCount changed: let it recount now, not at its next verification.
        wake(memo, ("twp", number.namespace, number.spec.provider_ref.name))
    return outcome


@kopf.on.resume(*NUMBERS, **SHARD)
@kopf.on.create(*NUMBERS, **SHARD)
@kopf.on.update(*NUMBERS, **SHARD)  # type: ignore[arg-type]
@to_kopf_errors
async def import_number(
    body: kopf.Body,
    reason: str,
    memo: kopf.Memo,
    logger: kopf.Logger,
    providers_by_name: kopf.Index[Any, Any],
    number_claims: kopf.Index[Any, Any],
    **_: Any,
) -> None:
    number = PhoneNumber.from_body(dict(body))
    ready = c.find(number.status.conditions, c.READY)
    current = (
        ready is not None
        and ready.status == "True"
        and number.status.observed_generation == number.generation
    )
    if reason == kopf.Reason.RESUME and current:
        # A restart is no reason to call Twilio: the provider's verification notices a detached number.
        metrics.STATES.record(
            number.uid, number.namespace, number.name, metrics.ObjectHealth("TwilioPhoneNumber", True)
        )
        logger.info("TwilioPhoneNumber resumed: %s is attached, nothing to do", number.status.phone_number)
        return
    try:
        outcome = await _reconcile(body, memo, providers_by_name, number_claims)
    except NotFoundError:
        return
    logger.info("TwilioPhoneNumber %s: %s", outcome.reason, outcome.message)


@kopf.daemon(*NUMBERS, cancellation_timeout=5.0, **SHARD)  # type: ignore[arg-type]
async def keep_number_attached(
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    providers_by_name: kopf.Index[Any, Any],
    number_claims: kopf.Index[Any, Any],
    **_: Any,
) -> None:
    """Re-check when the provider changes or reports the number detached; slowly otherwise."""

    async def run_once() -> float:
        outcome = await _reconcile(body, memo, providers_by_name, number_claims)
        return RECHECK_READY if outcome.ready else RECHECK_NOT_READY

    key = ("twpn", body["metadata"]["namespace"], body["metadata"]["name"])
    await run_periodically(key, memo, stopped, body, logger, RECHECK_READY, run_once)


@kopf.on.delete(*NUMBERS, **SHARD)  # type: ignore[arg-type]
@to_kopf_errors
async def detach_number(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, providers_by_name: kopf.Index[Any, Any], **_: Any
) -> None:
    number = PhoneNumber.from_body(dict(body))
    if number.annotations.get(plan.DELETION_POLICY_OVERRIDE) == "Orphan":
        logger.info("left %s on its trunk (deletion-policy Orphan)", number.status.phone_number)
        return
    try:
        async with object_turn(memo, number.uid):
            result = await release_number(number, _provider(number, providers_by_name), memo.deps)
    except TwilioError as error:
        if error.kind is ErrorKind.TRANSIENT:
            raise
        message = (
            f"cannot detach {number.status.phone_number}: {error}. Fix the provider's credentials, "
            f"or annotate with {plan.DELETION_POLICY_OVERRIDE}=Orphan to leave the number on its trunk"
        )
        await memo.deps.kube.post_event(number.ref, "Warning", c.DELETION_BLOCKED, message)
        raise DeletionBlocked(message) from None
    memo.locks.pop(number.uid, None)
    metrics.STATES.forget(number.uid)
    wake(memo, ("twp", number.namespace, number.spec.provider_ref.name))  # recount its numbers
    logger.info("deleted: %s", result)
