"""The `twilio-operator` console script: `run`, `emulator`, `crds`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twilio-operator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the operator (wraps kopf run)")
    run.add_argument("extra", nargs=argparse.REMAINDER, help="arguments passed on to kopf run")

    emulator = commands.add_parser("emulator", help="run the local Twilio API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8099)
    emulator.add_argument("--latency-ms", type=float, default=0.0, help="fixed latency added to every request")
    emulator.add_argument("--fault-rate", type=float, default=0.0, help="probability of a random 500/503")
    emulator.add_argument("--seed", type=int, default=None, help="random seed for faults and SIDs")
    emulator.add_argument("--state", default=None, help="JSON file of accounts to seed at start")

    crds = commands.add_parser("crds", help="print (or write) the CRDs generated from the models")
    crds.add_argument("--output-dir", default=None, help="write one file per CRD here instead of stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _build_parser().parse_args(argv)
    if options.command == "emulator":
        from twilio_operator.emulator.app import serve

        serve(
            host=options.host,
            port=options.port,
            latency_ms=options.latency_ms,
            fault_rate=options.fault_rate,
            seed=options.seed,
            state_file=options.state,
        )
        return 0
    print(f"twilio-operator {options.command}: not built yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
