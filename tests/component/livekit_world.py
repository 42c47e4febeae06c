"""The component world of a LiveKitConnection: a provider reconciled against the emulator (conftest's
World), a real livekit-server with its Redis (tests/fixtures/livekit.py), and the fake cluster that
holds the connection's API Secret, the provider's SIP Secret and the TwilioPhoneNumber objects."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from twilio_operator.api.livekit import Connected, LiveKitLinks
from twilio_operator.api.livekit_values import LiveKitServer as LiveKitAddress
from twilio_operator.api.models import (
    LIVEKIT_CONNECTION,
    PHONE_NUMBER,
    LiveKitConnectionSpec,
    LiveKitConnectionStatus,
)
from twilio_operator.livekit_connection.reconcile import reconcile_connection
from twilio_operator.livekit_connection.resource import Connection, Outcome, ProviderSide
from twilio_operator.livekit_connection.teardown import Teardown, finalize_connection
from twilio_operator.ports.livekit.adapter import LiveKitLibraryConnector
from twilio_operator.ports.livekit.port import LiveKitPort
from twilio_operator.provider.reconcile import reconcile_provider
from twilio_operator.provider.resource import Outcome as ProviderOutcome
from twilio_operator.testing.livekit import LiveKitServer

from .conftest import NAMESPACE, World

API_SECRET = "livekit-api"
SIP_URI = "sip:agents.sip.example.test;transport=tcp"
WRITES = (
    "CreateSIPInboundTrunk",
    "UpdateSIPInboundTrunk",
    "CreateSIPOutboundTrunk",
    "UpdateSIPOutboundTrunk",
    "DeleteSIPTrunk",
    "CreateSIPDispatchRule",
    "UpdateSIPDispatchRule",
    "DeleteSIPDispatchRule",
)
Counts = dict[tuple[str, str], int]


def make_connection(name: str = "agents", **spec: Any) -> Connection:
    body = {
        "providerRef": {"name": "acme"},
        "url": "http://127.0.0.1:1",  # replaced by the world with the test server's
        "apiSecretRef": {"name": API_SECRET},
        "sipUri": SIP_URI,
        **spec,
    }
    return Connection(
        namespace=NAMESPACE,
        name=name,
        uid=str(uuid.uuid4()),
        generation=1,
        spec=LiveKitConnectionSpec.model_validate(body),
        status=LiveKitConnectionStatus(),
    )


@dataclass
class LiveKitWorld:
    """One provider, one connection, the numbers, and LiveKit seen directly through `port`."""

    twilio: World
    livekit: LiveKitServer
    connector: LiveKitLibraryConnector
    port: LiveKitPort
    connection: Connection

    # ---- the provider side

    def links(self) -> LiveKitLinks:
        username = (
            self.connection.status.outbound_trunk.username if self.connection.status.outbound_trunk else None
        )
        return LiveKitLinks((Connected(self.connection.name, self.connection.spec.sip_uri, username),))

    async def reconcile_provider(self) -> ProviderOutcome:
        try:
            return await reconcile_provider(self.twilio.provider, self.twilio.deps, livekit=self.links())
        finally:
            self.twilio.refresh()

    def provider_side(self) -> ProviderSide:
        p = self.twilio.provider
        return ProviderSide(name=p.name, uid=p.uid, spec=p.spec, status=p.status)

    def add_number(self, phone: str, name: str, agent: str | None = None, *, ready: bool = True) -> None:
        """A TwilioPhoneNumber of the provider, as its own reconcile leaves it once attached."""
        objects = self.twilio.kube.objects.setdefault((PHONE_NUMBER.plural, NAMESPACE), [])
        objects[:] = [o for o in objects if o["metadata"]["name"] != name]
        spec: dict[str, Any] = {"providerRef": {"name": "acme"}, "phoneNumber": phone}
        if agent:
            spec["agentRef"] = {"name": agent}
        status = {
            "phoneNumber": phone,
            "sid": "PN" + uuid.uuid4().hex,
            "trunkSid": self.twilio.status.trunk_sid,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "Attached" if ready else "Conflict",
                    "message": "",
                    "lastTransitionTime": "2026-12-07T00:00:00Z",
                }
            ],
        }
        objects.append({"metadata": {"name": name, "uid": str(uuid.uuid4())}, "spec": spec, "status": status})

    def remove_number(self, name: str) -> None:
        objects = self.twilio.kube.objects.setdefault((PHONE_NUMBER.plural, NAMESPACE), [])
        objects[:] = [o for o in objects if o["metadata"]["name"] != name]

    # ---- the connection

    async def reconcile(self, provider: ProviderSide | bool | None = True) -> Outcome:
        """One reconcile of the connection, its status carried into the next like the API server does.
        `provider`: True for the world's provider as it is now, None for a missing one."""
        side = self.provider_side() if provider is True else provider or None
        try:
            return await reconcile_connection(self.connection, side, self.twilio.deps)
        finally:
            self.refresh()

    async def finalize(self) -> Teardown:
        return await finalize_connection(self.connection, self.twilio.deps)

    def refresh(self) -> None:
        written = self.twilio.kube.statuses.get((LIVEKIT_CONNECTION.plural, NAMESPACE, self.connection.name))
        if written is not None:
            self.connection = replace(self.connection, status=LiveKitConnectionStatus.model_validate(written))

    def with_spec(self, **changes: Any) -> None:
        spec = self.connection.spec.model_copy(update=changes)
        self.connection = replace(self.connection, spec=spec, generation=self.connection.generation + 1)

    @property
    def status(self) -> LiveKitConnectionStatus:
        return self.connection.status

    def condition(self, type_: str = "Ready") -> tuple[str, str, str]:
        found = next(c for c in self.status.conditions if c.type == type_)
        return found.status, found.reason, found.message

    def events(self) -> list[tuple[str, str, str]]:
        return [
            (kind, reason, message)
            for name, kind, reason, message in self.twilio.kube.events
            if name == self.connection.name
        ]

    def sip_secret(self) -> dict[str, str]:
        return self.twilio.kube.secret_text(NAMESPACE, "acme-sip-credentials")

    def authenticates(self, username: str, password: str) -> bool:
        """Would Twilio accept this pair on the provider's trunk (the emulator's check)."""
        return self.twilio.emulator.sip_auth(self.twilio.status.trunk_domain_name or "", username, password)

    # ---- counting LiveKit's requests (it counts them itself, just after answering)

    def counts(self) -> Counts:
        return self.livekit.request_counts()

    def writes_since(self, before: Counts, settle: float = 0.3) -> Counts:
        time.sleep(settle)
        after = self.counts()
        return {k: n - before.get(k, 0) for k, n in after.items() if k[0] in WRITES and n != before.get(k, 0)}


def address_of(
    livekit: LiveKitServer, api_key: str | None = None, api_secret: str | None = None
) -> LiveKitAddress:
    return LiveKitAddress(livekit.url, api_key or livekit.api_key, api_secret or livekit.api_secret)
