"""kopf glue: settings, the handlers, and the one place where failures become kopf retries.

Handlers are thin: parse the object, take the per-object lock, call the
reconcile, translate its errors. A per-object daemon re-verifies every
verificationInterval (jittered) and wakes at once when a Secret it depends on
changes, so a rotated token is noticed in seconds without polling.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import os
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

import kopf
import pydantic
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException

from twilio_operator import plan
from twilio_operator.errors import ErrorKind, TwilioError
from twilio_operator.k8s_gateway import KubernetesGateway, NotFoundError
from twilio_operator.models import GROUP, MIN_VERIFICATION_INTERVAL, VERSION, parse_duration
from twilio_operator.reconcile import PLURAL, Deps, Provider, reconcile_provider
from twilio_operator.teardown import DeletionBlocked, finalize_provider
from twilio_operator.twilio_gateway import TwilioLibraryConnector

P = ParamSpec("P")
R = TypeVar("R")
PROVIDERS = (GROUP, VERSION, PLURAL)
BASE_URL_ENV = "TWILIO_OPERATOR_TWILIO_BASE_URL"
MIN_INTERVAL_ENV = "TWILIO_OPERATOR_MIN_VERIFICATION_INTERVAL"
AUTH_RETRY_DELAY = 300.0  # a Secret change wakes us sooner; this is the slow retry
MAX_BACKOFF = 300.0


# --------------------------------------------------------------------------- the error boundary


def backoff(retry: int, retry_after: float | None = None, base: float = 5.0) -> float:
    """Exponential with jitter, capped, and never sooner than Twilio's Retry-After."""
    delay = min(base * 2 ** min(retry, 10), MAX_BACKOFF) * random.uniform(1.0, 1.25)  # noqa: S311
    return float(max(delay, retry_after or 0.0))


def to_kopf_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Map every failure of a handler to kopf's retry semantics, in one place."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        retry = int(kwargs.get("retry") or 0)  # type: ignore[call-overload]
        try:
            return await fn(*args, **kwargs)
        except TwilioError as error:
            if error.kind is ErrorKind.TRANSIENT:
                raise kopf.TemporaryError(str(error), delay=backoff(retry, error.retry_after)) from None
            if error.kind is ErrorKind.AUTH:
                raise kopf.TemporaryError(str(error), delay=AUTH_RETRY_DELAY) from None
            raise kopf.PermanentError(str(error)) from None
        except DeletionBlocked as blocked:
            raise kopf.TemporaryError(str(blocked), delay=backoff(retry, base=30.0)) from None
        except pydantic.ValidationError as invalid:
            raise kopf.PermanentError(f"invalid spec: {invalid.error_count()} errors") from None
        except ApiException as exc:
            delay = 1.0 if exc.status == 409 else backoff(retry)
            raise kopf.TemporaryError(
                f"Kubernetes API error: HTTP {exc.status} {exc.reason}", delay=delay
            ) from None

    return wrapper


# --------------------------------------------------------------------------- startup and shutdown


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # kopf's own "handler succeeded" events add nothing for users; ours say what happened.
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    logging.getLogger("twilio").setLevel(logging.WARNING)  # the library logs every request at INFO
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        await k8s_config.load_kube_config()
    memo.deps = Deps(
        twilio=TwilioLibraryConnector(os.environ.get(BASE_URL_ENV) or None),
        kube=KubernetesGateway(k8s_client.ApiClient()),
    )
    memo.locks = defaultdict(asyncio.Lock)
    memo.wakeups = {}


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    deps: Deps = memo.deps
    await deps.twilio.close()
    await deps.kube.close()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- TwilioProvider


