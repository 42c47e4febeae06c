"""Component tier: the reconcile against the Twilio emulator (real twilio library over HTTP) and an
in-memory Kubernetes port."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import pytest_asyncio

from fixtures.emulator import TwilioAccount
from twilio_operator.api.models import PROVIDER, TwilioProviderSpec, TwilioProviderStatus
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector
from twilio_operator.provider.reconcile import reconcile_provider
from twilio_operator.provider.resource import Outcome, Provider

from .fake_kube import FakeKube

NAMESPACE = "tenant-a"
CREDENTIALS_SECRET = "twilio-credentials"


@dataclass
class World:
    """One provider, the emulator account behind it, and the fake cluster around it."""

    emulator: EmulatorAdmin
    account: TwilioAccount
    kube: FakeKube
    deps: Deps
    provider: Provider

    async def reconcile(self) -> Outcome:
        """Run one reconcile, then carry the status it wrote into the next one, like the API server."""
        try:
            return await reconcile_provider(self.provider, self.deps)
        finally:
            self.refresh()

    def refresh(self) -> None:
        written = self.kube.statuses.get((PROVIDER.plural, NAMESPACE, self.provider.name))
        if written is not None:
            self.provider = replace(self.provider, status=TwilioProviderStatus.model_validate(written))

    def with_spec(self, **changes: Any) -> None:
        spec = self.provider.spec.model_copy(update=changes)
        self.provider = replace(self.provider, spec=spec, generation=self.provider.generation + 1)

    @property
    def status(self) -> TwilioProviderStatus:
        return self.provider.status

    def writes_since(self, seq: int) -> list[dict[str, Any]]:
        return [r for r in self.emulator.requests(since=seq) if r["write"]]

    def last_seq(self) -> int:
        entries = self.emulator.requests()
        return int(entries[-1]["seq"]) if entries else 0


def make_provider(account_sid: str, name: str = "acme", **spec: Any) -> Provider:
    body = {
        "displayName": "Acme Voice",
        "accountSid": account_sid,
        "credentialsSecretRef": {"name": CREDENTIALS_SECRET},
        **spec,
    }
    return Provider(
        namespace=NAMESPACE,
        name=name,
        uid=str(uuid.uuid4()),
        generation=1,
        spec=TwilioProviderSpec.model_validate(body),
        status=TwilioProviderStatus(),
    )


@pytest_asyncio.fixture
async def world(emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> AsyncIterator[World]:
    kube = FakeKube()
    kube.put_secret(NAMESPACE, CREDENTIALS_SECRET, {"authToken": twilio_account.auth_token})
    connector = TwilioLibraryConnector(emulator.base_url, timeout=3.0)
    deps = Deps(twilio=connector, kube=kube)
    try:
        yield World(emulator, twilio_account, kube, deps, make_provider(twilio_account.sid))
    finally:
        await connector.close()


@pytest.fixture
def namespace_name() -> str:
    return NAMESPACE
