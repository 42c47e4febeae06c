"""Prometheus metrics of the operator.

Label values are bounded: kinds, results, Twilio operations (a fixed set in the
gateway), HTTP status codes, verification statuses. The one per-object series,
the last successful verification time, is keyed by namespace and name because
an on-call engineer needs exactly that, and it exists once per TwilioProvider.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from prometheus_client import Counter, Histogram, start_http_server
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
RETRIES = Counter(
    f"{PREFIX}_retries_total", "Attempts that will be retried, by handler and reason.", ["handler", "reason"]
)
log = logging.getLogger(__name__)


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


def operation_label(operation: str) -> str:
    """'create SIP trunk' -> 'create_sip_trunk' (the gateway's operations are a fixed set)."""
    return re.sub(r"[^a-z0-9]+", "_", operation.lower()).strip("_")


def observe_twilio_call(operation: str, code: int | None, seconds: float) -> None:
    label = operation_label(operation)
    TWILIO_REQUESTS.labels(label, str(code) if code else "error").inc()
    TWILIO_SECONDS.labels(label).observe(seconds)
    if code == 429:
        TWILIO_RATE_LIMITED.inc()


@dataclass
class ObjectHealth:
    """What the last reconcile of each object said, for the gauges."""

    kind: str
    ready: bool
    verification_status: str | None = None
    last_verified: float | None = None  # unix time of the last successful verification


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
        for (kind, is_ready), count in sorted(counts.items()):
            ready.add_metric([kind, is_ready], count)
        for status, count in sorted(statuses.items()):
            verification.add_metric([status], count)
        yield ready
        yield verification
        yield age


STATES = ObjectStates()
REGISTRY.register(STATES)


def serve(port: int) -> None:
    """Expose /metrics (and the process_* metrics of the default registry) on all interfaces.

    A port already in use costs the metrics, not the operator.
    """
    if port <= 0:
        return
    try:
        start_http_server(port)
    except OSError as error:
        log.warning("metrics endpoint disabled: cannot listen on port %d (%s)", port, error.strerror)
