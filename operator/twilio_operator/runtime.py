"""What the kopf handler modules share: the error boundary, backoff, wake-ups and the periodic loop.

Failures become kopf retries in exactly one place (`to_kopf_errors`). Per-object
daemons sleep until their next check or until something they depend on (a
Secret, their provider) wakes them, so nothing is polled hot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ParamSpec, TypeVar

import kopf
import pydantic
from kubernetes_asyncio.client.exceptions import ApiException

from twilio_operator import metrics
from twilio_operator.errors import DeletionBlocked, ErrorKind, TwilioError
from twilio_operator.k8s_gateway import NotFoundError

P = ParamSpec("P")
R = TypeVar("R")
AUTH_RETRY_DELAY = 300.0  # a Secret change wakes us sooner; this is the slow retry
MAX_BACKOFF = 300.0
WakeKey = tuple[str, str, str]  # (kind, namespace, name)


def backoff(retry: int, retry_after: float | None = None, base: float = 5.0) -> float:
    """Exponential with jitter, capped, and never sooner than Twilio's Retry-After."""
    delay = min(base * 2 ** min(retry, 10), MAX_BACKOFF) * random.uniform(1.0, 1.25)  # noqa: S311
    return float(max(delay, retry_after or 0.0))


def retry_delay(error: Exception, failures: int) -> float:
    """How long to wait after a failed attempt, by kind of failure."""
    if isinstance(error, TwilioError):
        if error.kind is ErrorKind.AUTH:
            return AUTH_RETRY_DELAY
        return backoff(failures, error.retry_after)
    if isinstance(error, DeletionBlocked):
        return backoff(failures, base=30.0)
    if isinstance(error, ApiException) and error.status == 409:
        return 1.0
    return backoff(failures)


def to_kopf_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Map every failure of a handler to kopf's retry semantics, in one place."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        retry = int(kwargs.get("retry") or 0)  # type: ignore[call-overload]
        try:
            return await fn(*args, **kwargs)
        except TwilioError as error:
            if error.kind in (ErrorKind.TRANSIENT, ErrorKind.AUTH):
                raise _retry(fn.__name__, error.kind.value, str(error), retry_delay(error, retry)) from None
            raise kopf.PermanentError(str(error)) from None
        except DeletionBlocked as blocked:
            raise _retry(fn.__name__, "deletion_blocked", str(blocked), retry_delay(blocked, retry)) from None
        except pydantic.ValidationError as invalid:
            raise kopf.PermanentError(f"invalid spec: {invalid.error_count()} errors") from None
        except ApiException as exc:
            message = f"Kubernetes API error: HTTP {exc.status} {exc.reason}"
            raise _retry(fn.__name__, "kubernetes", message, retry_delay(exc, retry)) from None

    return wrapper


def _retry(handler: str, reason: str, message: str, delay: float) -> kopf.TemporaryError:
    metrics.RETRIES.labels(handler, reason).inc()
    return kopf.TemporaryError(message, delay=delay)


@contextlib.asynccontextmanager
async def object_turn(memo: kopf.Memo, uid: str) -> AsyncIterator[None]:
    """One reconcile per object at a time, and a bounded number in the whole process.

    The object's lock comes first, then a process-wide slot: a task that waits for a slot holds
    no slot, so lock holders and slot holders never wait for each other. The bound keeps a burst
    of a thousand creates from holding a thousand reconciles' HTTP bodies in memory at once.
    """
    async with memo.locks[uid], memo.slots:
        yield


def wake(memo: kopf.Memo, key: WakeKey) -> None:
    """Wake the daemon of one object now (no-op when it has none yet)."""
    event: asyncio.Event | None = memo.wakeups.get(key)
    if event is not None:
        event.set()


async def run_periodically(
    key: WakeKey,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    logger: kopf.Logger,
    first_delay: float,
    run_once: Callable[[], Awaitable[float]],
) -> None:
    """Call run_once (which returns the delay until its next run) until stopped; wake-ups come early.

    `body` is kopf's live view of the object, so a deletion is seen without a read.
    """
    event = memo.wakeups.setdefault(key, asyncio.Event())
    failures = 0
    delay = first_delay
    try:
        while not stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=delay)
            event.clear()
            if stopped or body.get("metadata", {}).get("deletionTimestamp"):
                break
            try:
                delay = await run_once()
                failures = 0
            except NotFoundError:
                break
            except (TwilioError, ApiException, pydantic.ValidationError) as error:
                failures += 1
                metrics.RETRIES.labels("periodic", type(error).__name__).inc()
                logger.warning("periodic check failed: %s", _describe(error))
                delay = retry_delay(error, failures)
    finally:
        memo.wakeups.pop(key, None)


def _describe(error: Exception) -> str:
    if isinstance(error, ApiException):
        return f"Kubernetes API error: HTTP {error.status} {error.reason}"
    if isinstance(error, pydantic.ValidationError):
        return f"invalid object: {error.error_count()} errors"
    return str(error)


def quiet_noisy_loggers() -> None:
    """The twilio library logs every request at INFO; kubernetes_asyncio logs response bodies
    (Secret data included) at DEBUG. Neither belongs in an operator's log."""
    logging.getLogger("twilio").setLevel(logging.WARNING)
    logging.getLogger("kubernetes_asyncio").setLevel(logging.INFO)
