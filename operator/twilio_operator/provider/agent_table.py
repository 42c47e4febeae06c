"""Publishing a provider's number-to-agent table in its ConfigMap (see api/agent_table.py).

Only the Kubernetes API is involved, never Twilio: the table is derived from the TwilioPhoneNumber
objects (their spec.agentRef and their status), so it is rebuilt whenever one of them or the
provider changes, and written only when it differs from what was applied last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api.agent_table import AgentEntry, render_table, table_context, template_problems
from twilio_operator.api.conditions import ConditionUpdate
from twilio_operator.api.models import PROVIDER, TwilioProviderSpec, TwilioProviderStatus
from twilio_operator.api.objects import ObjectRef
from twilio_operator.ports.kube.port import KubernetesPort


@dataclass
class Published:
    """What was applied last per ConfigMap, and its template problems (to post each Event once)."""

    digests: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: dict[tuple[str, str], str] = field(default_factory=dict)
    values: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # no secrets in here
    # ConfigMaps proven the provider's (by uid), and those refused with the reason, so each is probed once
    owned: set[tuple[str, str, str]] = field(default_factory=set)
    refused: dict[tuple[str, str, str], str] = field(default_factory=dict)


def config_map_name(provider_name: str, spec: TwilioProviderSpec) -> str:
    configured = spec.agent_table.config_map_name if spec.agent_table else None
    return configured or f"{provider_name}-agents"


async def publish_agent_table(
    kube: KubernetesPort,
    provider: Mapping[str, Any],
    entries: Iterable[AgentEntry],
    published: Published,
) -> str:
    """Apply the ConfigMap of one provider (a body with metadata, spec and status); returns what was
    done, for the log. A template key that fails keeps the value it had, like the SIP Secret's."""
    meta, status = provider.get("metadata") or {}, provider.get("status") or {}
    spec = TwilioProviderSpec.model_validate(provider.get("spec") or {})
    namespace, name = str(meta["namespace"]), str(meta["name"])
    key = (namespace, config_map_name(name, spec))
    template = spec.agent_table.template if spec.agent_table else None
    context = table_context(
        name, namespace, status.get("trunkSid"), status.get("trunkDomainName"), spec.origination_uris
    )
    data, problems = render_table(entries, context, template)
    owner = ObjectRef(PROVIDER, namespace, name, str(meta["uid"]))
    labels = dict(template.labels) if template else {}
    annotations = dict(template.annotations) if template else {}
    if problems:
        # Server-side apply removes keys it is not given: a failing key is given its last value.
        last = published.values.get(key, {})
        data.update({p.key: last[p.key] for p in problems if p.key in last})
    digest = hashlib.sha256(json.dumps([data, labels, annotations], sort_keys=True).encode()).hexdigest()
    message = "; ".join(p.message for p in problems)
    if message and published.problems.get(key) != message:
        await kube.post_event(owner, "Warning", c.TEMPLATE_INVALID, f"ConfigMap {key[1]}: {message}")
    published.problems[key] = message
    if published.digests.get(key) == digest:
        return f"ConfigMap {key[1]} unchanged"
    if key not in published.digests and _recorded(status) == (key[1], digest):
        # A restarted operator: this provider's status says the same table was applied (the
        # ConfigMap was the provider's then), so nothing is written, nor probed.
        _remember(published, key, digest, data, owner.uid)
        return f"ConfigMap {key[1]} unchanged since the status recorded it"
    refusal = await _refusal(kube, owner, key[1], published)
    if refusal is not None:
        return refusal
    await kube.apply_config_map(namespace, key[1], data, labels, annotations, owner)
    _remember(published, key, digest, data, owner.uid)
    record = {"agentTable": {"configMap": key[1], "digest": digest}}
    await kube.patch_status(PROVIDER, namespace, name, record)
    return f"applied ConfigMap {key[1]}"


def _recorded(status: Mapping[str, Any]) -> tuple[str | None, str | None]:
    recorded = status.get("agentTable") or {}
    return recorded.get("configMap"), recorded.get("digest")


def _remember(
    published: Published, key: tuple[str, str], digest: str, data: dict[str, str], owner_uid: str
) -> None:
    published.digests[key] = digest
    published.values[key] = dict(data)
    published.owned.add((*key, owner_uid))


async def _refusal(kube: KubernetesPort, owner: ObjectRef, name: str, published: Published) -> str | None:
    """Why the ConfigMap `name` is not written, or None: an existing ConfigMap is written only if the
    provider owns it (created by it), never taken over by its name alone. Probed once per process."""
    key = (owner.namespace, name, owner.uid)
    if key in published.owned:
        return None
    if key not in published.refused:
        if await kube.config_map_owned_by(owner.namespace, name, owner.uid) is False:
            message = (
                f"ConfigMap {name} exists and was not created by twilio-operator for TwilioProvider "
                f"{owner.name}: the agent table is not written to it. Choose another "
                "spec.agentTable.configMapName, or delete that ConfigMap to let the operator create it"
            )
            published.refused[key] = message
            await kube.post_event(owner, "Warning", c.CONFIG_MAP_NOT_OWNED, message)
            return message
        published.owned.add(key)
        return None
    return published.refused[key]


def agent_table_condition(
    name: str, namespace: str, spec: TwilioProviderSpec, status: TwilioProviderStatus
) -> ConditionUpdate | None:
    """AgentTableRendered, when the agent table has a template: False names each failing key.

    Checked in the provider's reconcile against a sample number, so that a broken template shows in
    Ready like a broken template of the SIP Secret; the ConfigMap itself is published on changes of
    the numbers (handlers/agent_table.py), where a failure that depends on the numbers is an Event."""
    template = spec.agent_table.template if spec.agent_table else None
    if template is None or not template.data:
        # A condition once shown stays, true: a template removed is no longer broken.
        had = c.find(status.conditions, c.AGENT_TABLE_RENDERED) is not None
        return ConditionUpdate(c.AGENT_TABLE_RENDERED, "True", c.RENDERED, "no template") if had else None
    context = table_context(
        name, namespace, status.trunk_sid, status.trunk_domain_name, spec.origination_uris
    )
    problems = template_problems(template, context)
    if problems:
        message = f"agent table ConfigMap {config_map_name(name, spec)}: " + "; ".join(
            p.message for p in problems
        )
        return ConditionUpdate(c.AGENT_TABLE_RENDERED, "False", c.TEMPLATE_INVALID, message)
    return ConditionUpdate(c.AGENT_TABLE_RENDERED, "True", c.RENDERED, "the agent table template renders")
