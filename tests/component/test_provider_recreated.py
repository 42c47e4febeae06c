"""A TwilioProvider deleted and made again under the same name starts from nothing the process kept
of the first one (handlers/state.py: OperatorState.forget).

The agent-table ConfigMap is owned by the provider, so the garbage collector deletes it with the
provider. The second provider's table is the same as the first's (the same numbers, the same agents):
a digest of "what was applied last" that outlived the first provider would call it unchanged and
never write the ConfigMap again.

The handlers run as kopf runs them for a deletion: the finalizer (against the emulator), then the
watch's DELETED event, with kopf's indexes filled by the operator's own index functions.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import kopf

from twilio_operator.api.models import PROVIDER
from twilio_operator.handlers import provider as provider_handlers
from twilio_operator.handlers.state import ObjectKey, OperatorState
from twilio_operator.provider.resource import Provider
from twilio_operator.settings import Settings

from .conftest import NAMESPACE, World, make_provider
from .kopf_indexes import kopf_indexes

NUMBER_NAME = "support-line"
LOG = logging.getLogger(__name__)


def body_of(provider: Provider, **metadata: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": provider.namespace,
            "name": provider.name,
            "uid": provider.uid,
            "generation": provider.generation,
            **metadata,
        },
        "spec": provider.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
        "status": provider.status.model_dump(by_alias=True, exclude_none=True, mode="json"),
    }


def number_body(provider: str) -> dict[str, Any]:
    """An attached TwilioPhoneNumber with an agent: one row of the agent table."""
    return {
        "metadata": {"namespace": NAMESPACE, "name": NUMBER_NAME, "uid": "number-uid"},
        "spec": {
            "providerRef": {"name": provider},
            "phoneNumber": "+15005550006",
            "agentRef": {"name": "support"},
        },
        "status": {
            "phoneNumber": "+15005550006",
            "sid": "PN" + "0" * 32,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Attached", "message": ""}],
        },
    }


async def watch_event(memo: kopf.Memo, event_type: str, body: dict[str, Any], *, exists: bool) -> None:
    """What kopf does with one watch event of the provider: its event handler, with the indexes as
    they are once the event is indexed (a deleted provider is no longer in them)."""
    indexes = await kopf_indexes([body] if exists else [], [number_body(body["metadata"]["name"])])
    await provider_handlers.provider_changed(type=event_type, body=body, memo=memo, logger=LOG, **indexes)


async def test_a_provider_made_again_under_its_name_gets_its_agent_table_back(world: World) -> None:
    state = OperatorState(world.deps, Settings())
    memo = kopf.Memo(state=state)
    config_map = (NAMESPACE, f"{world.provider.name}-agents")
    number = ObjectKey.phone_number(NAMESPACE, NUMBER_NAME)
    assert (await world.reconcile()).ready
    first = world.provider
    await watch_event(memo, "ADDED", body_of(first), exists=True)
    assert world.kube.config_maps[config_map]["owner"] == first.uid

    # Deleted: kopf runs the finalizer, the garbage collector removes the ConfigMap the provider
    # owned, then the watch says DELETED, which wakes the provider's numbers.
    deleting = body_of(first, deletionTimestamp="2024-01-01T00:00:00Z")
    await provider_handlers.finalize(body=deleting, memo=memo, logger=LOG)
    del world.kube.config_maps[config_map]
    del world.kube.statuses[(PROVIDER.plural, NAMESPACE, first.name)]  # gone with the object
    state.wakeups[number] = asyncio.Event()  # the number's daemon
    await watch_event(memo, "DELETED", deleting, exists=False)
    assert state.wakeups[number].is_set(), "the numbers of a deleted provider were not woken"
    assert first.uid not in state.agent_tables and first.uid not in state.provider_states

    world.provider = replace(make_provider(first.spec.account_sid, first.name), spec=first.spec)
    assert (await world.reconcile()).ready
    second = world.provider
    await watch_event(memo, "ADDED", body_of(second), exists=True)
    assert config_map in world.kube.config_maps, "the recreated provider's agent table was not written"
    assert world.kube.config_maps[config_map]["owner"] == second.uid != first.uid
    assert world.kube.writes.count(f"apply configmap {config_map[1]}") == 2
    assert set(state.provider_states) == set(state.agent_tables) == {second.uid}
