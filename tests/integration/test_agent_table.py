"""The number-to-agent table ConfigMap with the operator process on the real API server: a number
attached to the trunk appears with its agent, a changed agent follows, a deleted number leaves; the
ConfigMap is owned by the provider and its template keys follow the table."""

from __future__ import annotations

import json
from typing import Any

from fixtures.emulator import TwilioAccount
from fixtures.kube import NUMBERS, PROVIDERS, create, events, merge_patch, provider_spec, wait_for, wait_ready
from fixtures.operator_process import OperatorProcess
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST, SECOND = "+15005550006", "+15005550007"


def config_map(cp: ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    status, body = cp.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    return body if status == 200 else None


def table(cp: ControlPlane, namespace: str) -> list[dict[str, str]] | None:
    found = config_map(cp, namespace, "acme-agents")
    return json.loads(found["data"]["agents.json"]) if found else None


def test_number_attached_agent_changed_number_deleted(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: OperatorProcess,
) -> None:
    spec = provider_spec(
        twilio_account,
        originationUris=[{"sipUrl": "sip:agents.example.com", "priority": 1}],
        agentTable={
            "template": {
                "data": {
                    "routes.txt": "{% for n in numbers %}{{ n.phoneNumber }} {{ n.agent }}\n{% endfor %}"
                },
                "labels": {"team": "voice"},
            }
        },
    )
    provider = create(crds, PROVIDERS, namespace, "acme", spec)
    wait_ready(crds, PROVIDERS, namespace, "acme", timeout=45)
    wait_for(lambda: table(crds, namespace) == [], 20, "an empty table")
    owner = config_map(crds, namespace, "acme-agents")["metadata"]["ownerReferences"][0]
    assert owner["uid"] == provider["metadata"]["uid"] and owner["kind"] == "TwilioProvider"

    # A number attached: it appears with its agent.
    agent = {"name": "support-agent", "sipUri": "sip:support@10.0.0.5"}
    create(
        crds,
        NUMBERS,
        namespace,
        "support",
        {"providerRef": {"name": "acme"}, "phoneNumber": FIRST, "agentRef": agent},
    )
    create(
        crds,
        NUMBERS,
        namespace,
        "sales",
        {"providerRef": {"name": "acme"}, "phoneNumber": SECOND, "agentRef": {"name": "sales-agent"}},
    )

    def rows() -> list[tuple[str, str, str]] | None:
        found = table(crds, namespace) or []
        result = [(r["phoneNumber"], r["agent"], r["sipUri"]) for r in found]
        return result if len(result) == 2 else None

    assert wait_for(rows, 30, "both numbers in the table") == [
        (FIRST, "support-agent", "sip:support@10.0.0.5"),
        (SECOND, "sales-agent", ""),
    ]
    cm = config_map(crds, namespace, "acme-agents")
    assert cm is not None and cm["metadata"]["labels"]["team"] == "voice"
    assert cm["data"]["routes.txt"] == f"{FIRST} support-agent\n{SECOND} sales-agent\n"

    # The agent changed.
    merge_patch(
        crds, "twpn", namespace, "support", {"spec": {"agentRef": {"name": "billing-agent", "sipUri": None}}}
    )

    def changed() -> list[dict[str, str]] | None:
        found = table(crds, namespace) or []
        return found if any(r["agent"] == "billing-agent" and r["sipUri"] == "" for r in found) else None

    wait_for(changed, 30, "the new agent in the table")

    # The number deleted.
    status, body = crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twiliophonenumbers/support"
    )
    assert status in (200, 202), body
    wait_for(
        lambda: [r["phoneNumber"] for r in table(crds, namespace) or []] == [SECOND], 30, "the number gone"
    )
    assert config_map(crds, namespace, "acme-agents")["data"]["routes.txt"] == f"{SECOND} sales-agent\n"


def test_a_config_map_the_operator_did_not_make_is_never_taken_over(
    crds: ControlPlane,
    namespace: str,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: OperatorProcess,
) -> None:
    """agentTable.configMapName names an existing ConfigMap of someone else's: it is left exactly as it
    is (no key, no owner reference, so garbage collection never deletes it with the provider), and a
    Warning Event says why; the operator's own ConfigMap is still written (the first test above)."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"a": "b"}}
    status, created = crds.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert status == 201, created
    spec = provider_spec(twilio_account, agentTable={"configMapName": "app-config"})
    create(crds, PROVIDERS, namespace, "acme", spec)
    wait_ready(crds, PROVIDERS, namespace, "acme", timeout=45)

    def refused() -> list[dict[str, Any]] | None:
        found = [e for e in events(crds, namespace, "acme") if e["reason"] == "ConfigMapNotOwned"]
        return found or None

    said = wait_for(refused, 20, "the ConfigMapNotOwned Event")
    assert said[0]["type"] == "Warning" and "app-config" in said[0]["message"]
    after = config_map(crds, namespace, "app-config")
    assert after is not None
    assert after["data"] == {"a": "b"} and "ownerReferences" not in after["metadata"]
    assert after["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
