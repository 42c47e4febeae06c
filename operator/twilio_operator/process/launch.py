"""Start kopf with the operator's handlers (twilio_operator.handlers): what `twilio-operator run` calls.

kopf is started in this process through its embedding API (`kopf.run`), with the memo the handlers'
startup takes the operator's settings from (handlers/state.py), and its logging configured as its
own command line would (`kopf run --verbose/--quiet --log-format`).

With leader election on (Settings.leader_election, see ports/kube/leader.py) the process first
campaigns for the Lease and starts kopf only once it holds it. A standby therefore runs no handler,
no watch and no startup hook: it cannot call Twilio or write to Kubernetes, apart from its Lease
attempts. Meanwhile it answers the liveness probe itself (process/standby.py), so the kubelet leaves
it alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
from dataclasses import dataclass
from types import FrameType

import kopf

import twilio_operator.handlers  # noqa: F401  (importing it registers every handler with kopf)
from twilio_operator import metrics
from twilio_operator.handlers.state import memo_with
from twilio_operator.ports.kube.leader import Elector
from twilio_operator.process import index_gate
from twilio_operator.process.election import election_settings
from twilio_operator.process.standby import StandbyHealth, liveness_address
from twilio_operator.settings import Settings

log = logging.getLogger("twilio_operator.leader")


@dataclass(frozen=True)
class RunOptions:
    """What `twilio-operator run` was asked for on its command line."""

    namespaces: tuple[str, ...] = ()  # --namespace patterns; none: every namespace
    liveness: str | None = None  # the liveness endpoint's URL; None: no endpoint
    standalone: bool = False  # no kopf peering
    peering: str | None = None  # the kopf peering object's name, with peering
    verbose: bool = False
    quiet: bool = False


def run_operator(options: RunOptions, settings: Settings) -> None:
    """Run the operator until it stops.

    With leader election on, kopf starts only after this process holds the Lease; the Lease is
    released once kopf has stopped (so nothing writes any more), which lets a standby take over
    within one retry period.
    """
    election = election_settings(settings)  # a setting it cannot use stops the process here
    # The Secret watches serve the namespaces kopf serves (handlers/secrets.py).
    settings = dataclasses.replace(settings, watch_namespaces=options.namespaces)
    if election is None:
        _kopf(options, settings, standalone=options.standalone)
        return
    _log_to_stderr(settings)
    # A standby serves /metrics too (twilio_operator_leader 0): a scrape target that is down
    # only because it stands by would look like an outage.
    metrics.serve(settings.metrics_port)
    leader = metrics.LEADER.labels(election.lease_name)
    leader.set(0)
    elector = Elector(election)
    health = StandbyHealth(liveness_address(options.liveness), elector)
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
        _kopf(options, settings, standalone=True)  # the Lease decides who acts; kopf peering would write
    finally:
        elector.release()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    log.info("SIGTERM: stopping")
    raise SystemExit(0)


def _kopf(options: RunOptions, settings: Settings, *, standalone: bool) -> None:
    """kopf with the handlers, as `kopf run -m twilio_operator.handlers` with these options would run."""
    verbose = options.verbose or settings.log_level == "DEBUG"
    quiet = not verbose and (options.quiet or settings.log_level in ("WARNING", "ERROR"))
    log_format = kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(debug=False, verbose=verbose, quiet=quiet, log_format=log_format, log_prefix=None)
    index_gate.install()
    kopf.run(
        standalone=True if standalone else None,
        peering_name=None if standalone else options.peering,
        clusterwide=not options.namespaces,
        namespaces=options.namespaces,
        liveness_endpoint=options.liveness,
        memo=memo_with(settings),
    )


def _log_to_stderr(settings: Settings) -> None:
    """Lines of the election before kopf configures logging (and after: kopf logs to the root)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
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
