"""Polling until something is true, for tests, the demo and the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """The awaited condition did not come true in time; the message says what was awaited."""


def wait_for(
    check: Callable[[], T | None], timeout: float = 30.0, what: str = "condition", interval: float = 0.2
) -> T:
    """Call check until it returns something truthy, and return that; WaitTimeout after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
