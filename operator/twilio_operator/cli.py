"""The `twilio-operator` console script: `run`, `emulator`, `crds`, `numbers manifest`, `check`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from twilio_operator import __version__

# Set by the image (the Dockerfile's REVISION build argument, `make image` passes the commit).
REVISION_ENV = "TWILIO_OPERATOR_REVISION"


def version_line() -> str:
    """What `twilio-operator --version` prints: the version and the commit it was built from."""
    return f"twilio-operator {__version__} (commit {os.environ.get(REVISION_ENV) or 'unknown'})"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twilio-operator", description=__doc__)
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the operator (wraps kopf run)")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("--all-namespaces", "-A", action="store_true", help="watch every namespace (default)")
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch only this namespace (repeatable; globs ok)",
    )
    run.add_argument(
        "--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL ('' = off)"
    )
    run.add_argument(
        "--standalone",
        action="store_true",
        help="no kopf peering (one replica; implied by TWILIO_OPERATOR_LEADER_ELECTION=true)",
    )
    run.add_argument("--peering", default=None, help="kopf peering object name (with peering enabled)")
    run.add_argument("--verbose", "-v", action="store_true")
    run.add_argument("--quiet", "-q", action="store_true")

    emulator = commands.add_parser("emulator", help="run the local Twilio API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8099)
    emulator.add_argument(
        "--latency-ms", type=float, default=0.0, help="fixed latency added to every request"
    )
    emulator.add_argument("--fault-rate", type=float, default=0.0, help="probability of a random 500/503")
    emulator.add_argument("--seed", type=int, default=None, help="random seed for faults and SIDs")
    emulator.add_argument("--state", default=None, help="JSON file of accounts to seed at start")
    emulator.add_argument(
        "--openapi-dir", default=None, help="validate traffic against Twilio's OpenAPI documents in this dir"
    )
    emulator.add_argument(
        "--strict",
        action="store_const",
        const=True,
        default=None,
        help='strict mode: undocumented cases answer 400 / 90000 and TrunkSid="" is refused '
        "(default: env TWILIO_EMULATOR_STRICT)",
    )

    check = commands.add_parser(
        "check", help="read-only preflight of a Twilio account (no cluster): would provisioning work?"
    )
    from twilio_operator.check import add_arguments

    add_arguments(check)

    numbers = commands.add_parser("numbers", help="phone-number helpers").add_subparsers(
        dest="action", required=True
    )
    manifest = numbers.add_parser(
        "manifest",
        help="print TwilioPhoneNumber manifests for numbers of a provider's account (for kubectl apply -f -)",
    )
    manifest.add_argument("provider", help="the TwilioProvider's name")
    manifest.add_argument("-n", "--namespace", default=None, help="its namespace (default: the kubeconfig's)")
    manifest.add_argument("--all", action="store_true", help="every number of the account")
    manifest.add_argument("--match", default=None, help="numbers matching this regular expression")
    manifest.add_argument("numbers", nargs="*", default=[], help="these E.164 numbers")

    crds = commands.add_parser("crds", help="print (or write) the CRDs generated from the models")
    crds.add_argument(
        "--output-dir",
        default=None,
        help="write one file per CRD here (and into charts/twilio-operator/crds/) instead of stdout",
    )
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
            openapi_dir=options.openapi_dir,
            strict=options.strict,
        )
        return 0
    if options.command == "run":
        return _run(options)
    if options.command == "crds":
        return _crds(options.output_dir)
    if options.command == "check":
        from twilio_operator.check import run

        return run(options)
    if options.command == "numbers":
        from twilio_operator.numbers_cli import print_manifests

        if sum((options.all, options.match is not None, bool(options.numbers))) != 1:
            print("error: give exactly one of --all, --match REGEX or NUMBER...", file=sys.stderr)
            return 2

        return print_manifests(
            options.provider, options.namespace, options.all, options.match, options.numbers
        )
    raise AssertionError(f"unhandled command {options.command}")


def _run(options: argparse.Namespace) -> int:
    """Start kopf with our handlers module; TWILIO_OPERATOR_LOG_* choose verbosity and format."""
    from twilio_operator.handlers.launch import run_kopf
    from twilio_operator.ports.kube.leader import settings_from_env

    election = settings_from_env()
    args = [f"--namespace={ns}" for ns in options.namespace] or ["--all-namespaces"]
    if options.liveness:
        args.append(f"--liveness={options.liveness}")
    if options.standalone or election is not None:  # the Lease decides who acts; kopf peering would write
        args.append("--standalone")
    elif options.peering:
        args.append(f"--peering={options.peering}")
    level = os.environ.get("TWILIO_OPERATOR_LOG_LEVEL", "INFO").upper()
    if options.verbose or level == "DEBUG":
        args.append("--verbose")
    elif options.quiet or level in ("WARNING", "ERROR"):
        args.append("--quiet")
    if os.environ.get("TWILIO_OPERATOR_LOG_FORMAT", "text").lower() == "json":
        args.append("--log-format=json")
    run_kopf(args, election)
    return 0


def _crds(output_dir: str | None) -> int:
    from pathlib import Path

    from twilio_operator import crdgen

    if output_dir is None:
        print("---\n".join(crdgen.rendered_crds().values()), end="")
        return 0
    chart_dir = crdgen.CHART_CRD_DIR if crdgen.CHART_CRD_DIR.parent.is_dir() else None
    for path in crdgen.write_crds(Path(output_dir), chart_dir):
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
