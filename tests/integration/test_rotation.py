"""SIP credential rotation with the operator process on the real API server: a kubectl annotate starts
it, both pairs authenticate during the grace period (the emulator's /_emulator/sip-auth), the old pair
is retired when the grace period ends, and no password reaches an Event, the status or the log."""

from __future__ import annotations

import base64
import json
from typing import Any

from fixtures.emulator import TwilioAccount
from fixtures.kube import PROVIDERS, create, events, get, provider_spec, secret, wait_for, wait_ready
from fixtures.operator_process import OperatorProcess
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

ROTATE = "voip.twilio-operator.dev/rotate-sip-credentials"


def decoded(obj: dict[str, Any] | None) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in ((obj or {}).get("data") or {}).items()}


def usernames(account: TwilioAccount) -> list[str]:
    return sorted(c["username"] for cl in account.state()["credential_lists"] for c in cl["credentials"])


def test_annotation_rotates_with_a_grace_period_and_retires_the_old_pair(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: OperatorProcess,
) -> None:
    spec = provider_spec(
        twilio_account,
        sipCredentials={
            "gracePeriod": "10s",
            "template": {"data": {"creds.txt": "{{ username }}:{{ password }}"}, "labels": {"team": "voice"}},
        },
    )
    create(crds, PROVIDERS, namespace, "acme", spec)
    obj = wait_ready(crds, PROVIDERS, namespace, "acme", timeout=45)
    domain = obj["status"]["trunkDomainName"]
    sip_secret = secret(crds, namespace, "acme-sip-credentials")
    old = decoded(sip_secret)
    assert sip_secret is not None and sip_secret["metadata"]["labels"]["team"] == "voice"
    assert old["creds.txt"] == f"{old['username']}:{old['password']}"
    assert emulator.sip_auth(domain, old["username"], old["password"])
    assert obj["status"]["sipCredentials"]["username"] == old["username"]

    # Step 1: kubectl annotate starts one rotation.
    result = crds.kubectl("annotate", "twp", "acme", "-n", namespace, f"{ROTATE}=1764504000", "--overwrite")
    assert result.returncode == 0, result.stderr

    def rotated() -> dict[str, str] | None:
        data = decoded(secret(crds, namespace, "acme-sip-credentials"))
        status = (get(crds, PROVIDERS, namespace, "acme") or {}).get("status") or {}
        done = (status.get("sipCredentials") or {}).get("lastRotationRequest") == "1764504000"
        return data if done and data.get("previousUsername") else None

    new = wait_for(rotated, 30, "the rotation")
    assert new["username"] != old["username"] and new["creds.txt"] == f"{new['username']}:{new['password']}"
    assert (new["previousUsername"], new["previousPassword"]) == (old["username"], old["password"])
    # Step 2: during the grace period both pairs authenticate.
    assert emulator.sip_auth(domain, new["username"], new["password"])
    assert emulator.sip_auth(domain, old["username"], old["password"])
    assert usernames(twilio_account) == sorted([old["username"], new["username"]])
    status = (get(crds, PROVIDERS, namespace, "acme") or {})["status"]["sipCredentials"]
    assert status["previousUsername"] == old["username"] and status["previousExpiresAt"]

    # Step 3: the grace period ends; the old pair leaves Twilio and then the Secret.
    def retired() -> dict[str, str] | None:
        data = decoded(secret(crds, namespace, "acme-sip-credentials"))
        return data if "previousUsername" not in data else None

    final = wait_for(retired, 40, "the retirement of the previous pair")
    assert final["username"] == new["username"] and final["password"] == new["password"]
    assert not emulator.sip_auth(domain, old["username"], old["password"])
    assert emulator.sip_auth(domain, new["username"], new["password"])
    assert usernames(twilio_account) == [new["username"]]
    wait_for(
        lambda: "previousUsername" not in get(crds, PROVIDERS, namespace, "acme")["status"]["sipCredentials"],
        15,
        "status without the previous pair",
    )

    reasons = {e["reason"] for e in events(crds, namespace, "acme")}
    assert {"SipCredentialRotating", "SipCredentialRotated", "SipCredentialRetired"} <= reasons
    # No password in Events, status or the operator's log.
    visible = json.dumps(events(crds, namespace)) + json.dumps(get(crds, PROVIDERS, namespace, "acme"))
    visible += operator.log()
    for password in (old["password"], new["password"]):
        assert password not in visible
