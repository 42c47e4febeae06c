"""kopf glue for LiveKitConnection: one reconcile for create, update and resume, a daemon that resyncs
(LiveKit has no watch: drift made by hand is repaired at the next resync) or runs at once when woken,
the finalizer, and the wake-ups that make a connection follow its provider within seconds.

Who wakes whom, all through the operator's wake mechanism (OperatorState.wake, rate bound per object
by run_periodically), never by polling:
- a provider's trunk, readiness, termination URI, origination URIs or SIP username changed, or it is
  gone (`provider_changed`, called from the provider's watch-event handler);
- its SIP Secret changed (handlers/secrets.py), e.g. a rotation's new pair or a repaired password;
- one of its TwilioPhoneNumbers was attached, detached, deleted or routed to another agent
  (`number_changed`);
- the connection's API Secret changed (handlers/secrets.py).
And the other way: a connection's SIP URI or its outbound trunk's username changed, or it is gone,
wakes its provider (the origination URIs, a held-back retirement).

Handler ids are set explicitly: kopf stores progress under them in annotations of live objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import kopf

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api.errors import DeletionBlocked, NotFoundError
from twilio_operator.api.livekit import Connected, LiveKitLinks
from twilio_operator.api.models import GROUP, LIVEKIT_CONNECTION, PHONE_NUMBER, VERSION
from twilio_operator.api.sip import normalize_sip_url
from twilio_operator.handlers.indexes import Providers
from twilio_operator.handlers.runtime import SHARD, retry_in_daemon, run_periodically, to_kopf_errors
from twilio_operator.handlers.state import ObjectKey, OperatorState, state_of
from twilio_operator.livekit_connection.reconcile import reconcile_connection
from twilio_operator.livekit_connection.resource import Connection, Outcome, ProviderSide
from twilio_operator.livekit_connection.teardown import finalize_connection

CONNECTIONS = (GROUP, VERSION, LIVEKIT_CONNECTION.plural)
NUMBERS = (GROUP, VERSION, PHONE_NUMBER.plural)
INDEX_ID = "livekit_connections"
# LiveKit has no watch: a trunk or rule edited or deleted by hand is repaired at the next resync.
# A standing conflict is looked at again after 30 s, 1, 2, 4 minutes, then every 5 (one LiveKit
# round each: three lists); a person's change (a spec edit, a number) wakes the connection anyway.
CONFLICT_RECHECK_BASE = 30.0
CONFLICT_RECHECK_MAX = 300.0
# An API Secret created after its connection carries none of the labels the Secret watch selects.
MISSING_SECRET_POLL = 3.0
MISSING_SECRET_POLL_SLOW = 30.0
MISSING_SECRET_FAST_FOR = 600.0
DELETION_RETRY = 10.0  # a blocked deletion looks again (and for the Orphan annotation) this often


# --------------------------------------------------------------------------- the index


@kopf.index(*CONNECTIONS, id=INDEX_ID, **SHARD)
async def livekit_connections(
    namespace: str | None, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[tuple[Any, ...], Any]:
    """("provider", namespace, provider) -> Connected (what the provider's reconcile reads);
    ("secret", namespace, API Secret) -> the connection's name (what the Secret watch wakes)."""
    provider = (spec.get("providerRef") or {}).get("name")
    username = (status.get("outboundTrunk") or {}).get("username")
    entries: dict[tuple[Any, ...], Any] = {
        ("provider", namespace, provider): Connected(name, str(spec.get("sipUri") or ""), username)
    }
    secret = (spec.get("apiSecretRef") or {}).get("name")
    if secret:
        entries[("secret", namespace, secret)] = name
    return entries


@dataclass(frozen=True)
class Connections:
    """The connections index, by provider and by API Secret (a live view)."""

    index: kopf.Index[tuple[Any, ...], Any]

    @classmethod
    def of(cls, kwargs: dict[str, Any]) -> Connections:
        return cls(kwargs[INDEX_ID])

    def links(self, namespace: str | None, provider: str | None) -> LiveKitLinks:
        return LiveKitLinks(tuple(self.index.get(("provider", namespace, provider), [])))

    def of_provider(self, namespace: str | None, provider: str | None) -> list[str]:
        return sorted(c.name for c in self.index.get(("provider", namespace, provider), []))

    def of_secret(self, namespace: str | None, secret: str) -> list[str]:
        return sorted(self.index.get(("secret", namespace, secret), []))


def wake_connections(
    state: OperatorState, connections: Connections, namespace: str, provider: str, *, by_user: bool = False
) -> None:
    """`by_user`: a change a person made (a number created, re-routed, deleted), which is no loop
    between objects and so never grows the connection's wake-up spacing."""
    for name in connections.of_provider(namespace, provider):
        state.wake(ObjectKey.connection(namespace, name), by_user=by_user)


# --------------------------------------------------------------------------- reconcile


async def _reconcile(body: kopf.Body, state: OperatorState, kwargs: dict[str, Any]) -> Outcome:
    connection = Connection.from_body(dict(body))
    with metrics.timed_reconcile(LIVEKIT_CONNECTION.kind) as record:
        async with state.turn(connection.uid):
            # Read once the turn is ours: the provider as it is now.
            found = Providers.of(kwargs).body(connection.namespace, connection.provider_name)
            provider = ProviderSide.from_body(found) if found is not None else None
            outcome = await reconcile_connection(connection, provider, state.deps)
        record.result = "ready" if outcome.ready else "conflict" if outcome.conflict else "not_ready"
    return outcome


@kopf.on.resume(*CONNECTIONS, id="reconcile_connection", **SHARD)
@kopf.on.create(*CONNECTIONS, id="reconcile_connection", **SHARD)
@kopf.on.update(*CONNECTIONS, id="reconcile_connection", **SHARD)
@to_kopf_errors  # only an invalid spec reaches it: everything else is retried by the daemon
async def reconcile(
    body: kopf.Body, reason: str, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    connection = Connection.from_body(dict(body))
    ready = c.ReadyState.of(connection.status)
    if (
        reason == kopf.Reason.RESUME
        and ready.is_true
        and connection.status.observed_generation == connection.generation
    ):
        # A restart is no reason to ask LiveKit: the daemon resyncs when its interval is up.
        logger.info("LiveKitConnection resumed: in sync, nothing to do")
        return
    state = state_of(memo)
    key = ObjectKey.connection(connection.namespace, connection.name)
    try:
        outcome = await _reconcile(body, state, kwargs)
    except NotFoundError:
        return
    except Exception as error:
        retry_in_daemon(error, state, key, logger)
        return
    if outcome.conflict or outcome.reason == c.SECRET_NOT_FOUND:
        state.wake_later(key, CONFLICT_RECHECK_BASE if outcome.conflict else MISSING_SECRET_POLL)
    logger.info("LiveKitConnection reconciled: ready=%s %s", outcome.ready, outcome.message)


def next_run(outcome: Outcome, conflicts: int, missing_since: float | None, resync: float) -> float:
    """Seconds until the daemon's next run after `outcome` (without wake-ups in between)."""
    if conflicts:
        return float(min(CONFLICT_RECHECK_BASE * 2 ** (conflicts - 1), CONFLICT_RECHECK_MAX, resync))
    if missing_since is not None:
        waited = time.monotonic() - missing_since
        return MISSING_SECRET_POLL if waited < MISSING_SECRET_FAST_FOR else MISSING_SECRET_POLL_SLOW
    return resync


@kopf.daemon(*CONNECTIONS, id="keep_connection_in_sync", cancellation_timeout=5.0, **SHARD)
async def keep_connection_in_sync(
    stopped: kopf.DaemonStopped, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **kwargs: Any
) -> None:
    """Resync every TWILIO_OPERATOR_LIVEKIT_RESYNC_SECONDS (drift repair), or at once when woken."""
    state = state_of(memo)
    key = ObjectKey.connection(body["metadata"]["namespace"], body["metadata"]["name"])
    conflicts = 0
    missing_since: float | None = None

    async def run_once() -> float:
        nonlocal conflicts, missing_since
        outcome = await _reconcile(body, state, kwargs)
        conflicts = conflicts + 1 if outcome.conflict else 0
        missing = outcome.reason == c.SECRET_NOT_FOUND
        missing_since = (missing_since or time.monotonic()) if missing else None
        return next_run(outcome, conflicts, missing_since, state.settings.livekit_resync_seconds)

    first = state.settings.livekit_resync_seconds
    await run_periodically(key, state, stopped, body, logger, first, run_once)


@kopf.on.delete(*CONNECTIONS, id="finalize_connection", **SHARD)
@to_kopf_errors
async def finalize(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    state = state_of(memo)
    connection = Connection.from_body(dict(body))
    try:
        async with state.turn(connection.uid):
            teardown = await finalize_connection(connection, state.deps)
    except DeletionBlocked as blocked:
        # Looked at again soon: the Orphan annotation or a fixed Secret lets the object go.
        raise kopf.TemporaryError(str(blocked), delay=DELETION_RETRY) from None
    state.forget(connection.uid, ObjectKey.connection(connection.namespace, connection.name))
    state.livekit_seen.pop(("connection", connection.namespace, connection.name), None)
    metrics.STATES.forget(connection.uid)
    logger.info(
        "LiveKitConnection finalized with policy %s; removed %s",
        teardown.policy,
        ", ".join(teardown.removed) or "nothing",
    )


# --------------------------------------------------------------------------- wake-ups


@kopf.on.event(*CONNECTIONS, id="connection_changed", **SHARD)
async def connection_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Wake the provider when what it reads of this connection changed (SIP URI, the outbound
    trunk's username, the provider it names) or the connection is gone; at the operator's start, when
    the provider does not show the connection's SIP URI yet or still keeps a credential for it (made
    or switched while no operator ran: the provider's resume may skip its reconcile)."""
    state = state_of(memo)
    meta = body.get("metadata", {})
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    spec, status = body.get("spec") or {}, body.get("status") or {}
    seen_key = ("connection", namespace, name)
    current = None
    if type != "DELETED":
        current = (
            (spec.get("providerRef") or {}).get("name"),
            spec.get("sipUri"),
            (status.get("outboundTrunk") or {}).get("username"),
        )
    previous = state.livekit_seen.pop(seen_key, None)
    if current is not None:
        state.livekit_seen[seen_key] = current
    if type is None:
        if current is not None and _provider_behind(Providers.of(kwargs), namespace, name, current):
            state.wake_later(ObjectKey.provider(namespace, str(current[0])), 0)  # its daemon may not run yet
        return
    if previous == current:
        return
    for seen in (previous, current):
        if seen is not None and seen[0]:
            state.wake(ObjectKey.provider(namespace, seen[0]))


def _provider_behind(providers: Providers, namespace: str, name: str, seen: tuple[Any, ...]) -> bool:
    found = providers.body(namespace, seen[0])
    if found is None:
        return False
    status = found.get("status") or {}
    uris = {normalize_sip_url(u) for u in status.get("originationUris") or []}
    kept = (status.get("sipCredentials") or {}).get("previousKeptFor") or []
    return normalize_sip_url(str(seen[1] or "")) not in uris or name in kept


def provider_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, indexes: dict[str, Any]) -> None:
    """Called by the provider's watch-event handler (handlers/provider.py): wake the provider's
    connections when what they read of it changed, or when it is gone."""
    state = state_of(memo)
    meta = body.get("metadata", {})
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    status = body.get("status") or {}
    seen_key = ("provider", namespace, name)
    current = None
    if type != "DELETED":
        current = (
            c.ReadyState.of(status).is_true,
            status.get("trunkSid"),
            status.get("terminationUri"),
            tuple(status.get("originationUris") or ()),
            (status.get("sipCredentials") or {}).get("username"),
            status.get("sipCredentialsSecretName"),
            bool(meta.get("deletionTimestamp")),
        )
    previous = state.livekit_seen.pop(seen_key, None)
    if current is not None:
        state.livekit_seen[seen_key] = current
    if type is None or previous == current:
        return
    wake_connections(state, Connections.of(indexes), namespace, name)


@kopf.on.event(*NUMBERS, id="livekit_number_changed", **SHARD)
async def number_changed(type: str | None, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """Wake the connections of a number's provider when the number joined or left its trunk, or
    moved to another agent."""
    state = state_of(memo)
    meta = body.get("metadata", {})
    namespace, name = str(meta.get("namespace")), str(meta.get("name"))
    spec, status = body.get("spec") or {}, body.get("status") or {}
    provider = (spec.get("providerRef") or {}).get("name")
    seen_key = ("number", namespace, name)
    current = None
    if type != "DELETED" and not meta.get("deletionTimestamp"):
        on_trunk = c.ReadyState.of(status).is_true and bool(status.get("trunkSid"))
        agent = (spec.get("agentRef") or {}).get("name")
        current = (provider, status.get("phoneNumber") if on_trunk else None, agent)
    previous = state.livekit_seen.pop(seen_key, None)
    if current is not None:
        state.livekit_seen[seen_key] = current
    attached = [seen for seen in (previous, current) if seen is not None and seen[1] is not None]
    if type is None or previous == current or not attached:
        return  # the initial listing, no change, or a number that is on no trunk either way
    for seen in attached:
        wake_connections(state, Connections.of(kwargs), namespace, str(seen[0]), by_user=True)
