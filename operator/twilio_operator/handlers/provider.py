"""kopf glue for TwilioProvider: one reconcile for create, update and resume, a daemon that verifies
every verificationInterval (or at once when woken), the finalizer, and the watch-event handler that
wakes the provider's numbers when its readiness or trunk changes.

Handler ids are set explicitly: kopf stores progress under them in annotations of live objects.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import kopf

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api.errors import NotFoundError
from twilio_operator.api.models import GROUP, PROVIDER, VERSION
from twilio_operator.api.names import ROTATE_SIP_CREDENTIALS
from twilio_operator.handlers import probes
from twilio_operator.handlers.runtime import run_periodically, to_kopf_errors
from twilio_operator.handlers.state import ObjectKey, OperatorState, state_of
from twilio_operator.provider.reconcile import reconcile_provider
from twilio_operator.provider.resource import Outcome, Provider
from twilio_operator.provider.schedule import next_interval, seconds_until_due, verified_recently
from twilio_operator.provider.sip_secret import rotation_requested, seconds_until_next_step
from twilio_operator.provider.status import provider_health
from twilio_operator.provider.teardown import finalize_provider
from twilio_operator.sharding import SHARD

PROVIDERS = (GROUP, VERSION, PROVIDER.plural)
NumbersByProvider = kopf.Index[tuple[str | None, str | None], str]
MIN_FIRST_VERIFICATION_DELAY = 5.0  # the create/resume handler does the first round


async def reconcile_locked(provider: Provider, state: OperatorState, *, from_daemon: bool = False) -> Outcome:
    with metrics.timed_reconcile(PROVIDER.kind) as record:
        async with state.turn(provider.uid):
            outcome = await reconcile_provider(provider, state.deps)
        record.result = "ready" if outcome.ready else "blocked" if outcome.blocked else "not_ready"
    for name in outcome.detached_numbers:  # their own reconcile re-attaches them
        state.wake(ObjectKey.phone_number(provider.namespace, name))
    if not from_daemon:  # the daemon sleeps until the step itself (run_once's delay)
        _wake_for_next_step(provider, state, outcome)
    return outcome


_step_timers: dict[str, asyncio.TimerHandle] = {}
_rotation_seen: dict[tuple[str | None, str | None], str | None] = {}  # last rotate annotation seen


def _wake_for_next_step(provider: Provider, state: OperatorState, outcome: Outcome) -> None:
    """A rotation step due before the next verification (the previous SIP credential's retirement
    after a rotation started by the update handler) wakes the provider's daemon when it is due."""
    timer = _step_timers.pop(provider.uid, None)
    if timer is not None:
        timer.cancel()
    due = outcome.next_step_in
    if due is None or due >= next_interval(provider):
        return
    key = ObjectKey.provider(provider.namespace, provider.name)
    _step_timers[provider.uid] = asyncio.get_running_loop().call_later(due, state.wake, key)


@kopf.on.resume(*PROVIDERS, id="reconcile", **SHARD)
@kopf.on.create(*PROVIDERS, id="reconcile", **SHARD)
@kopf.on.update(*PROVIDERS, id="reconcile", **SHARD)
@to_kopf_errors
async def reconcile(body: kopf.Body, reason: str, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    provider = Provider.from_body(dict(body))
    if reason == kopf.Reason.RESUME and verified_recently(provider):
        # An operator restart is not a reason to call Twilio: the status is recent and for this
        # generation, and the daemon verifies again when the interval is up.
        metrics.STATES.record(
            provider.uid, provider.namespace, provider.name, provider_health(provider.status)
        )
        logger.info("TwilioProvider resumed: verified at %s, nothing to do", provider.status.last_verified_at)
        return
    try:
        outcome = await reconcile_locked(provider, state_of(memo))
    except NotFoundError:
        return
    logger.info("TwilioProvider reconciled: ready=%s %s", outcome.ready, outcome.message)


@kopf.daemon(*PROVIDERS, id="verify_periodically", cancellation_timeout=5.0, **SHARD)
async def verify_periodically(
    stopped: kopf.DaemonStopped, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Re-verify and repair drift every verificationInterval, or at once when something wakes it."""
    state = state_of(memo)

    async def run_once() -> float:
        provider = Provider.from_body(dict(body))
        outcome = await reconcile_locked(provider, state, from_daemon=True)
        return min(next_interval(provider), outcome.next_step_in or float("inf"))

    meta = body["metadata"]
    key = ObjectKey.provider(meta["namespace"], meta["name"])
    provider = Provider.from_body(dict(body))
    step = seconds_until_next_step(provider.status.sip_credentials, datetime.now(UTC))
    if rotation_requested(provider.annotations, body.get("status") or {}):
        step = 0.0  # asked for, or started before a restart: do not leave a pending pair waiting
    first = max(
        MIN_FIRST_VERIFICATION_DELAY, min(seconds_until_due(provider), float("inf") if step is None else step)
    )
    await run_periodically(key, state, stopped, body, logger, first, run_once)


@kopf.on.delete(*PROVIDERS, id="finalize", **SHARD)
@to_kopf_errors
async def finalize(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    state = state_of(memo)
    provider = Provider.from_body(dict(body))
    async with state.turn(provider.uid):
        teardown = await finalize_provider(provider, state.deps)
    state.forget(provider.uid)
    if (timer := _step_timers.pop(provider.uid, None)) is not None:
        timer.cancel()
    metrics.STATES.forget(provider.uid)
    logger.info(
        "TwilioProvider finalized with policy %s; removed %s",
        teardown.policy,
        ", ".join(teardown.removed) or "nothing",
    )


@kopf.on.event(*PROVIDERS, id="provider_changed", **SHARD)
async def provider_changed(
    type: str | None,
    body: kopf.Body,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Note the watch's progress (liveness); wake the provider's numbers when its readiness or trunk
    changes, or when it is gone."""
    state = state_of(memo)
    numbers_by_provider: NumbersByProvider = kwargs["numbers_by_provider"]  # kopf passes indexes by name
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace"), meta.get("name")
    probes.provider_event(type, namespace, name, body.get("spec") or {})
    status = body.get("status") or {}
    # Annotations are not in kopf's essence, so a new rotate-sip-credentials value fires no update
    # handler: wake the daemon, once per new value (the operator's own status writes come here too).
    annotation = (meta.get("annotations") or {}).get(ROTATE_SIP_CREDENTIALS)
    if type == "DELETED":
        _rotation_seen.pop((namespace, name), None)
    elif _rotation_seen.get((namespace, name)) != annotation:
        _rotation_seen[(namespace, name)] = annotation
        if type is not None and rotation_requested(meta.get("annotations"), status):
            state.wake(ObjectKey.provider(namespace, name))
    current = None if type == "DELETED" else (c.is_true_in_body(status), status.get("trunkSid"))
    previous = state.provider_states.pop((namespace, name), None)
    if current is not None:
        state.provider_states[(namespace, name)] = current
    if type is None or previous == current:  # the initial listing: resume handlers cover the numbers
        return
    for number in numbers_by_provider.get((namespace, name), []):
        state.wake(ObjectKey.phone_number(namespace, number))
