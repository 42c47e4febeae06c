"""Durations as the CRD writes them ("30m", "1h30m"): parsed once, here."""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = r"^([0-9]+(s|m|h))+$"
_DURATION_PART = re.compile(r"([0-9]+)(s|m|h)")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
MIN_VERIFICATION_INTERVAL = timedelta(minutes=1)


def parse_duration(text: str) -> timedelta:
    """Parse "1h30m"-style durations (the pattern is enforced by the API server)."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30m or 1h)")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)
