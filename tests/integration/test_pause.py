"""The paused annotation: no Twilio call and no status churn while it is set, a Paused condition and
column, deletion that waits and says how to proceed, and convergence within seconds once removed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import PROVIDERS, condition, delete, get, merge_patch, wait_for
from fixtures.operator_process import MakeReadyProvider
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

PAUSED = "voip.twilio-operator.dev/paused"


def pause(crds: ControlPlane, namespace: str, value: str | None) -> None:
    merge_patch(crds, "twp", namespace, "acme", {"metadata": {"annotations": {PAUSED: value}}})


@pytest.mark.usefixtures("operator")
def test_a_paused_provider_makes_no_call_and_resumes_within_seconds(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    twilio_client: Any,
) -> None:
    trunk_sid = make_ready_provider(verificationInterval="1m")["status"]["trunkSid"]
    pause(crds, namespace, "true")
    paused = wait_for(
        lambda: (
            (o := get(crds, PROVIDERS, namespace, "acme"))
            and condition(o, "Paused").get("status") == "True"
            and o
        ),
        what="Paused condition",
    )
    version = paused["metadata"]["resourceVersion"]
    twilio_client.trunking.v1.trunks(trunk_sid).update(friendly_name="changed by hand")  # drift
    seq = last_seq(emulator)
    time.sleep(8)  # four verification intervals at the tests' scale
    calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account.sid]
    assert calls == [], "a paused provider called Twilio"
    assert get(crds, PROVIDERS, namespace, "acme")["metadata"]["resourceVersion"] == version  # no churn
    shown = crds.kubectl("get", "twp", "acme", "-n", namespace)
    assert shown.returncode == 0 and "PAUSED" in shown.stdout.splitlines()[0], shown.stdout

    started = time.monotonic()
    pause(crds, namespace, None)
    wait_for(
        lambda: twilio_client.trunking.v1.trunks(trunk_sid).fetch().friendly_name == "Acme Voice",
        timeout=20,
        what="drift repaired after unpausing",
    )
    print(f"converged {time.monotonic() - started:.1f} s after unpausing")
    assert condition(get(crds, PROVIDERS, namespace, "acme"), "Paused")["status"] == "False"


@pytest.mark.usefixtures("operator")
def test_deleting_a_paused_provider_waits_and_says_how_to_proceed(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    make_ready_provider()
    pause(crds, namespace, "true")
    wait_for(lambda: condition(get(crds, PROVIDERS, namespace, "acme"), "Paused").get("status") == "True")
    delete(crds, namespace, "acme")
    waiting = wait_for(
        lambda: (
            "deletion waits"
            in condition(o := get(crds, PROVIDERS, namespace, "acme"), "Paused").get("message", "")
            and o
        ),
        what="the deletion says it waits",
    )
    message = condition(waiting, "Paused")["message"]
    assert PAUSED in message and "deletion-policy" in message, message
    assert len(twilio_account.state()["trunks"]) == 1
    pause(crds, namespace, None)
    wait_for(
        lambda: get(crds, PROVIDERS, namespace, "acme") is None, timeout=20, what="deleted once unpaused"
    )
    assert twilio_account.state()["trunks"] == []
