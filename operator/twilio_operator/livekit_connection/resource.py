"""The LiveKitConnection as a reconcile sees it, its provider as the connection sees it, the numbers it
serves, and how a reconcile ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.livekit_values import MediaEncryption, Transport
from twilio_operator.api.models import (
    LIVEKIT_CONNECTION,
    LiveKitConnectionSpec,
    LiveKitConnectionStatus,
    TwilioProviderSpec,
    TwilioProviderStatus,
)
from twilio_operator.api.objects import ObjectRef, identity


@dataclass(frozen=True)
class Connection:
    """What a reconcile needs of a LiveKitConnection object."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: LiveKitConnectionSpec
    status: LiveKitConnectionStatus
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(LIVEKIT_CONNECTION, self.namespace, self.name, self.uid)

    @property
    def provider_name(self) -> str:
        return self.spec.provider_ref.name

    @property
    def transport(self) -> Transport:
        return Transport(self.spec.outbound.transport if self.spec.outbound else "auto")

    @property
    def media_encryption(self) -> MediaEncryption:
        return MediaEncryption(self.spec.media_encryption)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Connection:
        return cls(
            **identity(body),
            spec=LiveKitConnectionSpec.model_validate(body.get("spec") or {}),
            status=LiveKitConnectionStatus.model_validate(body.get("status") or {}),
        )


@dataclass(frozen=True)
class ProviderSide:
    """The TwilioProvider as its connections see it (from the operator's index: no API read)."""

    name: str
    uid: str
    spec: TwilioProviderSpec
    status: TwilioProviderStatus
    deleting: bool = False

    @property
    def ready(self) -> bool:
        return c.ReadyState.of(self.status).is_true

    @property
    def termination_address(self) -> str | None:
        """Where LiveKit's outbound trunk dials: the termination URI's host (the region's edge, if any)."""
        uri = self.status.termination_uri
        return uri.removeprefix("sip:") if uri else None

    @property
    def sip_secret_name(self) -> str:
        return names.sip_secret_name(self.name, self.spec.sip_credentials_secret_name)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ProviderSide:
        meta = body.get("metadata") or {}
        return cls(
            name=meta["name"],
            uid=meta["uid"],
            spec=TwilioProviderSpec.model_validate(body.get("spec") or {}),
            status=TwilioProviderStatus.model_validate(body.get("status") or {}),
            deleting=bool(meta.get("deletionTimestamp")),
        )


@dataclass(frozen=True, order=True)
class Number:
    """One imported number of the provider: on its trunk (its TwilioPhoneNumber is Ready)."""

    phone_number: str  # E.164 as Twilio sends it in the Request-URI
    object: str  # the TwilioPhoneNumber's name
    agent: str | None = None  # agentRef.name


@dataclass(frozen=True)
class Outcome:
    """How a connection's reconcile ended. `conflict`: another trunk or rule holds some of the numbers
    (the handlers look again after a growing delay while it stands)."""

    ready: bool
    reason: str
    message: str
    conflict: bool = False
    outbound_username: str | None = None
