"""trunking.twilio.com/v1 and routes.twilio.com/v2. No account in these paths: the authenticated
account owns what is created and is the only one that can see it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aiohttp import web

from twilio_operator.emulator import behaviour, render
from twilio_operator.emulator.context import (
    api_base,
    bool_param,
    check_quota,
    current_account,
    enum_param,
    form,
    int_param,
    json_response,
    public_base,
    refuse,
    runtime,
    sid_param,
    text_param,
    undocumented,
    valid_sid,
    world,
)
from twilio_operator.emulator.errors import TwilioError, invalid, not_found
from twilio_operator.emulator.paging import Window, page_v1
from twilio_operator.emulator.state import OriginationUrl, Region, Route, Trunk, World, now

routes = web.RouteTableDef()
TRUNK = "/v1/Trunks/{trunk_sid}"
TRANSFER_MODES = frozenset({"disable-all", "enable-all", "sip-only"})
TRANSFER_CALLER_IDS = frozenset({"from-transferee", "from-transferor"})
HTTP_METHODS = frozenset({"GET", "POST"})
RECORDING_MODES = frozenset(
    {
        "do-not-record",
        "record-from-ringing",
        "record-from-answer",
        "record-from-ringing-dual",
        "record-from-answer-dual",
    }
)
RECORDING_TRIMS = frozenset({"trim-silence", "do-not-trim"})


def _trunk(request: web.Request) -> Trunk:
    return world(request).get_trunk(current_account(request), sid_param(request, "trunk_sid", "TK"))


def _list_url(request: web.Request) -> str:
    return public_base(request) + request.path


def _apply_trunk_fields(request: web.Request, trunk: Trunk, params: Mapping[str, str]) -> None:
    """Validate everything first, then write: a rejected update leaves the trunk untouched."""
    name = text_param(params, "FriendlyName", max_len=behaviour.FRIENDLY_NAME_MAX)
    dr_method = enum_param(params, "DisasterRecoveryMethod", HTTP_METHODS)
    transfer_mode = enum_param(params, "TransferMode", TRANSFER_MODES)
    caller_id = enum_param(params, "TransferCallerId", TRANSFER_CALLER_IDS)
    secure = bool_param(params, "Secure")
    cnam = bool_param(params, "CnamLookupEnabled")
    domain = params.get("DomainName")
    if domain is not None and domain.lower() != (trunk.domain_name or ""):
        w = world(request)
        region = current_account(request)
        if trunk.domain_name and w.last_holder(region, trunk) and w.has_subdomains(trunk.domain_name):
            raise TwilioError(
                behaviour.DEPENDENCY_STATUS,
                behaviour.CODE_TRUNK_DEPENDENCIES,
                "Cannot rename domain while it has subdomains",
            )
        if domain:
            claimed = w.claim_domain(region, domain, trunk.sid, runtime(request).strict)
            w.release_domain(region, trunk.domain_name)
            trunk.domain_name = claimed
        else:
            w.release_domain(region, trunk.domain_name)
            trunk.domain_name = None
    if name is not None:
        trunk.friendly_name = name
    if "DisasterRecoveryUrl" in params:
        trunk.disaster_recovery_url = params["DisasterRecoveryUrl"] or None
    trunk.disaster_recovery_method = dr_method or trunk.disaster_recovery_method
    trunk.transfer_mode = transfer_mode or trunk.transfer_mode
    trunk.transfer_caller_id = caller_id or trunk.transfer_caller_id
    trunk.secure = trunk.secure if secure is None else secure
    trunk.cnam_lookup_enabled = trunk.cnam_lookup_enabled if cnam is None else cnam
    trunk.date_updated = now()


# --- trunks --------------------------------------------------------------------------------------
@routes.post("/v1/Trunks")
async def create_trunk(request: web.Request) -> web.Response:
    account = current_account(request)
    params = await form(request)
    check_quota(request, account, "trunks", len(account.trunks))
    created = now()
    trunk = Trunk(world(request).new_sid("TK"), account.sid, created, created)
    _apply_trunk_fields(request, trunk, params)
    account.trunks[trunk.sid] = trunk
    return json_response(render.trunk(trunk, public_base(request)), status=201)


@routes.get("/v1/Trunks")
async def list_trunks(request: web.Request) -> web.Response:
    account = current_account(request)
    window = Window(request.query, list(account.trunks.values()), {})
    base = public_base(request)
    rendered = [render.trunk(t, base) for t in window.items]
    return json_response(page_v1(window, _list_url(request), "trunks", rendered))


@routes.get(TRUNK)
async def fetch_trunk(request: web.Request) -> web.Response:
    return json_response(render.trunk(_trunk(request), public_base(request)))


@routes.post(TRUNK)
async def update_trunk(request: web.Request) -> web.Response:
    trunk = _trunk(request)
    _apply_trunk_fields(request, trunk, await form(request))
    return json_response(render.trunk(trunk, public_base(request)))


def _refuse_trunk_delete(request: web.Request, region: Region, trunk: Trunk) -> None:
    """Documented refusals (subdomains: 21247; numbers provisioned for emergency calling: 21634), and
    in strict mode the unconfirmed one: a trunk with subresources (origination URLs, numbers, credential
    list or IP ACL links) is refused with 21247 instead of cascading."""
    w = world(request)
    if trunk.domain_name and w.last_holder(region, trunk) and w.has_subdomains(trunk.domain_name):
        raise TwilioError(
            behaviour.DEPENDENCY_STATUS,
            behaviour.CODE_TRUNK_DEPENDENCIES,
            "Cannot delete trunk while it has subdomains",
        )
    numbers = World.trunk_numbers(region, trunk.sid)
    emergency = [n.phone_number for n in numbers if n.emergency_address_sid]
    if emergency:
        raise TwilioError(
            behaviour.DEPENDENCY_STATUS,
            behaviour.CODE_TRUNK_EMERGENCY,
            f"SIP Trunk is in use for emergency calling: {', '.join(emergency)}",
        )
    if not runtime(request).strict:
        return
    held = [
        what
        for what, count in (
            ("origination URLs", len(trunk.origination_urls)),
            ("phone numbers", len(numbers)),
            ("credential lists", len(trunk.credential_lists)),
            ("IP access control lists", len(trunk.ip_access_control_lists)),
        )
        if count
    ]
    if held:
        raise refuse(
            request,
            (behaviour.DEPENDENCY_STATUS, behaviour.CODE_TRUNK_DEPENDENCIES),
            f"Cannot delete trunk while it has {', '.join(held)}",
            documented=True,
        )


@routes.delete(TRUNK)
async def delete_trunk(request: web.Request) -> web.Response:
    region, trunk = current_account(request), _trunk(request)
    _refuse_trunk_delete(request, region, trunk)
    world(request).delete_trunk(region, trunk)
    return web.Response(status=204)


@routes.get(TRUNK + "/Recording")
async def fetch_recording(request: web.Request) -> web.Response:
    trunk = _trunk(request)
    return json_response({"mode": trunk.recording_mode, "trim": trunk.recording_trim})


@routes.post(TRUNK + "/Recording")
async def update_recording(request: web.Request) -> web.Response:
    trunk = _trunk(request)
    params = await form(request)
    trunk.recording_mode = enum_param(params, "Mode", RECORDING_MODES) or trunk.recording_mode
    trunk.recording_trim = enum_param(params, "Trim", RECORDING_TRIMS) or trunk.recording_trim
    return json_response({"mode": trunk.recording_mode, "trim": trunk.recording_trim})


# --- trunk <-> credential list -------------------------------------------------------------------
class _Link:
    """A linked credential list as the pager sees it."""

    def __init__(self, sid: str) -> None:
        self.sid = sid


@routes.get(TRUNK + "/CredentialLists")
async def list_trunk_credential_lists(request: web.Request) -> web.Response:
    trunk, account = _trunk(request), current_account(request)
    window = Window(request.query, [_Link(s) for s in trunk.credential_lists], {})
    base = public_base(request)
    rendered = [
        render.trunk_credential_list(
            account.credential_lists[link.sid], trunk.sid, trunk.credential_lists[link.sid], base
        )
        for link in window.items
    ]
    return json_response(page_v1(window, _list_url(request), "credential_lists", rendered))


@routes.post(TRUNK + "/CredentialLists")
async def link_credential_list(request: web.Request) -> web.Response:
    trunk, account = _trunk(request), current_account(request)
    cl_sid = text_param(await form(request), "CredentialListSid", required=True) or ""
    if not valid_sid(cl_sid, "CL"):
        raise invalid("CredentialListSid is not a valid credential list SID")
    cl = world(request).get_credential_list(account, cl_sid)
    if cl_sid in trunk.credential_lists:
        status, code = behaviour.DUPLICATE_LINK
        raise TwilioError(status, code, "Credential List already associated with Trunk")
    trunk.credential_lists[cl_sid] = now()
    trunk.date_updated = now()
    body = render.trunk_credential_list(cl, trunk.sid, trunk.credential_lists[cl_sid], public_base(request))
    return json_response(body, status=201)


def _linked(request: web.Request) -> tuple[Trunk, str]:
    trunk = _trunk(request)
    cl_sid = sid_param(request, "cl_sid", "CL")
    if cl_sid not in trunk.credential_lists:
        raise not_found(f"The requested resource {request.path}")
    return trunk, cl_sid


@routes.get(TRUNK + "/CredentialLists/{cl_sid}")
async def fetch_trunk_credential_list(request: web.Request) -> web.Response:
    trunk, cl_sid = _linked(request)
    cl = current_account(request).credential_lists[cl_sid]
    body = render.trunk_credential_list(cl, trunk.sid, trunk.credential_lists[cl_sid], public_base(request))
    return json_response(body)


@routes.delete(TRUNK + "/CredentialLists/{cl_sid}")
async def unlink_credential_list(request: web.Request) -> web.Response:
    trunk, cl_sid = _linked(request)
    del trunk.credential_lists[cl_sid]
    trunk.date_updated = now()
    return web.Response(status=204)


# --- trunk <-> IP access control list ------------------------------------------------------------
@routes.get(TRUNK + "/IpAccessControlLists")
async def list_trunk_ip_access_control_lists(request: web.Request) -> web.Response:
    trunk, account = _trunk(request), current_account(request)
    window = Window(request.query, [_Link(s) for s in trunk.ip_access_control_lists], {})
    base = public_base(request)
    rendered = [
        render.trunk_ip_access_control_list(
            account.ip_access_control_lists[link.sid],
            trunk.sid,
            trunk.ip_access_control_lists[link.sid],
            base,
        )
        for link in window.items
    ]
    return json_response(page_v1(window, _list_url(request), "ip_access_control_lists", rendered))


@routes.post(TRUNK + "/IpAccessControlLists")
async def link_ip_access_control_list(request: web.Request) -> web.Response:
    trunk, account = _trunk(request), current_account(request)
    al_sid = text_param(await form(request), "IpAccessControlListSid", required=True) or ""
    if not valid_sid(al_sid, "AL"):
        raise invalid("IpAccessControlListSid is not a valid IP access control list SID")
    acl = world(request).get_ip_access_control_list(account, al_sid)
    if al_sid in trunk.ip_access_control_lists:
        status, code = behaviour.DUPLICATE_LINK
        raise TwilioError(status, code, "IP-ACL already associated with Trunk")
    trunk.ip_access_control_lists[al_sid] = now()
    trunk.date_updated = now()
    body = render.trunk_ip_access_control_list(
        acl, trunk.sid, trunk.ip_access_control_lists[al_sid], public_base(request)
    )
    return json_response(body, status=201)


def _linked_acl(request: web.Request) -> tuple[Trunk, str]:
    trunk = _trunk(request)
    al_sid = sid_param(request, "al_sid", "AL")
    if al_sid not in trunk.ip_access_control_lists:
        raise not_found(f"The requested resource {request.path}")
    return trunk, al_sid


@routes.get(TRUNK + "/IpAccessControlLists/{al_sid}")
async def fetch_trunk_ip_access_control_list(request: web.Request) -> web.Response:
    trunk, al_sid = _linked_acl(request)
    acl = current_account(request).ip_access_control_lists[al_sid]
    body = render.trunk_ip_access_control_list(
        acl, trunk.sid, trunk.ip_access_control_lists[al_sid], public_base(request)
    )
    return json_response(body)


@routes.delete(TRUNK + "/IpAccessControlLists/{al_sid}")
async def unlink_ip_access_control_list(request: web.Request) -> web.Response:
    trunk, al_sid = _linked_acl(request)
    del trunk.ip_access_control_lists[al_sid]
    trunk.date_updated = now()
    return web.Response(status=204)


# --- origination URLs ----------------------------------------------------------------------------
def _checked_sip_url(value: str) -> str:
    if not value.lower().startswith("sip:"):
        raise invalid("SipUrl must be a sip: URI (sips is not supported)")
    return value


@routes.get(TRUNK + "/OriginationUrls")
async def list_origination_urls(request: web.Request) -> web.Response:
    trunk = _trunk(request)
    window = Window(request.query, list(trunk.origination_urls.values()), {})
    base = public_base(request)
    rendered = [render.origination_url(o, base) for o in window.items]
    return json_response(page_v1(window, _list_url(request), "origination_urls", rendered))


@routes.post(TRUNK + "/OriginationUrls")
async def create_origination_url(request: web.Request) -> web.Response:
    trunk = _trunk(request)
    params = await form(request)
    weight = int_param(params, "Weight", behaviour.WEIGHT_RANGE, required=True)
    priority = int_param(params, "Priority", behaviour.PRIORITY_RANGE, required=True)
    enabled = bool_param(params, "Enabled", required=True)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.FRIENDLY_NAME_MAX)
    sip_url = _checked_sip_url(text_param(params, "SipUrl", required=True) or "")
    created = now()
    ou = OriginationUrl(
        world(request).new_sid("OU"),
        trunk.account_sid,
        trunk.sid,
        weight or 0,
        priority or 0,
        bool(enabled),
        name or "",
        sip_url,
        created,
        created,
    )
    trunk.origination_urls[ou.sid] = ou
    return json_response(render.origination_url(ou, public_base(request)), status=201)


def _origination_url(request: web.Request) -> tuple[Trunk, OriginationUrl]:
    trunk = _trunk(request)
    ou = trunk.origination_urls.get(sid_param(request, "ou_sid", "OU"))
    if ou is None:
        raise not_found(f"The requested resource {request.path}")
    return trunk, ou


@routes.get(TRUNK + "/OriginationUrls/{ou_sid}")
async def fetch_origination_url(request: web.Request) -> web.Response:
    _, ou = _origination_url(request)
    return json_response(render.origination_url(ou, public_base(request)))


@routes.post(TRUNK + "/OriginationUrls/{ou_sid}")
async def update_origination_url(request: web.Request) -> web.Response:
    _, ou = _origination_url(request)
    params = await form(request)
    weight = int_param(params, "Weight", behaviour.WEIGHT_RANGE)
    priority = int_param(params, "Priority", behaviour.PRIORITY_RANGE)
    enabled = bool_param(params, "Enabled")
    name = text_param(params, "FriendlyName", max_len=behaviour.FRIENDLY_NAME_MAX)
    sip_url = params.get("SipUrl")
    if sip_url is not None:
        ou.sip_url = _checked_sip_url(sip_url)
    ou.weight = ou.weight if weight is None else weight
    ou.priority = ou.priority if priority is None else priority
    ou.enabled = ou.enabled if enabled is None else enabled
    ou.friendly_name = ou.friendly_name if name is None else name
    ou.date_updated = now()
    return json_response(render.origination_url(ou, public_base(request)))


@routes.delete(TRUNK + "/OriginationUrls/{ou_sid}")
async def delete_origination_url(request: web.Request) -> web.Response:
    trunk, ou = _origination_url(request)
    del trunk.origination_urls[ou.sid]
    return web.Response(status=204)


# --- trunk phone numbers -------------------------------------------------------------------------
def _trunk_numbers_served(request: web.Request) -> Trunk:
    """The subresource exists only where Twilio serves it (see behaviour.TRUNK_PHONE_NUMBERS_*)."""
    region = current_account(request)
    strict = runtime(request).strict
    unsupported = (
        behaviour.TRUNK_PHONE_NUMBERS_UNSUPPORTED_STRICT
        if strict
        else behaviour.TRUNK_PHONE_NUMBERS_UNSUPPORTED
    )
    if region.name in unsupported:
        raise undocumented(
            request,
            404,
            behaviour.CODE_NOT_FOUND,
            f"The SIP Trunk Phone Number API subresource is not supported in {region.name.upper()}",
        )
    return _trunk(request)


@routes.get(TRUNK + "/PhoneNumbers")
async def list_trunk_numbers(request: web.Request) -> web.Response:
    trunk, region = _trunk_numbers_served(request), current_account(request)
    window = Window(request.query, World.trunk_numbers(region, trunk.sid), {})
    base, api = public_base(request), api_base(request)
    rendered = [render.trunk_number(n, region.name, trunk.sid, base, api) for n in window.items]
    return json_response(page_v1(window, _list_url(request), "phone_numbers", rendered))


@routes.post(TRUNK + "/PhoneNumbers")
async def attach_trunk_number(request: web.Request) -> web.Response:
    trunk, region = _trunk_numbers_served(request), current_account(request)
    w = world(request)
    pn_sid = text_param(await form(request), "PhoneNumberSid", required=True) or ""
    if not valid_sid(pn_sid, "PN"):
        raise invalid("PhoneNumberSid is not a valid phone number SID")
    number = w.get_number(region, pn_sid)
    on = number.trunk_in(region.name)
    if on == trunk.sid or (on and not behaviour.MOVE_NUMBER_FROM_OTHER_TRUNK):
        raise undocumented(
            request,
            behaviour.DUPLICATE_PHONE_NUMBER_STATUS,
            behaviour.CODE_CONFLICT,
            "Phone number is already associated with a trunk",
        )
    if not on:
        check_quota(request, region, "trunk_phone_numbers", len(w.numbers_on_trunks(region)))
    w.attach_number(region, number, trunk.sid)
    body = render.trunk_number(number, region.name, trunk.sid, public_base(request), api_base(request))
    return json_response(body, status=201)


def _trunk_number_sid(request: web.Request) -> tuple[Trunk, str]:
    trunk, region = _trunk_numbers_served(request), current_account(request)
    pn_sid = sid_param(request, "pn_sid", "PN")
    number = region.numbers.get(pn_sid)
    if number is None or number.trunk_in(region.name) != trunk.sid:
        raise not_found(f"The requested resource {request.path}")
    return trunk, pn_sid


@routes.get(TRUNK + "/PhoneNumbers/{pn_sid}")
async def fetch_trunk_number(request: web.Request) -> web.Response:
    trunk, pn_sid = _trunk_number_sid(request)
    region = current_account(request)
    number = region.numbers[pn_sid]
    return json_response(
        render.trunk_number(number, region.name, trunk.sid, public_base(request), api_base(request))
    )


@routes.delete(TRUNK + "/PhoneNumbers/{pn_sid}")
async def detach_trunk_number(request: web.Request) -> web.Response:
    _, pn_sid = _trunk_number_sid(request)
    region = current_account(request)
    World.attach_number(region, region.numbers[pn_sid], None)
    return web.Response(status=204)


# --- routes.twilio.com/v2 ------------------------------------------------------------------------
# A route exists only once a region was assigned; before that GET is a 404, which means US1.
E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")


def _voice_region(params: Mapping[str, str]) -> str | None:
    region = params.get("VoiceRegion")
    if region is not None and region not in behaviour.VOICE_REGIONS:
        raise TwilioError(
            400,
            behaviour.CODE_INVALID_REGION,
            f"VoiceRegion must be a processing region ({', '.join(sorted(behaviour.VOICE_REGIONS))})",
        )
    return region


def _upsert_route(
    request: web.Request, routes: dict[str, Route], target: str, params: Mapping[str, str]
) -> Route:
    """Validate everything, then create or update the route for `target`."""
    region = _voice_region(params)
    name = text_param(params, "FriendlyName", max_len=behaviour.FRIENDLY_NAME_MAX)
    route = routes.get(target)
    if route is None:
        created = now()
        account = current_account(request)
        route = Route(
            world(request).new_sid("QQ"),
            account.sid,
            target,
            region or behaviour.DEFAULT_REGION,
            name,
            created,
            created,
        )
        routes[target] = route
        return route
    route.voice_region = region or route.voice_region
    route.friendly_name = route.friendly_name if name is None else name
    route.date_updated = now()
    return route


def _trunk_domain(request: web.Request) -> str:
    """A domain the account holds (a trunk with it in any region): one route per domain."""
    return world(request).owned_domain(current_account(request), request.match_info["domain"])


@routes.get("/v2/Trunks/{domain}")
async def fetch_trunk_route(request: web.Request) -> web.Response:
    route = current_account(request).routes.get(_trunk_domain(request))
    if route is None:
        raise not_found(f"The requested resource {request.path}")
    return json_response(render.route(route, public_base(request)))


@routes.post("/v2/Trunks/{domain}")
async def update_trunk_route(request: web.Request) -> web.Response:
    params = await form(request)
    domain = _trunk_domain(request)
    route = _upsert_route(request, current_account(request).routes, domain, params)
    return json_response(render.route(route, public_base(request)))


def _own_number(request: web.Request) -> str:
    phone = request.match_info["phone_number"]
    account = current_account(request)
    if not E164_RE.fullmatch(phone) or account.account.number_by_e164(phone) is None:
        raise not_found(f"The requested resource {request.path}")
    return phone


@routes.get("/v2/PhoneNumbers/{phone_number}")
async def fetch_number_route(request: web.Request) -> web.Response:
    route = current_account(request).number_routes.get(_own_number(request))
    if route is None:
        raise not_found(f"The requested resource {request.path}")
    return json_response(render.number_route(route, public_base(request)))


@routes.post("/v2/PhoneNumbers/{phone_number}")
async def update_number_route(request: web.Request) -> web.Response:
    params = await form(request)
    phone = _own_number(request)
    route = _upsert_route(request, current_account(request).number_routes, phone, params)
    return json_response(render.number_route(route, public_base(request)))
