"""What the kopf handler modules share: the one error boundary, backoff, the periodic loop and the
shard filter of every handler.

Failures become kopf retries in exactly one place (`to_kopf_errors`, with `retry_delay` deciding how
long to wait). Periodic work (the due queue's runs, the other kinds' daemons) sleeps until its
next check or until something it depends on (a Secret, its provider) wakes it, so nothing is polled
hot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import kopf
import pydantic

from twilio_operator import metrics, sharding
from twilio_operator.api.errors import (
    DeletionBlocked,
    ErrorKind,
    KubernetesError,
    LiveKitError,
    LiveKitErrorKind,
    NotFoundError,
    TwilioError,
    describe,
)
from twilio_operator.handlers.scheduler import WakeSpacing
from twilio_operator.handlers.state import ObjectKey, OperatorState, state_of
from twilio_operator.settings import Settings, read_setting

P = ParamSpec("P")
R = TypeVar("R")
# kopf fixes a handler's filters when its module is imported, before any startup handler runs and so
# before the OperatorState (with the settings) exists: the one setting read at import, with the
# settings' own parser. Every handler of our kinds carries it: `@kopf.on.xxx(..., **SHARD)`.
SHARD = sharding.handler_filter(dict(read_setting("shard_selector", os.environ)))
MAX_BACKOFF = 300.0
# The failures a handler retries; anything else is a bug and goes to kopf's default handling.
RETRIED = (TwilioError, LiveKitError, DeletionBlocked, KubernetesError, pydantic.ValidationError)
# LiveKit refused a request as it is (a conflict, an invalid value): retried like Twilio's refusals.
LIVEKIT_REFUSALS = (LiveKitErrorKind.CONFLICT, LiveKitErrorKind.INVALID)


def backoff(retry: int, retry_after: float | None = None, base: float = 5.0) -> float:
    """Exponential with jitter, capped, and never sooner than Twilio's Retry-After."""
    delay = min(base * 2 ** min(retry, 10), MAX_BACKOFF) * random.uniform(1.0, 1.25)  # noqa: S311
    return float(max(delay, retry_after or 0.0))


def retry_delay(error: Exception, failures: int, settings: Settings) -> float:
    """How long to wait after a failed attempt, by kind of failure.

    After Twilio refused the credentials, a Secret change wakes the provider at once; the auth retry
    notices a re-activated account or a fixed key without one. After Twilio refused a request for
    good (a quota, a value): 1, 2, 4, 5, 5... times the refused retry; a spec change runs a reconcile
    at once anyway, this retry notices a quota freed in the account."""
    if isinstance(error, TwilioError):
        if error.kind is ErrorKind.AUTH:
            return settings.auth_retry_seconds
        if error.kind is not ErrorKind.TRANSIENT:
            return backoff(failures, base=settings.refused_retry_seconds)
        return backoff(failures, error.retry_after)
    if isinstance(error, LiveKitError):
        if error.kind is LiveKitErrorKind.AUTH:  # a changed API Secret wakes the connection at once
            return settings.auth_retry_seconds
        if error.kind in LIVEKIT_REFUSALS:
            return backoff(failures, base=settings.refused_retry_seconds)
        return backoff(failures)
    if isinstance(error, DeletionBlocked):
        return backoff(failures, base=settings.deletion_retry_seconds)
    if isinstance(error, KubernetesError) and error.status == 409:
        return backoff(failures, base=1.0)  # a conflict usually clears at once; a lasting one backs off
    return backoff(failures)


def retry_reason(error: Exception) -> str:
    """The metrics label of a retried failure."""
    if isinstance(error, TwilioError):
        return error.kind.value
    if isinstance(error, LiveKitError):
        return f"livekit_{error.kind.value}"
    if isinstance(error, DeletionBlocked):
        return "deletion_blocked"
    if isinstance(error, KubernetesError):
        return "kubernetes"
    return "invalid_object"


