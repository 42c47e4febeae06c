"""The `twilio-operator` console script: `run`, `emulator`, `crds`, `numbers manifest`, `check`."""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from collections.abc import MutableMapping, Sequence

from twilio_operator import __version__

# Set by the image (the Dockerfile's REVISION build argument, `make image` passes the commit).
REVISION_ENV = "TWILIO_OPERATOR_REVISION"


def version_line() -> str:
    """What `twilio-operator --version` prints: the version and the commit it was built from."""
    return f"twilio-operator {__version__} (commit {os.environ.get(REVISION_ENV) or 'unknown'})"


def _build_parser() -> argparse.ArgumentParser:
    """Every command and flag of the console script, in one place (longer than 60 lines on purpose:
    it is the CLI's table of arguments, read top to bottom)."""
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
    from twilio_operator.check_cli import add_arguments

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
    parser = _build_parser()
    options, extra = parser.parse_known_args(argv)
    if extra and options.command == "numbers" and not any(e.startswith("-") for e in extra):
        # argparse ends a list of positionals at the first option: `manifest acme -n voice +1555...`
        options.numbers = [*options.numbers, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
        from twilio_operator.check_cli import run

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
    """Start kopf with our handlers; the settings (TWILIO_OPERATOR_*) are read once, here."""
    from twilio_operator.process.launch import RunOptions, run_operator
    from twilio_operator.settings import Settings

    run = RunOptions(
        namespaces=tuple(options.namespace),
        liveness=options.liveness or None,
        standalone=options.standalone,
        peering=options.peering,
        verbose=options.verbose,
        quiet=options.quiet,
    )
    name_the_user()
    run_operator(run, Settings.from_environ(os.environ))
    return 0


USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")  # what getpass.getuser() reads, in order


def name_the_user(environ: MutableMapping[str, str] = os.environ) -> None:
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
