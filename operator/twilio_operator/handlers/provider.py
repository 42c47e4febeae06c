"""kopf glue for TwilioProvider: the watch-event handler, which plans a reconcile in the operator's
due queue (handlers/scheduler.py) when the spec's generation is new to the process (what kopf's
create, update and resume handler did), and wakes the provider's numbers when its readiness or trunk
changes; the queue's run, which adds the finalizer, reconciles and verifies every
verificationInterval (or soon when woken); and kopf's delete handler, the teardown.

Why not kopf's create and update handlers: kopf runs the handlers of every object with an event at
once, each with requests of its own (its finalizer, its diff base) on a connection of its own, and a
waiting reconcile per object: a burst of creates held all of them, so memory grew with the arrival
rate (a thousand TLS connections at the peak). The queue runs at most max_concurrent_reconciles,
and a provider waiting for its turn is one entry in a heap; kopf writes nothing to a provider until
its deletion (settings.py: no diff base is kept for providers).

Handler ids are set explicitly: kopf stores progress under them in annotations of live objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any, cast

import kopf
import pydantic

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.errors import (
    DeletionBlocked,
    ErrorKind,
    KubernetesError,
    TwilioError,
    describe,
)
from twilio_operator.api.models import GROUP, PROVIDER, VERSION
from twilio_operator.api.names import ROTATE_SIP_CREDENTIALS
from twilio_operator.deletion import finalize_provider
from twilio_operator.handlers import agent_table, livekit_connection, probes
from twilio_operator.handlers.indexes import CREDENTIALS, Indexes, NumberOnTrunk, Providers
from twilio_operator.handlers.runtime import SHARD, periodic_retry, retry_delay, to_kopf_errors
from twilio_operator.handlers.state import ObjectKey, OperatorState, ProviderSummary, state_of
from twilio_operator.provider.reconcile import reconcile_provider
from twilio_operator.provider.resource import Outcome, Provider
from twilio_operator.provider.rotation import rotation_requested, seconds_until_next_step
from twilio_operator.provider.schedule import next_interval, seconds_until_due, verified_recently
from twilio_operator.provider.status import provider_health

PROVIDERS = (GROUP, VERSION, PROVIDER.plural)
SIBLING_WAKE_COOLDOWN = 60.0  # seconds between two sibling wake-ups for one account
ACCOUNT_REFUSALS = frozenset({c.AUTH_FAILED, c.ACCOUNT_INACTIVE, c.PERMISSION_DENIED})
BLOCKED_POLL_SECONDS = 3.0  # how soon a blocked deletion sees the Orphan annotation
MAX_BLOCKED_ROUNDS = 20  # then kopf's own retry takes over (and re-enters this loop)
# A credentials Secret created after its provider carries none of the labels the Secret watch
# selects (handlers/secrets.py), so the queue's run looks for it: one GET every few seconds at first,
# then every half minute. Nothing else is polled.
MISSING_SECRET_POLL = 2.0
MISSING_SECRET_FAST_FOR = 600.0
MISSING_SECRET_POLL_SLOW = 30.0


def missing_secret_delay(waited: float) -> float:
    """Seconds until the next look for a missing credentials Secret, `waited` seconds into the wait."""
    return MISSING_SECRET_POLL if waited < MISSING_SECRET_FAST_FOR else MISSING_SECRET_POLL_SLOW


async def note_missing_credentials(provider: Provider, outcome: Outcome, state: OperatorState) -> bool:
    """After a reconcile: remember (and return) whether the provider waits for a credentials Secret
    that does not exist. A Secret the reconcile did not find counts even if it exists by now: made
    again meanwhile, it carries none of the labels the Secret watch selects, so only the queue's
    next look (seconds away) brings the provider back to Ready."""
    key = ObjectKey.provider(provider.namespace, provider.name)
    ref = provider.spec.credentials_secret_ref.name
    if outcome.blocked and (
        outcome.secret_missing or await state.deps.kube.read_secret(provider.namespace, ref) is None
    ):
        state.missing_credentials.setdefault(key, time.monotonic())
        return True
    state.missing_credentials.pop(key, None)
    return False


async def reconcile_locked(
    provider: Provider,
    state: OperatorState,
    indexes: dict[str, Any],
) -> Outcome:
    """One reconcile, never two of one provider at once; `indexes` are kopf's, by id."""
    typed = Indexes.of(indexes)
    with metrics.timed_reconcile(PROVIDER.kind) as record:
        async with state.turn(provider.uid):
            # Read once the turn is ours: a number made while this reconcile waited is counted, and
            # a LiveKit trunk's switch to a rotated credential is seen.
            has_numbers = bool(typed.numbers_of(provider.namespace, provider.name))
            links = livekit_connection.Connections.of(indexes).links(provider.namespace, provider.name)
            try:
                outcome = await reconcile_provider(
                    provider, state.deps, has_numbers=has_numbers, livekit=links
                )
            except TwilioError as error:
                if error.kind is ErrorKind.AUTH and not _refused_before(provider):
                    _wake_siblings(provider, state, typed.providers)
                raise
        record.result = "ready" if outcome.ready else "blocked" if outcome.blocked else "not_ready"
    # Their own reconciles re-attach them, or import the number the account has now.
    for name in (*outcome.detached_numbers, *outcome.found_numbers):
        state.wake(ObjectKey.phone_number(provider.namespace, name))
    return outcome