@kopf.on.resume(*PROVIDERS)
@kopf.on.create(*PROVIDERS)
@kopf.on.update(*PROVIDERS)
@to_kopf_errors
async def reconcile(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    provider = Provider.from_body(dict(body))
    async with memo.locks[provider.uid]:
        try:
            outcome = await reconcile_provider(provider, memo.deps)
        except NotFoundError:
            return
    logger.info("reconciled: ready=%s %s", outcome.ready, outcome.message)


@kopf.daemon(*PROVIDERS, cancellation_timeout=5.0)
async def verify_periodically(
    stopped: kopf.DaemonStopped, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Re-verify and repair drift every verificationInterval, or at once when a Secret changes."""
    key = (body["metadata"]["namespace"], body["metadata"]["name"])
    wake = memo.wakeups.setdefault(key, asyncio.Event())
    failures = 0
    delay = _until_due(body)
    try:
        while not stopped:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
            wake.clear()
            if stopped or body.get("metadata", {}).get("deletionTimestamp"):
                break
            provider = Provider.from_body(dict(body))
            try:
                async with memo.locks[provider.uid]:
                    await reconcile_provider(provider, memo.deps)
                failures = 0
                delay = _interval(provider)
            except NotFoundError:
                break
            except TwilioError as error:
                failures += 1
                logger.warning("verification failed: %s", error)
                delay = (
                    AUTH_RETRY_DELAY if error.kind is ErrorKind.AUTH else backoff(failures, error.retry_after)
                )
            except (ApiException, pydantic.ValidationError) as error:
                failures += 1
                logger.warning("verification failed: %s", type(error).__name__)
                delay = backoff(failures)
    finally:
        memo.wakeups.pop(key, None)


def _interval(provider: Provider) -> float:
    """verificationInterval, never below the floor (60 s; tests lower it through the environment)."""
    floor = float(os.environ.get(MIN_INTERVAL_ENV) or MIN_VERIFICATION_INTERVAL.total_seconds())
    interval = max(parse_duration(provider.spec.verification_interval).total_seconds(), floor)
    return interval * random.uniform(0.9, 1.1)  # noqa: S311  # spread the herd


def _until_due(body: kopf.Body) -> float:
    """Seconds until the next verification, from status.lastVerifiedAt (the handlers do the first one)."""
    provider = Provider.from_body(dict(body))
    interval = _interval(provider)
    last = provider.status.last_verified_at
    if not last:
        return interval
    elapsed = datetime.now(UTC) - datetime.fromisoformat(last.replace("Z", "+00:00"))
    return max(5.0, interval - elapsed / timedelta(seconds=1))


@kopf.on.delete(*PROVIDERS)
@to_kopf_errors
async def finalize(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    provider = Provider.from_body(dict(body))
    async with memo.locks[provider.uid]:
        teardown = await finalize_provider(provider, memo.deps)
    memo.locks.pop(provider.uid, None)
    logger.info(
        "finalized with policy %s; removed %s", teardown.policy, ", ".join(teardown.removed) or "nothing"
    )


# --------------------------------------------------------------------------- Secrets wake providers


@kopf.index(*PROVIDERS)  # type: ignore[arg-type]
async def providers_by_secret(
    namespace: str, name: str, uid: str, spec: kopf.Spec, **_: Any
) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(namespace, Secret name) -> (provider name, uid, role) for the Secrets a provider depends on."""
    credentials = (spec.get("credentialsSecretRef") or {}).get("name")
    sip = plan.sip_secret_name(name, spec.get("sipCredentialsSecretName"))
    index = {(namespace, sip): (name, uid, "sip")}
    if credentials:
        index[(namespace, credentials)] = (name, uid, "credentials")
    return index


@kopf.on.event("", "v1", "secrets")  # type: ignore[arg-type]
async def secret_changed(
    type: str | None,
    namespace: str,
    name: str,
    body: kopf.Body,
    providers_by_secret: kopf.Index[Any, Any],
    memo: kopf.Memo,
    **_: Any,
) -> None:
    if type is None:  # the initial listing: resume handlers already reconcile everything
        return
    for provider_name, uid, role in providers_by_secret.get((namespace, name), []):
        if role == "sip" and type != "DELETED" and _sip_secret_intact(body, uid):
            continue  # our own write; nothing to repair
        wake = memo.wakeups.get((namespace, provider_name))
        if wake is not None:
            wake.set()


def _sip_secret_intact(body: kopf.Body, uid: str) -> bool:
    encoded = (body.get("data") or {}).get(plan.SIP_PASSWORD)
    fingerprint = (body.get("metadata", {}).get("annotations") or {}).get(plan.PASSWORD_FINGERPRINT)
    if not encoded or not fingerprint:
        return False
    try:
        password = base64.b64decode(encoded).decode()
    except ValueError:
        return False
    return bool(fingerprint == plan.password_fingerprint(uid, password))
