"""When the API server refuses one of the operator's own writes, the object says so in Ready and an
Event, quoting the server's reason and field, and the retries back off instead of looping."""

from __future__ import annotations

import time
from typing import Any

from fixtures.emulator import last_seq
from fixtures.kube import PROVIDERS, condition, create, events, get, provider_spec, wait_for
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane


def test_an_immutable_sip_secret_in_the_way_is_reported_not_retried_hot(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: dict[str, Any],
    credentials: str,
    operator: Any,
) -> None:
    """Someone already has an immutable Secret under the SIP Secret's name: writing the password to
    it is a 422 from the API server."""
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "acme-sip-credentials"},
        "immutable": True,
        "stringData": {"note": "not the operator's"},
    }
    status, result = crds.request("POST", f"/api/v1/namespaces/{namespace}/secrets", body)
    assert status == 201, result
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))

    refused = wait_for(
        lambda: (
            (o := get(crds, PROVIDERS, namespace, "acme"))
            and condition(o).get("reason") == "KubernetesRefused"
            and o
        ),
        timeout=30,
        what="KubernetesRefused",
    )
    message = condition(refused)["message"]
    assert "acme-sip-credentials" in message and "immutable" in message, message
    assert "HTTP 422" in message
    said = [e for e in events(crds, namespace, "acme") if e["reason"] == "KubernetesRefused"]
    assert said and "immutable" in said[0]["message"]

    # Bounded retries with a growing backoff: each attempt reads the account (about 8 requests);
    # a hot loop would make hundreds in 15 s.
    seq = last_seq(emulator)
    time.sleep(15)
    calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account["sid"]]
    assert len(calls) <= 40, len(calls)
    assert operator.alive()
