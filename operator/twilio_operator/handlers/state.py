"""The operator's runtime state, typed: what the startup handler builds and every handler uses.

kopf hands each handler the same `memo`; the one thing we keep in it is an `OperatorState`, so the
contract between startup and the handlers is a class, not a set of attribute names. The process that
starts kopf (process/launch.py) hands the startup handler the settings through the memo it gives
kopf (`memo_with`); the startup handler moves them into the OperatorState (`take_settings`). Everything the
process remembers between two handler calls is a field here (no handler module keeps a mutable
global: tests/unit/test_no_module_state.py), and `forget` drops what belongs to an object that is
gone, so an object made again under the same name starts from nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import kopf

from twilio_operator import metrics
from twilio_operator.api.models import (
    EMERGENCY_ADDRESS,
    LIVEKIT_CONNECTION,
    PHONE_NUMBER,
    PROVIDER,
    ResourceKind,
)
from twilio_operator.handlers.scheduler import DueQueue
from twilio_operator.ports.deps import Deps
from twilio_operator.provider.agent_table import Published
from twilio_operator.settings import Settings

SETTINGS_KEY = "settings"  # in the memo kopf is started with, until the startup handler takes them
# The kinds whose periodic work the due queue runs (handlers/scheduler.py); the others still have a
# kopf daemon per object (run_periodically), woken through `wakeups`.
QUEUED_KINDS = frozenset({PROVIDER})


class ObjectKey(NamedTuple):
    """Names one of our objects: the key of its due-queue entry or of its daemon's wake-up event."""

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
    def emergency_address(cls, namespace: str, name: str) -> ObjectKey:
        return cls(EMERGENCY_ADDRESS, namespace, name)

    @classmethod
    def connection(cls, namespace: str, name: str) -> ObjectKey:
        return cls(LIVEKIT_CONNECTION, namespace, name)


class ProviderSummary(NamedTuple):
    """What a provider's numbers care about, as its watch last showed it."""

    ready: bool
    trunk_sid: str | None


@dataclass
class AgentTable:
    """One provider's agent-table ConfigMap: one publication at a time, and what was applied last."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    published: Published = field(default_factory=Published)


class Progress:
    """When the provider watch last delivered an event, and the verification interval (seconds) of
    each provider it knows, by uid: what the liveness probe decides from (handlers/probes.py)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.last_event = clock()
        self._intervals: dict[str, float] = {}

    def seen(self, uid: str, interval: float) -> None:
        self.last_event = self._clock()
        self._intervals[uid] = interval

    def gone(self, uid: str) -> None:
        self.last_event = self._clock()
        self.forget(uid)

    def forget(self, uid: str) -> None:
        self._intervals.pop(uid, None)

    def horizon(self, stall: float) -> float | None:
        """Seconds of silence that mean a stall; None when there is nothing to watch."""
        if not self._intervals:
            return None
        return max(stall, 2 * min(self._intervals.values()))

    def silence(self) -> float:
        return self._clock() - self.last_event


