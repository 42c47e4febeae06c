"""api.twilio.com/2010-04-01: account, SIP credential lists and credentials, IP access control lists
(numbers, addresses and the balance: routes_numbers)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from aiohttp import web

from twilio_operator.emulator import behaviour, render
from twilio_operator.emulator.context import (
    check_quota,
    form,
    int_param,
    json_response,
    path_account,
    refuse,
    runtime,
    sid_param,
    text_param,
    undocumented,
    world,
)
from twilio_operator.emulator.errors import invalid, not_found
from twilio_operator.emulator.paging import Window, page_2010
from twilio_operator.emulator.state import (
    Credential,
    CredentialList,
    IpAccessControlList,
    IpAddress,
    Region,
    World,
    now,
    sip_digest,
)

routes = web.RouteTableDef()
ACC = "/2010-04-01/Accounts/{account_sid}"
CLS = ACC + "/SIP/CredentialLists"
ACLS = ACC + "/SIP/IpAccessControlLists"


@routes.get(ACC + ".json")
async def fetch_account(request: web.Request) -> web.Response:
    return json_response(render.account(path_account(request)))


# --- credential lists ----------------------------------------------------------------------------
@routes.get(CLS + ".json")
async def list_credential_lists(request: web.Request) -> web.Response:
    account = path_account(request)
    window = Window(request.query, list(account.credential_lists.values()), {})
    rendered = [render.credential_list(cl) for cl in window.items]
    return json_response(page_2010(window, request.path, "credential_lists", rendered))


@routes.post(CLS + ".json")
async def create_credential_list(request: web.Request) -> web.Response:
    account = path_account(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.FRIENDLY_NAME_MAX)
    w = world(request)
    if runtime(request).strict and any(cl.friendly_name == name for cl in account.credential_lists.values()):
        # Catalogue 21240: "A Credential List with the same FriendlyName may already exist" (unconfirmed).
        raise invalid(
            "A Credential List with the same FriendlyName already exists",
            behaviour.CODE_CREDENTIAL_LIST_INVALID,
        )
    check_quota(request, account, "credential_lists", len(account.credential_lists))
    created = now()
    cl = CredentialList(w.new_sid("CL"), account.sid, name or "", created, created)
    account.credential_lists[cl.sid] = cl
    return json_response(render.credential_list(cl), status=201)


def _credential_list(request: web.Request) -> tuple[World, CredentialList]:
    account = path_account(request)
    w = world(request)
    return w, w.get_credential_list(account, sid_param(request, "cl_sid", "CL"))


@routes.get(CLS + "/{cl_sid}.json")
async def fetch_credential_list(request: web.Request) -> web.Response:
    _, cl = _credential_list(request)
    return json_response(render.credential_list(cl))


@routes.post(CLS + "/{cl_sid}.json")
async def update_credential_list(request: web.Request) -> web.Response:
    _, cl = _credential_list(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.FRIENDLY_NAME_MAX)
    cl.friendly_name = name or ""
    cl.date_updated = now()
    return json_response(render.credential_list(cl))


def _refuse_if_linked(
    request: web.Request, region: Region, attribute: str, sid: str, code: int, what: str
) -> None:
    """Strict mode: a list still mapped to a trunk cannot be deleted (catalogue 21241 / 21236 name SIP
    Domains; for trunks unconfirmed). Default: the delete unlinks it (assumed cascade)."""
    linked = World.trunks_linking(region, attribute, sid)
    if linked and runtime(request).strict:
        raise refuse(
            request,
            (behaviour.DEPENDENCY_STATUS, code),
            f"Cannot delete {what} {sid}: still mapped to trunk {', '.join(linked)}",
            documented=True,
        )


@routes.delete(CLS + "/{cl_sid}.json")
async def delete_credential_list(request: web.Request) -> web.Response:
    w, cl = _credential_list(request)
    region = path_account(request)
    _refuse_if_linked(
        request,
        region,
        "credential_lists",
        cl.sid,
        behaviour.CODE_CREDENTIAL_LIST_DEPENDENCIES,
        "credential list",
    )
    w.delete_credential_list(region, cl)
    return web.Response(status=204)


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


@routes.get(CLS + "/{cl_sid}/Credentials.json")
async def list_credentials(request: web.Request) -> web.Response:
    _, cl = _credential_list(request)
    window = Window(request.query, list(cl.credentials.values()), {})
    rendered = [render.credential(c) for c in window.items]
    return json_response(page_2010(window, request.path, "credentials", rendered))


@routes.post(CLS + "/{cl_sid}/Credentials.json")
async def create_credential(request: web.Request) -> web.Response:
    w, cl = _credential_list(request)
    params = await form(request)
    username = _checked_username(request, params)
    password = _checked_password(request, params)
    if any(c.username == username for c in cl.credentials.values()):
        raise undocumented(
            request, 400, behaviour.CODE_DUPLICATE_USERNAME, "Username already exists in this list"
        )
    check_quota(request, path_account(request), "credentials_per_list", len(cl.credentials))
    created = now()
    cred = Credential(
        w.new_sid("CR"), cl.account_sid, cl.sid, username, sip_digest(username, password), created, created
    )
    cl.credentials[cred.sid] = cred
    return json_response(render.credential(cred), status=201)


def _credential(request: web.Request) -> tuple[CredentialList, Credential]:
    _, cl = _credential_list(request)
    cred = cl.credentials.get(sid_param(request, "cr_sid", "CR"))
    if cred is None:
        raise not_found(f"The requested resource {request.path}")
    return cl, cred


@routes.get(CLS + "/{cl_sid}/Credentials/{cr_sid}.json")
async def fetch_credential(request: web.Request) -> web.Response:
    _, cred = _credential(request)
    return json_response(render.credential(cred))


@routes.post(CLS + "/{cl_sid}/Credentials/{cr_sid}.json")
async def update_credential(request: web.Request) -> web.Response:
    _, cred = _credential(request)
    password = _checked_password(request, await form(request))
    cred.password_digest = sip_digest(cred.username, password)
    cred.date_updated = now()
    return json_response(render.credential(cred))


@routes.delete(CLS + "/{cl_sid}/Credentials/{cr_sid}.json")
async def delete_credential(request: web.Request) -> web.Response:
    cl, cred = _credential(request)
    del cl.credentials[cred.sid]
    return web.Response(status=204)


# --- IP access control lists --------------------------------------------------------------------
@routes.get(ACLS + ".json")
async def list_ip_access_control_lists(request: web.Request) -> web.Response:
    account = path_account(request)
    window = Window(request.query, list(account.ip_access_control_lists.values()), {})
    rendered = [render.ip_access_control_list(acl) for acl in window.items]
    return json_response(page_2010(window, request.path, "ip_access_control_lists", rendered))


@routes.post(ACLS + ".json")
async def create_ip_access_control_list(request: web.Request) -> web.Response:
    account = path_account(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.IP_ACL_FRIENDLY_NAME_MAX)
    check_quota(request, account, "ip_access_control_lists", len(account.ip_access_control_lists))
    created = now()
    acl = IpAccessControlList(world(request).new_sid("AL"), account.sid, name or "", created, created)
    account.ip_access_control_lists[acl.sid] = acl
    return json_response(render.ip_access_control_list(acl), status=201)


def _ip_access_control_list(request: web.Request, name: str = "al_sid") -> tuple[World, IpAccessControlList]:
    account = path_account(request)
    w = world(request)
    return w, w.get_ip_access_control_list(account, sid_param(request, name, "AL"))


@routes.get(ACLS + "/{al_sid}.json")
async def fetch_ip_access_control_list(request: web.Request) -> web.Response:
    _, acl = _ip_access_control_list(request)
    return json_response(render.ip_access_control_list(acl))


@routes.post(ACLS + "/{al_sid}.json")
async def update_ip_access_control_list(request: web.Request) -> web.Response:
    _, acl = _ip_access_control_list(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.IP_ACL_FRIENDLY_NAME_MAX)
    acl.friendly_name = name or ""
    acl.date_updated = now()
    return json_response(render.ip_access_control_list(acl))


@routes.delete(ACLS + "/{al_sid}.json")
async def delete_ip_access_control_list(request: web.Request) -> web.Response:
    w, acl = _ip_access_control_list(request)
    region = path_account(request)
    _refuse_if_linked(
        request,
        region,
        "ip_access_control_lists",
        acl.sid,
        behaviour.CODE_IP_ACL_DEPENDENCIES,
        "IP access control list",
    )
    w.delete_ip_access_control_list(region, acl)
    return web.Response(status=204)


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


def _refuse_duplicate(
    request: web.Request, acl: IpAccessControlList, entry: tuple[str, int], sid: str
) -> None:
    if any(
        (ip.ip_address, ip.cidr_prefix_length) == entry and ip.sid != sid for ip in acl.ip_addresses.values()
    ):
        status, code = behaviour.DUPLICATE_IP_ADDRESS
        raise undocumented(request, status, code, "IP address already exists in this list")


ADDRS = ACLS + "/{al_sid}/IpAddresses"


@routes.get(ADDRS + ".json")
async def list_ip_addresses(request: web.Request) -> web.Response:
    _, acl = _ip_access_control_list(request)
    window = Window(request.query, list(acl.ip_addresses.values()), {})
    rendered = [render.ip_address(ip) for ip in window.items]
    return json_response(page_2010(window, request.path, "ip_addresses", rendered))


@routes.post(ADDRS + ".json")
async def create_ip_address(request: web.Request) -> web.Response:
    w, acl = _ip_access_control_list(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.IP_ACL_FRIENDLY_NAME_MAX)
    address, prefix = _checked_address(params, None)
    _refuse_duplicate(request, acl, (address, prefix), "")
    check_quota(request, path_account(request), "ip_addresses_per_list", len(acl.ip_addresses))
    created = now()
    ip = IpAddress(w.new_sid("IP"), acl.account_sid, acl.sid, name or "", address, prefix, created, created)
    acl.ip_addresses[ip.sid] = ip
    return json_response(render.ip_address(ip), status=201)


def _ip_address(request: web.Request) -> tuple[IpAccessControlList, IpAddress]:
    _, acl = _ip_access_control_list(request)
    ip = acl.ip_addresses.get(sid_param(request, "ip_sid", "IP"))
    if ip is None:
        raise not_found(f"The requested resource {request.path}")
    return acl, ip


@routes.get(ADDRS + "/{ip_sid}.json")
async def fetch_ip_address(request: web.Request) -> web.Response:
    _, ip = _ip_address(request)
    return json_response(render.ip_address(ip))


@routes.post(ADDRS + "/{ip_sid}.json")
async def update_ip_address(request: web.Request) -> web.Response:
    acl, ip = _ip_address(request)
    params = await form(request)
    name = text_param(params, "FriendlyName", max_len=behaviour.IP_ACL_FRIENDLY_NAME_MAX)
    address, prefix = _checked_address(params, ip)
    _refuse_duplicate(request, acl, (address, prefix), ip.sid)
    ip.ip_address, ip.cidr_prefix_length = address, prefix
    ip.friendly_name = ip.friendly_name if name is None else name
    ip.date_updated = now()
    return json_response(render.ip_address(ip))


@routes.delete(ADDRS + "/{ip_sid}.json")
async def delete_ip_address(request: web.Request) -> web.Response:
    acl, ip = _ip_address(request)
    del acl.ip_addresses[ip.sid]
    return web.Response(status=204)
