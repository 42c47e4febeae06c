"""What an on-call engineer sees: metrics, events, logs and `kubectl describe`."""

from __future__ import annotations

import json
import re

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import PROVIDERS, condition, events, get, put_secret, wait_for
from fixtures.operator_process import MakeReadyProvider, OperatorProcess, StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FAMILIES = (
    "twilio_operator_reconcile_total",
    "twilio_operator_reconcile_duration_seconds",
    "twilio_operator_twilio_requests_total",
    "twilio_operator_twilio_request_duration_seconds",
    "twilio_operator_twilio_rate_limited_total",
    "twilio_operator_retries_total",
    "twilio_operator_objects",
    "twilio_operator_providers_by_verification_status",
    "twilio_operator_provider_seconds_since_verified",
    "process_resident_memory_bytes",
)


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """{labels: value} of one metric name in Prometheus text format."""
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            found[labels] = float(match.group(2))
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text, name)[frozenset(labels.items())]


def test_metrics_match_the_emulators_log(
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    operator: OperatorProcess,
) -> None:
    emulator.add_fault(
        r"/2010-04-01/Accounts/AC[0-9a-f]+\.json",
        "error",
        method="GET",
        status=429,
        code=20429,
        retry_after=1,
        times=2,
    )  # absorbed in place: Twilio did not process a 429, and Retry-After is short
    emulator.add_fault(r"/v1/Trunks", "error", method="POST", status=503, times=1)  # a write: back to kopf
    make_ready_provider(timeout=60)

    # The reconcile is counted once its status write returns: wait for that, do not race it.
    def counted() -> str | None:
        page = operator.metrics()
        return page if 'result="ready"' in page else None

    text = wait_for(counted, timeout=15, what="the reconcile counted")
    for family in FAMILIES:
        assert f"# TYPE {family}" in text or f"# HELP {family}" in text, family
    calls = samples(text, "twilio_operator_twilio_requests_total")
    logged = [r for r in emulator.requests() if r["account_sid"] == twilio_account.sid]
    assert sum(calls.values()) == len(logged)
    requests = "twilio_operator_twilio_requests_total"
    assert value(text, requests, operation="create_sip_trunk", code="201") == 1
    assert value(text, requests, operation="fetch_the_twilio_account", code="429") == 2
    assert value(text, "twilio_operator_twilio_rate_limited_total") == 2
    retries = samples(text, "twilio_operator_retries_total")
    assert value(text, requests, operation="create_sip_trunk", code="503") == 1
    assert sum(v for labels, v in retries.items() if ("reason", "transient") in labels) == 1
    assert value(text, "twilio_operator_objects", kind="TwilioProvider", ready="true") == 1
    assert (
        value(text, "twilio_operator_providers_by_verification_status", verification_status="verified") == 1
    )
    [(labels, age)] = samples(text, "twilio_operator_provider_seconds_since_verified").items()
    assert dict(labels) == {"namespace": namespace, "name": "acme"} and 0 <= age < 60
    assert value(text, "twilio_operator_reconcile_total", kind="TwilioProvider", result="ready") >= 1
    assert value(text, "twilio_operator_reconcile_total", kind="TwilioProvider", result="error") >= 1


@pytest.mark.usefixtures("operator")
def test_events_for_failure_and_recovery_are_deduplicated(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount, make_ready_provider: MakeReadyProvider
) -> None:
    make_ready_provider()
    wrong = {"authToken": "1" * 32}
    for touch in range(3):  # each Secret change wakes the provider: three failing verifications
        put_secret(crds, namespace, "twilio-credentials", {**wrong, "touch": str(touch)})
        wait_for(
            lambda t=touch: (
                sum(e.get("count", 1) for e in events(crds, namespace, "acme") if e["reason"] == "AuthFailed")
                >= t + 1
            ),
            what=f"AuthFailed #{touch + 1}",
        )
    auth_failed = [e for e in events(crds, namespace, "acme") if e["reason"] == "AuthFailed"]
    assert len(auth_failed) == 1 and auth_failed[0]["count"] == 3 and auth_failed[0]["type"] == "Warning"
    assert "1" * 32 not in json.dumps(auth_failed)

    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token})
    wait_for(
        lambda: "VerificationRecovered" in {e["reason"] for e in events(crds, namespace, "acme")},
        what="VerificationRecovered",
    )
    assert condition(get(crds, PROVIDERS, namespace, "acme"))["status"] == "True"


@pytest.mark.usefixtures("operator")
def test_describe_reads_well(
    crds: ControlPlane, namespace: str, make_ready_provider: MakeReadyProvider
) -> None:
    make_ready_provider()
    described = crds.kubectl("describe", "twp", "acme", "-n", namespace)
    assert described.returncode == 0, described.stderr
    text = described.stdout
    for expected in (
        "Conditions:",
        "Verification Details:",
        "Check Name:",
        "accountActive",
        "Termination Uri:",
        "Events:",
        "Provisioned",
        "created trunk",
    ):
        assert expected in text, expected


def test_json_logs_carry_the_object(
    namespace: str, start_operator: StartOperator, make_ready_provider: MakeReadyProvider
) -> None:
    operator = start_operator(TWILIO_OPERATOR_LOG_FORMAT="json")
    make_ready_provider()
    # Ready is written inside the reconcile; the handler logs its line just after it returns.
    wait_for(lambda: "TwilioProvider reconciled" in operator.log(), what="the reconcile's log line")
    text = operator.log()  # read once: the operator is still writing
    complete = [line for line in text.split("\n")[:-1] if line.strip()]  # the last piece may be partial
    records = [json.loads(line) for line in complete]  # every line is JSON, or this raises
    assert records
    about = [r for r in records if "TwilioProvider reconciled" in r.get("message", "")]
    assert about, records[-5:]
    obj = about[0]["object"]
    assert obj["kind"] == "TwilioProvider" and obj["name"] == "acme" and obj["namespace"] == namespace
