"""`twilio-operator numbers manifest`: pick numbers of a provider's account, pipe them into kubectl,
see in `kubectl get twpn` which imported and which did not."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import yaml

from fixtures.kube import NUMBERS, REPO, wait_ready
from fixtures.operator_process import MakeReadyProvider
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST, SECOND = "+15005550006", "+15005550007"


def manifest(crds: ControlPlane, emulator: EmulatorAdmin, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, reaching the emulator instead of Twilio (it reads the account)."""
    return subprocess.run(
        [sys.executable, "-m", "twilio_operator.cli", "numbers", "manifest", *args],
        env={
            **os.environ,
            "KUBECONFIG": str(crds.kubeconfig),
            "TWILIO_OPERATOR_TWILIO_BASE_URL": emulator.base_url,
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.usefixtures("operator")
def test_manifests_for_every_number_import_them_all(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: dict[str, Any],
    make_ready_provider: MakeReadyProvider,
) -> None:
    make_ready_provider()
    printed = manifest(crds, emulator, "acme", "--all", "-n", namespace)
    assert printed.returncode == 0, printed.stderr
    docs = list(yaml.safe_load_all(printed.stdout))
    assert [d["spec"]["phoneNumber"] for d in docs] == [FIRST, SECOND]
    assert all(d["kind"] == "TwilioPhoneNumber" and d["spec"]["providerRef"]["name"] == "acme" for d in docs)
    applied = crds.kubectl("apply", "-f", "-", input=printed.stdout)
    assert applied.returncode == 0, applied.stderr
    for doc in docs:
        wait_ready(crds, NUMBERS, namespace, doc["metadata"]["name"])
    listed = crds.kubectl("get", "twpn", "-n", namespace)
    assert listed.returncode == 0 and listed.stdout.count("True") == 2, listed.stdout


@pytest.mark.usefixtures("operator")
def test_asking_for_a_number_the_account_lacks_says_so(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, make_ready_provider: MakeReadyProvider
) -> None:
    make_ready_provider()
    printed = manifest(crds, emulator, "acme", FIRST, "+15005550199", "-n", namespace)
    assert printed.returncode == 0, printed.stderr
    assert [d["spec"]["phoneNumber"] for d in yaml.safe_load_all(printed.stdout)] == [FIRST]
    assert "+15005550199 is not a number of the account" in printed.stderr
    missing = manifest(crds, emulator, "nobody", "--all", "-n", namespace)
    assert missing.returncode == 1 and "TwilioProvider" in missing.stderr and "not found" in missing.stderr
