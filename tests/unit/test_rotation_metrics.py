"""The SIP credential's age and a rotation's overdue time, as gauges from the provider's status."""

from __future__ import annotations

import time

from twilio_operator import metrics
from twilio_operator.api.models import SipCredentialsStatus, TwilioProviderStatus
from twilio_operator.api.times import rfc3339
from twilio_operator.provider.status import provider_health


def samples(states: metrics.ObjectStates, family: str) -> dict[tuple[str, ...], float]:
    found = next(f for f in states.collect() if f.name == f"twilio_operator_{family}")
    return {tuple(s.labels.values()): s.value for s in found.samples}


def test_credential_age_and_overdue_rotation() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    status = TwilioProviderStatus(
        sip_credentials=SipCredentialsStatus(
            username="u",
            created_at=rfc3339(now - timedelta(days=31)),
            next_rotation_at=rfc3339(now - timedelta(days=1)),
        )
    )
    states = metrics.ObjectStates()
    states.record("uid-1", "tenant-a", "acme", provider_health(status))
    states.record("uid-2", "tenant-a", "no-schedule", provider_health(TwilioProviderStatus()))
    age = samples(states, "provider_sip_credential_age_seconds")
    overdue = samples(states, "provider_sip_rotation_overdue_seconds")
    assert set(age) == {("tenant-a", "acme")} and abs(age[("tenant-a", "acme")] - 31 * 86400) < 60
    assert abs(overdue[("tenant-a", "acme")] - 86400) < 60
    assert time.time() > 0
