"""kopf glue for the number-to-agent table: any change of a TwilioPhoneNumber (attached, agent
changed, deleted) or of its provider re-publishes that provider's ConfigMap. Two in-memory indexes
(`agent_entries` here, `providers` in indexes.py) hold what the table is built from, so
a change costs no API-server read and no Twilio call. What was published last, and the lock that
keeps two publications of one provider apart, are the provider's `AgentTable` in the OperatorState
(by uid: a provider made again under the same name publishes its table anew)."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from twilio_operator.api.agent_table import AgentEntry, entry_of
from twilio_operator.api.errors import KubernetesError, describe
from twilio_operator.api.models import GROUP, PHONE_NUMBER, VERSION
from twilio_operator.handlers.indexes import Indexes, ProviderRef
from twilio_operator.handlers.runtime import SHARD
from twilio_operator.handlers.state import state_of
from twilio_operator.provider.agent_table import publish_agent_table

NUMBERS = (GROUP, VERSION, PHONE_NUMBER.plural)
log = logging.getLogger(__name__)


@kopf.index(*NUMBERS, id="agent_entries", **SHARD)
async def agent_entries(namespace: str | None, body: kopf.Body, **_: Any) -> dict[ProviderRef, AgentEntry]:
    """The provider -> the table entry of each attached number that names an agent."""
    entry = entry_of(dict(body))
    provider = ((body.get("spec") or {}).get("providerRef") or {}).get("name")
    return {ProviderRef(namespace, provider): entry} if entry is not None else {}


@kopf.on.event(*NUMBERS, id="agent_table_number_changed", **SHARD)
async def number_changed(namespace: str | None, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    provider = ((body.get("spec") or {}).get("providerRef") or {}).get("name")
    await _publish(ProviderRef(namespace, provider), memo, kwargs)


async def provider_changed(
    type: str | None, namespace: str | None, name: str | None, memo: kopf.Memo, indexes: dict[str, Any]
) -> None:
    """Called by the provider's own watch-event handler (handlers/provider.py): one handler per
    event instead of two."""
    if type == "DELETED":  # the ConfigMap is owned by the provider: garbage collection removes it
        return
    await _publish(ProviderRef(namespace, name), memo, indexes)


async def _publish(key: ProviderRef, memo: kopf.Memo, kwargs: dict[str, Any]) -> None:
    indexes = Indexes.of(kwargs)
    found = indexes.providers.body(key.namespace, key.name)
    if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
        return
    if not (found.get("status") or {}).get("trunkSid"):
        # Published once the provider has a trunk: before that no number can be on it, and the
        # provider's first events (the create, kopf's finalizer) reach the reconcile sooner.
        return
    state = state_of(memo)
    table = state.agent_table(str(found["metadata"]["uid"]))
    async with table.lock:
        try:
            done = await publish_agent_table(
                state.deps.kube, found, indexes.agent_entries_of(key.namespace, key.name), table.published
            )
        except KubernetesError as error:
            # The next change of a number or of the provider (at least its hourly status write) retries.
            log.warning(
                "cannot publish the agent table of %s/%s: %s", key.namespace, key.name, describe(error)
            )
            return
    log.debug("agent table of %s/%s: %s", key.namespace, key.name, done)
