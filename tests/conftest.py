"""Shared pytest configuration: fixtures live in tests/fixtures/ as plugins; `both_worlds` is here."""

from __future__ import annotations

import pytest

from twilio_operator.emulator.client import EmulatorAdmin

pytest_plugins = [
    "fixtures.emulator",
    "fixtures.controlplane",
    "fixtures.operator_process",
    "fixtures.livekit",
]


@pytest.fixture(params=["documented", "strict"])
def both_worlds(request: pytest.FixtureRequest, emulator: EmulatorAdmin) -> bool:
    """The test once in each of the emulator's worlds, whatever the session's mode (True: strict).
    For the behaviours where Twilio is unconfirmed the operator must be right in both, and the
    session of `make test` runs only the documented one (`--emulator-strict` runs only the other)."""
    strict = request.param == "strict"
    emulator.configure(strict=strict)
    return strict