@dataclass
class OperatorState:
    """Dependencies, per-object locks, the process-wide reconcile bound, the due queue, the daemons'
    wake-ups and what the watches last showed.

    What the watch of an object showed is kept by uid: kopf handles the events of two objects one
    after the other only when they are the same object, so the DELETED event of a provider can come
    after the first events of its successor under the same name, and must not drop what the
    successor's events left. What a daemon uses is kept by name (ObjectKey) and dropped by the
    object's finalizer, which always ends before a successor can exist."""

    deps: Deps
    settings: Settings
    # ---- by uid
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    provider_states: dict[str, ProviderSummary] = field(default_factory=dict)
    # the provider's paused annotation as last seen on its watch
    provider_paused: dict[str, str | None] = field(default_factory=dict)
    # the provider's rotate-sip-credentials annotation as last seen on its watch
    rotation_seen: dict[str, str | None] = field(default_factory=dict)
    # the provider's metadata.generation for which a reconcile was last planned (handlers/provider.py)
    generations: dict[str, int | None] = field(default_factory=dict)
    agent_tables: dict[str, AgentTable] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    # ---- by name
    wakeups: dict[ObjectKey, asyncio.Event] = field(default_factory=dict)
    # providers whose credentials Secret does not exist -> monotonic time since when; their daemons
    # look for it (a Secret created after its provider has none of the labels the watch selects)
    missing_credentials: dict[ObjectKey, float] = field(default_factory=dict)
    # objects whose pending wake-up came (also) from a person's change
    user_wakes: set[ObjectKey] = field(default_factory=set)
    # objects whose daemon is to be woken at a set time (a retry, a rotation step, a new interval)
    timers: dict[ObjectKey, asyncio.TimerHandle] = field(default_factory=dict)
    # ---- process-wide
    # account SID -> monotonic time before which its siblings are not woken again
    sibling_wake_not_before: dict[str, float] = field(default_factory=dict)
    # the label-selected Secret watches (handlers/secrets.py), cancelled at shutdown
    secret_watches: list[asyncio.Task[None]] = field(default_factory=list)
    # ("provider" | "number" | "connection", namespace, name) -> what a LiveKitConnection (or, for a
    # connection, its provider) last read of that object: a change wakes the other side
    # (handlers/livekit_connection.py)
    livekit_seen: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # kopf's index objects by id (live views), for the due queue's runs, which no kopf call hands them
    kopf_indexes: dict[str, Any] = field(default_factory=dict)
    # kopf's settings, for the object loggers of the due queue's runs (a warning becomes an Event)
    kopf_settings: kopf.OperatorSettings | None = None
    slots: asyncio.Semaphore = field(init=False)
    queue: DueQueue[ObjectKey] = field(init=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.settings.max_concurrent_reconciles)
        # Its workers take a slot per run too, so kopf's own handlers (finalizers) always get one.
        self.queue = DueQueue(
            min_spacing=self.settings.min_wake_spacing_seconds,
            workers=self.settings.max_concurrent_reconciles,
        )

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

    def agent_table(self, provider_uid: str) -> AgentTable:
        return self.agent_tables.setdefault(provider_uid, AgentTable())

    def forget(self, uid: str | None = None, key: ObjectKey | None = None) -> None:
        """Drop what the process keeps of an object that is gone, at the two moments it is gone:

        - `key`, from the object's finalizer: what its daemon kept by name (a successor under the
          same name cannot exist before the finalizer ends);
        - `uid`, when its watch says DELETED (or, for a kind without a watch-event handler, from
          its finalizer too): what is kept by its uid, what its watch showed included. The
          finalizer of a provider must leave that: the DELETED event that follows compares with it
          (and wakes the provider's numbers).
        """
        if uid is not None:
            self.locks.pop(uid, None)
            self.provider_states.pop(uid, None)
            self.provider_paused.pop(uid, None)
            self.rotation_seen.pop(uid, None)
            self.generations.pop(uid, None)
            self.agent_tables.pop(uid, None)
            self.progress.forget(uid)
        if key is not None:
            self.queue.forget(key)
            self.wakeups.pop(key, None)
            self.missing_credentials.pop(key, None)
            self.user_wakes.discard(key)
            self.cancel_timer(key)

    def wake_later(self, key: ObjectKey, delay: float) -> None:
        """Run the object in `delay` seconds: a provider's plan in the due queue (its entry is made if
        need be), or the wake-up of another kind's daemon (whether or not it runs yet: it finds the
        wake-up when it starts). One time per object: the earlier of two wins, and the run decides
        when the next one is due anyway."""
        if key.kind in QUEUED_KINDS:
            self.queue.plan(key, delay)
            return
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
        """Wake one object now: its entry in the due queue, or its daemon (no-op when it has none
        yet). `by_user`: a person's change (a Secret edited), which is not a loop, so it does not
        grow the object's wake-up spacing. A provider's finalizer waits on `wakeups` too, so both
        are told."""
        if key.kind in QUEUED_KINDS:
            self.queue.wake(key, by_user=by_user)
        event = self.wakeups.get(key)
        if event is not None:
            if by_user:
                self.user_wakes.add(key)
            event.set()


def memo_with(settings: Settings) -> kopf.Memo:
    """The memo to start kopf with: the settings, for the startup handler to take."""
    return kopf.Memo({SETTINGS_KEY: settings})


def take_settings(memo: kopf.Memo) -> Settings | None:
    """The settings the process started kopf with, taken out of the memo (None when kopf was started
    without them: `kopf run -m twilio_operator.handlers`)."""
    given = memo.pop(SETTINGS_KEY, None)
    return given if isinstance(given, Settings) else None


def state_of(memo: Any) -> OperatorState:
    """The OperatorState that the startup handler put into kopf's memo."""
    state: OperatorState = memo.state
    return state
