"""Deletion of a LiveKitConnection: what its finalizer does before it lets the object go.

With Delete, every LiveKit trunk and dispatch rule that carries the connection's UID mark is deleted
(rules first: they name the inbound trunk), found by listing, so that an object the status never
recorded (a crash right after its create) goes too. With Orphan (spec.deletionPolicy, or the
deletion-policy annotation on a connection that cannot reach LiveKit any more) LiveKit is left as it
is. Then the API Secret's in-use protection is released, unless another object still uses it.

The provider is not needed: deleting the TwilioProvider first never holds a connection's deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.credentials import CredentialProblem
from twilio_operator.api.errors import DeletionBlocked, LiveKitError, LiveKitErrorKind
from twilio_operator.api.models import DeletionPolicy
from twilio_operator.livekit_connection import readiness
from twilio_operator.livekit_connection.observe import observe_livekit, read_api_secret, release_api_secret
from twilio_operator.livekit_connection.resource import Connection
from twilio_operator.livekit_connection.status import ConnectionWriter
from twilio_operator.ports.deps import Deps


@dataclass(frozen=True)
class Teardown:
    policy: DeletionPolicy
    removed: tuple[str, ...]


def effective_policy(connection: Connection) -> DeletionPolicy:
    if connection.annotations.get(names.DELETION_POLICY_OVERRIDE) == "Orphan":
        return "Orphan"
    return connection.spec.deletion_policy


async def finalize_connection(connection: Connection, deps: Deps) -> Teardown:
    policy = effective_policy(connection)
    if policy == "Orphan":
        await _orphan(connection, deps)
        return Teardown(policy, ())
    removed = await _remove_livekit_objects(connection, deps)
    await release_api_secret(connection, deps)
    return Teardown(policy, removed)


async def _orphan(connection: Connection, deps: Deps) -> None:
    status = connection.status
    kept = [t.id for t in (status.inbound_trunk, status.outbound_trunk) if t is not None]
    kept += [rule.id for rule in status.dispatch_rules]
    what = (
        f"left {', '.join(kept)} in LiveKit"
        if kept
        else "nothing was recorded in LiveKit, so nothing was left"
    )
    await deps.kube.post_event(connection.ref, "Normal", c.ORPHANED, what)
    await release_api_secret(connection, deps)


async def _remove_livekit_objects(connection: Connection, deps: Deps) -> tuple[str, ...]:
    status = connection.status
    recorded = bool(status.inbound_trunk or status.outbound_trunk or status.dispatch_rules)
    server = await read_api_secret(connection, deps)
    if isinstance(server, CredentialProblem):
        if not recorded:  # never reached LiveKit with it: nothing of ours can be there
            await release_api_secret(connection, deps)
            return ()
        await _block(connection, deps, server.message)
    if deps.livekit is None:
        raise RuntimeError("no LiveKit connector in Deps")
    port = deps.livekit.connect(server)
    try:
        seen = await observe_livekit(port, connection.uid)
        removed: list[str] = []
        for rule in seen.rules:
            if await port.delete_dispatch_rule(rule.id):
                removed.append(rule.id)
        for trunk_id in [t.id for t in seen.inbound] + [t.id for t in seen.outbound]:
            await port.delete_trunk(trunk_id)
            removed.append(trunk_id)
    except LiveKitError as error:
        if error.kind is LiveKitErrorKind.TRANSIENT:
            raise
        if not recorded and error.kind in (LiveKitErrorKind.AUTH, LiveKitErrorKind.INVALID):
            await release_api_secret(connection, deps)  # it never worked: nothing of ours can be there
            return ()
        await _block(connection, deps, str(error))
    if removed:
        await deps.kube.post_event(
            connection.ref, "Normal", c.DELETED, f"deleted {', '.join(removed)} in LiveKit"
        )
    return tuple(removed)


async def _block(connection: Connection, deps: Deps, why: str) -> NoReturn:
    message = (
        f"cannot delete the LiveKit trunks and dispatch rules: {why}. Fix spec.url or the API Secret, "
        f"or annotate the object with {names.DELETION_POLICY_OVERRIDE}=Orphan to leave them in LiveKit "
        "and let it go"
    )
    writer = ConnectionWriter(connection, deps)
    await readiness.record(writer, readiness.Blocked(c.DELETION_BLOCKED, message))
    raise DeletionBlocked(message)
