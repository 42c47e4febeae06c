"""Per-request helpers shared by the route modules: auth, form parsing, SIDs, base URLs."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from twilio_operator.emulator import behaviour
from twilio_operator.emulator.contract import ContractChecker
from twilio_operator.emulator.errors import TwilioError, auth_failed, invalid, not_found
from twilio_operator.emulator.faults import Faults
from twilio_operator.emulator.journal import Journal
from twilio_operator.emulator.state import Account, World

WORLD: web.AppKey[World] = web.AppKey("world", World)
ACCOUNT = "twilio_account"  # request key: the authenticated Account
ORIGINAL_HOST_HEADER = "X-Twilio-Original-Host"
_SID_RE = {prefix: re.compile(prefix + r"[0-9a-f]{32}") for prefix in ("AC", "TK", "CL", "CR", "PN", "OU")}


def world(request: web.Request) -> World:
    return request.app[WORLD]


def authenticate(request: web.Request) -> Account:
    """HTTP Basic with AC:token or SK:secret; raises 401 (20003, or 20005 if not active)."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise auth_failed()
    try:
        user, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise auth_failed() from None
    if not sep:
        raise auth_failed()
    w = world(request)
    account: Account | None = None
    if user.startswith("AC"):
        account = w.accounts.get(user)
        expected = account.auth_token if account else None
    elif user.startswith("SK"):
        owner = w.api_key_owner.get(user)
        account = w.accounts.get(owner) if owner else None
        expected = account.api_keys.get(user) if account else None
    else:
        expected = None
    if account is None or expected is None or not secrets.compare_digest(expected, secret):
        raise auth_failed()
    if account.status != "active":
        raise TwilioError(
            behaviour.INACTIVE_ACCOUNT_STATUS, behaviour.CODE_ACCOUNT_NOT_ACTIVE, "Account not active"
        )
    return account


def current_account(request: web.Request) -> Account:
    account: Account = request[ACCOUNT]
    return account


def path_account(request: web.Request) -> Account:
    """The account in a 2010 path; it must be the authenticated one."""
    sid = request.match_info["account_sid"]
    account = current_account(request)
    if sid != account.sid:
        if not _SID_RE["AC"].fullmatch(sid):
            raise not_found(f"The requested resource /Accounts/{sid}")
        raise TwilioError(
            behaviour.PATH_ACCOUNT_MISMATCH_STATUS, behaviour.CODE_AUTH_FAILED, "Authentication Error"
        )
    return account


def sid_param(request: web.Request, name: str, prefix: str) -> str:
    """A SID from the path; a malformed one is simply a resource that does not exist (404)."""
    sid = request.match_info[name]
    if not _SID_RE[prefix].fullmatch(sid):
        raise not_found(f"The requested resource {request.path}")
    return sid


def valid_sid(value: str, prefix: str) -> bool:
    return bool(_SID_RE[prefix].fullmatch(value))


async def form(request: web.Request) -> dict[str, str]:
    """The form-encoded body; only application/x-www-form-urlencoded (or empty) is accepted."""
    if not request.body_exists:
        return {}
    ctype = request.content_type
    if ctype not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        raise invalid(f"Unsupported Content-Type {ctype}; send application/x-www-form-urlencoded")
    try:
        raw = await request.post()
    except UnicodeDecodeError:
        raise invalid("Request body is not valid form-encoded UTF-8") from None
    return {k: v for k, v in raw.items() if isinstance(v, str)}


def text_param(
    params: Mapping[str, str], name: str, *, required: bool = False, max_len: int = 0
) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise invalid(f"Required parameter {name} missing.")
        return None
    if max_len and len(value) > max_len:
        raise invalid(f"{name} must be at most {max_len} characters long")
    return value


def bool_param(params: Mapping[str, str], name: str, *, required: bool = False) -> bool | None:
    value = text_param(params, name, required=required)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid(f"{name} must be true or false")
    return lowered == "true"


def int_param(
    params: Mapping[str, str], name: str, bounds: tuple[int, int], *, required: bool = False
) -> int | None:
    value = text_param(params, name, required=required)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not bounds[0] <= number <= bounds[1]:
        raise invalid(f"{name} must be between {bounds[0]} and {bounds[1]}")
    return number


def enum_param(params: Mapping[str, str], name: str, allowed: frozenset[str]) -> str | None:
    value = text_param(params, name)
    if value is not None and value not in allowed:
        raise invalid(f"{name} must be one of {', '.join(sorted(allowed))}")
    return value


def original_host(request: web.Request) -> str:
    return request.headers.get(ORIGINAL_HOST_HEADER) or request.host


def public_base(request: web.Request) -> str:
    """Where absolute URLs point: the Twilio host the client aimed at, if the rewriting client told
    us, so next-page URLs keep their region and go back through that client; else this server."""
    host = request.headers.get(ORIGINAL_HOST_HEADER)
    if host:
        return f"https://{host}"
    return f"{request.scheme}://{request.host}"


def api_base(request: web.Request) -> str:
    """The api.twilio.com counterpart of public_base (same region/edge labels)."""
    host = request.headers.get(ORIGINAL_HOST_HEADER)
    if host:
        return "https://api." + host.split(".", 1)[1] if "." in host else f"https://{host}"
    return f"{request.scheme}://{request.host}"


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


class Runtime:
    """Everything the app holds besides the Twilio world; one per server."""

    def __init__(
        self,
        faults: Faults,
        journal: Journal,
        checker: ContractChecker | None,
        seed_accounts: list[dict[str, Any]],
    ) -> None:
        self.faults = faults
        self.journal = journal
        self.checker = checker
        self.seed_accounts = seed_accounts
        self.startup_config = faults.config_json()


RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]
