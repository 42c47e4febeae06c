"""One due-time queue for the periodic work of many objects, in place of a task per object.

A kopf daemon per provider is an asyncio task, its coroutine frames and kopf's daemon state for
every object, held for the object's whole life: at 10,000 providers that is 10,000 sleeping tasks.
Here each object is an entry (its next due time, whether a run is in flight, its wake-up spacing)
and one heap of due times; a fixed number of workers take whatever is due. So the memory of the
work in flight is bounded by the number of workers, whatever the number of objects and however fast
they arrive, and an idle object costs one small entry.

The guarantees of the daemons it replaces:
- `plan(key, delay)`: run in `delay` seconds; the earlier of two plans wins (a retry, a rotation
  step, the first run after a create or a resume). Planning an object creates its entry.
- `wake(key)`: run soon, but never closer to the previous run than the object's `WakeSpacing`, which
  doubles while wake-ups keep coming that fast (objects waking each other cannot loop against
  anybody's API); a person's change (`by_user`) keeps the minimum spacing. Wake-ups coalesce, and a
  wake-up of an object the queue does not know is a no-op, as it was for a daemon not started yet.
- A run decides when the next one is due (its return value); a plan made while it ran still counts
  if it is earlier; `None` with nothing else planned drops the entry (the object is gone).
- One run of an object at a time; failures are counted per object for the caller's backoff.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

MAX_WAKE_SPACING = 120.0

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class WakeSpacing:
    """The rate bound of one object's wake-ups (times are monotonic seconds)."""

    def __init__(self, minimum: float, maximum: float = MAX_WAKE_SPACING) -> None:
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.current = minimum
        self.last_run: float | None = None

    def before_woken_run(self, now: float, *, by_user: bool = False) -> float:
        """Seconds to wait before a run that a wake-up asked for (more wake-ups coalesce meanwhile)."""
        if self.last_run is None:
            return 0.0
        since = now - self.last_run
        # Woken again within the spacing: the objects may be waking each other; back off. A person's
        # change is no such loop: it keeps the minimum spacing.
        looping = since < self.current and not by_user
        self.current = min(self.current * 2, self.maximum) if looping else self.minimum
        return max(0.0, self.last_run + self.current - now)

    def ran(self, now: float) -> None:
        self.last_run = now


@dataclass(slots=True)
class _Entry:
    spacing: WakeSpacing
    due: float | None = None  # loop time of the next run; None: none planned
    running: bool = False
    woken: bool = False  # a wake-up waits for its run (its spacing is decided when it is planned)
    by_user: bool = False
    failures: int = 0


