"""What the provider's watch-event handler plans in the due queue (handlers/provider.py), in place of
kopf's create, update and resume handler: a generation new to the process runs at once, a resumed
provider with a recent status only at its next verification, the operator's own writes nothing; and
the queue's first run adds the finalizer before anything is made in Twilio."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import kopf
import pytest

from twilio_operator.api import names
from twilio_operator.handlers import provider as provider_handlers
from twilio_operator.handlers.state import ObjectKey, OperatorState
from twilio_operator.ports.deps import Deps
from twilio_operator.settings import Settings

from .conftest import CREDENTIALS_SECRET, NAMESPACE, World
from .fake_kube import FakeKube
from .kopf_indexes import kopf_indexes

LOG = logging.getLogger(__name__)
KEY = ObjectKey.provider(NAMESPACE, "acme")
FINALIZER = "voip.twilio-operator.dev/finalizer"


def provider_body(generation: int = 1, *, verified: bool = False, **metadata: Any) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if verified:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ready = {"type": "Ready", "status": "True", "reason": "Verified", "message": ""}
        status = {
            "observedGeneration": 1,
            "lastVerifiedAt": now,
            "phoneNumberCount": 0,
            "conditions": [{**ready, "lastTransitionTime": now}],
        }
    return {
        "kind": "TwilioProvider",
        "metadata": {
            "namespace": NAMESPACE,
            "name": "acme",
            "uid": "uid-acme",
            "generation": generation,
            "resourceVersion": "7",
            **metadata,
        },
        "spec": {
            "displayName": "Acme Voice",
            "accountSid": "AC" + "0" * 32,
            "credentialsSecretRef": {"name": CREDENTIALS_SECRET},
        },
        "status": status,
    }


def kopf_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    return settings


async def event(state: OperatorState, event_type: str | None, body: dict[str, Any]) -> None:
    indexes = await kopf_indexes([body], [])
    memo = kopf.Memo(state=state)
    await provider_handlers.provider_changed(type=event_type, body=body, memo=memo, logger=LOG, **indexes)


@pytest.fixture
def state() -> OperatorState:
    return OperatorState(Deps(twilio=None, kube=FakeKube()), Settings(), kopf_settings=kopf_settings())  # type: ignore[arg-type]


async def test_a_new_provider_is_planned_at_once_and_its_own_status_writes_plan_nothing(
    state: OperatorState,
) -> None:
    await event(state, "ADDED", provider_body())
    assert (state.queue.due_in(KEY) or 1) <= 0
    state.queue.forget(KEY)
    await event(state, "MODIFIED", provider_body(verified=True))  # the reconcile's own status write
    assert KEY not in state.queue
    await event(state, "MODIFIED", provider_body(generation=2, verified=True))  # the spec changed
    assert (state.queue.due_in(KEY) or 1) <= 0


async def test_a_resumed_provider_with_a_recent_status_waits_for_its_next_verification(
    state: OperatorState, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await event(state, None, provider_body(verified=True))
    due = state.queue.due_in(KEY)
    assert due is not None and 0.8 * 3600 < due <= 1.1 * 3600  # its interval (1h), jittered
    assert "TwilioProvider resumed" in caplog.text


async def test_a_resumed_provider_whose_status_is_for_an_older_generation_is_reconciled_at_once(
    state: OperatorState,
) -> None:
    await event(state, None, provider_body(generation=2, verified=True))
    assert (state.queue.due_in(KEY) or 1) <= 0


async def test_a_resumed_provider_asked_to_rotate_runs_at_once(state: OperatorState) -> None:
    body = provider_body(verified=True, annotations={names.ROTATE_SIP_CREDENTIALS: "now"})
    await event(state, None, body)
    assert (state.queue.due_in(KEY) or 1) <= 0


async def test_a_deleting_provider_is_left_to_its_finalizer(state: OperatorState) -> None:
    await event(state, "MODIFIED", provider_body(deletionTimestamp="2024-01-01T00:00:00Z"))
    assert KEY not in state.queue


async def test_an_invalid_spec_is_said_once_per_generation_and_planned_never(
    state: OperatorState, caplog: pytest.LogCaptureFixture
) -> None:
    body = provider_body()
    body["spec"]["accountSid"] = "not a sid"
    for _ in range(2):
        await event(state, "MODIFIED", body)
    assert KEY not in state.queue
    said = [r for r in caplog.records if "its spec is invalid" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR


def test_kopf_runs_the_delete_handler_only_on_a_provider_that_holds_the_finalizer(
    state: OperatorState,
) -> None:
    memo = kopf.Memo(state=state)
    assert provider_handlers.holds_finalizer(meta={"finalizers": ["other", FINALIZER]}, memo=memo)
    assert not provider_handlers.holds_finalizer(meta={"finalizers": ["other"]}, memo=memo)
    assert not provider_handlers.holds_finalizer(meta={}, memo=memo)


async def test_the_first_run_adds_the_finalizer_before_anything_is_made_in_twilio(world: World) -> None:
    state = OperatorState(world.deps, Settings(), kopf_settings=kopf_settings())
    body = provider_body()
    body["spec"]["accountSid"] = world.account.sid
    body["metadata"]["finalizers"] = ["someone.else/keep"]
    world.kube.objects[("twilioproviders", NAMESPACE)] = [body]
    state.kopf_indexes = await kopf_indexes([body], [])
    seq = max((int(r["seq"]) for r in world.emulator.requests()), default=0)
    twilio_calls_at_the_finalizer: list[int] = []
    add_finalizer = world.kube.add_finalizer

    async def recorded(*args: Any, **kwargs: Any) -> None:
        twilio_calls_at_the_finalizer.append(len(world.emulator.requests(since=seq)))
        await add_finalizer(*args, **kwargs)

    world.kube.add_finalizer = recorded  # type: ignore[method-assign]
    delay = await provider_handlers.run_due(state, KEY)
    assert twilio_calls_at_the_finalizer == [0]
    assert body["metadata"]["finalizers"] == ["someone.else/keep", FINALIZER]  # the others' kept
    assert world.emulator.requests(since=seq), "the run reconciled after the finalizer"
    assert delay is not None and delay > 0
