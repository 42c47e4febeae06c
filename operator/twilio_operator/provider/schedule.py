"""When a TwilioProvider is verified next: its verificationInterval, with a floor and jitter.

The API server refuses intervals under 1m; objects stored before that rule are held to the same
floor here. `scale` (Settings.verification_interval_scale) multiplies every interval (default 1): the
tests and benchmarks run hours in seconds with it. The liveness probe reads the same interval.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from twilio_operator.api import conditions as c
from twilio_operator.api.durations import MIN_VERIFICATION_INTERVAL, parse_duration
from twilio_operator.api.times import parse_rfc3339
from twilio_operator.provider.resource import Provider

JITTER = 0.1  # +-10 %, so providers created together do not verify together forever


def verification_interval_seconds(interval_text: str | None, *, scale: float) -> float:
    """A verificationInterval in seconds, never below the floor, times the scale."""
    try:
        interval = parse_duration(str(interval_text or "1h")).total_seconds()
    except ValueError:
        interval = 3600.0
    return max(interval, MIN_VERIFICATION_INTERVAL.total_seconds()) * scale


def next_interval(provider: Provider, *, scale: float) -> float:
    """The provider's interval, jittered to spread the herd."""
    interval = verification_interval_seconds(provider.spec.verification_interval, scale=scale)
    return interval * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311


def seconds_until_due(provider: Provider, *, scale: float, now: datetime | None = None) -> float:
    """Seconds until the next verification is due, from status.lastVerifiedAt (<= 0: overdue)."""
    interval = next_interval(provider, scale=scale)
    last = parse_rfc3339(provider.status.last_verified_at)
    if last is None:
        return interval
    elapsed = (now or datetime.now(UTC)) - last
    return interval - elapsed / timedelta(seconds=1)


def verified_recently(provider: Provider, *, scale: float) -> bool:
    """Ready for this generation and not yet due: an operator restart need not call Twilio."""
    status = provider.status
    if not c.is_true(status.conditions) or status.observed_generation != provider.generation:
        return False
    return seconds_until_due(provider, scale=scale) > 0
