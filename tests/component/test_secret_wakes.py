"""Which Secret events wake a provider: a change of the data it uses, not the operator's own
protection of its credentials Secret (which brings the Secret into the label-selected watch)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
import pytest

from twilio_operator.api import names
from twilio_operator.api.credentials import data_digest
from twilio_operator.handlers.indexes import Providers, SecretRef, SecretUse
from twilio_operator.handlers.provider import note_missing_credentials
from twilio_operator.handlers.secrets import CREDENTIALS, secret_changed, stop_secret_watches, watch_secrets
from twilio_operator.handlers.state import ObjectKey, OperatorState
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData, SecretEvent
from twilio_operator.provider.resource import Outcome
from twilio_operator.settings import Settings

from .conftest import CREDENTIALS_SECRET, make_provider
from .conftest import NAMESPACE as WORLD_NAMESPACE
from .fake_kube import FakeKube

NAMESPACE, SECRET = "voice", "twilio-credentials"
DATA = {"authToken": b"not-a-real-token"}
KEY = ObjectKey.provider(NAMESPACE, "acme")


class Index:
    """The providers index as kopf hands it over: key -> the values of that key."""

    def __init__(self, values: dict[Any, list[Any]]) -> None:
        self.values = values

    def get(self, key: Any, default: Any = None) -> Any:
        return self.values.get(key, default)


def protected(data: dict[str, bytes], digest_of: dict[str, bytes] | None = None) -> SecretData:
    digest = data_digest(f"{NAMESPACE}/{SECRET}", digest_of if digest_of is not None else data)
    return SecretData(data=data, annotations={names.CREDENTIALS_DIGEST: digest})


async def woken(event_type: str, secret: SecretData) -> bool:
    state = OperatorState(Deps(twilio=None, kube=FakeKube()), Settings(max_concurrent_reconciles=1))  # type: ignore[arg-type]
    state.queue.plan(KEY, 3600.0)  # the provider is in the due queue, verified an hour from now
    index = Providers(Index({SecretRef(NAMESPACE, SECRET): [SecretUse("acme", "uid-1", CREDENTIALS, ())]}))  # type: ignore[arg-type]
    await secret_changed(state, index, SecretEvent(event_type, NAMESPACE, SECRET, secret))  # type: ignore[arg-type]
    return state.queue.woken(KEY)


@pytest.mark.parametrize("event_type", ["ADDED", "MODIFIED"])
async def test_the_operators_own_protection_wakes_nobody(event_type: str) -> None:
    assert not await woken(event_type, protected(DATA))


@pytest.mark.parametrize("event_type", ["ADDED", "MODIFIED"])
async def test_changed_data_wakes_the_provider(event_type: str) -> None:
    assert await woken(event_type, protected({"authToken": b"rotated-token"}, digest_of=DATA))


async def test_a_deleted_credentials_secret_wakes_the_provider() -> None:
    assert await woken("DELETED", protected(DATA))


async def test_a_secret_made_again_while_the_reconcile_missed_it_is_still_looked_for() -> None:
    """The reconcile found no credentials Secret; by the time it ends, the Secret exists again
    (without the labels the watch selects). The queue's run must look again soon, not in an hour."""
    kube = FakeKube()
    kube.put_secret(WORLD_NAMESPACE, CREDENTIALS_SECRET, {"authToken": "made-again"})
    state = OperatorState(Deps(twilio=None, kube=kube), Settings(max_concurrent_reconciles=1))  # type: ignore[arg-type]
    provider = make_provider("AC" + "0" * 32)
    missed = Outcome(ready=False, blocked=True, message="Secret not found", secret_missing=True)
    assert await note_missing_credentials(provider, missed, state)
    assert ObjectKey.provider(provider.namespace, provider.name) in state.missing_credentials

    # Blocked for another reason with the Secret there (e.g. paused): nothing to look for.
    paused = Outcome(ready=True, blocked=True, message="paused")
    assert not await note_missing_credentials(provider, paused, state)
    assert not state.missing_credentials


async def test_the_secret_watches_live_in_the_state_and_stop_at_cleanup() -> None:
    """The watch tasks are a field of OperatorState, the one thing kept in kopf's memo."""
    state = OperatorState(Deps(twilio=None, kube=FakeKube()), Settings(max_concurrent_reconciles=1))  # type: ignore[arg-type]
    memo = kopf.Memo(state=state)
    indexes = {"providers": Index({}), "livekit_connections": Index({})}
    await watch_secrets(memo=memo, logger=logging.getLogger(__name__), **indexes)
    await asyncio.sleep(0)  # the watches start
    assert set(memo) == {"state"}
    assert len(state.secret_watches) == 2  # one per label selector, cluster-wide
    await stop_secret_watches(memo=memo)
    assert all(task.cancelled() for task in state.secret_watches)
