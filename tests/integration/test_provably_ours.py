"""The operator deletes, overwrites or takes ownership only of what it can prove it created or adopted
(issue 28, items 1-3): on the real API server, with the operator process, the way the walkthrough did
it. Every test here failed before the fix."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import (
    CREDENTIALS_SECRET,
    NUMBERS,
    PROVIDERS,
    create,
    create_ready_provider,
    decoded,
    delete,
    events,
    get,
    merge_patch,
    provider_spec,
    put_secret,
    secret,
    wait_for,
    wait_gone,
    wait_ready,
    wait_reason,
)
from fixtures.operator_process import OperatorProcess, StartOperator, operator_launcher
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

NUMBER = "+15005550006"


@pytest.fixture
def launch_both(
    crds: ControlPlane, emulator: EmulatorAdmin, namespace: str, other_namespace: str, tmp_path: Path
) -> Iterator[StartOperator]:
    with operator_launcher(crds, emulator, [namespace, other_namespace], tmp_path) as start:
        yield start


def test_deleting_a_provider_whose_adoption_was_refused_leaves_the_other_providers_trunk(
    crds: ControlPlane,
    namespace: str,
    other_namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    launch_both: StartOperator,
) -> None:
    """voice/acme is Ready on its trunk; in another namespace a provider names that trunk with
    deletionPolicy Delete, is refused, and is deleted: acme's trunk, list and number stay, and
    acme stays Ready."""
    launch_both()
    for ns in (namespace, other_namespace):
        put_secret(crds, ns, CREDENTIALS_SECRET, {"authToken": twilio_account.auth_token})
    acme = create_ready_provider(crds, namespace, "acme", provider_spec(twilio_account))
    trunk, credential_list = acme["status"]["trunkSid"], acme["status"]["credentialListSid"]
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": NUMBER})
    wait_ready(crds, NUMBERS, namespace, "line")

    spec = provider_spec(twilio_account, trunkSid=trunk, deletionPolicy="Delete")
    create(crds, PROVIDERS, other_namespace, "intruder", spec)
    refused = wait_reason(crds, other_namespace, "intruder", "AdoptionRefused")
    assert "managed by another TwilioProvider" in refused["status"]["conditions"][0]["message"]
    seq = last_seq(emulator)
    delete(crds, other_namespace, "intruder")
    wait_gone(crds, other_namespace, "intruder")

    deletes = [r for r in emulator.requests(since=seq) if r["method"] == "DELETE"]
    assert deletes == [], deletes
    state = twilio_account.state()
    assert [t["sid"] for t in state["trunks"]] == [trunk]
    assert [cl["sid"] for cl in state["credential_lists"]] == [credential_list]
    numbers = {n["phone_number"]: n for n in state["incoming_phone_numbers"]}
    assert numbers[NUMBER]["trunk_sid"] == trunk
    said = [e["message"] for e in events(crds, other_namespace, "intruder") if e["reason"] == "Deleted"]
    assert said and f"kept {trunk}" in said[-1] and "never completed" in said[-1], said
    wait_ready(crds, PROVIDERS, namespace, "acme")
    assert refused["status"].get("verificationStatus") == "failed"  # the VERIFICATION column says so


def test_the_credentials_secret_is_refused_as_the_sip_secret_at_admission(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount
) -> None:
    """CEL compares the two names, the explicit one and the default <name>-sip-credentials."""
    for name, spec in (
        ("acme", provider_spec(twilio_account, sipCredentialsSecretName=CREDENTIALS_SECRET)),
        (
            "twilio",
            {**provider_spec(twilio_account), "credentialsSecretRef": {"name": "twilio-sip-credentials"}},
        ),
    ):
        body = {
            "apiVersion": "voip.twilio-operator.dev/v1alpha1",
            "kind": "TwilioProvider",
            "metadata": {"name": name},
            "spec": spec,
        }
        status, result = crds.request(
            "POST", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders", body
        )
        assert status == 422, result
        assert "must not be the credentials Secret" in result["message"], result["message"]


def test_a_secret_not_made_by_the_operator_is_refused_untouched_and_survives_the_provider(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: OperatorProcess,
) -> None:
    """sipCredentialsSecretName pointed at an unrelated Secret holding tls.crt: a clear condition,
    nothing written to it (no key, no owner reference), no SIP credential in Twilio; `kubectl delete
    twp` leaves the Secret."""
    put_secret(crds, namespace, "tls-cert", {"tls.crt": "-----BEGIN CERTIFICATE-----"})
    before = secret(crds, namespace, "tls-cert")
    assert before is not None
    spec = provider_spec(twilio_account, sipCredentialsSecretName="tls-cert", deletionPolicy="Delete")
    create(crds, PROVIDERS, namespace, "acme", spec)

    refused = wait_reason(crds, namespace, "acme", "SecretNotOwned")
    ready = next(c for c in refused["status"]["conditions"] if c["type"] == "Ready")
    assert "tls-cert was not created by twilio-operator" in ready["message"], ready["message"]
    after = secret(crds, namespace, "tls-cert")
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "ownerReferences" not in after["metadata"]
    lists = twilio_account.state()["credential_lists"]
    assert all(cl["credentials"] == [] for cl in lists)
    said = [e for e in events(crds, namespace, "acme") if e["reason"] == "SecretNotOwned"]
    assert said and said[0]["type"] == "Warning"

    delete(crds, namespace, "acme")
    wait_gone(crds, namespace, "acme")
    time.sleep(2)  # garbage collection would act on an owner reference within this time
    kept = secret(crds, namespace, "tls-cert")
    assert kept is not None and decoded(kept) == {"tls.crt": "-----BEGIN CERTIFICATE-----"}
    assert twilio_account.state()["trunks"] == []


def test_renaming_the_sip_secret_mid_rotation_keeps_every_credential_working_through_the_grace_period(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    operator: OperatorProcess,
) -> None:
    """A rename is a rotation (docs/rotation.md): the new Secret gets a new credential, the old Secret
    and both of its pairs keep working for the grace period, then the old pairs and the old Secret go."""
    spec = provider_spec(twilio_account, sipCredentials={"gracePeriod": "20s"})
    ready = create_ready_provider(crds, namespace, "acme", spec)
    domain = ready["status"]["trunkDomainName"]
    annotated = crds.kubectl(
        "annotate", "twp", "acme", "-n", namespace, "voip.twilio-operator.dev/rotate-sip-credentials=1"
    )
    assert annotated.returncode == 0, annotated.stderr
    old = wait_for(
        lambda: (
            (d := decoded(secret(crds, namespace, "acme-sip-credentials") or {})).get("previousUsername")
            and d
        ),
        timeout=30,
        what="a rotation in its grace period",
    )

    merge_patch(crds, "twp", namespace, "acme", {"spec": {"sipCredentialsSecretName": "acme-sip-v2"}})
    new = wait_for(
        lambda: decoded(secret(crds, namespace, "acme-sip-v2") or {}) or None,
        timeout=30,
        what="the new Secret",
    )
    wait_ready(crds, PROVIDERS, namespace, "acme")
    assert new["previousUsername"] == old["username"]
    pairs = [
        (new["username"], new["password"]),
        (old["username"], old["password"]),
        (old["previousUsername"], old["previousPassword"]),
    ]
    for username, password in pairs:
        assert emulator.sip_auth(domain, username, password), username
    assert decoded(secret(crds, namespace, "acme-sip-credentials") or {}) == old
    said = [
        e["message"] for e in events(crds, namespace, "acme") if e["reason"] == "SipCredentialsSecretRenamed"
    ]
    assert said and "acme-sip-credentials" in said[0] and "acme-sip-v2" in said[0]

    # After the grace period: only the new credential, only the new Secret.
    wait_for(
        lambda: secret(crds, namespace, "acme-sip-credentials") is None,
        timeout=60,
        what="the old Secret gone",
    )
    wait_for(
        lambda: not emulator.sip_auth(domain, old["previousUsername"], old["previousPassword"]),
        timeout=30,
        what="the oldest credential gone",
    )
    assert not emulator.sip_auth(domain, old["username"], old["password"])
    assert emulator.sip_auth(domain, new["username"], new["password"])
    status = (get(crds, PROVIDERS, namespace, "acme") or {})["status"]
    assert status["sipCredentialsSecretName"] == "acme-sip-v2"
