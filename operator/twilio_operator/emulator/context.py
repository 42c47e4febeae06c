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
from twilio_operator.emulator.state import ApiKey, Region, World

WORLD: web.AppKey[World] = web.AppKey("world", World)
ACCOUNT = "twilio_account"  # request key: the authenticated account's Region
API_KEY = "twilio_api_key"  # request key: the ApiKey used, or None for the Auth Token
ORIGINAL_HOST_HEADER = "X-Twilio-Original-Host"
_SID_RE = {
    prefix: re.compile(prefix + r"[0-9a-f]{32}")
    for prefix in ("AC", "TK", "CL", "CR", "PN", "OU", "AL", "IP", "AD", "BU", "AP")
}


def world(request: web.Request) -> World:
    return request.app[WORLD]


def processing_region(request: web.Request) -> str:
    """The processing region a request is aimed at, from the Twilio host the client used.
    Documented (twilio.com/docs/global-infrastructure/using-the-twilio-rest-api-in-a-non-us-region):
    {product}.{edge}.{region}.twilio.com names the region; a host without edge and region is US1.
    Documented (.../understanding-edge-locations): the {product}.{region}.twilio.com hosts other than
    us1 stopped working on 2026-04-28 (answered here 404/20404, assumed). A region label that is no
    processing region (us2, de1, ...) after an edge is taken as us1 (assumed)."""
    host = original_host(request).split(":", 1)[0].lower()
    if not host.endswith(".twilio.com"):
        return behaviour.DEFAULT_REGION
    labels = host[: -len(".twilio.com")].split(".")
    if len(labels) == 2 and labels[1] in behaviour.HOST_REGION_LABELS and labels[1] != "us1":
        raise TwilioError(404, behaviour.CODE_NOT_FOUND, f"The host {host} is retired")
    if len(labels) >= 3 and labels[-1] in behaviour.PROCESSING_REGIONS:
        return labels[-1]
    return behaviour.DEFAULT_REGION


def authenticate(request: web.Request) -> Region:
    """HTTP Basic with AC:token or SK:secret of the request's processing region; raises 401 (20003,
    or 20005 if the account is not active). Records the key used under API_KEY."""
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
    where = processing_region(request)
    region: Region | None = None
    key: ApiKey | None = None
    expected: str | None = None
    if user.startswith("AC"):
        account = w.accounts.get(user)
        region = account.regions.get(where) if account else None
        expected = region.auth_token if region else None
    elif user.startswith("SK"):
        region = w.api_key_owner.get(user)
        if region is not None and region.name == where:
            key = region.api_keys[user]
            expected = key.secret
    if region is None or expected is None or not secrets.compare_digest(expected, secret):
        raise auth_failed()
    request[API_KEY] = key
    if region.status != "active" and not _readable_while_inactive(request, region):
        if region.account.suspension_mode == "forbidden":
            raise TwilioError(
                behaviour.FORBIDDEN_ACCOUNT_STATUS,
                behaviour.CODE_ACCOUNT_FORBIDDEN,
                "The account lacks permission to access the Twilio API",
            )
        raise TwilioError(
            behaviour.INACTIVE_ACCOUNT_STATUS, behaviour.CODE_ACCOUNT_NOT_ACTIVE, "Account not active"
        )
    return region


_ACCOUNT_FETCH_RE = re.compile(r"/2010-04-01/Accounts/[^/]+\.json")
_KEYS_RE = re.compile(r"/2010-04-01/Accounts(\.json|/[^/]+/(Keys|SigningKeys)(\.json|/.*)?)|/v1/Keys(/.*)?")


def _readable_while_inactive(request: web.Request, region: Region) -> bool:
    return (
        region.account.suspension_mode == "readable"
        and request.method == "GET"
        and bool(_ACCOUNT_FETCH_RE.fullmatch(request.path))
    )


def authorize(request: web.Request) -> None:
    """What the key type allows (the Auth Token and Main keys: everything)."""
    key: ApiKey | None = request.get(API_KEY)
    if key is None or key.type == "main":
        return
    if key.type == "standard":
        if _ACCOUNT_FETCH_RE.fullmatch(request.path) or _KEYS_RE.fullmatch(request.path):
            raise TwilioError(401, behaviour.CODE_AUTH_FAILED, "Authentication Error - API key not allowed")
        return
    permission = permission_for(request.method, request.path)
    if permission is None or permission not in key.permissions:
        raise TwilioError(
            behaviour.PERMISSION_DENIED_STATUS, behaviour.CODE_PERMISSION_DENIED, "Authorization Failed"
        )


_NOUN_RE = re.compile(r"[A-Z][A-Za-z]*")
_ANY_SID_RE = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
_SINGLETONS = frozenset({"Recording"})


def _kebab(noun: str) -> str:
    if noun.isupper():
        return noun.lower()
    return re.sub(r"(?<!^)(?=[A-Z])", "-", noun).lower()


def permission_for(method: str, path: str) -> str | None:
    """The restricted-key permission a request needs, "/twilio/<product>/<resource path>/<action>"
    (action read, create, update or delete), or None when restricted keys cannot reach it at all
    (the account itself, keys). The names follow the shape of Twilio's; the exact strings are assumed."""
    parts = [p for p in path.removesuffix(".json").split("/") if p]
    if parts[:1] == ["2010-04-01"]:
        if len(parts) < 4 or parts[1] != "Accounts" or parts[3] in ("Keys", "SigningKeys"):
            return None
        product, segments = "api", parts[3:]
    elif parts[:1] == ["v1"]:
        product, segments = "trunking", parts[1:]
    elif parts[:1] == ["v2"]:
        product, segments = "routes", parts[1:]
    else:
        return None

    def is_noun(segment: str) -> bool:
        return bool(_NOUN_RE.fullmatch(segment)) and not _ANY_SID_RE.fullmatch(segment)

    nouns = [s for s in segments if is_noun(s)]
    if not nouns:
        return None
    collection = is_noun(segments[-1]) and segments[-1] not in _SINGLETONS
    action = {"GET": "read", "DELETE": "delete"}.get(method, "create" if collection else "update")
    return "/twilio/" + "/".join([product, *(_kebab(n) for n in nouns), action])


def current_account(request: web.Request) -> Region:
    account: Region = request[ACCOUNT]
    return account


def path_account(request: web.Request) -> Region:
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

    @property
    def strict(self) -> bool:
        return self.faults.strict


def undocumented(request: web.Request, status: int, code: int, message: str) -> TwilioError:
    """An answer Twilio does not document: as modelled, or in strict mode a generic 400 with a code
    nobody can have written a client against."""
    if runtime(request).strict:
        strict_status, strict_code = behaviour.STRICT_UNDOCUMENTED
        return TwilioError(strict_status, strict_code, "Undocumented case (emulator strict mode)")
    return TwilioError(status, code, message)


RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


def runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def check_quota(request: web.Request, account: Region, name: str, used: int) -> None:
    """A documented limit with its documented code (the trial's origination number: undocumented)."""
    try:
        World.check_quota(account, name, used, runtime(request).strict)
    except TwilioError as exc:
        if name in behaviour.UNDOCUMENTED_QUOTA_CODES:
            raise undocumented(request, exc.status, exc.code, exc.message) from None
        raise


def refuse(request: web.Request, answer: tuple[int, int], message: str, *, documented: bool) -> TwilioError:
    """An error to raise: as given when Twilio documents it, else through `undocumented`."""
    status, code = answer
    if documented:
        return TwilioError(status, code, message)
    return undocumented(request, status, code, message)
