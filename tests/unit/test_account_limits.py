"""ports/twilio/limits.py: the per-account bound shrinks on 429, settles at Twilio's limit, grows back."""

from __future__ import annotations

import asyncio
import time

from twilio_operator.ports.twilio.limits import AccountLimits


def test_a_429_halves_once_per_round_and_the_header_caps_it() -> None:
    limits = AccountLimits(8)
    sent = time.monotonic()
    limits.throttled(sent, retry_after=0.0, concurrent=None)
    assert limits.bound == 4
    limits.throttled(sent, retry_after=0.0, concurrent=None)  # same round: sent before the decrease
    assert limits.bound == 4
    limits.throttled(time.monotonic(), retry_after=0.0, concurrent=1)  # "1 already in flight"
    assert limits.bound == 1 and limits.refused_bound == 4


def test_grows_back_quickly_below_the_refused_bound_then_probes_slowly() -> None:
    limits = AccountLimits(8)
    limits.throttled(time.monotonic(), retry_after=0.0, concurrent=2)  # refused at 8 -> 2
    successes = 0
    while limits.bound < 7:
        limits.succeeded()
        successes += 1
    assert successes < 40
    while limits.bound < 8:
        limits.succeeded()
        successes += 1
    assert successes > 100  # probing the bound Twilio refused is slow
    for _ in range(1000):
        limits.succeeded()
    assert limits.bound == 8  # never above the ceiling


def test_stays_at_one_when_every_probe_is_refused() -> None:
    limits = AccountLimits(8)
    for _ in range(50):
        limits.throttled(time.monotonic(), retry_after=0.0, concurrent=1)
        for _ in range(10):
            limits.succeeded()
    assert limits.bound == 1


async def test_slots_respect_the_bound() -> None:
    limits = AccountLimits(2)
    peak = 0

    async def one() -> None:
        nonlocal peak
        async with limits.slot():
            peak = max(peak, limits.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(one() for _ in range(10)))
    assert peak == 2 and limits.in_flight == 0


def test_probes_less_often_when_refused_at_the_same_bound_again() -> None:
    limits = AccountLimits(8)
    limits.throttled(time.monotonic(), retry_after=0.0, concurrent=1)
    gaps = []
    for _ in range(4):
        successes = 0
        while limits.bound < 2:
            limits.succeeded()
            successes += 1
        gaps.append(successes)
        limits.throttled(time.monotonic(), retry_after=0.0, concurrent=1)  # refused at 2 again
    assert gaps[1] > gaps[0] and gaps[3] > 4 * gaps[1] / 2
