"""kopf glue for the operator: settings, TwilioProvider handlers, and Secrets that wake providers.

`twilio-operator run` loads this module (`kopf run -m twilio_operator.handlers`);
it imports number_handlers so that one module registers everything.
Handlers are thin: parse the object, take the per-object lock, call the
reconcile; runtime.to_kopf_errors turns failures into kopf retries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from twilio_operator import liveness, metrics, plan, sharding
from twilio_operator.k8s_gateway import KubernetesGateway, NotFoundError
from twilio_operator.models import GROUP, VERSION
from twilio_operator.objects import PLURAL, Deps, Outcome, Provider, provider_health
from twilio_operator.reconcile import reconcile_provider
from twilio_operator.runtime import object_turn, quiet_noisy_loggers, run_periodically, to_kopf_errors, wake
from twilio_operator.sharding import SHARD
from twilio_operator.teardown import finalize_provider
from twilio_operator.twilio_gateway import TwilioLibraryConnector

PROVIDERS = (GROUP, VERSION, PLURAL)
BASE_URL_ENV = "TWILIO_OPERATOR_TWILIO_BASE_URL"
MAX_CONCURRENCY_ENV = "TWILIO_OPERATOR_MAX_CONCURRENCY_PER_ACCOUNT"
METRICS_PORT_ENV = "TWILIO_OPERATOR_METRICS_PORT"
MAX_RECONCILES_ENV = "TWILIO_OPERATOR_MAX_CONCURRENT_RECONCILES"
DEFAULT_METRICS_PORT = 9090


# --------------------------------------------------------------------------- startup and shutdown


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = sharding.finalizer_name(GROUP, sharding.current_selector())
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # kopf's own "handler succeeded" events add nothing for users; ours say what happened.
    settings.posting.level = logging.WARNING
    # Under load the API server's echo of kopf's own patch can take longer than kopf's default 5 s;
    # kopf then handles a stale copy and runs the create handler again (541 extra runs for 1,000
    # providers in the benchmark). Waiting longer is cheap: it only delays that one object.
    settings.persistence.consistency_timeout = 60
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    quiet_noisy_loggers()
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        await k8s_config.load_kube_config()
    memo.deps = Deps(
        twilio=TwilioLibraryConnector(
            os.environ.get(BASE_URL_ENV) or None,
            max_concurrency_per_account=int(os.environ.get(MAX_CONCURRENCY_ENV) or 8),
        ),
        kube=KubernetesGateway(k8s_client.ApiClient()),
    )
    metrics.serve(int(os.environ.get(METRICS_PORT_ENV) or DEFAULT_METRICS_PORT))
    memo.locks = defaultdict(asyncio.Lock)
    memo.slots = asyncio.Semaphore(int(os.environ.get(MAX_RECONCILES_ENV) or 50))
    memo.wakeups = {}
    memo.provider_states = {}


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    deps: Deps = memo.deps
    await deps.twilio.close()
    await deps.kube.close()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- TwilioProvider


async def _reconcile_locked(provider: Provider, memo: kopf.Memo) -> Outcome:
    with metrics.timed_reconcile("TwilioProvider") as record:
        async with object_turn(memo, provider.uid):
            outcome = await reconcile_provider(provider, memo.deps)
        record.result = "ready" if outcome.ready else "blocked" if outcome.blocked else "not_ready"
    for name in outcome.detached_numbers:  # their own reconcile re-attaches them
        wake(memo, ("twpn", provider.namespace, name))
    return outcome


@kopf.on.resume(*PROVIDERS, **SHARD)
@kopf.on.create(*PROVIDERS, **SHARD)
@kopf.on.update(*PROVIDERS, **SHARD)
@to_kopf_errors
async def reconcile(body: kopf.Body, reason: str, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    provider = Provider.from_body(dict(body))
    if reason == kopf.Reason.RESUME and _verified_recently(provider):
        # An operator restart is not a reason to call Twilio: the status is recent and for this
        # generation, and the daemon verifies again when the interval is up.
        metrics.STATES.record(
            provider.uid, provider.namespace, provider.name, provider_health(provider.status)
        )
        logger.info("TwilioProvider resumed: verified at %s, nothing to do", provider.status.last_verified_at)
        return
    try:
        outcome = await _reconcile_locked(provider, memo)
    except NotFoundError:
        return
    logger.info("TwilioProvider reconciled: ready=%s %s", outcome.ready, outcome.message)


def _verified_recently(provider: Provider) -> bool:
    status = provider.status
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    if ready is None or ready.status != "True" or status.observed_generation != provider.generation:
        return False
    return _until_due(provider) > 0


@kopf.daemon(*PROVIDERS, cancellation_timeout=5.0, **SHARD)
async def verify_periodically(
    stopped: kopf.DaemonStopped, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Re-verify and repair drift every verificationInterval, or at once when a Secret changes."""

    async def run_once() -> float:
        provider = Provider.from_body(dict(body))
        await _reconcile_locked(provider, memo)
        return _interval(provider)

    key = ("twp", body["metadata"]["namespace"], body["metadata"]["name"])
    first = max(5.0, _until_due(Provider.from_body(dict(body))))  # the handlers do the first one
    await run_periodically(key, memo, stopped, body, logger, first, run_once)


