"""The operator watches only the Secrets that carry its labels, filtered by the API server: unrelated
Secrets never reach it, while the Secrets it cares about are still seen within seconds."""

from __future__ import annotations

import base64
import json
import re
import time

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    decoded,
    get,
    provider_spec,
    put_secret,
    secret,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider, OperatorProcess
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane
from twilio_operator.testing.waiting import wait_for

EVENTS = re.compile(r'^twilio_operator_secret_events_total\{role="(\w+)"\} (\S+)$', re.M)


def secret_events(operator: OperatorProcess) -> dict[str, float]:
    """The operator's count of Secret events received, by role."""
    return {role: float(value) for role, value in EVENTS.findall(operator.metrics())}


def unrelated_secret(cp: ControlPlane, namespace: str, name: str, kib: int = 10) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "Helm"}},
        "data": {"release": base64.b64encode(b"x" * kib * 1024).decode()},
    }
    status, result = cp.request("POST", f"/api/v1/namespaces/{namespace}/secrets", body)
    assert status == 201, result


def test_unrelated_secrets_reach_no_handler(
    crds: ControlPlane, namespace: str, operator: OperatorProcess, make_ready_provider: MakeReadyProvider
) -> None:
    make_ready_provider()
    time.sleep(2)  # our own writes' events have arrived
    before = secret_events(operator)

    for i in range(20):
        unrelated_secret(crds, namespace, f"release-{i}")
    for i in range(10):
        annotated = crds.kubectl("annotate", "secret", f"release-{i}", "-n", namespace, "touched=yes")
        assert annotated.returncode == 0, annotated.stderr
        deleted = crds.kubectl("delete", "secret", f"release-{i + 10}", "-n", namespace)
        assert deleted.returncode == 0, deleted.stderr
    # A positive control, issued last: a change of the (labelled) credentials Secret arrives, and
    # events arrive in order, so the unrelated ones before it would have been counted by then.
    touched = crds.kubectl("annotate", "secret", "twilio-credentials", "-n", namespace, "touched=yes")
    assert touched.returncode == 0, touched.stderr
    wait_for(
        lambda: secret_events(operator).get("credentials", 0) > before.get("credentials", 0),
        timeout=10,
        what="the credentials Secret's change counted",
    )
    after = secret_events(operator)
    assert after.get("credentials", 0) == before.get("credentials", 0) + 1, (before, after)
    assert after.get("unreferenced", 0) == before.get("unreferenced", 0), (before, after)
    assert after.get("sip", 0) == before.get("sip", 0), (before, after)
    assert "release-" not in operator.log()


def test_a_credentials_secret_created_after_its_provider_is_noticed_within_seconds(
    crds: ControlPlane, namespace: str, operator: OperatorProcess, twilio_account: TwilioAccount
) -> None:
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    wait_for(
        lambda: condition(get(crds, PROVIDERS, namespace, "acme")).get("reason") == "SecretNotFound",
        what="SecretNotFound",
    )
    time.sleep(3)  # the daemon is in its look-for-the-Secret loop, not in the first reconcile
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token})
    started = time.monotonic()
    wait_ready(crds, PROVIDERS, namespace, "acme", timeout=20)
    assert time.monotonic() - started < 8
    labels = (secret(crds, namespace, "twilio-credentials") or {})["metadata"].get("labels") or {}
    assert labels.get("voip.twilio-operator.dev/credentials") == "in-use"


def test_a_hand_edited_sip_secret_is_repaired_within_seconds(
    crds: ControlPlane,
    namespace: str,
    operator: OperatorProcess,
    emulator: EmulatorAdmin,
    make_ready_provider: MakeReadyProvider,
) -> None:
    status = make_ready_provider()["status"]
    patch = {"stringData": {"terminationUri": "sip:somewhere-else.example.com"}}
    edited = crds.kubectl(
        "patch", "secret", "acme-sip-credentials", "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )
    assert edited.returncode == 0, edited.stderr
    started = time.monotonic()
    data = wait_for(
        lambda: (
            (d := decoded(secret(crds, namespace, "acme-sip-credentials") or {})).get("terminationUri")
            == status["terminationUri"]
            and d
        ),
        timeout=20,
        what="SIP Secret repaired",
    )
    assert time.monotonic() - started < 10
    assert emulator.sip_auth(status["trunkDomainName"], data["username"], data["password"])


def test_large_unrelated_secrets_do_not_grow_the_operator(
    crds: ControlPlane, namespace: str, operator: OperatorProcess
) -> None:
    """A small version of the benchmark (scenario h): 100 Secrets of 100 KiB change the RSS of a
    running operator by less than their size; kopf's watch received them all (10 MiB of data)."""
    time.sleep(2)
    rss_before = operator_rss_mb(operator)
    for i in range(100):
        unrelated_secret(crds, namespace, f"big-{i}", kib=100)
    time.sleep(3)
    assert operator_rss_mb(operator) - rss_before < 5, (rss_before, operator_rss_mb(operator))
    assert secret_events(operator).get("unreferenced", 0) == 0


def operator_rss_mb(operator: OperatorProcess) -> float:
    assert operator.process is not None
    with open(f"/proc/{operator.process.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024
