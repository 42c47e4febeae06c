"""Start kopf with the operator's handlers (twilio_operator.handlers): what `twilio-operator run` calls.

With leader election on (TWILIO_OPERATOR_LEADER_ELECTION, see ports/kube/leader.py) the process
first campaigns for the Lease and starts kopf only once it holds it. A standby therefore runs no
handler, no watch and no startup hook: it cannot call Twilio or write to Kubernetes, apart from its
Lease attempts. Meanwhile it answers the liveness probe itself, so the kubelet leaves it alone.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from kopf.cli import main as kopf_main

from twilio_operator import metrics
from twilio_operator.handlers.secrets import WATCH_NAMESPACES_ENV
from twilio_operator.handlers.settings import DEFAULT_METRICS_PORT, METRICS_PORT_ENV
from twilio_operator.ports.kube.leader import ElectionSettings, Elector, settings_from_env
from twilio_operator.process.standby import StandbyHealth, liveness_address

HANDLERS_MODULE = "twilio_operator.handlers"

log = logging.getLogger("twilio_operator.leader")


def election_from_env() -> ElectionSettings | None:
    """The Lease settings, or None when leader election is off."""
    return settings_from_env()


def run_kopf(options: Sequence[str], election: ElectionSettings | None = None) -> None:
    """`kopf run -m twilio_operator.handlers OPTIONS...`; returns when the operator stops.

    With `election`, only after this process holds the Lease; the Lease is released once kopf has
    stopped (so nothing writes any more), which lets a standby take over within one retry period.
    """
    # The Secret watches serve the namespaces kopf serves (handlers/secrets.py reads this).
    namespaces = [option.split("=", 1)[1] for option in options if option.startswith("--namespace=")]
    os.environ[WATCH_NAMESPACES_ENV] = ",".join(namespaces)
    if election is None:
        _kopf(options)
        return
    _log_to_stderr()
    # A standby serves /metrics too (twilio_operator_leader 0): a scrape target that is down
    # only because it stands by would look like an outage.
    metrics.serve(int(os.environ.get(METRICS_PORT_ENV) or DEFAULT_METRICS_PORT))
    leader = metrics.LEADER.labels(election.lease_name)
    leader.set(0)
    elector = Elector(election)
    health = StandbyHealth(liveness_address(options), elector)
    # Until kopf installs its own handler: SIGTERM unwinds through the finally clauses below, so a
    # process that has just taken the Lease still releases it.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    elector.start()
    try:
        elector.wait_for_leadership()
    finally:
        health.close()  # kopf serves the liveness endpoint from here on
    leader.set(1)
    try:
        _kopf(options)
    finally:
        elector.release()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    log.info("SIGTERM: stopping")
    raise SystemExit(0)


def _kopf(options: Sequence[str]) -> None:
    kopf_main(
        args=["run", "-m", HANDLERS_MODULE, *options], prog_name="twilio-operator run", standalone_mode=True
    )


def _log_to_stderr() -> None:
    """Lines of the election before kopf configures logging (and after: kopf logs to the root)."""
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("TWILIO_OPERATOR_LOG_FORMAT", "text").lower() == "json":
        handler.setFormatter(_JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)-8s] %(name)s: %(message)s"))
    for name in (
        "twilio_operator.leader",
        "twilio_operator.ports.kube.leader",
        "kubernetes_asyncio.leaderelection",
    ):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logging.getLogger("kubernetes_asyncio.leaderelection").setLevel(logging.WARNING)


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "timestamp": self.formatTime(record),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )
