"""Prometheus metrics of the operator.

Label values are bounded: kinds, results, Twilio and LiveKit operations (the fixed tables in
ports/twilio/operations.py and ports/livekit/operations.py), HTTP status codes, error kinds,
verification statuses. The one per-object series,
the last successful verification time, is keyed by namespace and name because
an on-call engineer needs exactly that, and it exists once per TwilioProvider.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

PREFIX = "twilio_operator"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RECONCILES = Counter(
    f"{PREFIX}_reconcile_total",
    "Reconciles by kind and result (ready, not_ready, blocked, error).",
    ["kind", "result"],
)
RECONCILE_SECONDS = Histogram(
    f"{PREFIX}_reconcile_duration_seconds", "Time one reconcile took.", ["kind"], buckets=LATENCY_BUCKETS
)
TWILIO_REQUESTS = Counter(
    f"{PREFIX}_twilio_requests_total",
    "Twilio API calls by operation and HTTP status code ('error' when no answer arrived).",
    ["operation", "code"],
)
TWILIO_SECONDS = Histogram(
    f"{PREFIX}_twilio_request_duration_seconds",
    "Twilio API call latency.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
TWILIO_RATE_LIMITED = Counter(f"{PREFIX}_twilio_rate_limited_total", "Twilio answers with HTTP 429.")
LIVEKIT_REQUESTS = Counter(
    f"{PREFIX}_livekit_requests_total",
    "LiveKit API calls by operation and HTTP status code ('error' when no answer arrived).",
    ["operation", "code"],
)
LIVEKIT_SECONDS = Histogram(
    f"{PREFIX}_livekit_request_duration_seconds",
    "LiveKit API call latency.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
LIVEKIT_ERRORS = Counter(
    f"{PREFIX}_livekit_errors_total",
    "Failed LiveKit API calls by operation and kind (unreachable, transient, auth, not_found, conflict, "
    "invalid).",
    ["operation", "kind"],
)
RETRIES = Counter(
    f"{PREFIX}_retries_total", "Attempts that will be retried, by handler and reason.", ["handler", "reason"]
)
LEADER = Gauge(
    f"{PREFIX}_leader",
    "With leader election: 1 while this process holds the Lease and runs the operator, 0 while it stands by.",
    ["lease"],
)
SECRET_EVENTS = Counter(
    f"{PREFIX}_secret_events_total",
    "Secret changes the operator received (only labelled Secrets are watched), by the role of the "
    "Secret: credentials, sip, livekit (a LiveKitConnection's API Secret), or unreferenced.",
    ["role"],
)
log = logging.getLogger(__name__)
_serving = False


@dataclass
class ReconcileRecord:
    result: str = "ready"


@contextmanager
def timed_reconcile(kind: str) -> Iterator[ReconcileRecord]:
    """Count and time one reconcile; the body sets record.result, an exception makes it 'error'."""
    record = ReconcileRecord()
    started = time.perf_counter()
    try:
        yield record
    except BaseException:
        record.result = "error"
        raise
    finally:
        RECONCILES.labels(kind, record.result).inc()
        RECONCILE_SECONDS.labels(kind).observe(time.perf_counter() - started)


# The object whose reconcile is running in this task; set by the handlers around each reconcile.
CURRENT_OBJECT: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_object", default=None)


def observe_twilio_call(label: str, code: int | None, seconds: float) -> None:
    TWILIO_REQUESTS.labels(label, str(code) if code else "error").inc()
    TWILIO_SECONDS.labels(label).observe(seconds)
    if code == 429:
        TWILIO_RATE_LIMITED.inc()
    uid = CURRENT_OBJECT.get()
    if uid is not None:
        CALLS_PER_OBJECT.count(uid)


def observe_livekit_call(label: str, code: int | None, seconds: float, error_kind: str | None) -> None:
    LIVEKIT_REQUESTS.labels(label, str(code) if code else "error").inc()
    LIVEKIT_SECONDS.labels(label).observe(seconds)
    if error_kind is not None:
        LIVEKIT_ERRORS.labels(label, error_kind).inc()


@dataclass(eq=False)  # registries hash their collectors
class CallsPerObject(Collector):
    """Twilio requests per object per minute, reported as the largest count over all objects.

    All of a runaway loop's requests can be successful, so no error-rate alert sees one; this gauge
    does. One series, whatever the number of objects: the per-object counts stay in memory, two
    minutes' worth at most.
    """

    clock: Callable[[], float] = time.monotonic
    # uid -> (minute, requests in that minute, requests in the minute before)
    minutes: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def count(self, uid: str) -> None:
        minute = int(self.clock() // 60)
        seen, current, before = self.minutes.get(uid, (minute, 0, 0))
        if seen == minute:
            self.minutes[uid] = (minute, current + 1, before)
        else:
            self.minutes[uid] = (minute, 1, current if seen == minute - 1 else 0)

    def busiest(self) -> int:
        """The most requests one object made in the current or the previous minute."""
        minute = int(self.clock() // 60)
        stale = [uid for uid, (seen, _, _) in self.minutes.items() if seen < minute - 1]
        for uid in stale:
            del self.minutes[uid]
        most = 0
        for seen, current, before in self.minutes.values():
            most = max(most, current, before if seen == minute else 0)
        return most

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            f"{PREFIX}_twilio_calls_per_object_max",
            "Most Twilio requests one object made in the current or the previous minute.",
            value=self.busiest(),
        )


CALLS_PER_OBJECT = CallsPerObject()
REGISTRY.register(CALLS_PER_OBJECT)


@dataclass
class ObjectHealth:
    """What the last reconcile of each object said, for the gauges."""

    kind: str
    ready: bool
    verification_status: str | None = None
    last_verified: float | None = None  # unix time of the last successful verification
    sip_credential_created: float | None = None  # unix time the current SIP credential was created
    sip_rotation_due: float | None = None  # unix time the next scheduled rotation is due


@dataclass(eq=False)  # registries hash their collectors
class ObjectStates(Collector):
    """Gauges computed at scrape time from the operator's own view of its objects."""

    objects: dict[str, tuple[str, str, ObjectHealth]] = field(
        default_factory=dict
    )  # uid -> (ns, name, health)

    def record(self, uid: str, namespace: str, name: str, health: ObjectHealth) -> None:
        previous = self.objects.get(uid)
        if health.last_verified is None and previous is not None:
            # A failed verification does not reset the time since the last good one.
            health.last_verified = previous[2].last_verified
        self.objects[uid] = (namespace, name, health)

    def forget(self, uid: str) -> None:
        self.objects.pop(uid, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ready = GaugeMetricFamily(f"{PREFIX}_objects", "Objects by kind and Ready.", labels=["kind", "ready"])
        verification = GaugeMetricFamily(
            f"{PREFIX}_providers_by_verification_status",
            "TwilioProviders by verificationStatus.",
            labels=["verification_status"],
        )
        age = GaugeMetricFamily(
            f"{PREFIX}_provider_seconds_since_verified",
            "Seconds since the provider was last verified successfully.",
            labels=["namespace", "name"],
        )
        credential_age = GaugeMetricFamily(
            f"{PREFIX}_provider_sip_credential_age_seconds",
            "Seconds since the provider's current SIP credential was created.",
            labels=["namespace", "name"],
        )
        overdue = GaugeMetricFamily(
            f"{PREFIX}_provider_sip_rotation_overdue_seconds",
            "Seconds a scheduled SIP credential rotation is overdue (0 until due; needs rotationInterval).",
            labels=["namespace", "name"],
        )
        counts: dict[tuple[str, str], int] = {}
        statuses: dict[str, int] = {}
        now = time.time()
        for namespace, name, health in self.objects.values():
            key = (health.kind, "true" if health.ready else "false")
            counts[key] = counts.get(key, 0) + 1
            if health.verification_status:
                statuses[health.verification_status] = statuses.get(health.verification_status, 0) + 1
            if health.last_verified is not None:
                age.add_metric([namespace, name], max(0.0, now - health.last_verified))
            if health.sip_credential_created is not None:
                credential_age.add_metric([namespace, name], max(0.0, now - health.sip_credential_created))
            if health.sip_rotation_due is not None:
                overdue.add_metric([namespace, name], max(0.0, now - health.sip_rotation_due))
        for (kind, is_ready), count in sorted(counts.items()):
            ready.add_metric([kind, is_ready], count)
        for status, count in sorted(statuses.items()):
            verification.add_metric([status], count)
        yield ready
        yield verification
        yield age
        yield credential_age
        yield overdue


STATES = ObjectStates()
REGISTRY.register(STATES)


def serve(port: int) -> None:
    """Expose /metrics (and the process_* metrics of the default registry) on all interfaces.

    A port already in use costs the metrics, not the operator.
    """
    global _serving
    if port <= 0 or _serving:  # a standby serves it before kopf starts; kopf's startup then keeps it
        return
    try:
        start_http_server(port)
        _serving = True
    except OSError as error:
        log.warning("metrics endpoint disabled: cannot listen on port %d (%s)", port, error.strerror)