def retry_in_daemon(
    error: Exception,
    state: OperatorState,
    key: ObjectKey,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> None:
    """For a handler whose object has a daemon: the reconcile has said why in the status, and the
    retry is the daemon's, not kopf's. kopf would keep the spec's handling pending, so that a change
    back to the spec it handled last would fire nothing (an object stuck in AuthFailed after the user
    undid the change), and a correcting change would wait for the pending retry's delay. Re-raises an
    error that is not retried at all (an invalid spec), for kopf's own handling."""
    if not isinstance(error, RETRIED) or isinstance(error, pydantic.ValidationError):
        raise error
    metrics.RETRIES.labels("reconcile", retry_reason(error)).inc()
    delay = retry_delay(error, 0, state.settings)
    state.wake_later(key, delay)
    logger.warning("%s not reconciled (retried in %.0f s): %s", key.kind.kind, delay, describe(error))


def to_kopf_errors(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Map every failure of a handler to kopf's retry semantics, in one place (the handler is given
    kopf's `memo`, which holds the settings that time the retries)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        retry = int(kwargs.get("retry") or 0)  # type: ignore[call-overload]
        try:
            return await fn(*args, **kwargs)
        except RETRIED as error:
            if isinstance(error, TwilioError) and error.kind not in (ErrorKind.TRANSIENT, ErrorKind.AUTH):
                raise kopf.PermanentError(describe(error)) from None
            if isinstance(error, LiveKitError) and error.kind in LIVEKIT_REFUSALS:
                raise kopf.PermanentError(describe(error)) from None
            if isinstance(error, pydantic.ValidationError):
                raise kopf.PermanentError(describe(error)) from None
            metrics.RETRIES.labels(fn.__name__, retry_reason(error)).inc()
            delay = retry_delay(error, retry, state_of(kwargs["memo"]).settings)
            raise kopf.TemporaryError(describe(error), delay=delay) from None

    return wrapper


async def run_periodically(
    key: ObjectKey,
    state: OperatorState,
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    logger: kopf.Logger,
    first_delay: float,
    run_once: Callable[[], Awaitable[float]],
) -> None:
    """Call run_once (which returns the delay until its next run) until stopped; wake-ups come early.

    `body` is kopf's live view of the object, so a deletion is seen without a read.
    """
    event = state.wakeups.setdefault(key, asyncio.Event())
    failures = 0
    delay = first_delay
    spacing = WakeSpacing(state.settings.min_wake_spacing_seconds)
    try:
        while not stopped:
            woken = False
            with contextlib.suppress(TimeoutError):
                woken = await asyncio.wait_for(event.wait(), timeout=delay)
            if woken:
                by_user = key in state.user_wakes
                state.user_wakes.discard(key)
                await asyncio.sleep(spacing.before_woken_run(time.monotonic(), by_user=by_user))
            event.clear()
            if stopped or body.get("metadata", {}).get("deletionTimestamp"):
                break
            state.cancel_timer(key)  # this run decides when the next one is due
            spacing.ran(time.monotonic())
            try:
                delay = await run_once()
                failures = 0
            except (*RETRIED, NotFoundError) as error:
                failures += 1
                if (after := periodic_retry(error, failures, state.settings, logger)) is None:
                    break
                delay = after
    finally:
        state.wakeups.pop(key, None)


def periodic_retry(
    error: Exception, failures: int, settings: Settings, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> float | None:
    """After a failed periodic run (a daemon's, or the due queue's): seconds until the next try, or
    None when the object is gone. A failure that is not retried at all is a bug: logged with its
    traceback and retried with backoff, so one object cannot stop the loop that serves them all."""
    if isinstance(error, NotFoundError):
        return None
    if isinstance(error, RETRIED):
        metrics.RETRIES.labels("periodic", retry_reason(error)).inc()
        logger.warning("periodic check failed: %s", describe(error))
        return retry_delay(error, failures, settings)
    logger.error("periodic check failed unexpectedly", exc_info=error)
    return backoff(failures)


TLS_READ_BUFFER = 64 * 1024  # bytes; asyncio's default is 256 KiB per connection


def shrink_tls_read_buffers(size: int = TLS_READ_BUFFER) -> None:
    """asyncio gives every TLS connection a read buffer of `SSLProtocol.max_size` (256 KiB), allocated
    and zeroed when the connection opens. kopf's client opens as many connections to the API server
    as it has requests in flight (its pool has no limit), and kubernetes_asyncio's pool keeps up to
    100: in a burst of 1,000 creates about 230 were open at once, 58 MB of buffers, the largest
    allocator at the operator's peak (memray). A TLS record carries at most 16 KiB, so 64 KiB still
    takes several records per read; only the buffer of connections opened from now on shrinks."""
    from asyncio import sslproto

    current = getattr(sslproto.SSLProtocol, "max_size", None)
    if isinstance(current, int) and current > size:
        sslproto.SSLProtocol.max_size = size


def quiet_noisy_loggers() -> None:
    """The twilio library logs every request at INFO; kubernetes_asyncio logs response bodies
    (Secret data included) at DEBUG. Neither belongs in an operator's log."""
    logging.getLogger("twilio").setLevel(logging.WARNING)
    logging.getLogger("kubernetes_asyncio").setLevel(logging.INFO)
