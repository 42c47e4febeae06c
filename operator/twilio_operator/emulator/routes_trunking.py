"""trunking.twilio.com/v1 and routes.twilio.com/v2. No account in these paths: the authenticated
account owns what is created and is the only one that can see it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
from twilio_operator.emulator.resources import Served, admit, listing
from twilio_operator.emulator.state import (
    Link,
    ListKind,
    OriginationUrl,
    Region,
    Route,
    Trunk,
    World,
    now,
)

routes = web.RouteTableDef()
TRUNKS: Served[Region, Trunk] = Served(
    "/v1/Trunks",
    "trunk_sid",
    current_account,
    lambda region: region.trunks,
    lambda request, trunk: render.trunk(trunk, public_base(request)),
)
TRUNK = TRUNKS.item_path
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


def _refuse_if_subdomains(w: World, region: Region, trunk: Trunk, doing: str) -> None:
    """A domain with subdomains stays while a trunk holds it (21247)."""
    if trunk.domain_name and w.last_holder(region, trunk) and w.has_subdomains(trunk.domain_name):
        raise TwilioError(
            behaviour.DEPENDENCY_STATUS,
            behaviour.CODE_TRUNK_DEPENDENCIES,
            f"Cannot {doing} while it has subdomains",
        )


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
        _refuse_if_subdomains(w, region, trunk, "rename domain")
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
TRUNKS.serve(routes)


@routes.post(TRUNKS.collection_path)
async def create_trunk(request: web.Request) -> web.Response:
    account = current_account(request)
    params = await form(request)

    def make(sid: str, at: datetime) -> Trunk:
        trunk = Trunk(sid, account.sid, at, at)
        _apply_trunk_fields(request, trunk, params)  # needs the SID: the domain is claimed for it
        return trunk

    return TRUNKS.create(request, account, make)


@routes.post(TRUNK)
async def update_trunk(request: web.Request) -> web.Response:
    trunk = TRUNKS.item(request)
    _apply_trunk_fields(request, trunk, await form(request))
    return TRUNKS.answer(request, trunk)


def _refuse_trunk_delete(request: web.Request, region: Region, trunk: Trunk) -> None:
    """Documented refusals (subdomains: 21247; numbers provisioned for emergency calling: 21634), and
    in strict mode the unconfirmed one: a trunk with subresources (origination URLs, numbers, credential
    list or IP ACL links) is refused with 21247 instead of cascading."""
    _refuse_if_subdomains(world(request), region, trunk, "delete trunk")
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
    region, trunk = current_account(request), TRUNKS.item(request)
    _refuse_trunk_delete(request, region, trunk)
    world(request).delete_trunk(region, trunk)
    return web.Response(status=204)


@routes.get(TRUNK + "/Recording")
async def fetch_recording(request: web.Request) -> web.Response:
    trunk = TRUNKS.item(request)
    return json_response({"mode": trunk.recording_mode, "trim": trunk.recording_trim})


@routes.post(TRUNK + "/Recording")
async def update_recording(request: web.Request) -> web.Response:
    trunk = TRUNKS.item(request)
    params = await form(request)
    trunk.recording_mode = enum_param(params, "Mode", RECORDING_MODES) or trunk.recording_mode
    trunk.recording_trim = enum_param(params, "Trim", RECORDING_TRIMS) or trunk.recording_trim
    return json_response({"mode": trunk.recording_mode, "trim": trunk.recording_trim})


# --- trunk <-> credential lists and IP access control lists ----------------------------------------
@dataclass(frozen=True)
class _Links:
    """What differs between linking credential lists and IP access control lists to a trunk."""

    kind: ListKind
    noun: str  # of the path: /v1/Trunks/TK.../{noun}
    param: str  # the form field naming the list to link
    what: str

    def render(self, request: web.Request, link: Link) -> dict[str, Any]:
        linked = current_account(request).lists(self.kind)[link.sid]
        return render.trunk_link(linked, link, public_base(request), self.noun)


def _serve_links(links: _Links) -> None:
    """Link and unlink of one kind of list on a trunk (list and fetch: Served)."""
    served = TRUNKS.child(links.noun, "list_sid", lambda trunk: trunk.links(links.kind), links.render)
    served.serve(routes)

    @routes.post(served.collection_path)
    async def link(request: web.Request) -> web.Response:
        trunk, region = TRUNKS.item(request), current_account(request)
        sid = text_param(await form(request), links.param, required=True) or ""
        lists = region.lists(links.kind)
        if not valid_sid(sid, lists.rules.prefix):
            raise invalid(f"{links.param} is not a valid {links.what} SID")
        lists.fetch(sid)
        admit(request, region, trunk.links(links.kind), sid)
        created = now()
        trunk.date_updated = created
        return served.answer(request, trunk.links(links.kind).add(Link(sid, trunk.sid, created)), 201)

    @routes.delete(served.item_path)
    async def unlink(request: web.Request) -> web.Response:
        trunk, found = served.found(request)
        trunk.links(links.kind).remove(found.sid)
        trunk.date_updated = now()
        return web.Response(status=204)


_serve_links(_Links("credential_lists", "CredentialLists", "CredentialListSid", "credential list"))
_serve_links(
    _Links(
        "ip_access_control_lists", "IpAccessControlLists", "IpAccessControlListSid", "IP access control list"
    )
)


# --- origination URLs ----------------------------------------------------------------------------
def _checked_sip_url(value: str) -> str:
    if not value.lower().startswith("sip:"):
        raise invalid("SipUrl must be a sip: URI (sips is not supported)")
    return value


ORIGINATION_URLS = TRUNKS.child(
    "OriginationUrls",
    "ou_sid",
    lambda trunk: trunk.origination_urls,
    lambda request, ou: render.origination_url(ou, public_base(request)),
)
ORIGINATION_URLS.serve(routes, delete=True)


@routes.post(ORIGINATION_URLS.collection_path)
async def create_origination_url(request: web.Request) -> web.Response:
    trunk = ORIGINATION_URLS.owner(request)
    params = await form(request)
    weight = int_param(params, "Weight", behaviour.WEIGHT_RANGE, required=True)
    priority = int_param(params, "Priority", behaviour.PRIORITY_RANGE, required=True)
    enabled = bool_param(params, "Enabled", required=True)
    name = text_param(params, "FriendlyName", required=True, max_len=behaviour.FRIENDLY_NAME_MAX)
    sip_url = _checked_sip_url(text_param(params, "SipUrl", required=True) or "")

    def make(sid: str, at: datetime) -> OriginationUrl:
        return OriginationUrl(
            sid,
            trunk.account_sid,
            trunk.sid,
            weight or 0,
            priority or 0,
            bool(enabled),
            name or "",
            sip_url,
            at,
            at,
        )

    return ORIGINATION_URLS.create(request, trunk, make)


@routes.post(ORIGINATION_URLS.item_path)
async def update_origination_url(request: web.Request) -> web.Response:
    ou = ORIGINATION_URLS.item(request)
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
    return ORIGINATION_URLS.answer(request, ou)


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
    return TRUNKS.item(request)


@routes.get(TRUNK + "/PhoneNumbers")
async def list_trunk_numbers(request: web.Request) -> web.Response:
    trunk, region = _trunk_numbers_served(request), current_account(request)
    base, api = public_base(request), api_base(request)
    numbers = World.trunk_numbers(region, trunk.sid)
    return listing(
        request, numbers, "phone_numbers", lambda n: render.trunk_number(n, region.name, trunk.sid, base, api)
    )


@routes.post(TRUNK + "/PhoneNumbers")
async def attach_trunk_number(request: web.Request) -> web.Response:
    trunk, region = _trunk_numbers_served(request), current_account(request)
    w = world(request)
    pn_sid = text_param(await form(request), "PhoneNumberSid", required=True) or ""
    if not valid_sid(pn_sid, "PN"):
        raise invalid("PhoneNumberSid is not a valid phone number SID")
    number = region.numbers.fetch(pn_sid)
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
    return world(request).owned_domain(current_account(request), request.match_info["target"])


def _own_number(request: web.Request) -> str:
    phone = request.match_info["target"]
    account = current_account(request)
    if not E164_RE.fullmatch(phone) or account.account.number_by_e164(phone) is None:
        raise not_found(f"The requested resource {request.path}")
    return phone


def _serve_inbound_routes(
    path: str,
    target: Callable[[web.Request], str],
    held: Callable[[Region], dict[str, Route]],
    rendered: Callable[[Route, str], dict[str, Any]],
) -> None:
    """Fetch and create-or-update of the route of one kind of target (a trunk domain, a number)."""

    @routes.get(path)
    async def fetch_route(request: web.Request) -> web.Response:
        route = held(current_account(request)).get(target(request))
        if route is None:
            raise not_found(f"The requested resource {request.path}")
        return json_response(rendered(route, public_base(request)))

    @routes.post(path)
    async def update_route(request: web.Request) -> web.Response:
        params = await form(request)
        name = target(request)
        route = _upsert_route(request, held(current_account(request)), name, params)
        return json_response(rendered(route, public_base(request)))


_serve_inbound_routes("/v2/Trunks/{target}", _trunk_domain, lambda region: region.routes, render.route)
_serve_inbound_routes(
    "/v2/PhoneNumbers/{target}", _own_number, lambda region: region.number_routes, render.number_route
)
