"""The one place that decides a LiveKitConnection's conditions (Ready, LiveKitReachable, TrunksInSync,
DispatchInSync, OriginationInSync, Conflict) and the Events that announce a change of them, from how
a reconcile ended. `decide` is pure; `record` (the only writer) applies it.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio_operator.api import conditions as c
from twilio_operator.api.conditions import ConditionUpdate
from twilio_operator.api.errors import LiveKitError, LiveKitErrorKind
from twilio_operator.api.models import Condition
from twilio_operator.livekit_connection.status import ConnectionWriter


@dataclass(frozen=True)
class Blocked:
    """Nothing was asked of LiveKit: the provider or the API Secret is not usable (yet)."""

    reason: str
    message: str


@dataclass(frozen=True)
class LiveKitFailed:
    """A LiveKit request failed; what was done before it is in the status."""

    error: LiveKitError


@dataclass(frozen=True)
class Synced:
    """LiveKit answered every request of the round; each stage says how far it got."""

    trunks: ConditionUpdate
    dispatch: ConditionUpdate
    origination: ConditionUpdate
    conflicts: tuple[str, ...]  # one message per other trunk or rule holding our numbers
    summary: str  # Ready's message when all is in sync


Result = Blocked | LiveKitFailed | Synced
Event = tuple[str, str, str]  # (type, reason, message)


@dataclass(frozen=True)
class Decision:
    updates: tuple[ConditionUpdate, ...]
    events: tuple[Event, ...]


def livekit_reason(error: LiveKitError) -> str:
    """The one mapping from a failed LiveKit request to a Ready reason."""
    match error.kind:
        case LiveKitErrorKind.UNREACHABLE:
            return c.LIVEKIT_UNREACHABLE
        case LiveKitErrorKind.AUTH:
            return c.LIVEKIT_AUTH_FAILED
        case LiveKitErrorKind.TRANSIENT:
            return c.LIVEKIT_UNAVAILABLE
        case LiveKitErrorKind.CONFLICT:
            return c.CONFLICT
    return c.LIVEKIT_REJECTED


HINTS = {
    c.LIVEKIT_UNREACHABLE: "check spec.url (scheme, host and port of the LiveKit API) and that LiveKit is up",
    c.LIVEKIT_AUTH_FAILED: "check the API key and secret in spec.apiSecretRef's Secret (they must be a key "
    "pair of this LiveKit server or Cloud project)",
}


def _reachable(error: LiveKitError) -> ConditionUpdate:
    """LiveKit is reachable when it answered at all, even with a failure of its own (its Redis down):
    not when nothing answered, the key was refused, or the URL cannot work (no request was made)."""
    reason = livekit_reason(error)
    no_answer = error.kind in (LiveKitErrorKind.UNREACHABLE, LiveKitErrorKind.AUTH) or error.status is None
    if no_answer:
        return ConditionUpdate(c.LIVEKIT_REACHABLE, "False", reason, str(error))
    return ConditionUpdate(c.LIVEKIT_REACHABLE, "True", c.REACHED, f"LiveKit answered: {error}")


def decide(result: Result, before: list[Condition]) -> Decision:
    ready = c.ReadyState.of(before)
    match result:
        case Blocked(reason, message):
            update = ConditionUpdate(c.READY, "False", reason, message)
            return Decision((update,), _announce(ready, update))
        case LiveKitFailed(error):
            reason = livekit_reason(error)
            hint = HINTS.get(reason)
            message = f"{error}; {hint}" if hint else str(error)
            update = ConditionUpdate(c.READY, "False", reason, message)
            return Decision((_reachable(error), update), _announce(ready, update))
        case Synced(trunks, dispatch, origination, conflicts, summary):
            reached = ConditionUpdate(
                c.LIVEKIT_REACHABLE, "True", c.REACHED, "LiveKit answered every request"
            )
            conflict = (
                ConditionUpdate(c.CONFLICT, "True", c.CONFLICT, "\n".join(conflicts))
                if conflicts
                else ConditionUpdate(
                    c.CONFLICT, "False", c.NO_CONFLICT, "no other trunk or rule holds our numbers"
                )
            )
            first = next((s for s in (trunks, dispatch, origination) if s.status != "True"), None)
            if conflicts:
                update = ConditionUpdate(c.READY, "False", c.CONFLICT, conflict.message)
            elif first is None:
                update = ConditionUpdate(c.READY, "True", c.IN_SYNC, summary)
            else:
                update = ConditionUpdate(c.READY, "False", first.reason, first.message)
            events = list(_announce(ready, update))
            previous = c.find(before, c.CONFLICT)
            if conflicts and (previous is None or previous.message != conflict.message) and not events:
                events.append(("Warning", c.CONFLICT, conflict.message))
            return Decision((reached, trunks, dispatch, origination, conflict, update), tuple(events))
    raise AssertionError(f"unhandled result {result!r}")  # pragma: no cover


def _announce(ready: c.ReadyState, update: ConditionUpdate) -> tuple[Event, ...]:
    """An Event when Ready flips, or when it stays False for another reason (or another conflict)."""
    if update.status == "True":
        return () if ready.is_true else (("Normal", c.IN_SYNC, update.message),)
    if (
        ready.is_true
        or ready.reason != update.reason
        or (update.reason == c.CONFLICT and ready.message != update.message)
    ):
        return (("Warning", update.reason, update.message),)
    return ()


async def record(writer: ConnectionWriter, result: Result) -> Decision:
    """Apply the decision, write the status, post the Events."""
    decision = decide(result, writer.before.conditions)
    writer.condition(*decision.updates)
    await writer.flush()
    for event in decision.events:
        await writer.event(*event)
    return decision