def _interval(provider: Provider) -> float:
    """verificationInterval with the floor applied, jittered to spread the herd."""
    interval = liveness.verification_seconds(provider.spec.verification_interval)
    return interval * random.uniform(0.9, 1.1)  # noqa: S311


def _until_due(provider: Provider) -> float:
    """Seconds until the next verification is due, from status.lastVerifiedAt (<= 0: overdue)."""
    interval = _interval(provider)
    last = provider.status.last_verified_at
    if not last:
        return interval
    elapsed = datetime.now(UTC) - datetime.fromisoformat(last.replace("Z", "+00:00"))
    return interval - elapsed / timedelta(seconds=1)


@kopf.on.delete(*PROVIDERS, **SHARD)
@to_kopf_errors
async def finalize(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    provider = Provider.from_body(dict(body))
    async with object_turn(memo, provider.uid):
        teardown = await finalize_provider(provider, memo.deps)
    memo.locks.pop(provider.uid, None)
    metrics.STATES.forget(provider.uid)
    logger.info(
        "TwilioProvider finalized with policy %s; removed %s",
        teardown.policy,
        ", ".join(teardown.removed) or "nothing",
    )


@kopf.on.event(*PROVIDERS, **SHARD)  # type: ignore[arg-type]
async def provider_changed(
    type: str | None, body: kopf.Body, memo: kopf.Memo, numbers_by_provider: kopf.Index[Any, Any], **_: Any
) -> None:
    """Note the watch's progress (liveness); wake the provider's numbers when its readiness or trunk
    changes, or when it is gone."""
    meta = body.get("metadata", {})
    key = (meta.get("namespace"), meta.get("name"))
    liveness.provider_event(type, key[0], key[1], body.get("spec") or {})
    state = None if type == "DELETED" else _provider_state(body)
    previous = memo.provider_states.pop(key, None)
    if state is not None:
        memo.provider_states[key] = state
    if type is None or previous == state:  # the initial listing: resume handlers cover the numbers
        return
    for name in numbers_by_provider.get(key, []):
        wake(memo, ("twpn", key[0], name))


def _provider_state(body: kopf.Body) -> tuple[bool, str | None]:
    status = body.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return ready, status.get("trunkSid")


# --------------------------------------------------------------------------- Secrets wake providers


@kopf.index(*PROVIDERS, **SHARD)  # type: ignore[arg-type]
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
        wake(memo, ("twp", namespace, provider_name))


def _sip_secret_intact(body: kopf.Body, uid: str) -> bool:
    encoded = (body.get("data") or {}).get(plan.SIP_PASSWORD)
    fingerprint = (body.get("metadata", {}).get("annotations") or {}).get(plan.PASSWORD_FINGERPRINT)
    if not encoded or not fingerprint:
        return False
    try:
        password = base64.b64decode(encoded).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return bool(fingerprint == plan.password_fingerprint(uid, password))


# Register the TwilioPhoneNumber handlers with kopf (liveness, imported above, registers the probe
# that fails /healthz when the provider watch stalls).
from twilio_operator import number_handlers  # noqa: E402, F401
