"""Publishing the agent table through the Kubernetes port: applied only when it changes, owned by the
provider, and a broken template key keeps its last value with one Warning Event per new problem."""

from __future__ import annotations

import json
from typing import Any

from twilio_operator.api.agent_table import AgentEntry
from twilio_operator.ports.deps import Deps
from twilio_operator.provider.agent_table import Published, publish_agent_table
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter

from .fake_kube import FakeKube

ENTRY = AgentEntry("+15005550006", "PN" + "0" * 32, "support-agent", "", "support")


def provider(template: dict[str, str] | None = None, **table: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "displayName": "Acme",
        "accountSid": "AC" + "0" * 32,
        "credentialsSecretRef": {"name": "creds"},
    }
    if template is not None or table:
        spec["agentTable"] = {**table, **({"template": {"data": template}} if template is not None else {})}
    return {
        "metadata": {"namespace": "voice", "name": "acme", "uid": "uid-1"},
        "spec": spec,
        "status": {"trunkSid": "TK" + "1" * 32},
    }


async def test_applied_once_per_change_and_owned_by_the_provider() -> None:
    kube, published = FakeKube(), Published()
    assert await publish_agent_table(kube, provider(), [ENTRY], published) == "applied ConfigMap acme-agents"
    assert (
        await publish_agent_table(kube, provider(), [ENTRY], published) == "ConfigMap acme-agents unchanged"
    )
    stored = kube.config_maps[("voice", "acme-agents")]
    assert stored["owner"] == "uid-1"
    assert json.loads(stored["data"]["agents.json"])[0]["agent"] == "support-agent"
    await publish_agent_table(kube, provider(), [], published)
    assert json.loads(kube.config_maps[("voice", "acme-agents")]["data"]["agents.json"]) == []
    assert kube.writes.count("apply configmap acme-agents") == 2


async def test_broken_template_key_keeps_its_last_value() -> None:
    kube, published = FakeKube(), Published()
    good = {"routes": "{% for n in numbers %}{{ n.phoneNumber }}={{ n.agent }};{% endfor %}{{ trunkSid }}"}
    await publish_agent_table(kube, provider(good, configMapName="routes"), [ENTRY], published)
    before = kube.config_maps[("voice", "routes")]["data"]["routes"]
    assert before == f"+15005550006=support-agent;TK{'1' * 32}"

    broken = {"routes": "{{ nope }}"}
    await publish_agent_table(kube, provider(broken, configMapName="routes"), [], published)
    await publish_agent_table(kube, provider(broken, configMapName="routes"), [], published)
    data = kube.config_maps[("voice", "routes")]["data"]
    assert data["routes"] == before  # kept
    assert json.loads(data["agents.json"]) == []  # the table itself moved on
    warnings = [m for _, t, r, m in kube.events if r == "TemplateInvalid"]
    assert warnings == ["ConfigMap routes: template key routes: UndefinedError: 'nope' is undefined"]


async def test_a_restarted_operator_does_not_write_a_table_its_status_recorded() -> None:
    """Issue 26: after a restart over 1,000 providers, an unchanged table costs no request (the digest
    of what was applied is in the provider's status, written after the apply)."""
    kube = FakeKube()
    assert (
        await publish_agent_table(kube, provider(), [ENTRY], Published()) == "applied ConfigMap acme-agents"
    )
    recorded = kube.statuses[("twilioproviders", "voice", "acme")]["agentTable"]
    assert recorded["configMap"] == "acme-agents" and len(recorded["digest"]) == 64

    probes: list[str] = []

    async def probed(namespace: str, name: str, owner_uid: str) -> bool | None:
        probes.append(name)
        return True

    kube.config_map_owned_by = probed  # type: ignore[method-assign]
    body = provider()
    body["status"]["agentTable"] = recorded
    writes, status_writes = len(kube.writes), len(kube.status_writes)
    restarted = Published()  # what a new process knows
    done = await publish_agent_table(kube, body, [ENTRY], restarted)
    assert done == "ConfigMap acme-agents unchanged since the status recorded it"
    assert (len(kube.writes), len(kube.status_writes), probes) == (writes, status_writes, [])

    # The table changed while the operator was down: written, and recorded again.
    assert await publish_agent_table(kube, body, [], Published()) == "applied ConfigMap acme-agents"
    assert probes == ["acme-agents"]  # what the status recorded is not this table: ownership is probed
    assert kube.statuses[("twilioproviders", "voice", "acme")]["agentTable"]["digest"] != recorded["digest"]


async def test_the_reconciles_status_write_leaves_the_agent_table_record_to_its_writer() -> None:
    """The reconcile read the status before the publisher recorded a newer table: its write must not
    put the older record back."""
    kube = FakeKube()
    body = provider()
    body["status"]["agentTable"] = {"configMap": "acme-agents", "digest": "0" * 64}
    writer = StatusWriter(Provider.from_body(body), Deps(twilio=None, kube=kube))  # type: ignore[arg-type]
    writer.set(phone_number_count=3)
    await writer.flush()
    written = kube.statuses[("twilioproviders", "voice", "acme")]
    assert written["phoneNumberCount"] == 3 and "agentTable" not in written
