"""The fence of the Lease elector: when a leader must consider its Lease lost (no network here)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from twilio_operator.ports.kube.leader import ElectionSettings, Elector

SETTINGS = ElectionSettings("twilio-operator", "ops", "me_00000000", lease_duration=10, renew_deadline=7)


def elector(*, leading: bool, renewed_ago: float | None, released: bool = False) -> Elector:
    e = Elector(SETTINGS)
    if leading:
        e._leading.set()
    e._released = released
    held_since = None if renewed_ago is None else time.monotonic() - renewed_ago
    e._lock = SimpleNamespace(held_since=held_since)  # type: ignore[assignment]
    return e


@pytest.mark.parametrize(
    ("leading", "renewed_ago", "released", "expired"),
    [
        (True, 1.0, False, False),  # renewed a second ago
        (True, 6.9, False, False),  # still within the renew deadline
        (True, 7.1, False, True),  # past it: a standby may take the Lease 3 s later, stop now
        (True, 3600.0, False, True),  # frozen for an hour
        (False, 3600.0, False, False),  # a standby has nothing to fence
        (True, None, False, False),  # not acquired yet
        (True, 3600.0, True, False),  # released on shutdown: nothing left to fence
    ],
)
def test_expired(leading: bool, renewed_ago: float | None, released: bool, expired: bool) -> None:
    assert elector(leading=leading, renewed_ago=renewed_ago, released=released).expired() is expired
