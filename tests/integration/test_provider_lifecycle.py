"""The operator process against the real API server and the emulator: the TwilioProvider lifecycle."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    decoded,
    events,
    get,
    merge_patch,
    provider_spec,
    put_secret,
    secret,
    wait_for,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider, StartOperator
from fixtures.twilio_user import delete_trunk_as_a_user
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane


def writes(emulator: EmulatorAdmin, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in emulator.requests(since=since) if r["write"]]


@pytest.mark.usefixtures("operator")
def test_create_to_ready_with_full_status(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, make_ready_provider: MakeReadyProvider
) -> None:
    obj = make_ready_provider(region="de1")

    status = obj["status"]
    uid_hex = obj["metadata"]["uid"].replace("-", "")
    assert status["providerType"] == "twilio"
    assert status["verificationStatus"] == "verified"
    assert status["trunkSid"].startswith("TK") and status["credentialListSid"].startswith("CL")
    assert status["trunkDomainName"] == f"twp-{uid_hex}.pstn.twilio.com"
    assert status["terminationUri"] == f"sip:twp-{uid_hex}.pstn.frankfurt.twilio.com"
    assert status["region"] == "de1" and status["supportsCallTransfer"] is False
    assert status["sipCredentialsSecretName"] == "acme-sip-credentials"
    assert status["observedGeneration"] == 1 and status["lastVerifiedAt"]
    assert status["phoneNumberCount"] == 0 and status["accountPhoneNumberCount"] == 2
    assert len(status["availableNumbers"]) == 2
    assert {d["checkName"] for d in status["verificationDetails"]} >= {
        "accountActive",
        "sipTrunkingAccess",
        "credentialListAccess",
        "phoneNumbersAccess",
    }
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True",
        "CredentialsVerified": "True",
        "TrunkProvisioned": "True",
        "SipCredentialsStored": "True",
    }
    assert all(c["observedGeneration"] == 1 for c in status["conditions"])

    sip = secret(crds, namespace, "acme-sip-credentials")
    assert sip is not None
    assert sip["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]
    data = decoded(sip)
    assert set(data) == {"username", "password", "sipDomain", "terminationUri", "trunkSid"}
    assert data["terminationUri"] == status["terminationUri"] and data["trunkSid"] == status["trunkSid"]
    assert emulator.sip_auth(status["trunkDomainName"], data["username"], data["password"])
    assert data["password"] not in json.dumps(obj)

    # A new provider gets one Normal event that tells the whole story, not one per step.
    normal = [e for e in events(crds, namespace, "acme") if e["type"] == "Normal"]
    # Exactly one Provisioned Event carries the folded steps (a verification that started on the
    # pre-Ready copy of the object may post a plain Provisioned of its own).
    [provisioned] = [e for e in normal if e["reason"] == "Provisioned" and "created trunk" in e["message"]]
    # The steps of the first provisioning are folded into that one Event, never posted one by one.
    steps = {"TrunkCreated", "CredentialListCreated", "CredentialListAttached", "SipCredentialCreated"}
    assert not [e for e in normal if e["reason"] in steps], [(e["reason"], e["message"]) for e in normal]
    assert provisioned["reason"] == "Provisioned"
    for step in (
        f"created trunk {status['trunkSid']}",
        f"created credential list {status['credentialListSid']}",
        "created SIP credential",
        "attached credential list",
    ):
        assert step in provisioned["message"], step

    printed = crds.kubectl("get", "twp", "-n", namespace, "-o", "wide")
    assert printed.returncode == 0 and status["trunkSid"] in printed.stdout and "verified" in printed.stdout


@pytest.mark.usefixtures("operator")
def test_update_changes_the_trunk_in_place(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    trunk_sid = make_ready_provider()["status"]["trunkSid"]

    merge_patch(
        crds, "twp", namespace, "acme", {"spec": {"displayName": "Acme 2", "supportsCallTransfer": True}}
    )
    obj = wait_for(
        lambda: (
            (o := get(crds, PROVIDERS, namespace, "acme"))
            and o["status"].get("observedGeneration") == 2
            and o
        ),
        what="generation 2 handled",
    )
    assert obj["status"]["trunkSid"] == trunk_sid and obj["status"]["supportsCallTransfer"] is True
    [trunk] = twilio_account.state()["trunks"]
    assert trunk["friendly_name"] == "Acme 2" and trunk["transfer_mode"] == "enable-all"

    refused = crds.kubectl(
        "patch",
        "twp",
        "acme",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"accountSid": "AC" + "f" * 32}}),
    )
    assert refused.returncode != 0 and "accountSid is immutable" in refused.stderr


@pytest.mark.usefixtures("operator")
def test_token_rotation_is_noticed_quickly_and_provisions_nothing(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    first = make_ready_provider()["status"]["lastVerifiedAt"]
    time.sleep(1.1)  # lastVerifiedAt has one-second resolution
    seq = last_seq(emulator)

    new_token = "f" * 32
    emulator.patch_account(twilio_account.sid, auth_token=new_token)
    put_secret(crds, namespace, "twilio-credentials", {"authToken": new_token})

    started = time.monotonic()
    wait_for(
        lambda: (get(crds, PROVIDERS, namespace, "acme") or {})["status"]["lastVerifiedAt"] != first,
        timeout=15,
        what="re-verification after the Secret changed",
    )
    assert time.monotonic() - started < 10
    assert writes(emulator, seq) == []
    assert condition(get(crds, PROVIDERS, namespace, "acme"))["status"] == "True"


@pytest.mark.usefixtures("operator")
def test_missing_secret_then_fixed(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    obj = wait_for(
        lambda: (
            condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "SecretNotFound"
            and get(crds, PROVIDERS, namespace, "acme")
        ),
        what="SecretNotFound",
    )
    message = condition(obj)["message"]
    assert f"Secret {namespace}/twilio-credentials not found" in message
    assert emulator.requests() == []

    put_secret(crds, namespace, "twilio-credentials", {"authToken": "NOT-HEX"})
    obj = wait_for(
        lambda: (
            condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "SecretInvalid"
            and get(crds, PROVIDERS, namespace, "acme")
        ),
        what="SecretInvalid",
    )
    assert "NOT-HEX" not in json.dumps(obj)
    assert emulator.requests() == []

    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token})
    wait_ready(crds, PROVIDERS, namespace, "acme", timeout=20)


@pytest.mark.usefixtures("operator")
def test_wrong_token_fails_verification(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    put_secret(crds, namespace, "twilio-credentials", {"authToken": "0" * 32})
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    obj = wait_for(
        lambda: (
            (o := get(crds, PROVIDERS, namespace, "acme"))
            and o.get("status", {}).get("verificationStatus") == "failed"
            and o
        ),
        what="verification failed",
    )
    assert condition(obj)["reason"] == "AuthFailed"
    failed = [d for d in obj["status"]["verificationDetails"] if d["status"] == "failed"]
    assert failed and "401" in failed[0]["message"]
    assert "0" * 32 not in json.dumps(obj)
    assert writes(emulator) == []


@pytest.mark.usefixtures("operator")
def test_drift_is_repaired_periodically(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    twilio_client: Any,
) -> None:
    status = make_ready_provider(verificationInterval="1m")["status"]
    # Deleted by hand, emptied first as Twilio may demand (strict mode does).
    delete_trunk_as_a_user(twilio_client, twilio_account.sid, status["trunkSid"])

    obj = wait_for(
        lambda: (
            (o := get(crds, PROVIDERS, namespace, "acme"))
            and o["status"].get("trunkSid") != status["trunkSid"]
            and condition(o).get("status") == "True"
            and o
        ),
        timeout=60,
        what="trunk recreated",
    )
    [trunk] = twilio_account.state()["trunks"]
    assert trunk["sid"] == obj["status"]["trunkSid"] and trunk["domain_name"].endswith("-r1.pstn.twilio.com")
    data = decoded(secret(crds, namespace, "acme-sip-credentials") or {})
    assert data["sipDomain"] == trunk["domain_name"]
    assert emulator.sip_auth(trunk["domain_name"], data["username"], data["password"])
    assert "TrunkRecreated" in {e["reason"] for e in events(crds, namespace, "acme")}


@pytest.mark.usefixtures("operator")
@pytest.mark.parametrize("policy", ["Delete", "Orphan"])
def test_delete_under_each_policy(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    policy: str,
) -> None:
    make_ready_provider(deletionPolicy=policy)
    crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders/acme"
    )
    wait_for(lambda: get(crds, PROVIDERS, namespace, "acme") is None, what="object gone")

    state = twilio_account.state()
    sip = secret(crds, namespace, "acme-sip-credentials")
    if policy == "Delete":
        assert state["trunks"] == [] and state["credential_lists"] == []
        assert sip is None
    else:
        assert len(state["trunks"]) == 1 and len(state["credential_lists"]) == 1
        assert sip is not None and not sip["metadata"].get("ownerReferences")


@pytest.mark.usefixtures("operator")
def test_deletion_with_broken_credentials_is_blocked_until_orphaned(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    make_ready_provider()
    emulator.patch_account(twilio_account.sid, auth_token="e" * 32)  # the token in the Secret is now wrong
    crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders/acme"
    )

    obj = wait_for(
        lambda: (
            condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "DeletionBlocked"
            and get(crds, PROVIDERS, namespace, "acme")
        ),
        what="DeletionBlocked",
    )
    assert "voip.twilio-operator.dev/deletion-policy=Orphan" in condition(obj)["message"]
    assert "DeletionBlocked" in {e["reason"] for e in events(crds, namespace, "acme")}

    merge_patch(
        crds,
        "twp",
        namespace,
        "acme",
        {"metadata": {"annotations": {"voip.twilio-operator.dev/deletion-policy": "Orphan"}}},
    )
    wait_for(lambda: get(crds, PROVIDERS, namespace, "acme") is None, timeout=60, what="object released")
    assert len(twilio_account.state()["trunks"]) == 1


def test_restart_makes_no_twilio_calls(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
) -> None:
    first = start_operator()
    make_ready_provider()
    first.stop(signal.SIGKILL)
    seq = last_seq(emulator)

    second = start_operator()
    wait_for(lambda: "TwilioProvider resumed" in second.log(), timeout=20, what="the provider resumed")
    time.sleep(2)
    assert emulator.requests(since=seq) == []  # not a write, not even a read: the status is recent
    assert condition(get(crds, PROVIDERS, namespace, "acme"))["status"] == "True"


def test_changes_made_while_the_operator_is_down_are_applied_on_restart(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
) -> None:
    first = start_operator()
    make_ready_provider()
    first.stop(signal.SIGKILL)
    merge_patch(crds, "twp", namespace, "acme", {"spec": {"supportsCallTransfer": True}})
    seq = last_seq(emulator)

    start_operator()
    wait_ready(crds, PROVIDERS, namespace, "acme")
    [trunk] = twilio_account.state()["trunks"]
    assert trunk["transfer_mode"] == "enable-all"
    assert [(w["method"], w["path"].split("/")[-2]) for w in writes(emulator, seq)] == [("POST", "Trunks")]


@pytest.mark.parametrize(
    ("spec_change", "message"),
    [
        ({"accountSid": "ACnothex"}, "should match '^AC[0-9a-f]{32}$'"),
        ({"displayName": ""}, "should be at least 1 chars long"),
        ({"displayName": "x" * 101}, "may not be more than 100"),
        ({"region": "mars"}, 'Unsupported value: "mars"'),
        ({"deletionPolicy": "Keep"}, 'Unsupported value: "Keep"'),
        ({"credentialsSecretRef": {"name": "s", "apiKeySidKey": "sid"}}, "must be set together"),
        ({"verificationInterval": "30s"}, "verificationInterval must be at least 1m"),
        ({"trunk": {"recording": {"mode": "always"}}}, 'Unsupported value: "always"'),
        ({"trunk": {"transferCallerId": "me"}}, 'Unsupported value: "me"'),
        ({"trunk": {"disasterRecoveryUrl": "ftp://x"}}, "should match"),
        ({"verificationInterval": "0m"}, "verificationInterval must be at least 1m"),
        ({"transferMode": "sometimes"}, 'Unsupported value: "sometimes"'),
        (
            {"transferMode": "sip-only", "supportsCallTransfer": False},
            "supportsCallTransfer and transferMode",
        ),
        (
            {"transferMode": "disable-all", "supportsCallTransfer": True},
            "supportsCallTransfer and transferMode",
        ),
    ],
)
def test_api_server_refuses_malformed_providers(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount, spec_change: dict, message: str
) -> None:
    body = {
        "apiVersion": "voip.twilio-operator.dev/v1alpha1",
        "kind": "TwilioProvider",
        "metadata": {"name": "bad"},
        "spec": {**provider_spec(twilio_account), **spec_change},
    }
    status, result = crds.request(
        "POST", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders", body
    )
    assert status == 422, result
    assert message in result["message"]


@pytest.mark.usefixtures("credentials", "operator")
def test_a_name_too_long_for_the_sip_secret_is_refused_with_the_reason(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount
) -> None:
    """A custom resource name may be 253 characters, but then <name>-sip-credentials is not a valid
    Secret name and every reconcile would fail; the API server says so up front."""
    body = {
        "apiVersion": "voip.twilio-operator.dev/v1alpha1",
        "kind": "TwilioProvider",
        "metadata": {"name": "a" * 238},
        "spec": provider_spec(twilio_account),
    }
    path = f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders"
    status, result = crds.request("POST", path, body)
    assert status == 422, result
    assert "metadata.name may be at most 237 characters" in result["message"]
    body["metadata"] = {"name": "a" * 237}
    status, result = crds.request("POST", path, body)
    assert status == 201, result
    body["metadata"] = {"name": "b" * 253}
    body["spec"] = {**provider_spec(twilio_account), "sipCredentialsSecretName": "short-name"}
    status, result = crds.request("POST", path, body)
    assert status == 201, result


@pytest.mark.usefixtures("operator", "credentials")
def test_twilio_outage_is_retried_with_bounded_call_rate(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    emulator.add_fault(r"/2010-04-01/Accounts/.*", "error", status=503, times=None)
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    wait_for(
        lambda: condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "TwilioUnavailable",
        what="TwilioUnavailable",
    )
    seq = last_seq(emulator)
    time.sleep(15)
    calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account.sid]
    # Exponential backoff from 5 s: at most a few reconcile attempts in 15 s, each about ten requests
    # (three reads refused, each retried in place twice); a hot loop would make hundreds.
    assert len(calls) <= 40, len(calls)
    emulator.clear_faults()
    wait_ready(crds, PROVIDERS, namespace, "acme", timeout=90)
