"""Start kopf with this package's handlers: what `twilio-operator run` calls."""

from __future__ import annotations

from collections.abc import Sequence

from kopf.cli import main as kopf_main

HANDLERS_MODULE = "twilio_operator.handlers"


def run_kopf(options: Sequence[str]) -> None:
    """`kopf run -m twilio_operator.handlers OPTIONS...`; returns when the operator stops."""
    kopf_main(
        args=["run", "-m", HANDLERS_MODULE, *options], prog_name="twilio-operator run", standalone_mode=True
    )
