"""The TwilioProvider as a reconcile sees it, and how a reconcile ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twilio_operator.api import names
from twilio_operator.api.models import PROVIDER, TwilioProviderSpec, TwilioProviderStatus
from twilio_operator.api.objects import ObjectRef, identity
from twilio_operator.api.regions import ResolvedRegion


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
    created: str = ""  # metadata.creationTimestamp

    @property
    def region(self) -> ResolvedRegion:
        return ResolvedRegion.of(self.spec.region)

    @property
    def adopted_from(self) -> str | None:
        return self.annotations.get(names.ADOPT_FROM) or None

    @property
    def adopts_trunk(self) -> bool:
        return self.spec.trunk_sid is not None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(PROVIDER, self.namespace, self.name, self.uid)

    @property
    def paused(self) -> bool:
        return self.annotations.get(names.PAUSED_ANNOTATION, "").lower() == "true"

    @property
    def sip_secret_name(self) -> str:
        return names.sip_secret_name(self.name, self.spec.sip_credentials_secret_name)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Provider:
        return cls(
            **identity(body),
            created=str(body["metadata"].get("creationTimestamp") or ""),
            spec=TwilioProviderSpec.model_validate(body.get("spec") or {}),
            status=TwilioProviderStatus.model_validate(body.get("status") or {}),
        )


@dataclass(frozen=True)
class Outcome:
    """How a reconcile ended. `blocked` means waiting on the user (a Secret), not on Twilio."""

    ready: bool
    blocked: bool = False
    message: str = ""
    detached_numbers: tuple[str, ...] = ()  # TwilioPhoneNumber objects whose number left the trunk
    found_numbers: tuple[str, ...] = ()  # NotFound TwilioPhoneNumber objects whose number now exists
    next_step_in: float | None = None  # seconds until a SIP credential rotation step is due
    secret_missing: bool = False  # blocked because the credentials Secret was not found
