"""What a reconcile works through: the ports (Twilio, Kubernetes, LiveKit), plus the clock and the
password source that tests make deterministic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from twilio_operator.api.credentials import generate_password
from twilio_operator.api.names import IN_USE_FINALIZER
from twilio_operator.ports.kube.port import KubernetesPort
from twilio_operator.ports.livekit.port import LiveKitConnector
from twilio_operator.ports.twilio.port import TwilioConnector


@dataclass
class Deps:
    twilio: TwilioConnector
    kube: KubernetesPort
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    new_password: Callable[[], str] = generate_password
    # The in-use finalizer this process puts on credentials Secrets (one per shard, like its own).
    in_use_finalizer: str = IN_USE_FINALIZER
    # LiveKit's SIP API, for LiveKitConnections (None where nothing reconciles one).
    livekit: LiveKitConnector | None = None