async def _release_unused_credentials(
    state: OperatorState, body: kopf.Body, providers: Providers, logger: kopf.Logger
) -> None:
    """The last provider of a credentials Secret is gone: release the Secret's in-use protection.

    Finalizers of several providers of one Secret run side by side and each sees the others still
    there, so the release is (also) decided here, once the provider has really gone."""
    meta = body.get("metadata", {})
    namespace, uid = meta.get("namespace"), meta.get("uid")
    secret = ((body.get("spec") or {}).get("credentialsSecretRef") or {}).get("name")
    if not namespace or not secret:
        return
    users = [u for u in providers.of_secret(namespace, secret) if u.role == CREDENTIALS and u.uid != uid]
    if users:
        return
    try:
        await state.deps.kube.unprotect_secret(namespace, secret, state.deps.in_use_finalizer)
    except KubernetesError as error:
        logger.warning("cannot release Secret %s/%s: %s", namespace, secret, error)


def _count_agrees(provider: Provider, numbers: list[NumberOnTrunk]) -> bool:
    """Whether status.phoneNumberCount matches the numbers that report this provider's trunk: after
    a crash between a number's attach and the provider's recount they differ, and the resume must
    recount instead of trusting the recent verification."""
    trunk = provider.status.trunk_sid
    attached = sum(1 for number in numbers if trunk and number.trunk_sid == trunk)
    return attached == (provider.status.phone_number_count or 0)


def _refused_before(provider: Provider) -> bool:
    ready = c.find(provider.status.conditions, c.READY)
    return ready is not None and ready.reason in ACCOUNT_REFUSALS


def _wake_siblings(provider: Provider, state: OperatorState, providers: Providers) -> None:
    """Twilio just started refusing this account: the other providers of the same account are
    verified soon too, instead of saying "verified" until their next interval. Bounded three ways:
    only on this provider's transition, only siblings not already refused, and at most once per
    account per sibling-wake cooldown."""
    account = provider.spec.account_sid
    now = time.monotonic()
    if now < state.sibling_wake_not_before.get(account, 0.0):
        return
    state.sibling_wake_not_before[account] = now + SIBLING_WAKE_COOLDOWN
    for sibling in providers.of_account(account):
        itself = (sibling.namespace, sibling.name) == (provider.namespace, provider.name)
        if not itself and sibling.ready_reason not in ACCOUNT_REFUSALS:
            state.wake(ObjectKey.provider(str(sibling.namespace), sibling.name))


def plan_reconcile(state: OperatorState, body: kopf.Body, logger: kopf.Logger, indexes: Indexes) -> None:
    """What kopf's create, update and resume handler decided, decided from the watch, so that kopf
    writes nothing of its own to a provider (no diff base, no progress; the finalizer is the queue's
    run's, handlers/provider.run_due): a generation not seen in this process plans a reconcile at
    once; the first sight of a provider whose status is recent, for its generation and with the
    right number count plans only its next verification (an operator restart is not a reason to call
    Twilio). A deleting provider is its finalizer's."""
    meta = body.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return
    uid, generation = str(meta.get("uid")), meta.get("generation")
    seen = state.generations.get(uid)
    if seen == generation:
        return  # the operator's own status writes, kopf's, a label: not a change of the spec
    state.generations[uid] = generation
    try:
        provider = Provider.from_body(dict(body))
    except pydantic.ValidationError as error:
        # Rare: the CRD's schema is generated from the same model. Said once per generation (an Event).
        logger.error("TwilioProvider not reconciled, its spec is invalid: %s", describe(error))
        return
    key = ObjectKey.provider(provider.namespace, provider.name)
    numbers = indexes.numbers_of(provider.namespace, provider.name)
    if (
        seen is None
        and verified_recently(provider, scale=state.settings.verification_interval_scale)
        and _count_agrees(provider, numbers)
    ):
        metrics.STATES.record(
            provider.uid, provider.namespace, provider.name, provider_health(provider.status)
        )
        state.queue.plan(key, _first_due(provider, body, state))
        logger.info("TwilioProvider resumed: verified at %s, nothing to do", provider.status.last_verified_at)
        return
    state.queue.plan(key, 0.0)


