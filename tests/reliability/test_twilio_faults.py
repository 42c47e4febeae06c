"""Item 2, Twilio faults: random 5xx (10 %), 429 bursts with Retry-After, 1-3 s stalls; ~10 providers
converge with no duplicate resources. The 50-provider version is `python -m reliability.soak`."""

from __future__ import annotations

import pytest

from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .storm import storm


@pytest.mark.usefixtures("operator")
def test_ten_providers_converge_through_a_fault_storm(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    figures = storm(crds, emulator, namespace, twilio_account, 10, timeout=150, idle_seconds=5)
    print(figures.report())
    assert figures.statuses.get(429, 0) > 0 and sum(v for k, v in figures.statuses.items() if k >= 500) > 0
    # Bounded pressure on Twilio while it fails: backoff, not a hot loop.
    assert figures.calls_per_object_per_minute < 120, figures.report()
    assert figures.idle_calls_per_minute < 10, figures.report()
