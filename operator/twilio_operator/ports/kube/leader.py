"""Lease-based leader election for `twilio-operator run`, over kubernetes_asyncio.leaderelection.

The election algorithm is the library's (`LeaderElection` with a `LeaseLock`): a candidate polls the
Lease every retry period, takes it when it is free or expired, and the leader renews it every retry
period and gives up when it could not renew for the renew deadline. What this module adds around it:

- **Its own thread and event loop.** The elector runs beside kopf, not inside kopf's loop: a burst
  of a thousand reconciles keeps kopf's loop busy for many seconds, and a renewal that waits for
  that loop would lose the Lease for no reason.
- **The standby does nothing but campaign.** `wait_for_leadership()` blocks the caller (the CLI)
  before kopf is started, so a standby makes no Twilio call and no Kubernetes request except
  reading the Lease (and taking it once it is free or expired).
- **A fence.** The library notices a lost Lease only after its renew deadline of failed attempts,
  and not at all while a request hangs or the process is frozen (SIGSTOP, a paused VM); meanwhile
  kopf would go on writing. So every successful acquire or renew records its start on the monotonic
  clock, and the process exits (`os._exit`, no cleanup that could write) as soon as the renew
  deadline has passed since then: a watchdog thread checks every 100 ms, and a SIGCONT handler
  checks as soon as the main thread (kopf's event loop) runs Python code again after a stop, before
  the loop can dispatch the callbacks that piled up meanwhile. Requests a handler had already sent
  before the stop were sent while the Lease was valid. The leader therefore
  stops before `lease duration` has passed, which is when a standby may take over. On a lost Lease
  the process exits with `LOST_LEADERSHIP_EXIT_CODE`, and Kubernetes restarts it as a standby.
- **Release on shutdown.** After kopf has stopped (SIGTERM), `release()` clears the holder, so a
  standby takes over at its next poll instead of waiting for the Lease to expire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.leaderelection.electionconfig import Config
from kubernetes_asyncio.leaderelection.leaderelection import LeaderElection
from kubernetes_asyncio.leaderelection.leaderelectionrecord import LeaderElectionRecord
from kubernetes_asyncio.leaderelection.resourcelock.leaselock import LeaseLock

from twilio_operator.settings import Settings, env_name

log = logging.getLogger(__name__)

# The defaults are the settings' (twilio_operator/settings.py): failover after a crash takes at most
# lease duration + retry period + kopf's start (about 1 s): 12-13 s with them. A handover on SIGTERM
# takes at most one retry period + kopf's start.
_DEFAULTS = Settings()
DEFAULT_LEASE_NAME = _DEFAULTS.leader_election_lease_name
DEFAULT_LEASE_DURATION = _DEFAULTS.leader_election_lease_duration
DEFAULT_RENEW_DEADLINE = _DEFAULTS.leader_election_renew_deadline
DEFAULT_RETRY_PERIOD = _DEFAULTS.leader_election_retry_period
LOST_LEADERSHIP_EXIT_CODE = 75  # EX_TEMPFAIL: "try again", which is what a restart as standby does
WATCHDOG_PERIOD = 0.1


@dataclass(frozen=True)
class ElectionSettings:
    lease_name: str
    namespace: str
    identity: str
    lease_duration: int = DEFAULT_LEASE_DURATION  # whole seconds: the Lease stores an integer
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD

    def __post_init__(self) -> None:
        # The library's own rules (electionconfig.Config), said here with the variable names.
        if not self.lease_duration > self.renew_deadline > 1.2 * self.retry_period or self.retry_period < 1:
            duration, deadline, retry = (
                env_name(f"leader_election_{name}")
                for name in ("lease_duration", "renew_deadline", "retry_period")
            )
            raise ValueError(
                f"{duration} > {deadline} > 1.2 x {retry} >= 1.2 is required, "
                f"got {self.lease_duration}, {self.renew_deadline}, {self.retry_period}"
            )


class _TimedLeaseLock(LeaseLock):
    """The library's LeaseLock, plus: when the last successful write started, a timeout per request,
    and transport errors reported as failed attempts (the library expects only ApiException)."""

    def __init__(self, settings: ElectionSettings, api: k8s.ApiClient) -> None:
        super().__init__(settings.lease_name, settings.namespace, settings.identity, api)
        self.timeout = settings.retry_period * 2
        self.held_since: float | None = None  # monotonic start of the last successful acquire/renew

    async def get(self, name: str, namespace: str) -> Any:
        try:
            return await asyncio.wait_for(super().get(name, namespace), self.timeout)
        except Exception as exc:  # any failure is a failed attempt; the library retries
            error = ApiException(status=503, reason=f"cannot read Lease: {type(exc).__name__}")
            error.body = json.dumps({"code": 503}).encode()
            return False, error

    async def create(self, name: str, namespace: str, election_record: LeaderElectionRecord) -> bool:
        return await self._timed(super().create(name, namespace, election_record))

    async def update(self, name: str, namespace: str, updated_record: LeaderElectionRecord) -> bool:
        return await self._timed(super().update(name, namespace, updated_record))

    async def _timed(self, write: Any) -> bool:
        started = time.monotonic()
        try:
            ok = bool(await asyncio.wait_for(write, self.timeout))
        except Exception:  # a failed attempt; the library retries until its deadline
            log.warning("cannot write Lease %s/%s", self.namespace, self.name)
            return False
        if ok:
            self.held_since = started
        return ok


class Elector:
    """Campaigns for the Lease on a thread of its own; see the module docstring."""

    def __init__(self, settings: ElectionSettings) -> None:
        self.settings = settings
        self._leading = threading.Event()
        self._failed: BaseException | None = None
        self._released = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._election: asyncio.Task[None] | None = None
        self._closed: asyncio.Event | None = None
        self._lock: _TimedLeaseLock | None = None
        self._api: k8s.ApiClient | None = None
        self._thread = threading.Thread(target=self._thread_main, name="leader-election", daemon=True)
        self._watchdog = threading.Thread(target=self._watch_deadline, name="leader-fence", daemon=True)

    # ---- the caller's side (main thread)

    def start(self) -> None:
        log.info(
            "campaigning for Lease %s/%s as %s",
            self.settings.namespace,
            self.settings.lease_name,
            self.settings.identity,
        )
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGCONT, self._on_continue)
        self._thread.start()
        self._watchdog.start()

    def wait_for_leadership(self) -> None:
        """Block until this process holds the Lease; raise if the elector failed."""
        while not self._leading.wait(0.5):
            if self._failed is not None or not self._thread.is_alive():
                raise RuntimeError(f"leader election stopped: {self._failed!r}")
        log.info(
            "acquired Lease %s/%s: starting the operator", self.settings.namespace, self.settings.lease_name
        )

    def alive(self) -> bool:
        return self._thread.is_alive() and self._failed is None

    @property
    def leading(self) -> bool:
        return self._leading.is_set() and not self._released

    def release(self) -> None:
        """Stop renewing and clear the Lease's holder. Call only once nothing writes any more."""
        if self._loop is None or not self._leading.is_set() or self._released:
            return
        future = asyncio.run_coroutine_threadsafe(self._release(), self._loop)
        try:
            future.result(timeout=self.settings.retry_period * 3)
        except Exception as exc:  # the Lease then simply expires
            log.warning("cannot release Lease %s: %r", self.settings.lease_name, exc)

    # ---- the fence

    def expired(self) -> bool:
        held_since = self._lock.held_since if self._lock is not None else None
        return (
            self._leading.is_set()
            and not self._released
            and held_since is not None
            and time.monotonic() - held_since > self.settings.renew_deadline
        )

    def _exit_lost(self, why: str) -> None:
        log.error(
            "lost Lease %s (%s): exiting so that a restart makes this pod a standby",
            self.settings.lease_name,
            why,
        )
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(LOST_LEADERSHIP_EXIT_CODE)

    def _on_continue(self, signum: int, frame: FrameType | None) -> None:
        if self.expired():
            self._exit_lost("resumed after a stop longer than the renew deadline")

    def _watch_deadline(self) -> None:
        while True:
            time.sleep(WATCHDOG_PERIOD)
            if self.expired():
                self._exit_lost(f"not renewed for {self.settings.renew_deadline:g} s")

    # ---- the elector's thread

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._campaign())
        except BaseException as exc:  # reported to the waiting main thread
            self._failed = exc
            if self._leading.is_set() and not self._released:
                self._exit_lost(f"elector failed: {exc!r}")
            log.error("leader election failed: %r", exc)

    async def _campaign(self) -> None:
        self._loop = asyncio.get_running_loop()
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except k8s_config.ConfigException:
            await k8s_config.load_kube_config(client_configuration=configuration)
        self._api = k8s.ApiClient(configuration)
        self._lock = _TimedLeaseLock(self.settings, self._api)
        config = Config(
            lock=self._lock,
            lease_duration=self.settings.lease_duration,
            renew_deadline=self.settings.renew_deadline,
            retry_period=self.settings.retry_period,
            onstarted_leading=self._on_started,
            onstopped_leading=self._on_stopped,
        )
        election = self._election = asyncio.create_task(LeaderElection(config).run())
        closed = self._closed = asyncio.Event()
        try:
            await election
        except asyncio.CancelledError:
            if not self._released:
                raise
            await closed.wait()  # release() finishes its write, then closes the client
        else:
            await self._api.close()

    async def _on_started(self) -> None:
        self._leading.set()

    async def _on_stopped(self) -> None:
        if not self._released:
            self._exit_lost("the renew deadline passed without a successful renewal")

    async def _release(self) -> None:
        self._released = True  # from here on the watchdog and _on_stopped stand down
        assert self._election is not None and self._api is not None and self._closed is not None
        self._election.cancel()  # no renewal may race the release below
        await asyncio.gather(self._election, return_exceptions=True)
        try:
            coordination = k8s.CoordinationV1Api(self._api)
            name, namespace = self.settings.lease_name, self.settings.namespace
            lease = await coordination.read_namespaced_lease(name, namespace)
            if lease.spec is not None and lease.spec.holder_identity == self.settings.identity:
                # As client-go releases: no holder, and 1 s for readers that ignore the holder. The
                # read's resourceVersion makes this a compare-and-swap.
                lease.spec.holder_identity = ""
                lease.spec.lease_duration_seconds = 1
                lease.spec.renew_time = datetime.now(UTC)
                await coordination.replace_namespaced_lease(name, namespace, lease)
                log.info("released Lease %s/%s", namespace, name)
        finally:
            await self._api.close()
            self._closed.set()
