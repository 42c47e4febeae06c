"""The one place that decides a TwilioProvider's conditions (Ready, CredentialsVerified,
TrunkProvisioned, Paused) and the Event that announces a change, from how a reconcile or a deletion
ended. Pure: `decide` takes the result and the status as it was; `record` (the only writer) applies
it. Everything else reads Ready through `conditions.ReadyState`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from twilio_operator.api import conditions as c
from twilio_operator.api.conditions import ConditionUpdate
from twilio_operator.api.errors import KubernetesError
from twilio_operator.api.models import Condition, TwilioProviderStatus
from twilio_operator.provider.status import StatusWriter


@dataclass(frozen=True)
class Paused:
    message: str


@dataclass(frozen=True)
class Resumed:
    """The paused annotation was removed: said once, then the reconcile goes on."""


@dataclass(frozen=True)
class CredentialsUnusable:
    """The credentials Secret is missing or malformed: nothing was asked of Twilio."""

    reason: str
    message: str


@dataclass(frozen=True)
class CredentialsAccepted:
    """The account's reads passed: whatever happens next, Twilio accepted the credentials."""


@dataclass(frozen=True)
class AdoptionRefused:
    message: str


@dataclass(frozen=True)
class TwilioFailed:
    reason: str  # conditions.twilio_failure_reason
    message: str
    auth: bool  # the credentials were refused: CredentialsVerified says so too
    transient: bool  # an outage or rate limiting: announced only when it ends a Ready provider


@dataclass(frozen=True)
class KubernetesFailed:
    message: str
    refusal: bool  # the API server said no (403, 409, 422...), as opposed to failing to answer


@dataclass(frozen=True)
class DeletionBlocked:
    message: str


@dataclass(frozen=True)
class DeletionPaused:
    """A deletion that waits for the paused annotation to go (or for the Orphan annotation)."""

    message: str


@dataclass(frozen=True)
class Observing:
    message: str


@dataclass(frozen=True)
class Provisioned:
    """Everything converged; Ready unless a stage condition (the SIP Secret's or the agent table's
    template) is False, which then names the reason."""

    trunk_sid: str
    credential_list_sid: str
    message: str


Result = (
    Paused
    | Resumed
    | CredentialsUnusable
    | CredentialsAccepted
    | AdoptionRefused
    | TwilioFailed
    | KubernetesFailed
    | DeletionBlocked
    | DeletionPaused
    | Observing
    | Provisioned
)
# Stage conditions that keep Ready False while they are False (kept in stage order: the first wins).
GATING = (c.SIP_CREDENTIALS_STORED, c.AGENT_TABLE_RENDERED)


@dataclass(frozen=True)
class Decision:
    updates: tuple[ConditionUpdate, ...]
    event: tuple[str, str, str] | None  # (type, reason, message)


def gate(conditions: list[Condition]) -> Condition | None:
    """The stage condition that keeps Ready False, if any."""
    return next((k for k in conditions if k.type in GATING and k.status != "True"), None)


