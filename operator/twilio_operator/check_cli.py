"""`twilio-operator check`: a read-only preflight against a Twilio account, no cluster needed.

The account SID, region and API key SID come from flags or the environment; the secret (Auth Token
or API key secret) only from the environment or stdin, never from a flag (flags end up in shell
history and process listings). It makes the reads verification makes and nothing else, prints a
table and exits 1 when provisioning would fail, 3 when reads cannot show that it would work (a
Restricted API key's write permissions), 2 for unusable input.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from twilio_operator.api.cidrs import checked_cidr
from twilio_operator.api.credentials import (
    API_KEY_SECRET_RE,
    API_KEY_SID_RE,
    AUTH_TOKEN_RE,
    TwilioCredentials,
)
from twilio_operator.api.regions import DEFAULT_PROCESSING, EDGES, ResolvedRegion
from twilio_operator.settings import read_setting

ACCOUNT_ENV = "TWILIO_ACCOUNT_SID"
REGION_ENV = "TWILIO_REGION"
KEY_SID_ENV = "TWILIO_API_KEY"
KEY_SECRET_ENV = "TWILIO_API_SECRET"
TOKEN_ENV = "TWILIO_AUTH_TOKEN"
ACCOUNT_SID_RE = r"^AC[0-9a-f]{32}$"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account-sid", default=None, help=f"AC... (default: env {ACCOUNT_ENV})")
    parser.add_argument(
        "--region", default=None, help=f"{', '.join(EDGES)} (default: env {REGION_ENV}, else us1)"
    )
    parser.add_argument(
        "--api-key-sid",
        default=None,
        help=f"SK...: check an API key instead of the Auth Token (default: env {KEY_SID_ENV})",
    )
    parser.add_argument(
        "--secret-stdin",
        action="store_true",
        help=f"read the secret from stdin (else env {KEY_SECRET_ENV} for a key, {TOKEN_ENV} for a token)",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per Twilio request")
    parser.add_argument(
        "--ip-access-control",
        default="",
        metavar="CIDR[,CIDR...]",
        help="the spec.ipAccessControl.cidrs you mean to apply: say what they would require of the "
        "platform that dials out through the trunk",
    )
    parser.add_argument(
        "--origination-uri",
        action="append",
        default=[],
        metavar="SIP_URI",
        help="a spec.originationUris sipUrl (repeatable): one on an IP address outside "
        "--ip-access-control is named as locked out",
    )


def ip_access_from(options: argparse.Namespace) -> list[str]:
    """The --ip-access-control entries, each checked like the CRD checks them."""
    entries = [e.strip() for e in str(options.ip_access_control or "").split(",") if e.strip()]
    for entry in entries:
        try:
            checked_cidr(entry)
        except ValueError as error:
            raise InputError(f"--ip-access-control: {error}") from None
    return entries


class InputError(Exception):
    """The flags, environment or stdin cannot make credentials; the message never holds the secret."""


def credentials_from(
    options: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO
) -> TwilioCredentials:
    account_sid = options.account_sid or environ.get(ACCOUNT_ENV, "")
    region = options.region or environ.get(REGION_ENV) or DEFAULT_PROCESSING
    key_sid = options.api_key_sid or environ.get(KEY_SID_ENV, "")
    if not re.match(ACCOUNT_SID_RE, account_sid):
        raise InputError(f"the account SID (--account-sid or {ACCOUNT_ENV}) must be AC followed by 32 hex")
    if region not in EDGES:
        raise InputError(f"unknown region {region!r}: one of {', '.join(EDGES)}")
    if options.secret_stdin:
        secret = stdin.readline().strip()
    else:
        secret = environ.get(KEY_SECRET_ENV if key_sid else TOKEN_ENV, "").strip()
    source = "stdin" if options.secret_stdin else (KEY_SECRET_ENV if key_sid else TOKEN_ENV)
    if key_sid:
        if not API_KEY_SID_RE.match(key_sid):
            raise InputError("the API key SID must be SK followed by 32 hex")
        if not secret:
            raise InputError(
                f"no API key secret: set {KEY_SECRET_ENV} or pass it on stdin with --secret-stdin"
            )
        if not API_KEY_SECRET_RE.match(secret):
            raise InputError(
                f"the API key secret from {source} is malformed: expected 16 to 128 letters and digits"
            )
        return TwilioCredentials(account_sid, key_sid, secret, ResolvedRegion.of(region))
    if not secret:
        raise InputError(f"no Auth Token: set {TOKEN_ENV} or pass it on stdin with --secret-stdin")
    if not AUTH_TOKEN_RE.match(secret):
        raise InputError(
            f"the Auth Token from {source} is malformed: expected 32 lowercase hexadecimal characters "
            f"(an API key secret needs --api-key-sid or {KEY_SID_ENV})"
        )
    return TwilioCredentials(account_sid, account_sid, secret, ResolvedRegion.of(region))


async def _check(
    credentials: TwilioCredentials,
    base_url: str | None,
    request_timeout: float,
    ip_access: list[str],
    origination_uris: list[str],
) -> tuple[str, int] | None:
    """Print the table; (why, exit code) when provisioning would fail (1) or could not be shown to
    work (3), else None."""
    # Imported here: the twilio library is not needed to build the CLI's parser.
    from twilio_operator.ports.twilio.adapter import TwilioLibraryConnector
    from twilio_operator.provider.preflight_report import preflight, render, unproven, would_fail

    connector = TwilioLibraryConnector(base_url, timeout=request_timeout)
    try:
        rows = await preflight(
            connector.connect(credentials), ip_access_control=ip_access, origination_uris=origination_uris
        )
    finally:
        await connector.close()
    sys.stdout.write(render(rows))
    sys.stdout.flush()
    if would_fail(rows):
        return "provisioning would fail", 1
    if unproven(rows):
        return "provisioning could not be shown to work (see the rows marked unknown)", 3
    return None


def run(options: argparse.Namespace) -> int:
    try:
        credentials = credentials_from(options, os.environ, sys.stdin)
        ip_access = ip_access_from(options)
    except InputError as error:
        print(f"twilio-operator check: {error}", file=sys.stderr)
        return 2
    base_url: str | None = read_setting("twilio_base_url", os.environ)
    origination_uris = list(options.origination_uri or [])
    failure = asyncio.run(_check(credentials, base_url, options.timeout, ip_access, origination_uris))
    if failure is not None:
        print(f"twilio-operator check: {failure[0]}", file=sys.stderr)
        return failure[1]
    return 0
