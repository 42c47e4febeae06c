"""api.twilio.com/2010-04-01: account, SIP credential lists and credentials, IP access control lists
(numbers, addresses and the balance: routes_numbers)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from aiohttp import web

from twilio_operator.emulator import behaviour, render
from twilio_operator.emulator.context import (
    form,
    int_param,
    json_response,
    path_account,
    refuse,
    runtime,
    text_param,
)
from twilio_operator.emulator.errors import invalid
from twilio_operator.emulator.resources import Served, admit
from twilio_operator.emulator.state import (
    Credential,
    CredentialList,
    IpAccessControlList,
    IpAddress,
    ListKind,
    Region,
    World,
    now,
    sip_digest,
)

routes = web.RouteTableDef()
ACC = "/2010-04-01/Accounts/{account_sid}"


@routes.get(ACC + ".json")
async def fetch_account(request: web.Request) -> web.Response:
    return json_response(render.account(path_account(request)))


# --- credential lists and IP access control lists ------------------------------------------------
L = TypeVar("L", CredentialList, IpAccessControlList)


@dataclass(frozen=True)
class _NamedLists(Generic[L]):
    """What differs between credential lists and IP access control lists: named lists of entries
    that trunks link (their names are unique only in strict mode, where their rules say so)."""

    kind: ListKind
    served: Served[Region, L]
    make: Callable[[str, str, str, datetime, datetime], L]  # sid, account, name, created, updated
    name_max: int
    dependency_code: int  # the strict refusal of deleting a list a trunk links
    what: str

    def name(self, params: Mapping[str, str]) -> str:
        return text_param(params, "FriendlyName", required=True, max_len=self.name_max) or ""


def _serve_named_lists(lists: _NamedLists[L]) -> None:
    """Create, update and delete of one kind of named list (list and fetch: Served)."""
    served = lists.served
    served.serve(routes)

    @routes.post(served.collection_path)
    async def create(request: web.Request) -> web.Response:
        region = path_account(request)
        name = lists.name(await form(request))
        key = name if runtime(request).strict else None
        return served.create(request, region, lambda sid, at: lists.make(sid, region.sid, name, at, at), key)

    @routes.post(served.item_path)
    async def update(request: web.Request) -> web.Response:
        found = served.item(request)
        found.friendly_name = lists.name(await form(request))
        found.date_updated = now()
        return served.answer(request, found)

    @routes.delete(served.item_path)
    async def delete(request: web.Request) -> web.Response:
        """Strict mode: a list still mapped to a trunk cannot be deleted (catalogue 21241 / 21236 name
        SIP Domains; for trunks unconfirmed). Default: the delete unlinks it (assumed cascade)."""
        region, found = served.found(request)
        linked = World.trunks_linking(region, lists.kind, found.sid)
        if linked and runtime(request).strict:
            raise refuse(
                request,
                (behaviour.DEPENDENCY_STATUS, lists.dependency_code),
                f"Cannot delete {lists.what} {found.sid}: still mapped to trunk {', '.join(linked)}",
                documented=True,
            )
        World.delete_list(region, lists.kind, found.sid)
        return web.Response(status=204)


CREDENTIAL_LISTS = _NamedLists[CredentialList](
    "credential_lists",
    Served(
        ACC + "/SIP/CredentialLists",
        "list_sid",
        path_account,
        lambda region: region.credential_lists,
        lambda _, cl: render.credential_list(cl),
        ".json",
    ),
    CredentialList,
    behaviour.FRIENDLY_NAME_MAX,
    behaviour.CODE_CREDENTIAL_LIST_DEPENDENCIES,
    "credential list",
)
IP_ACCESS_CONTROL_LISTS = _NamedLists[IpAccessControlList](
    "ip_access_control_lists",
    Served(
        ACC + "/SIP/IpAccessControlLists",
        "list_sid",
        path_account,
        lambda region: region.ip_access_control_lists,
        lambda _, acl: render.ip_access_control_list(acl),
        ".json",
    ),
    IpAccessControlList,
    behaviour.IP_ACL_FRIENDLY_NAME_MAX,
    behaviour.CODE_IP_ACL_DEPENDENCIES,
    "IP access control list",
)
_serve_named_lists(CREDENTIAL_LISTS)
_serve_named_lists(IP_ACCESS_CONTROL_LISTS)


# --- credentials ---------------------------------------------------------------------------------
def _credential_code(request: web.Request) -> int:
    """The code of a username or password that breaks the documented rules (see behaviour)."""
    return behaviour.CODE_BAD_PASSWORD_STRICT if runtime(request).strict else behaviour.CODE_BAD_PASSWORD


def _checked_password(request: web.Request, params: dict[str, str]) -> str:
    password = params.get("Password")
    problem = (
        "Required parameter Password missing." if password is None else behaviour.password_problem(password)
    )
    if problem:
        raise invalid(problem, _credential_code(request))
    return password or ""


def _checked_username(request: web.Request, params: dict[str, str]) -> str:
    username = params.get("Username") or ""
    if not username:
        raise invalid("Username must be given and not empty", _credential_code(request))
    if len(username) > behaviour.USERNAME_MAX:
        raise invalid(
            f"Username must be at most {behaviour.USERNAME_MAX} characters long", _credential_code(request)
        )
    return username


CREDENTIALS = CREDENTIAL_LISTS.served.child(
    "Credentials", "cr_sid", lambda cl: cl.credentials, lambda _, cred: render.credential(cred)
)
CREDENTIALS.serve(routes, delete=True)


@routes.post(CREDENTIALS.collection_path)
async def create_credential(request: web.Request) -> web.Response:
    cl = CREDENTIALS.owner(request)
    params = await form(request)
    username = _checked_username(request, params)
    digest = sip_digest(username, _checked_password(request, params))

    def make(sid: str, at: datetime) -> Credential:
        return Credential(sid, cl.account_sid, cl.sid, username, digest, at, at)

    return CREDENTIALS.create(request, cl, make, username)


@routes.post(CREDENTIALS.item_path)
async def update_credential(request: web.Request) -> web.Response:
    cred = CREDENTIALS.item(request)
    password = _checked_password(request, await form(request))
    cred.password_digest = sip_digest(cred.username, password)
    cred.date_updated = now()
    return CREDENTIALS.answer(request, cred)


# --- IP addresses --------------------------------------------------------------------------------
def _checked_address(params: Mapping[str, str], current: IpAddress | None) -> tuple[str, int]:
    """IpAddress (dotted decimal IPv4, optionally with "/prefix") and CidrPrefixLength, validated."""
    raw = text_param(params, "IpAddress", required=current is None)
    prefix = int_param(params, "CidrPrefixLength", behaviour.CIDR_PREFIX_RANGE)
    if raw is None:
        assert current is not None
        return current.ip_address, current.cidr_prefix_length if prefix is None else prefix
    address, slash, inline = raw.partition("/")
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise invalid("IpAddress must be an IPv4 address in dotted decimal notation") from None
    if slash and prefix is None:
        prefix = int_param({"CidrPrefixLength": inline}, "CidrPrefixLength", behaviour.CIDR_PREFIX_RANGE)
    if prefix is None:
        prefix = current.cidr_prefix_length if current is not None else behaviour.CIDR_PREFIX_DEFAULT
    return address, prefix


IP_ADDRESSES = IP_ACCESS_CONTROL_LISTS.served.child(
    "IpAddresses", "ip_sid", lambda acl: acl.ip_addresses, lambda _, ip: render.ip_address(ip)
)
IP_ADDRESSES.serve(routes, delete=True)


@routes.post(IP_ADDRESSES.collection_path)
async def create_ip_address(request: web.Request) -> web.Response:
    acl = IP_ADDRESSES.owner(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.IP_ACL_FRIENDLY_NAME_MAX)
    address, prefix = _checked_address(params, None)

    def make(sid: str, at: datetime) -> IpAddress:
        return IpAddress(sid, acl.account_sid, acl.sid, name or "", address, prefix, at, at)

    return IP_ADDRESSES.create(request, acl, make, (address, prefix))


@routes.post(IP_ADDRESSES.item_path)
async def update_ip_address(request: web.Request) -> web.Response:
    acl, ip = IP_ADDRESSES.found(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", max_len=behaviour.IP_ACL_FRIENDLY_NAME_MAX)
    address, prefix = _checked_address(params, ip)
    admit(request, path_account(request), acl.ip_addresses, (address, prefix), replacing=ip.sid)
    ip.ip_address, ip.cidr_prefix_length = address, prefix
    ip.friendly_name = ip.friendly_name if name is None else name
    ip.date_updated = now()
    return IP_ADDRESSES.answer(request, ip)
