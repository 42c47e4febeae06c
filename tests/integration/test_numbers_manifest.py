"""`twilio-operator numbers manifest`: pick numbers of a provider's account, pipe them into kubectl,
see in `kubectl get twpn` which imported and which did not."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import yaml

from fixtures.emulator import TwilioAccount
from fixtures.kube import NUMBERS, REPO, wait_ready
from fixtures.operator_process import MakeReadyProvider
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST, SECOND = "+15005550006", "+15005550007"


@pytest.fixture
def manifest(crds: ControlPlane, emulator: EmulatorAdmin) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The command as a user runs it: the kubeconfig for the provider, Twilio (here the emulator) for
    the account's numbers."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _manifest(crds, emulator, *args)

    return run


def _manifest(crds: ControlPlane, emulator: EmulatorAdmin, *args: str) -> subprocess.CompletedProcess[str]:
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
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    manifest: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    make_ready_provider()
    printed = manifest("acme", "--all", "-n", namespace)
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
    crds: ControlPlane,
    namespace: str,
    make_ready_provider: MakeReadyProvider,
    manifest: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    make_ready_provider()
    printed = manifest("acme", FIRST, "+15005550199", "-n", namespace)
    assert printed.returncode == 0, printed.stderr
    assert [d["spec"]["phoneNumber"] for d in yaml.safe_load_all(printed.stdout)] == [FIRST]
    assert "+15005550199 is not a number of the account" in printed.stderr
    missing = manifest("nobody", "--all", "-n", namespace)
    assert missing.returncode == 1 and "TwilioProvider" in missing.stderr and "not found" in missing.stderr


@pytest.mark.usefixtures("operator")
def test_numbers_bought_since_the_last_verification_are_read_from_the_account(
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    manifest: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    """status.availableNumbers is as old as the last verification: --all reads the account. Numbers
    may follow the options (`manifest acme -n NS +1555...`), as kubectl users type them."""
    make_ready_provider()
    bought = [f"+1500555{n:04d}" for n in range(100, 140)]
    emulator.add_numbers(twilio_account.sid, numbers=[{"phone_number": n} for n in bought])
    printed = manifest("acme", "--all", "-n", namespace)
    assert printed.returncode == 0, printed.stderr
    listed = [d["spec"]["phoneNumber"] for d in yaml.safe_load_all(printed.stdout)]
    assert set(bought) <= set(listed) and len(listed) == 42, len(listed)
    after_options = manifest("acme", "-n", namespace, bought[0], bought[1])
    assert after_options.returncode == 0, after_options.stderr
    assert [d["spec"]["phoneNumber"] for d in yaml.safe_load_all(after_options.stdout)] == bought[:2]
