"""The due queue (handlers/scheduler.py) keeps the guarantees of the per-object daemons it replaced:
plans (earliest wins), wake-ups within a spacing that grows while they keep coming, one run per object
at a time, a bound on the runs in flight, and nothing kept of an object that is gone."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from twilio_operator.handlers.scheduler import DueQueue

SPACING = 0.2


class Runs:
    """A run function that counts runs per key and in flight, and answers with a set delay."""

    def __init__(self, delay: float | None = 3600.0, hold: asyncio.Event | None = None) -> None:
        self.delay = delay
        self.hold = hold
        self.count: Counter[str] = Counter()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started = asyncio.Event()

    async def __call__(self, key: str) -> float | None:
        self.count[key] += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.started.set()
        try:
            if self.hold is not None:
                await self.hold.wait()
            return self.delay
        finally:
            self.in_flight -= 1


def never_fails(key: str, error: Exception, failures: int) -> float | None:
    raise AssertionError(f"{key} failed: {error}")


@pytest.fixture
async def started() -> AsyncIterator[Callable[..., DueQueue[str]]]:
    queues: list[DueQueue[str]] = []

    def make(
        runs: Runs, workers: int = 4, on_error: Callable[..., float | None] = never_fails
    ) -> DueQueue[str]:
        queue: DueQueue[str] = DueQueue(min_spacing=SPACING, workers=workers)
        queue.start(runs, on_error)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        await queue.stop()


async def test_a_planned_object_runs_when_due_and_its_run_plans_the_next(started) -> None:
    runs = Runs(delay=0.15)
    queue = started(runs)
    queue.plan("a", 0.1)
    await asyncio.sleep(0.05)
    assert runs.count["a"] == 0  # not due yet
    await asyncio.sleep(0.4)
    assert 2 <= runs.count["a"] <= 3  # at 0.1 s, then every 0.15 s
    assert 0 < (queue.due_in("a") or 0) <= 0.15


async def test_the_earlier_of_two_plans_wins(started) -> None:
    runs = Runs()
    queue = started(runs)
    queue.plan("a", 60.0)
    queue.plan("a", 0.05)
    queue.plan("a", 30.0)  # later: changes nothing
    await asyncio.sleep(0.2)
    assert runs.count["a"] == 1
    assert (queue.due_in("a") or 0) > 3000  # the run's own answer: an hour


async def test_runs_in_flight_never_exceed_the_workers(started) -> None:
    hold = asyncio.Event()
    runs = Runs(hold=hold)
    queue = started(runs, workers=3)
    for number in range(40):
        queue.plan(f"p{number}", 0.0)
    await asyncio.sleep(0.2)
    assert runs.in_flight == 3 and sum(runs.count.values()) == 3
    hold.set()
    await asyncio.sleep(0.2)
    assert sum(runs.count.values()) == 40 and runs.most_in_flight == 3
    assert len(queue) == 40  # each one planned again, an hour from now


async def test_wake_ups_coalesce_and_an_unknown_object_is_not_woken(started) -> None:
    runs = Runs()
    queue = started(runs)
    queue.wake("stranger")
    assert "stranger" not in queue  # as for a daemon that has not started: nothing to wake
    queue.plan("a", 3600.0)
    for _ in range(5):
        queue.wake("a")
    await asyncio.sleep(0.1)
    assert runs.count["a"] == 1


async def test_wake_ups_keep_the_spacing_and_it_doubles_while_they_keep_coming(started) -> None:
    runs = Runs()
    queue = started(runs)
    queue.plan("a", 0.0)
    await asyncio.sleep(0.05)
    assert runs.count["a"] == 1
    queue.wake("a")  # within the spacing of the last run: maybe a loop, so the spacing doubles
    assert 1.5 * SPACING < (queue.due_in("a") or 0) <= 2 * SPACING
    await asyncio.sleep(SPACING)
    assert runs.count["a"] == 1
    await asyncio.sleep(SPACING + 0.05)
    assert runs.count["a"] == 2
    await asyncio.sleep(2.5 * SPACING)  # quiet for longer than the doubled spacing: back to the minimum
    queue.wake("a")
    assert (queue.due_in("a") or 0) <= 0.01


async def test_a_persons_change_keeps_the_minimum_spacing(started) -> None:
    runs = Runs()
    queue = started(runs)
    queue.plan("a", 0.0)
    await asyncio.sleep(0.05)
    for _ in range(3):
        queue.wake("a", by_user=True)
        await asyncio.sleep(SPACING + 0.05)
    assert runs.count["a"] == 4
    queue.wake("a", by_user=True)
    assert (queue.due_in("a") or 0) <= SPACING


async def test_a_wake_up_during_a_run_runs_the_object_again_after_it(started) -> None:
    hold = asyncio.Event()
    runs = Runs(hold=hold)
    queue = started(runs)
    queue.plan("a", 0.0)
    await runs.started.wait()
    queue.wake("a")
    queue.plan("a", 0.0)  # a plan made during the run is kept too, but never runs it twice at once
    assert runs.in_flight == 1
    hold.set()
    await asyncio.sleep(0.1)
    assert runs.count["a"] == 2 and runs.most_in_flight == 1


async def test_a_forgotten_object_is_not_run_again(started) -> None:
    hold = asyncio.Event()
    runs = Runs(hold=hold)
    queue = started(runs)
    queue.plan("a", 0.0)
    queue.plan("b", 0.05)
    await runs.started.wait()
    queue.forget("a")  # its finalizer ran while the run was in flight
    queue.forget("b")
    hold.set()
    await asyncio.sleep(0.15)
    assert runs.count == Counter({"a": 1})
    assert "a" not in queue and "b" not in queue


async def test_a_run_that_finds_the_object_gone_drops_it(started) -> None:
    runs = Runs(delay=None)
    queue = started(runs)
    queue.plan("a", 0.0)
    await asyncio.sleep(0.05)
    assert runs.count["a"] == 1 and "a" not in queue


async def test_failures_are_counted_per_object_and_timed_by_the_error_handler(started) -> None:
    seen: list[tuple[str, int]] = []

    async def failing(key: str) -> float | None:
        raise RuntimeError("boom")

    def on_error(key: str, error: Exception, failures: int) -> float | None:
        seen.append((key, failures))
        return 0.05 if failures < 3 else None

    queue: DueQueue[str] = DueQueue(min_spacing=SPACING, workers=2)
    queue.start(failing, on_error)
    try:
        queue.plan("a", 0.0)
        await asyncio.sleep(0.4)
    finally:
        await queue.stop()
    assert seen == [("a", 1), ("a", 2), ("a", 3)]
    assert "a" not in queue  # the error handler said there is no next try


async def test_the_heap_stays_bounded_however_often_objects_are_planned_earlier() -> None:
    queue: DueQueue[str] = DueQueue(min_spacing=SPACING, workers=1)  # not started: nothing runs
    for step in range(5000):
        queue.plan(f"p{step % 10}", 3600.0 - step)
    assert len(queue) == 10
    assert len(queue._heap) <= 2 * len(queue) + 64 + 1


async def test_stop_ends_every_worker_even_when_a_wake_up_meets_the_cancellation() -> None:
    """A wake-up sets the event the idle workers wait on; stop() right after must still end them
    all (asyncio.wait_for on 3.11 could swallow such a cancellation, and the shutdown hung)."""
    runs = Runs()
    queue: DueQueue[str] = DueQueue(min_spacing=SPACING, workers=8)
    queue.start(runs, never_fails)
    queue.plan("a", 0.0)
    await asyncio.sleep(0.05)
    for _ in range(20):
        queue.plan("b", 0.0)
        queue.wake("a")
        await asyncio.wait_for(queue.stop(), timeout=2.0)
        queue.start(runs, never_fails)
    await asyncio.wait_for(queue.stop(), timeout=2.0)
    assert not queue._tasks
