"""A status field is a promise: after a crash in the middle of imports, and after any interleaving of
provider and number reconciles, phoneNumberCount is true within seconds."""

from __future__ import annotations

import signal
import time

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    NUMBERS,
    PROVIDERS,
    condition,
    create,
    create_ready_provider,
    get,
    provider_spec,
    wait_for,
)
from fixtures.operator_process import StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

PROVIDER_NAMES = ("p0", "p1", "p2")
NUMBERS_EACH = 2
TRUE_WITHIN = 10.0  # seconds after the restart (the issue's bound)


def attached_numbers(cp: ControlPlane, namespace: str, provider: str) -> int:
    status, result = cp.request(
        "GET", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twiliophonenumbers"
    )
    assert status == 200, result
    trunk = (get(cp, PROVIDERS, namespace, provider) or {}).get("status", {}).get("trunkSid")
    return sum(
        1
        for n in result["items"]
        if n["spec"]["providerRef"]["name"] == provider
        and condition(n).get("status") == "True"
        and (n.get("status") or {}).get("trunkSid") == trunk
    )


def counts_are_true(cp: ControlPlane, namespace: str) -> bool:
    return all(
        (get(cp, PROVIDERS, namespace, p) or {}).get("status", {}).get("phoneNumberCount")
        == attached_numbers(cp, namespace, p)
        for p in PROVIDER_NAMES
    )


def test_phone_number_counts_are_true_soon_after_a_crash_during_imports(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    start_operator: StartOperator,
) -> None:
    added = emulator.add_numbers(twilio_account.sid, count=len(PROVIDER_NAMES) * NUMBERS_EACH)
    first = start_operator()
    for name in PROVIDER_NAMES:
        create_ready_provider(crds, namespace, name, provider_spec(twilio_account))
    for i, number in enumerate(added):
        provider = PROVIDER_NAMES[i // NUMBERS_EACH]
        create(
            crds,
            NUMBERS,
            namespace,
            f"n{i}",
            {"providerRef": {"name": provider}, "phoneNumber": number["phone_number"]},
        )
    # Kill the operator as soon as the first imports land, while others are still in flight.
    wait_for(lambda: any(attached_numbers(crds, namespace, p) for p in PROVIDER_NAMES), 30, "a first import")
    first.stop(signal.SIGKILL)

    start_operator()
    wait_for(
        lambda: all(
            condition(get(crds, NUMBERS, namespace, f"n{i}")).get("status") == "True"
            for i in range(len(added))
        ),
        60,
        "every number imported",
    )
    settled = time.monotonic()
    wait_for(lambda: counts_are_true(crds, namespace), TRUE_WITHIN, "phoneNumberCount true on every provider")
    print(f"counts true {time.monotonic() - settled:.1f} s after the last import")
    for name in PROVIDER_NAMES:
        assert get(crds, PROVIDERS, namespace, name)["status"]["phoneNumberCount"] == NUMBERS_EACH