@dataclass
class DueQueue(Generic[K]):
    """The entries, the heap of their due times and the workers; see the module's docstring."""

    min_spacing: float
    workers: int
    _entries: dict[K, _Entry] = field(default_factory=dict)
    _heap: list[tuple[float, int, K]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)  # ties run in plan order
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _alarm: asyncio.TimerHandle | None = None  # sets _changed when the earliest item is due

    # ---- what the handlers call

    def plan(self, key: K, delay: float) -> None:
        """Run the object in `delay` seconds, or sooner if it is planned sooner already."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(WakeSpacing(self.min_spacing))
        self._set_due(key, entry, self._now() + max(0.0, delay))

    def wake(self, key: K, *, by_user: bool = False) -> None:
        """Run the object soon, within its wake-up spacing; no-op for an object the queue does not know."""
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.by_user = entry.by_user or by_user
        if entry.woken:
            return  # coalesced with the wake-up that waits already
        entry.woken = True
        if not entry.running:  # a running object's wake-up is planned when its run ends
            self._plan_woken(key, entry)

    def forget(self, key: K) -> None:
        """The object is gone: drop its entry (a run in flight ends without planning another)."""
        self._entries.pop(key, None)

    # ---- what tests and metrics read

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def due_in(self, key: K) -> float | None:
        """Seconds until the object's next run (<= 0: due now), or None when none is planned."""
        entry = self._entries.get(key)
        if entry is None or entry.due is None:
            return None
        return entry.due - self._now()

    def woken(self, key: K) -> bool:
        """Whether a wake-up of the object waits for its run."""
        entry = self._entries.get(key)
        return entry is not None and entry.woken

    # ---- the workers

    def start(
        self,
        run: Callable[[K], Awaitable[float | None]],
        on_error: Callable[[K, Exception, int], float | None],
    ) -> None:
        """Start the workers (in the running loop); each runs one due object at a time. `run` returns
        the seconds until the object's next run, or None for none (the object is gone); after a
        failed run, `on_error(key, error, failures in a row)` says the same."""
        self._changed.set()  # entries planned before the start
        for number in range(self.workers):
            task = asyncio.create_task(self._work(run, on_error), name=f"due-queue-worker-{number}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Cancel the workers (and the runs in flight, as kopf cancels daemons at its shutdown)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._alarm is not None:
            self._alarm.cancel()

    async def _work(
        self,
        run: Callable[[K], Awaitable[float | None]],
        on_error: Callable[[K, Exception, int], float | None],
    ) -> None:
        while True:
            key, entry = await self._next_due()
            entry.running, entry.due = True, None  # this run decides when the next one is due
            entry.woken = entry.by_user = False  # a pending wake-up is served by this run
            entry.spacing.ran(self._now())
            delay: float | None
            try:
                delay = await run(key)
                entry.failures = 0
            except Exception as error:  # on_error decides; a worker never dies of it
                entry.failures += 1
                try:
                    delay = on_error(key, error, entry.failures)
                except Exception:
                    log.exception("the error handler of %s failed", key)
                    delay = None
            finally:
                entry.running = False
            if self._entries.get(key) is not entry:
                continue  # forgotten while it ran; a successor under the same key has its own entry
            self._after_run(key, entry, delay)

    def _after_run(self, key: K, entry: _Entry, delay: float | None) -> None:
        planned, entry.due = entry.due, None  # planned while the run was in flight (not in the heap)
        if delay is not None:
            planned = min(planned, self._now() + delay) if planned is not None else self._now() + delay
        if planned is not None:
            self._set_due(key, entry, planned)
        if entry.woken:
            self._plan_woken(key, entry)
        if entry.due is None:
            self._entries.pop(key, None)  # nothing planned: the run said the object is gone

    async def _next_due(self) -> tuple[K, _Entry]:
        while True:
            self._changed.clear()
            now = self._now()
            while self._heap:
                when, _, key = self._heap[0]
                entry = self._entries.get(key)
                if entry is None or entry.running or entry.due != when:
                    heapq.heappop(self._heap)  # stale: forgotten, running, or planned again since
                    continue
                if when > now:
                    break
                heapq.heappop(self._heap)
                return key, entry
            if self._heap:
                self._alarm_at(self._heap[0][0])
            # No wait_for: on 3.11 it can swallow a cancellation that meets a set event, and a
            # worker would then outlive stop(). The alarm sets the event when the first item is due.
            await self._changed.wait()

    def _alarm_at(self, when: float) -> None:
        alarm = self._alarm
        if alarm is not None and not alarm.cancelled() and alarm.when() <= when:
            return
        if alarm is not None:
            alarm.cancel()
        self._alarm = asyncio.get_running_loop().call_at(when, self._ring)

    def _ring(self) -> None:
        self._alarm = None
        self._changed.set()

    # ---- inside

    def _plan_woken(self, key: K, entry: _Entry) -> None:
        now = self._now()
        self._set_due(key, entry, now + entry.spacing.before_woken_run(now, by_user=entry.by_user))

    def _set_due(self, key: K, entry: _Entry, when: float) -> None:
        if entry.due is not None and entry.due <= when:
            return
        entry.due = when
        if not entry.running:  # a running entry's plan is pushed when its run ends
            heapq.heappush(self._heap, (when, next(self._order), key))
            self._changed.set()
            if len(self._heap) > 2 * len(self._entries) + 64:
                self._compact()

    def _compact(self) -> None:
        """Drop the heap's stale items (a plan moved earlier leaves its later item behind): the heap
        stays within twice the entries, however often objects are woken."""
        self._heap = [
            (e.due, next(self._order), k)
            for k, e in self._entries.items()
            if e.due is not None and not e.running
        ]
        heapq.heapify(self._heap)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()
