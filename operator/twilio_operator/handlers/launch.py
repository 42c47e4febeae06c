"""Start kopf with this package's handlers: what `twilio-operator run` calls.

With leader election on (TWILIO_OPERATOR_LEADER_ELECTION, see ports/kube/leader.py) the process
first campaigns for the Lease and starts kopf only once it holds it. A standby therefore runs no
handler, no watch and no startup hook: it cannot call Twilio or write to Kubernetes, apart from its
Lease attempts. Meanwhile it answers the liveness probe itself, so the kubelet leaves it alone.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import pwd
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit

from kopf.cli import main as kopf_main

from twilio_operator import metrics
from twilio_operator.handlers.settings import DEFAULT_METRICS_PORT, METRICS_PORT_ENV
from twilio_operator.ports.kube.leader import ElectionSettings, Elector

HANDLERS_MODULE = "twilio_operator.handlers"
# The --namespace patterns, comma-separated (empty: all namespaces), for the watches that the
# operator runs itself rather than through kopf (handlers/secrets.py).
WATCH_NAMESPACES_ENV = "TWILIO_OPERATOR_WATCH_NAMESPACES"

log = logging.getLogger("twilio_operator.leader")


def run_kopf(options: Sequence[str], election: ElectionSettings | None = None) -> None:
    """`kopf run -m twilio_operator.handlers OPTIONS...`; returns when the operator stops.

    With `election`, only after this process holds the Lease; the Lease is released once kopf has
    stopped (so nothing writes any more), which lets a standby take over within one retry period.
    """
    name_the_user()
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
    health = _StandbyHealth(_liveness_address(options), elector)
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


USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")  # what getpass.getuser() reads, in order


def name_the_user(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Give kopf a user name when the uid has none.

    kopf names the process `user@host` at start (getpass.getuser(), also with --standalone), and
    getuser() falls back to /etc/passwd when LOGNAME, USER, LNAME and USERNAME are unset. The image
    runs as uid 65532, which has no entry there, nor has the arbitrary uid some clusters assign: kopf
    then dies with "getpwuid(): uid not found" as soon as it starts (the first run on a real node,
    `make e2e`, showed it). USER=uid-<uid> is set for that case only.
    """
    if any(environ.get(name) for name in USER_VARIABLES):
        return
    try:
        pwd.getpwuid(os.getuid())
    except KeyError:
        environ["USER"] = f"uid-{os.getuid()}"


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


def _liveness_address(options: Sequence[str]) -> tuple[str, int, str] | None:
    for option in options:
        if option.startswith("--liveness="):
            url = urlsplit(option.partition("=")[2])
            if url.hostname and url.port:
                return url.hostname, url.port, url.path or "/"
    return None


class _StandbyHealth:
    """The liveness endpoint of a standby: 200 while its elector is alive."""

    def __init__(self, address: tuple[str, int, str] | None, elector: Elector) -> None:
        self._server: http.server.ThreadingHTTPServer | None = None
        if address is None:
            return
        host, port, path = address

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                alive = elector.alive()
                self.send_response(
                    200 if self.path == path and alive else (404 if self.path != path else 500)
                )
                self.end_headers()
                self.wfile.write(b'{"standby": true}' if alive else b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="standby-health", daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
