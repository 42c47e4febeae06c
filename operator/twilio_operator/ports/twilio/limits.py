"""Per-account concurrency towards Twilio, adapted to what Twilio allows (AIMD).

Twilio limits the requests one account may have in flight and publishes no number; new accounts have
been limited to 1 (twilio.com/docs/api/errors/20429). A request over the limit is refused with
429 / 20429, unprocessed, and every answer carries `Twilio-Concurrent-Requests`. So the bound starts
at the configured ceiling, halves on a 429 (to the header's count when it says less: those requests
were already in flight, the limit is at most that), and grows back additively on successes: quickly
while below the bound that was last refused, slowly (probing) at or above it. At a limit of 1 it
settles at 1, and one refusal costs a single `Retry-After` pause shared by every caller of the
account.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# Successes needed, per unit of bound, to grow by one: below the last refused bound, and probing it.
GROWTH_WINDOWS = 1.0
PROBE_WINDOWS = 16.0  # doubled each time a probe is refused at the same bound again, up to the maximum
MAX_PROBE_WINDOWS = 256.0
FORGET_REFUSAL_AFTER = 300.0  # seconds without a 429 after which the last refused bound is forgotten


class AccountLimits:
    """The adaptive bound, the requests in flight, and the shared pause after a 429 of one account."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = float(self.ceiling)
        self.in_flight = 0
        self.not_before = 0.0  # monotonic time before which no request of this account is sent
        self.refused_bound: int | None = None  # the bound at which Twilio last refused a request
        self._refused_at = 0.0
        self._decreased_at = -1.0
        self._probe_windows = PROBE_WINDOWS
        self._changed = asyncio.Condition()

    @property
    def bound(self) -> int:
        return max(1, min(self.ceiling, int(self.limit)))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Wait for room under the bound and for the account's pause; yields the send time."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.bound)
            self.in_flight += 1
        try:
            pause = self.not_before - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            yield time.monotonic()
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def succeeded(self) -> None:
        if self.refused_bound is not None and time.monotonic() - self._refused_at > FORGET_REFUSAL_AFTER:
            self.refused_bound = None
            self._probe_windows = PROBE_WINDOWS
        probing = self.refused_bound is not None and self.bound + 1 >= self.refused_bound
        windows = self._probe_windows if probing else GROWTH_WINDOWS
        self.limit = min(float(self.ceiling), self.limit + 1.0 / (windows * self.bound))

    def throttled(self, sent_at: float, retry_after: float | None, concurrent: int | None) -> None:
        """A 429: pause the account, and shrink the bound once per round of refusals (a request
        sent before the last decrease was sent under the old bound and says nothing new)."""
        now = time.monotonic()
        self.not_before = max(self.not_before, now + (retry_after if retry_after is not None else 1.0))
        if sent_at < self._decreased_at:
            return
        before = self.bound
        target = self.limit / 2
        if concurrent is not None and concurrent > 0:
            target = min(target, float(concurrent))
        self.limit = max(1.0, target)
        # Refused at the same bound as last time: Twilio's limit sits just below it; probe it less often.
        same = before == self.refused_bound
        self._probe_windows = min(MAX_PROBE_WINDOWS, self._probe_windows * 2) if same else PROBE_WINDOWS
        self.refused_bound = before
        self._refused_at = self._decreased_at = now
