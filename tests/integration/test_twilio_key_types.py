"""The operator process with a Standard API key and with a limit of one request in flight, against
the local control plane: the API server must accept the `skipped` check in status (the CRD's enum),
and the provider and a number import must get Ready."""

from __future__ import annotations

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    CREDENTIALS_SECRET,
    NUMBERS,
    create,
    create_ready_provider,
    provider_spec,
    put_secret,
    wait_ready,
)
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane


@pytest.mark.usefixtures("operator")
def test_standard_key_provider_is_ready_with_a_skipped_account_check(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    key = emulator.add_api_key(twilio_account.sid, type="standard")
    put_secret(crds, namespace, CREDENTIALS_SECRET, {"keySid": key["sid"], "keySecret": key["secret"]})
    spec = provider_spec(twilio_account)
    spec["credentialsSecretRef"] = {
        "name": CREDENTIALS_SECRET,
        "apiKeySidKey": "keySid",
        "apiKeySecretKey": "keySecret",
    }
    emulator.patch_account(twilio_account.sid, concurrency_limit=1)
    emulator.configure(latency_ms=100)  # new accounts have had a limit of 1; 100 ms makes overlap certain

    ready = create_ready_provider(crds, namespace, "acme", spec, timeout=60)

    details = {d["checkName"]: d for d in ready["status"]["verificationDetails"]}
    assert details["accountActive"]["status"] == "skipped"
    assert "Standard API key" in details["accountActive"]["message"]
    assert ready["status"]["verificationStatus"] == "verified"

    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": "+15005550006"})
    number = wait_ready(crds, NUMBERS, namespace, "line", timeout=60)
    assert number["status"]["trunkSid"] == ready["status"]["trunkSid"]
    assert any(r["status"] == 429 for r in emulator.requests())  # the limit of one was reached
