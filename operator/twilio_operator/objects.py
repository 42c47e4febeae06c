"""What a TwilioProvider reconcile works on: the object, its dependencies, the status it writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twilio_operator import conditions as c
from twilio_operator import metrics, plan
from twilio_operator.conditions import ConditionUpdate, merge_conditions
from twilio_operator.k8s_gateway import KubernetesPort, ObjectRef
from twilio_operator.models import TwilioProviderSpec, TwilioProviderStatus, dump
from twilio_operator.twilio_gateway import TwilioConnector

PLURAL = "twilioproviders"
PHONE_NUMBERS_PLURAL = "twiliophonenumbers"


@dataclass(frozen=True)
class Provider:
    """What a reconcile needs of a TwilioProvider object."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: TwilioProviderSpec
    status: TwilioProviderStatus
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("TwilioProvider", self.namespace, self.name, self.uid)

    @property
    def sip_secret_name(self) -> str:
        return plan.sip_secret_name(self.name, self.spec.sip_credentials_secret_name)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Provider:
        return cls(
            **identity(body),
            spec=TwilioProviderSpec.model_validate(body.get("spec") or {}),
            status=TwilioProviderStatus.model_validate(body.get("status") or {}),
        )


def identity(body: dict[str, Any]) -> dict[str, Any]:
    """The metadata every reconciled object carries: namespace, name, uid, generation, annotations."""
    meta = body["metadata"]
    return {
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "generation": int(meta.get("generation") or 0),
        "annotations": dict(meta.get("annotations") or {}),
    }


@dataclass
class Deps:
    """The ports a reconcile works through, plus what it needs to be deterministic in tests."""

    twilio: TwilioConnector
    kube: KubernetesPort
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    new_password: Callable[[], str] = plan.generate_password


@dataclass(frozen=True)
class Outcome:
    """How a reconcile ended. `blocked` means waiting on the user (a Secret), not on Twilio."""

    ready: bool
    blocked: bool = False
    message: str = ""
    detached_numbers: tuple[str, ...] = ()  # TwilioPhoneNumber objects whose number left the trunk


class StatusWriter:
    """Accumulates status changes; writes them at once when a SID must not be lost."""

    def __init__(self, provider: Provider, deps: Deps) -> None:
        self._provider = provider
        self._deps = deps
        self.status = provider.status
        self.now = deps.clock()
        # While a provider is provisioned for the first time, the Normal events of each step are
        # folded into the one Provisioned event: one API write instead of five per new provider.
        self.folding = provider.status.trunk_sid is None
        self.folded: list[str] = []
        # SIDs of resources this reconcile created: known to be empty, so nobody has to list them
        # (one Twilio round trip less on the critical path of a create).
        self.created_now: set[str] = set()

    def set(self, **fields: Any) -> None:
        self.status = self.status.model_copy(update=fields)

    def condition(self, *updates: ConditionUpdate) -> None:
        merged = merge_conditions(self.status.conditions, updates, self._provider.generation, self.now)
        self.set(conditions=merged)

    async def flush(self) -> None:
        p = self._provider
        await self._deps.kube.patch_status(PLURAL, p.namespace, p.name, dump(self.status))
        metrics.STATES.record(p.uid, p.namespace, p.name, provider_health(self.status))

    async def event(self, type_: str, reason: str, message: str) -> None:
        if self.folding and type_ == "Normal":
            self.folded.append(message)
            return
        await self._deps.kube.post_event(self._provider.ref, type_, reason, message)

    async def unfold(self, reason: str, summary: str = "") -> None:
        """Post the folded steps: in `reason`'s event after `summary`, or each on its own if none."""
        folded, self.folded, self.folding = self.folded, [], False
        if summary:
            await self.event("Normal", reason, "; ".join([summary, *folded]))
            return
        for message in folded:
            await self.event("Normal", reason, message)


def provider_health(status: TwilioProviderStatus) -> metrics.ObjectHealth:
    ready = c.find(status.conditions, c.READY)
    verified = status.verification_status in ("verified", "warning") and status.last_verified_at
    return metrics.ObjectHealth(
        kind="TwilioProvider",
        ready=ready is not None and ready.status == "True",
        verification_status=status.verification_status,
        last_verified=_unix(status.last_verified_at) if verified and status.last_verified_at else None,
    )


def _unix(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
