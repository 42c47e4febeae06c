"""Secrets wake providers: a change of a provider's credentials Secret, or a SIP Secret that was
deleted or edited, wakes that provider's daemon at once (no polling). They wake LiveKitConnections
too: any change of a provider's SIP Secret (a rotation, a repaired password) wakes the provider's
connections, whose LiveKit outbound trunk holds that pair, and a change of a connection's API Secret
wakes the connection.

Only the Secrets that carry one of our labels are watched, and the API server does the filtering
(`KubernetesPort.watch_secrets`): the credentials Secrets the operator protects (labelled by
provider/protection.py) and the SIP Secrets it writes. kopf's own watch would receive every Secret
of the cluster, data included, and filter labels afterwards: with 1,000 unrelated Secrets of
100 KiB (Helm release Secrets look like that) the operator took 800 MB at startup. A credentials
Secret created after its provider carries no label yet; the provider's queued run looks for it every
few seconds while its reconcile reports SecretNotFound (handlers/provider.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import kopf

from twilio_operator import metrics
from twilio_operator.api import names
from twilio_operator.api.credentials import data_digest, sip_secret_intact
from twilio_operator.api.errors import KubernetesError

# Imported before this module registers its handlers: kopf runs startup handlers in the order they
# were registered, and ours needs the state that `configure` builds.
from twilio_operator.handlers import settings as _settings  # noqa: F401
from twilio_operator.handlers.indexes import CREDENTIALS, SIP, Providers, SecretUse
from twilio_operator.handlers.livekit_connection import Connections, wake_connections
from twilio_operator.handlers.state import ObjectKey, OperatorState, state_of
from twilio_operator.ports.kube.port import SIP_SECRET_LABELS, SecretEvent

logger = logging.getLogger(__name__)
# Server-side label selectors; a selector cannot say "either label", so there are two watches.
WATCHED_SELECTORS = (
    names.CREDENTIALS_LABEL,  # credentials Secrets the operator protects (any value)
    ",".join(f"{key}={value}" for key, value in SIP_SECRET_LABELS.items()),  # the SIP Secrets it writes
)


@kopf.on.startup(id="watch_secrets")
async def watch_secrets(memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any) -> None:
    """Start the label-selected Secret watches: one per selector, cluster-wide or per watched
    namespace (as the operator was started, so the namespaced RBAC of the chart suffices)."""
    state = state_of(memo)
    index = Providers.of(kwargs)  # a live view, filled as providers arrive
    connections = Connections.of(kwargs)
    scopes: list[str | None] = list(watched_namespaces(state.settings.watch_namespaces)) or [None]
    state.secret_watches = [
        asyncio.create_task(
            follow_secrets(state, index, selector, scope, connections), name=f"secrets {selector} {scope}"
        )
        for selector in WATCHED_SELECTORS
        for scope in scopes
    ]
    logger.info("watching Secrets labelled %s in %s", " or ".join(WATCHED_SELECTORS), scopes)


@kopf.on.cleanup(id="stop_secret_watches")
async def stop_secret_watches(memo: kopf.Memo, **_: Any) -> None:
    tasks = state_of(memo).secret_watches
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def watched_namespaces(patterns: Sequence[str]) -> tuple[str, ...]:
    """The namespaces the operator serves (its --namespace patterns); empty means every namespace.
    A glob pattern (or a negation) cannot be a watch's scope, so it makes the Secret watch
    cluster-wide."""
    if any(char in pattern for pattern in patterns for char in "*?[!"):
        return ()
    return tuple(patterns)


async def follow_secrets(
    state: OperatorState,
    index: Providers,
    selector: str,
    namespace: str | None,
    connections: Connections | None = None,
) -> None:
    async for event in state.deps.kube.watch_secrets(selector, namespace):
        try:
            await secret_changed(state, index, event, connections)
        except Exception:
            # A bug must not end the watch; the next event is handled as usual.
            logger.exception("cannot handle a change of Secret %s/%s", event.namespace, event.name)


async def secret_changed(
    state: OperatorState, index: Providers, event: SecretEvent, connections: Connections | None = None
) -> None:
    """Wake the providers and LiveKitConnections that use the Secret; release the in-use finalizer
    of a protected Secret that no provider or connection references and that is being deleted."""
    uses = index.of_secret(event.namespace, event.name)
    users = connections.of_secret(event.namespace, event.name) if connections is not None else []
    metrics.SECRET_EVENTS.labels(_role_label(uses) if uses or not users else LIVEKIT).inc()
    secret = event.secret
    finalizer = state.deps.in_use_finalizer
    in_use = any(use.role == CREDENTIALS for use in uses) or bool(users)
    deleting_unused = secret.deleting and not in_use
    if deleting_unused and finalizer in secret.finalizers:
        # Protected once, referenced by no provider now (its reference changed, or it is gone).
        try:
            await state.deps.kube.unprotect_secret(event.namespace, event.name, finalizer)
        except KubernetesError as error:
            logger.warning("cannot release Secret %s/%s: %s", event.namespace, event.name, error)
    seen = secret.annotations.get(names.CREDENTIALS_DIGEST)
    # ADDED counts too: a Secret enters the label-selected watch when the operator protects it (in
    # the middle of its provider's first reconcile), and every protected one at the watch's start.
    unchanged = event.type in ("ADDED", "MODIFIED") and seen == data_digest(
        f"{event.namespace}/{event.name}", secret.data
    )
    for name in users:  # a connection's LiveKit API Secret
        if not (unchanged and not secret.deleting):
            state.wake(ObjectKey.connection(event.namespace, name), by_user=True)
    for use in uses:
        if use.role == SIP and connections is not None:  # LiveKit's outbound trunk holds its pair
            wake_connections(state, connections, event.namespace, use.provider)
        intact = use.role == SIP and event.type != "DELETED"
        if intact and sip_secret_intact(use.uid, secret.data, secret.annotations, dict(use.connection)):
            continue  # our own write; nothing to repair
        if use.role == CREDENTIALS and unchanged and not secret.deleting:
            continue  # the data the providers use did not change (e.g. the operator's protection patch)
        state.wake(ObjectKey.provider(event.namespace, use.provider), by_user=True)


LIVEKIT = "livekit"  # the metrics label of a connection's API Secret


def _role_label(uses: list[SecretUse]) -> str:
    roles = {use.role for use in uses}
    return CREDENTIALS if CREDENTIALS in roles else SIP if SIP in roles else "unreferenced"