def decide(result: Result, before: TwilioProviderStatus, now: list[Condition]) -> Decision:
    """The condition updates and the Event for `result`. `before`: the status the reconcile started
    from (what users saw); `now`: the conditions as this reconcile has set them so far. (Longer than
    60 lines on purpose: it is the one table of every way a reconcile ends, a case each.)"""
    ready = c.ReadyState.of(before)
    was_ready = ready.is_true
    verified = ConditionUpdate(c.CREDENTIALS_VERIFIED, "True", c.VERIFIED, "Twilio accepted the credentials")
    match result:
        case Paused(message):
            paused = c.find(before.conditions, c.PAUSED)
            newly = paused is None or paused.status != "True"
            return Decision(
                (ConditionUpdate(c.PAUSED, "True", c.PAUSED, message),),
                ("Normal", c.PAUSED, message) if newly else None,
            )
        case Resumed():
            message = "reconciliation resumed"
            return Decision(
                (ConditionUpdate(c.PAUSED, "False", c.RESUMED, "the paused annotation was removed"),),
                ("Normal", c.RESUMED, message),
            )
        case CredentialsUnusable(reason, message):
            previous = c.find(before.conditions, c.CREDENTIALS_VERIFIED)
            changed = previous is None or previous.reason != reason
            return Decision(
                (
                    ConditionUpdate(c.CREDENTIALS_VERIFIED, "False", reason, message),
                    ConditionUpdate(c.READY, "False", reason, message),
                ),
                ("Warning", reason, message) if changed else None,
            )
        case CredentialsAccepted():
            return Decision((verified,), None)
        case AdoptionRefused(message):
            changed = ready.reason != c.ADOPTION_REFUSED
            return Decision(
                (ConditionUpdate(c.READY, "False", c.ADOPTION_REFUSED, message),),
                ("Warning", c.ADOPTION_REFUSED, message) if changed else None,
            )
        case TwilioFailed(reason, message, auth, transient):
            updates = [ConditionUpdate(c.READY, "False", reason, message)]
            if auth:
                updates.append(ConditionUpdate(c.CREDENTIALS_VERIFIED, "False", reason, message))
            announce = not transient or was_ready
            return Decision(tuple(updates), ("Warning", reason, message) if announce else None)
        case KubernetesFailed(message, refusal=True):
            changed = ready.reason != c.KUBERNETES_REFUSED or ready.message != message
            return Decision(
                (ConditionUpdate(c.READY, "False", c.KUBERNETES_REFUSED, message),),
                ("Warning", c.KUBERNETES_REFUSED, message) if changed else None,
            )
        case KubernetesFailed(message, refusal=False):
            return Decision(
                (ConditionUpdate(c.READY, "False", c.KUBERNETES_UNAVAILABLE, message),),
                ("Warning", c.KUBERNETES_UNAVAILABLE, message) if was_ready else None,
            )
        case DeletionBlocked(message):
            return Decision(
                (ConditionUpdate(c.READY, "False", c.DELETION_BLOCKED, message),),
                ("Warning", c.DELETION_BLOCKED, message),
            )
        case DeletionPaused(message):
            return Decision(
                (ConditionUpdate(c.PAUSED, "True", c.PAUSED, message),),
                ("Warning", c.DELETION_BLOCKED, message),
            )
        case Observing(message):
            return Decision((ConditionUpdate(c.READY, "True", c.OBSERVING, message),), None)
        case Provisioned(trunk_sid, list_sid, message):
            provisioned = ConditionUpdate(
                c.TRUNK_PROVISIONED,
                "True",
                c.PROVISIONED,
                f"trunk {trunk_sid} with credential list {list_sid}",
            )
            broken = gate(now)
            if broken is None:
                return Decision((provisioned, ConditionUpdate(c.READY, "True", c.PROVISIONED, message)), None)
            # A broken template is announced when it ends readiness, or on a provider's first round.
            announce = was_ready or before.trunk_sid is None
            return Decision(
                (provisioned, ConditionUpdate(c.READY, "False", broken.reason, broken.message)),
                ("Warning", broken.reason, broken.message) if announce else None,
            )
    raise AssertionError(f"unhandled result {result!r}")  # pragma: no cover


def decide_now(writer: StatusWriter, result: Result) -> None:
    """Apply a decision that has no Event, without writing (the reconcile writes later)."""
    decision = decide(result, writer.before, writer.status.conditions)
    assert decision.event is None, decision
    writer.condition(*decision.updates)


async def record(writer: StatusWriter, result: Result, *, write: bool = True) -> Decision:
    """Apply the decision to the status (and write it, unless `write` is False: the caller writes
    more first), then post its Event. A Kubernetes failure may be the status write itself: its own
    write and Event are best effort."""
    decision = decide(result, writer.before, writer.status.conditions)
    writer.condition(*decision.updates)
    best_effort = isinstance(result, KubernetesFailed)
    with contextlib.suppress(KubernetesError) if best_effort else contextlib.nullcontext():
        if write:
            await writer.flush()
        if decision.event is not None:
            await writer.event(*decision.event)
    return decision
