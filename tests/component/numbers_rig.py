"""A TwilioPhoneNumber driven by hand against the emulator and FakeKube, as the handlers drive it:
each reconcile's status is carried into the next one, like the API server would."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection
from typing import Any

from twilio_operator.api.models import PHONE_NUMBER, TwilioPhoneNumberStatus
from twilio_operator.deletion import finalize_number
from twilio_operator.phone_number.emergency import AddressView
from twilio_operator.phone_number.lifecycle import Lifecycle
from twilio_operator.phone_number.reconcile import NumberOutcome, PhoneNumber, ProviderView, reconcile_number

from .conftest import NAMESPACE, World

BUY = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/IncomingPhoneNumbers\.json"


class NumberRig:
    def __init__(self, world: World, name: str = "line", **spec: Any) -> None:
        self.world = world
        self.name = name
        self.uid = str(uuid.uuid4())
        self.generation = 1
        self.spec: dict[str, Any] = {"providerRef": {"name": "acme"}, **spec}
        self.status: dict[str, Any] = {}

    def body(self) -> dict[str, Any]:
        return {
            "metadata": {
                "namespace": NAMESPACE,
                "name": self.name,
                "uid": self.uid,
                "generation": self.generation,
                "creationTimestamp": "2026-12-01T00:00:00Z",
            },
            "spec": copy.deepcopy(self.spec),
            "status": copy.deepcopy(self.status),
        }

    def number(self) -> PhoneNumber:
        return PhoneNumber.from_body(self.body())

    def provider(self) -> ProviderView:
        w = self.world
        return ProviderView("acme", w.provider.uid, w.provider.spec, w.provider.status)

    def change(self, **spec: Any) -> None:
        self.spec.update(spec)
        self.generation += 1

    async def reconcile(self, address: AddressView | None = None, retry: float = 60.0) -> NumberOutcome:
        lifecycle = Lifecycle(purchase_retry=retry, emergency_address=address)
        try:
            return await reconcile_number(self.number(), self.provider(), [], self.world.deps, [], lifecycle)
        finally:
            written = self.world.kube.statuses.get((PHONE_NUMBER.plural, NAMESPACE, self.name))
            if written is not None:
                self.status = copy.deepcopy(written)

    async def delete(self, others: Collection[str] = ()) -> str:
        return await finalize_number(self.number(), self.provider(), self.world.deps, others)

    @property
    def parsed(self) -> TwilioPhoneNumberStatus:
        return TwilioPhoneNumberStatus.model_validate(self.status)

    def ready(self) -> tuple[str, str, str]:
        found = next(c for c in self.parsed.conditions if c.type == "Ready")
        return found.status, found.reason, found.message

    def events(self, reason: str) -> list[str]:
        return [m for name, _, r, m in self.world.kube.events if name == self.name and r == reason]


def numbers_in_account(world: World) -> dict[str, dict[str, Any]]:
    return {n["phone_number"]: n for n in world.account.state()["incoming_phone_numbers"]}


def purchases(world: World, since: int) -> list[dict[str, Any]]:
    """The purchase requests (POST IncomingPhoneNumbers.json) made since `since`."""
    import re

    return [
        r
        for r in world.emulator.requests(since=since)
        if r["method"] == "POST" and re.fullmatch(BUY, r["path"])
    ]


def searches(world: World, since: int) -> list[dict[str, Any]]:
    return [r for r in world.emulator.requests(since=since) if "AvailablePhoneNumbers" in r["path"]]


def wait_for_the_hung_answer(world: World, since: int, path: str) -> None:
    """A `commit_then_hang` request is logged only when its answer is finally sent: wait for that, so
    that it is not logged into the next test's request log (which counts writes)."""
    import re
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(
            r["method"] == "POST" and re.fullmatch(path, r["path"])
            for r in world.emulator.requests(since=since)
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"the hung POST {path} was never answered")
