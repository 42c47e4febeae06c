"""Start kopf with this package's handlers: what `twilio-operator run` calls."""

from __future__ import annotations

import os
from collections.abc import Sequence

from kopf.cli import main as kopf_main

HANDLERS_MODULE = "twilio_operator.handlers"
# The --namespace patterns, comma-separated (empty: all namespaces), for the watches that the
# operator runs itself rather than through kopf (handlers/secrets.py).
WATCH_NAMESPACES_ENV = "TWILIO_OPERATOR_WATCH_NAMESPACES"


def run_kopf(options: Sequence[str]) -> None:
    """`kopf run -m twilio_operator.handlers OPTIONS...`; returns when the operator stops."""
    namespaces = [option.split("=", 1)[1] for option in options if option.startswith("--namespace=")]
    os.environ[WATCH_NAMESPACES_ENV] = ",".join(namespaces)
    kopf_main(
        args=["run", "-m", HANDLERS_MODULE, *options], prog_name="twilio-operator run", standalone_mode=True
    )