def _first_due(provider: Provider, body: kopf.Body, state: OperatorState) -> float:
    """Seconds until a resumed provider's first run: its next verification or its rotation's next
    step, whichever is first; at once when a rotation is asked for (or began before a restart)."""
    if rotation_requested(provider.annotations, body.get("status") or {}):
        return 0.0
    step = seconds_until_next_step(provider.status.sip_credentials, datetime.now(UTC))
    due = seconds_until_due(provider, scale=state.settings.verification_interval_scale)
    return min(due, float("inf") if step is None else step)


async def run_due(state: OperatorState, key: ObjectKey) -> float | None:
    """The due queue's run of one provider: reconcile (which verifies) from the body its watch last
    showed, and return the seconds until the next run; None when the provider is gone or deleting
    (its finalizer has it now)."""
    body = Providers.of(state.kopf_indexes).body(key.namespace, key.name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    provider = Provider.from_body(dict(body))
    logger = _object_logger(state, body)
    await _hold_finalizer(state, body)
    since = state.missing_credentials.get(key)
    if since is not None:
        ref = provider.spec.credentials_secret_ref.name
        if await state.deps.kube.read_secret(provider.namespace, ref) is None:
            return missing_secret_delay(time.monotonic() - since)
    outcome = await reconcile_locked(provider, state, state.kopf_indexes)
    logger.info("TwilioProvider reconciled: ready=%s %s", outcome.ready, outcome.message)
    if await note_missing_credentials(provider, outcome, state):
        return MISSING_SECRET_POLL
    interval = next_interval(provider, scale=state.settings.verification_interval_scale)
    return min(interval, outcome.next_step_in or float("inf"))


async def _hold_finalizer(state: OperatorState, body: Any) -> None:
    """Before anything is made in Twilio: the finalizer that makes the deletion wait for the
    teardown (kopf's finalizer name; kopf's delete handler runs on an object that holds it, and kopf
    removes it when the teardown is done). Added here, by one of a bounded number of runs, rather
    than by kopf at the first event of every object at once."""
    finalizer = _finalizer(state)
    meta = body["metadata"]
    current = list(meta.get("finalizers") or [])
    if finalizer is None or finalizer in current:
        return
    await state.deps.kube.add_finalizer(
        PROVIDER,
        str(meta["namespace"]),
        str(meta["name"]),
        finalizer,
        current=current,
        resource_version=str(meta["resourceVersion"]),
    )


def holds_finalizer(meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> bool:
    """kopf's filter of the delete handler: the provider holds the finalizer (the queue's first run
    adds it). Without the filter kopf would add the finalizer itself, at every provider's first
    event, all at once; with an optional handler it would remove the one the run added."""
    finalizer = _finalizer(state_of(memo))
    return finalizer is not None and finalizer in (meta.get("finalizers") or [])


def _finalizer(state: OperatorState) -> str | None:
    """kopf's finalizer name, which the queue's run adds and kopf's delete handler removes; None
    before the startup handler has set kopf's settings."""
    return state.kopf_settings.persistence.finalizer if state.kopf_settings is not None else None


def retry_due(state: OperatorState, key: ObjectKey, error: Exception, failures: int) -> float | None:
    """After a failed run of the due queue: when to try again (runtime.periodic_retry's rule). The
    backoff counts the retries before this one, so the first retry follows the first failure after
    the base delay, as the create handler's did when it ran the first reconcile (a provisioning
    whose three creates each lost their answer is Ready in about 40 s, not 80)."""
    body = Providers.of(state.kopf_indexes).body(key.namespace, key.name) if state.kopf_indexes else None
    logger = _object_logger(state, body) if body is not None else logging.getLogger(__name__)
    return periodic_retry(error, failures - 1, state.settings, logger)


def _object_logger(state: OperatorState, body: Any) -> logging.Logger | logging.LoggerAdapter[Any]:
    """kopf's logger of the object (the [namespace/name] prefix; a warning is also an Event), as its
    handlers get it. The index keeps metadata, spec and status only: the Event's involvedObject and
    the JSON log's `object` need the kind and apiVersion too."""
    if state.kopf_settings is None:
        return logging.getLogger(__name__)
    whole = {"apiVersion": f"{GROUP}/{VERSION}", "kind": PROVIDER.kind, **body}
    return kopf.ObjectLogger(body=kopf.Body(cast(kopf.RawBody, whole)), settings=state.kopf_settings)


@kopf.on.delete(*PROVIDERS, id="finalize", when=holds_finalizer, **SHARD)
@to_kopf_errors
async def finalize(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    state = state_of(memo)
    provider = Provider.from_body(dict(body))
    key = ObjectKey.provider(provider.namespace, provider.name)
    wakeup = state.wakeups.setdefault(key, asyncio.Event())  # state.wake() sets it while we wait
    failures = 0
    while True:
        try:
            async with state.turn(provider.uid):
                teardown = await finalize_provider(provider, state.deps)
            break
        except DeletionBlocked as blocked:
            # Wait here rather than in kopf's backoff, which nothing can cut short: a restored
            # credentials Secret wakes us at once, the Orphan annotation is seen within seconds.
            failures += 1
            if failures > MAX_BLOCKED_ROUNDS:
                raise
            delay = retry_delay(blocked, failures, state.settings)
            provider = await _wait_while_blocked(state, provider, wakeup, delay)
    state.forget(key=key)  # what it kept by uid goes with the DELETED event (provider_changed)
    metrics.STATES.forget(provider.uid)
    logger.info(
        "TwilioProvider finalized with policy %s; removed %s",
        teardown.policy,
        ", ".join(teardown.removed) or "nothing",
    )


async def _wait_while_blocked(
    state: OperatorState, provider: Provider, wakeup: asyncio.Event, delay: float
) -> Provider:
    """Sleep until woken (a Secret changed) or `delay` passed, re-reading the object every few seconds
    for the deletion-policy annotation (kopf delivers no event to a handler that is still running)."""
    wakeup.clear()
    deadline = time.monotonic() + delay
    while (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=min(left, BLOCKED_POLL_SECONDS))
            break
        current = await state.deps.kube.read_object(PROVIDER, provider.namespace, provider.name)
        if current is None:
            break
        if (current["metadata"].get("annotations") or {}) != provider.annotations:
            return Provider.from_body(current)
    current = await state.deps.kube.read_object(PROVIDER, provider.namespace, provider.name)
    return Provider.from_body(current) if current is not None else provider


@kopf.on.event(*PROVIDERS, id="provider_changed", **SHARD)
async def provider_changed(
    type: str | None,
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """Note the watch's progress (liveness); publish the agent table; wake the provider's numbers when
    its readiness or trunk changes, or when it is gone."""
    state = state_of(memo)
    indexes = Indexes.of(kwargs)  # kopf passes indexes by name
    meta = body.get("metadata", {})
    namespace, name, uid = meta.get("namespace"), meta.get("name"), str(meta.get("uid"))
    annotations, status = meta.get("annotations") or {}, body.get("status") or {}
    probes.provider_event(state, type, uid, body.get("spec") or {})
    if not state.kopf_indexes:  # kopf's index objects are live views: one reference does for the queue
        state.kopf_indexes = {key: value for key, value in kwargs.items() if isinstance(value, kopf.Index)}
    if type != "DELETED":
        plan_reconcile(state, body, logger, indexes)
    await agent_table.provider_changed(type, namespace, name, memo, kwargs)
    livekit_connection.provider_changed(type, body, memo, kwargs)
    previous = state.provider_states.get(uid)
    if type == "DELETED":
        state.forget(uid)  # its finalizer dropped what the queue kept by name
        await _release_unused_credentials(state, body, indexes.providers, logger)
        current = None
    else:
        key = ObjectKey.provider(namespace, name)
        # kopf leaves annotations under its own storage prefix (ours) out of the diff it runs update
        # handlers on, so a change of the paused annotation is noticed here and wakes the provider.
        paused = annotations.get(names.PAUSED_ANNOTATION)
        if type is not None and state.provider_paused.get(uid, paused) != paused:
            state.wake(key)
        state.provider_paused[uid] = paused
        # Annotations are not in kopf's essence, so a new rotate-sip-credentials value fires no update
        # handler: wake the provider, once per new value (the operator's own status writes come here too).
        rotation = annotations.get(ROTATE_SIP_CREDENTIALS)
        if state.rotation_seen.get(uid) != rotation:
            state.rotation_seen[uid] = rotation
            if type is not None and rotation_requested(annotations, status):
                state.wake(key)
        current = ProviderSummary(c.ReadyState.of(status).is_true, status.get("trunkSid"))
        state.provider_states[uid] = current
    if type is None or previous == current:  # the initial listing: resume handlers cover the numbers
        return
    for number in indexes.numbers_of(namespace, name):
        state.wake(ObjectKey.phone_number(namespace, number.name))
