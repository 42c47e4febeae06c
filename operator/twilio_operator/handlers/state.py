"""The operator's runtime state, typed: what the startup handler builds and every handler uses.

kopf hands each handler the same `memo`; the one thing we keep in it is an `OperatorState`, so the
contract between startup and the handlers is a class, not a set of attribute names.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from twilio_operator import metrics
from twilio_operator.api.models import LIVEKIT_CONNECTION, PHONE_NUMBER, PROVIDER, ResourceKind
from twilio_operator.ports.deps import Deps


class ObjectKey(NamedTuple):
    """Names one of our objects: the key of its daemon's wake-up event."""

    kind: ResourceKind
    namespace: str
    name: str

    @classmethod
    def provider(cls, namespace: str, name: str) -> ObjectKey:
        return cls(PROVIDER, namespace, name)

    @classmethod
    def phone_number(cls, namespace: str, name: str) -> ObjectKey:
        return cls(PHONE_NUMBER, namespace, name)

    @classmethod
    def connection(cls, namespace: str, name: str) -> ObjectKey:
        return cls(LIVEKIT_CONNECTION, namespace, name)


@dataclass
class OperatorState:
    """Dependencies, per-object locks, the process-wide reconcile bound and the daemons' wake-ups."""

    deps: Deps
    max_concurrent_reconciles: int
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    wakeups: dict[ObjectKey, asyncio.Event] = field(default_factory=dict)
    # (namespace, name) -> what the provider's numbers care about: (ready, trunk SID)
    provider_states: dict[tuple[str, str], tuple[bool, str | None]] = field(default_factory=dict)
    # providers whose credentials Secret does not exist -> monotonic time since when; their daemons
    # look for it (a Secret created after its provider has none of the labels the watch selects)
    missing_credentials: dict[ObjectKey, float] = field(default_factory=dict)
    # (namespace, name) -> the provider's paused annotation as last seen on its watch
    provider_paused: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # objects whose pending wake-up came (also) from a person's change
    user_wakes: set[ObjectKey] = field(default_factory=set)
    # account SID -> monotonic time before which its siblings are not woken again
    sibling_wake_not_before: dict[str, float] = field(default_factory=dict)
    # objects whose daemon is to be woken at a set time (a retry, a rotation step, a new interval)
    timers: dict[ObjectKey, asyncio.TimerHandle] = field(default_factory=dict)
    # ("provider" | "number" | "connection", namespace, name) -> what a LiveKitConnection (or, for a
    # connection, its provider) last read of that object: a change wakes the other side
    # (handlers/livekit_connection.py)
    livekit_seen: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.max_concurrent_reconciles)

    @contextlib.asynccontextmanager
    async def turn(self, uid: str) -> AsyncIterator[None]:
        """One reconcile per object at a time, and a bounded number in the whole process.

        The object's lock comes first, then a process-wide slot: a task that waits for a slot holds
        no slot, so lock holders and slot holders never wait for each other. The bound keeps a burst
        of a thousand creates from holding a thousand reconciles' HTTP bodies in memory at once.
        """
        async with self.locks[uid], self.slots:
            token = metrics.CURRENT_OBJECT.set(uid)  # Twilio requests made now count for this object
            try:
                yield
            finally:
                metrics.CURRENT_OBJECT.reset(token)

    def forget(self, uid: str, key: ObjectKey | None = None) -> None:
        """Drop what the process keeps of an object that is gone."""
        self.locks.pop(uid, None)
        if key is not None:
            self.wakeups.pop(key, None)
            self.user_wakes.discard(key)
            self.cancel_timer(key)

    def wake_later(self, key: ObjectKey, delay: float) -> None:
        """Wake the object's daemon in `delay` seconds (whether or not it runs yet: it finds the
        wake-up when it starts). One timer per object: the earlier of two wins, and the daemon's run
        decides when the next one is due anyway."""
        loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, delay)
        current = self.timers.get(key)
        if current is not None and not current.cancelled() and current.when() <= when:
            return
        if current is not None:
            current.cancel()
        self.timers[key] = loop.call_at(when, self._fire, key)

    def cancel_timer(self, key: ObjectKey) -> None:
        if (timer := self.timers.pop(key, None)) is not None:
            timer.cancel()

    def _fire(self, key: ObjectKey) -> None:
        self.timers.pop(key, None)
        self.wakeups.setdefault(key, asyncio.Event()).set()

    def wake(self, key: ObjectKey, *, by_user: bool = False) -> None:
        """Wake the daemon of one object now (no-op when it has none yet). `by_user`: a person's change
        (a Secret edited), which is not a loop, so it does not grow the object's wake-up spacing."""
        event = self.wakeups.get(key)
        if event is not None:
            if by_user:
                self.user_wakes.add(key)
            event.set()


def state_of(memo: Any) -> OperatorState:
    """The OperatorState that the startup handler put into kopf's memo."""
    state: OperatorState = memo.state
    return state
