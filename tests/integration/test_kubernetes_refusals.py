"""When the API server refuses one of the operator's own writes, the object says so in Ready and an
Event, quoting the server's reason and field, and the retries back off instead of looping.

422 and 409 are here; 403 (an RBAC change at runtime) is in test_least_privilege.py."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fixtures.admission import refusing_webhook
from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    events,
    provider_spec,
    secret,
    wait_ready,
    wait_reason,
)
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane


def test_an_immutable_sip_secret_in_the_way_is_reported_not_retried_hot(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    """An immutable Secret under the SIP Secret's name, that the operator may take over (an
    Orphan-deleted provider's of the same name, made immutable by hand since): writing the password
    to it is a 422 from the API server. (One the operator did not make is never written at all:
    tests/integration/test_provably_ours.py.)"""
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "acme-sip-credentials",
            "labels": {"app.kubernetes.io/managed-by": "twilio-operator"},
            "annotations": {"voip.twilio-operator.dev/sip-credentials-of": "acme"},
        },
        "immutable": True,
        "stringData": {"note": "left by an earlier acme"},
    }
    status, result = crds.request("POST", f"/api/v1/namespaces/{namespace}/secrets", body)
    assert status == 201, result
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))

    refused = wait_reason(crds, namespace, "acme", "KubernetesRefused", timeout=30)
    message = condition(refused)["message"]
    assert "acme-sip-credentials" in message and "immutable" in message, message
    assert "HTTP 422" in message
    said = [e for e in events(crds, namespace, "acme") if e["reason"] == "KubernetesRefused"]
    assert said and "immutable" in said[0]["message"]

    # Bounded retries with a growing backoff: each attempt reads the account (about 8 requests);
    # a hot loop would make hundreds in 15 s.
    seq = last_seq(emulator)
    time.sleep(15)
    calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account.sid]
    assert len(calls) <= 40, len(calls)
    assert operator.alive()


def test_a_lasting_conflict_on_the_sip_secret_is_reported_retried_slowly_and_then_cleared(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: Any,
) -> None:
    """An admission webhook answers every write of the SIP Secret with 409 Conflict, as a policy
    engine may: the provider says so in Ready and an Event, the operator retries with a growing
    backoff and stays up, and once the webhook allows the write the provider becomes Ready."""
    with refusing_webhook(crds, namespace, "acme-sip-credentials") as webhook:
        started = time.monotonic()
        create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))

        refused = wait_reason(crds, namespace, "acme", "KubernetesRefused", timeout=30)
        ready = condition(refused)
        assert ready["status"] == "False"
        # The server's own words: the status code, and the webhook's name and message it passed on.
        assert "cannot write Secret: HTTP 409 Conflict" in ready["message"], ready["message"]
        assert webhook.message in ready["message"] and "refuse.tests" in ready["message"], ready["message"]
        said = [e for e in events(crds, namespace, "acme") if e["reason"] == "KubernetesRefused"]
        assert said and said[0]["type"] == "Warning" and webhook.message in said[0]["message"], said

        # Bounded retries: a conflict's backoff starts at 1 s and doubles, for the create handler and
        # the verification daemon alike. A hot loop would make hundreds of attempts in this window.
        seq = last_seq(emulator)
        time.sleep(15)
        window_end = time.monotonic()
        attempts = webhook.attempts(since=started)
        shown = [(round(a.at - started, 1), a.operation) for a in attempts]
        assert attempts and all(a.refused for a in attempts), shown
        assert len(attempts) <= 15, shown
        assert len(webhook.attempts(since=window_end - 8)) <= 4, shown  # the gaps have grown
        calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account.sid]
        assert len(calls) <= 40, len(calls)
        assert operator.alive()
        assert "Traceback" not in operator.log()

        webhook.refusing.clear()
        # The next attempt comes within the backoff reached so far (at most about 20 s by now).
        wait_ready(crds, PROVIDERS, namespace, "acme", timeout=30)
        assert webhook.attempts(since=window_end)[-1].refused is False
    assert secret(crds, namespace, "acme-sip-credentials") is not None
    assert operator.alive()
    assert "Traceback" not in operator.log()


@pytest.mark.usefixtures("credentials")
def test_a_webhook_that_is_down_is_reported_retried_slowly_and_then_cleared(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount, operator: Any
) -> None:
    """A policy engine whose pods are gone (failurePolicy Fail): the API server fails every write of
    the SIP Secret with 500. Not a refusal, and not a blip either: Ready says so with the server's
    words (no Event: the provider was never Ready), the retries back off, and it clears by itself."""
    with refusing_webhook(crds, namespace, "acme-sip-credentials") as webhook:
        webhook.down.set()
        webhook.refusing.clear()
        started = time.monotonic()
        create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))

        failing = wait_reason(crds, namespace, "acme", "KubernetesUnavailable", timeout=30)
        ready = condition(failing)
        assert ready["status"] == "False"
        assert "cannot write Secret: HTTP 500" in ready["message"], ready["message"]
        assert "failed calling webhook" in ready["message"], ready["message"]
        assert failing["status"].get("trunkSid"), failing["status"]  # what was made before the failure
        assert not [e for e in events(crds, namespace, "acme") if e["reason"] == "KubernetesUnavailable"]

        time.sleep(12)
        attempts = webhook.attempts(since=started)
        shown = [round(a.at - started, 1) for a in attempts]
        print(f"webhook down: the SIP Secret's writes reached it at {shown} s")
        assert attempts and len(attempts) <= 15, shown
        assert operator.alive()
        assert "Traceback" not in operator.log()

        webhook.down.clear()
        wait_ready(crds, PROVIDERS, namespace, "acme", timeout=40)
    assert secret(crds, namespace, "acme-sip-credentials") is not None
    assert operator.alive()
