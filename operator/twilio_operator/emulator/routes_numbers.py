"""api.twilio.com/2010-04-01: incoming numbers (list, fetch, update, buy, release), the numbers Twilio
has for sale (AvailablePhoneNumbers), Addresses (with emergency fields and their dependent numbers) and
the account balance. A number is the account's in every region; its voice settings are per region."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, TypeVar

from aiohttp import web

from twilio_operator.emulator import behaviour, render
from twilio_operator.emulator.context import (
    bool_param,
    check_quota,
    form,
    json_response,
    path_account,
    refuse,
    runtime,
    text_param,
    valid_sid,
    world,
)
from twilio_operator.emulator.errors import TwilioError, invalid, not_found
from twilio_operator.emulator.resources import Served, listing
from twilio_operator.emulator.state import Account, Address, AvailableNumber, Number, Region, World, now

routes = web.RouteTableDef()
ACC = "/2010-04-01/Accounts/{account_sid}"
NUMBERS: Served[Region, Number] = Served(
    ACC + "/IncomingPhoneNumbers",
    "pn_sid",
    path_account,
    lambda region: region.numbers,
    lambda request, number: render.incoming_number(number, path_account(request).name),
    ".json",
)
ADDRESSES: Served[Region, Address] = Served(
    ACC + "/Addresses",
    "ad_sid",
    path_account,
    lambda region: region.account.addresses,
    lambda _, addr: render.address(addr),
    ".json",
)
E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")
COUNTRY_RE = re.compile(r"[A-Z]{2}")
AREA_CODE_RE = re.compile(r"[2-9][0-9]{2}")
T = TypeVar("T")
TYPE_BY_PATH = {path: number_type for number_type, path in behaviour.NUMBER_TYPES.items()}


# --- incoming phone numbers ----------------------------------------------------------------------
def _phone_filter(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\*", r"\d"))


@routes.get(NUMBERS.collection_path)
async def list_numbers(request: web.Request) -> web.Response:
    region = path_account(request)
    numbers = list(region.numbers.values())
    phone, name = request.query.get("PhoneNumber"), request.query.get("FriendlyName")
    if phone:
        matcher = _phone_filter(phone)
        numbers = [n for n in numbers if matcher.search(n.phone_number)]
    if name is not None:
        numbers = [n for n in numbers if n.friendly_name == name]
    filters = {"PhoneNumber": phone or "", "FriendlyName": name or ""}
    return listing(
        request, numbers, "incoming_phone_numbers", lambda n: render.incoming_number(n, region.name), filters
    )


NUMBERS.serve_fetch(routes)


def _trunk_sid(request: web.Request, region: Region, params: Mapping[str, str]) -> str | None:
    """TrunkSid: a trunk of the account in this region; "" detaches (strict mode: refused)."""
    trunk_sid = params.get("TrunkSid")
    if trunk_sid == "" and runtime(request).strict:
        # The spec's pattern forbids an empty TrunkSid; Twilio documents no "empty means detach".
        raise invalid("TrunkSid must be a trunk SID (the spec's pattern forbids an empty value)")
    if trunk_sid and (not valid_sid(trunk_sid, "TK") or trunk_sid not in region.trunks):
        raise TwilioError(
            behaviour.UNKNOWN_TRUNK_SID_STATUS, behaviour.CODE_INVALID_PARAMETER, "TrunkSid is not valid"
        )
    return trunk_sid


def _application_sid(params: Mapping[str, str]) -> str | None:
    sid = params.get("VoiceApplicationSid")
    if sid and not valid_sid(sid, "AP"):
        raise invalid("VoiceApplicationSid is not a valid application SID")
    return sid


def _address_of(
    request: web.Request, account: Account, params: Mapping[str, str], name: str
) -> Address | None:
    """AddressSid / EmergencyAddressSid: an address of the account ("" unlinks: None)."""
    sid = params.get(name)
    if not sid:
        return None
    found = account.addresses.get(sid) if valid_sid(sid, "AD") else None
    if found is None:
        raise refuse(
            request, behaviour.ADDRESS_IN_USE, f"{name} is not an address of the account", documented=False
        )
    if name == "EmergencyAddressSid" and not found.emergency_enabled:
        raise refuse(
            request, behaviour.ADDRESS_IN_USE, f"Address {sid} is not emergency enabled", documented=False
        )
    return found


def _bundle_sid(params: Mapping[str, str]) -> str | None:
    sid = params.get("BundleSid")
    if sid and not valid_sid(sid, "BU"):
        raise invalid("BundleSid is not a valid bundle SID")
    return sid or None


def _apply_voice(region: Region, number: Number, params: Mapping[str, str], trunk_sid: str | None) -> None:
    config = number.config(region.name)
    if "VoiceUrl" in params:
        config.voice_url = params["VoiceUrl"] or None
    if "VoiceApplicationSid" in params:
        config.voice_application_sid = params["VoiceApplicationSid"] or None
        if config.voice_application_sid:
            config.trunk_sid = None  # documented: setting an application deletes the trunk_sid
    if trunk_sid is not None:
        World.attach_number(region, number, trunk_sid or None)  # documented: a trunk deletes the application


class _NumberParams(NamedTuple):
    """What a purchase and an update of a number both take, validated."""

    name: str | None
    trunk_sid: str | None
    address: Address | None
    emergency: Address | None
    bundle_sid: str | None


def _number_params(request: web.Request, region: Region, params: Mapping[str, str]) -> _NumberParams:
    name = text_param(params, "FriendlyName", max_len=behaviour.FRIENDLY_NAME_MAX)
    trunk_sid = _trunk_sid(request, region, params)
    _application_sid(params)
    address = _address_of(request, region.account, params, "AddressSid")
    emergency = _address_of(request, region.account, params, "EmergencyAddressSid")
    return _NumberParams(name, trunk_sid, address, emergency, _bundle_sid(params))


@routes.post(NUMBERS.item_path)
async def update_number(request: web.Request) -> web.Response:
    region, number = NUMBERS.found(request)
    account = region.account
    params = await form(request)
    name, trunk_sid, address, emergency, bundle_sid = _number_params(request, region, params)
    if trunk_sid and not number.trunk_in(region.name):
        check_quota(request, region, "trunk_phone_numbers", len(World.numbers_on_trunks(region)))
    if name is not None:
        number.friendly_name = name
    if "AddressSid" in params:
        number.address_sid = address.sid if address else None
    if "BundleSid" in params:
        number.bundle_sid = bundle_sid
    if "EmergencyAddressSid" in params:  # "" unlinks: "Set Emergency Address to Null" (emergency-calling-api)
        World.link_emergency_address(account, number, emergency.sid if emergency else None)
    # EmergencyStatus is ignored (changelog 2021-10-06, "Changes to the Emergency Calling API").
    _apply_voice(region, number, params, trunk_sid)
    number.date_updated = now()
    return json_response(render.incoming_number(number, region.name))


@routes.delete(NUMBERS.item_path)
async def release_number(request: web.Request) -> web.Response:
    region, number = NUMBERS.found(request)
    if number.emergency_address_sid:
        raise refuse(
            request,
            behaviour.RELEASE_WITH_EMERGENCY_ADDRESS,
            f"{number.phone_number} has an emergency address; remove it before releasing the number",
            documented=False,
        )
    world(request).release_number(region.account, number)
    return web.Response(status=204)


def _candidate(request: web.Request, w: World, params: Mapping[str, str]) -> AvailableNumber:
    """The number to buy: PhoneNumber from the inventory, else the first of AreaCode's."""
    phone, area = params.get("PhoneNumber"), params.get("AreaCode")
    if phone:
        if not E164_RE.fullmatch(phone):
            raise invalid(f"{phone} is not a valid phone number", behaviour.CODE_PHONE_NUMBER_INVALID)
        found = w.inventory.get(phone)
        if found is None:
            raise invalid(f"{phone} is not available", behaviour.CODE_PHONE_NUMBER_NOT_AVAILABLE)
        return found
    if not area:
        raise invalid("You must provide an AreaCode or a PhoneNumber")
    if not AREA_CODE_RE.fullmatch(area):
        raise invalid(f"{area} is not a valid area code", behaviour.CODE_INVALID_AREA_CODE)
    candidates = [
        n
        for n in w.inventory.values()
        if n.iso_country in ("US", "CA") and n.phone_number.startswith("+1" + area)
    ]
    if not candidates:
        raise invalid(f"No phone numbers found in area code {area}", behaviour.CODE_NO_NUMBERS_IN_AREA_CODE)
    return candidates[0]


def _check_purchase(
    request: web.Request,
    account: Account,
    candidate: AvailableNumber,
    address: Address | None,
    bundle: str | None,
) -> Decimal:
    """Trial limit, address and bundle requirements, funds; returns the price."""
    if account.type == "Trial" and len(account.numbers) >= behaviour.TRIAL_NUMBER_LIMIT:
        raise invalid(
            "Trial accounts do not support the feature you tried to use: a trial account holds one number",
            behaviour.CODE_TRIAL_LIMIT,
        )
    requirement = candidate.address_requirements
    if requirement != "none":
        if address is None:
            raise invalid(
                f"{candidate.phone_number} requires an Address ({requirement}); pass AddressSid",
                behaviour.CODE_ADDRESS_REQUIRED,
            )
        if requirement == "local" and address.iso_country.upper() != candidate.iso_country:
            raise invalid(
                f"{candidate.phone_number} requires a local Address in {candidate.iso_country}",
                behaviour.CODE_LOCAL_ADDRESS_REQUIRED,
            )
        if requirement == "foreign" and address.iso_country.upper() == candidate.iso_country:
            raise invalid(
                f"{candidate.phone_number} requires an Address outside {candidate.iso_country}",
                behaviour.CODE_ADDRESS_REQUIRED,
            )
    if candidate.bundle_required and not bundle:
        raise invalid(
            f"{candidate.phone_number} requires a regulatory Bundle; pass BundleSid",
            behaviour.CODE_BUNDLE_REQUIRED,
        )
    if account.current_balance() < candidate.price:
        raise refuse(
            request,
            behaviour.INSUFFICIENT_FUNDS,
            f"Insufficient funds: the number costs {candidate.price} {behaviour.CURRENCY}, "
            f"the balance is {account.current_balance():.2f}",
            documented=False,
        )
    return candidate.price


@routes.post(NUMBERS.collection_path)
async def buy_number(request: web.Request) -> web.Response:
    region = path_account(request)
    account = region.account
    w = world(request)
    params = await form(request)
    name, trunk_sid, address, emergency, bundle_sid = _number_params(request, region, params)
    candidate = _candidate(request, w, params)
    price = _check_purchase(request, account, candidate, address, bundle_sid)
    if trunk_sid:
        check_quota(request, region, "trunk_phone_numbers", len(World.numbers_on_trunks(region)))
    created = now()
    number = Number(
        sid=w.new_sid("PN"),
        account_sid=account.sid,
        phone_number=candidate.phone_number,
        friendly_name=name or render.friendly_phone(candidate.phone_number),
        capabilities=dict(candidate.capabilities),
        date_created=created,
        date_updated=created,
        number_type=candidate.number_type,
        iso_country=candidate.iso_country,
        address_requirements=candidate.address_requirements,
        address_sid=address.sid if address else None,
        bundle_sid=bundle_sid,
    )
    account.add_number(number)
    del w.inventory[candidate.phone_number]
    account.balance = account.current_balance() - price
    _apply_voice(region, number, params, trunk_sid)
    if emergency is not None and not runtime(request).strict:
        # Strict mode: ignored, as reported (twilio-node#706); an update sets it.
        World.link_emergency_address(account, number, emergency.sid)
    return json_response(render.incoming_number(number, region.name), status=201)


# --- numbers for sale ----------------------------------------------------------------------------
_KEYPAD = {
    c: str(d)
    for d, letters in enumerate(["", "", "abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz"])
    for c in letters
}
CONTAINS_RE = re.compile(r"\+?[0-9A-Za-z*%]{2,16}\$?")


def _contains_matcher(pattern: str) -> re.Pattern[str]:
    """Contains: digits and letters (keypad digits), `*` one character, `%` any run, a leading `+`
    anchors at the start of the number, a trailing `$` at its end (twilio_api_v2010.json)."""
    if not CONTAINS_RE.fullmatch(pattern) or len(pattern.strip("+$")) > 16:
        raise invalid("Contains must be 2 to 16 digits, letters or wildcards")
    start, end = pattern.startswith("+"), pattern.endswith("$")
    body = "".join(
        r"\d" if c == "*" else r"\d*" if c == "%" else _KEYPAD.get(c.lower(), c) for c in pattern.strip("+$")
    )
    return re.compile(("^" if start else "") + body + ("$" if end else ""))


def _matching(found: list[T], query: Mapping[str, str], fields: Mapping[str, str]) -> list[T]:
    """`found` less those whose attribute differs from a filter given (`fields`: filter -> attribute)."""
    for name, attribute in fields.items():
        if query.get(name):
            found = [item for item in found if getattr(item, attribute) == query[name]]
    return found


def _flag(query: Mapping[str, str], name: str) -> bool | None:
    return bool_param(query, name)


@routes.get(ACC + "/AvailablePhoneNumbers/{country}/{kind}.json")
async def list_available_numbers(request: web.Request) -> web.Response:
    path_account(request)
    country, kind = request.match_info["country"], request.match_info["kind"]
    number_type = TYPE_BY_PATH.get(kind)
    if number_type is None or not COUNTRY_RE.fullmatch(country):
        raise not_found(f"The requested resource {request.path}")
    query = request.query
    found = [
        n
        for n in world(request).inventory.values()
        if n.iso_country == country and n.number_type == number_type
    ]
    area = query.get("AreaCode")
    if area:
        found = [n for n in found if country in ("US", "CA") and n.phone_number.startswith("+1" + area)]
    contains = query.get("Contains")
    if contains:
        matcher = _contains_matcher(contains)
        found = [n for n in found if matcher.search(n.phone_number.lstrip("+"))]
    for name, capability in (
        ("VoiceEnabled", "voice"),
        ("SmsEnabled", "sms"),
        ("MmsEnabled", "mms"),
        ("FaxEnabled", "fax"),
    ):
        wanted = _flag(query, name)
        if wanted is not None:
            found = [n for n in found if bool(n.capabilities.get(capability)) == wanted]
    if _flag(query, "ExcludeAllAddressRequired"):
        found = [n for n in found if n.address_requirements == "none"]
    for name, requirement in (
        ("ExcludeLocalAddressRequired", "local"),
        ("ExcludeForeignAddressRequired", "foreign"),
    ):
        if _flag(query, name):
            found = [n for n in found if n.address_requirements != requirement]
    if _flag(query, "Beta") is False:
        found = [n for n in found if not n.beta]
    found = _matching(
        found, query, {"InRegion": "region", "InPostalCode": "postal_code", "InLocality": "locality"}
    )
    kept = ("AreaCode", "Contains", "VoiceEnabled", "SmsEnabled", "MmsEnabled", "FaxEnabled", "InRegion")
    filters = {k: query.get(k) or "" for k in kept}
    return listing(request, found, "available_phone_numbers", render.available_number, filters)


# --- addresses -----------------------------------------------------------------------------------
def _address_text(params: Mapping[str, str], name: str, required: bool) -> str | None:
    value = text_param(params, name, required=required)
    if required and not value:
        raise invalid(f"Required parameter {name} missing.")
    return value


def _validated(
    request: web.Request, fields: dict[str, str | None], auto_correct: bool
) -> dict[str, str | None]:
    """The emulator's address validation: the first rule (admin /_emulator/address_rules) whose
    `street_contains` is in the street rejects (21628) or corrects the address (21629 when
    AutoCorrectAddress=false)."""
    street = (fields.get("street") or "").lower()
    for rule in world(request).address_rules:
        if rule["street_contains"].lower() not in street:
            continue
        if rule["action"] == "reject":
            raise invalid(
                rule.get("message") or "Address Validation Error: the address could not be validated",
                behaviour.CODE_ADDRESS_INVALID,
            )
        corrected = {**fields, **rule.get("corrected", {})}
        if not auto_correct:
            suggestion = ", ".join(
                str(v) for k, v in corrected.items() if k in ("street", "city", "region", "postal_code") and v
            )
            raise invalid(
                f"Address Validation Error - Check Suggested Address: {suggestion}",
                behaviour.CODE_ADDRESS_SUGGESTED,
            )
        return corrected
    return fields


def _friendly_name_max(emergency: bool) -> int:
    return behaviour.EMERGENCY_FRIENDLY_NAME_MAX if emergency else behaviour.ADDRESS_FRIENDLY_NAME_MAX


@routes.post(ADDRESSES.collection_path)
async def create_address(request: web.Request) -> web.Response:
    region = path_account(request)
    account = region.account
    params = await form(request)
    emergency = bool(bool_param(params, "EmergencyEnabled"))
    auto_correct = bool_param(params, "AutoCorrectAddress") is not False
    fields: dict[str, str | None] = {
        "customer_name": _address_text(params, "CustomerName", True),
        "street": _address_text(params, "Street", True),
        "city": _address_text(params, "City", True),
        "region": _address_text(params, "Region", True),
        "postal_code": _address_text(params, "PostalCode", True),
        "iso_country": _address_text(params, "IsoCountry", True),
        "street_secondary": params.get("StreetSecondary") or None,
    }
    if not COUNTRY_RE.fullmatch((fields["iso_country"] or "").upper()):
        raise invalid("IsoCountry must be an ISO 3166-1 alpha-2 country code", behaviour.CODE_ADDRESS_INVALID)
    name = text_param(params, "FriendlyName", max_len=_friendly_name_max(emergency))
    fields = _validated(request, fields, auto_correct)

    def make(sid: str, at: datetime) -> Address:
        return Address(
            sid=sid,
            account_sid=account.sid,
            customer_name=fields["customer_name"] or "",
            street=fields["street"] or "",
            street_secondary=fields["street_secondary"],
            city=fields["city"] or "",
            region=fields["region"] or "",
            postal_code=fields["postal_code"] or "",
            iso_country=(fields["iso_country"] or "").upper(),
            friendly_name=name or "",
            emergency_enabled=emergency,
            validated=True,
            verified=False,
            date_created=at,
            date_updated=at,
        )

    return ADDRESSES.create(request, region, make)


@routes.get(ADDRESSES.collection_path)
async def list_addresses(request: web.Request) -> web.Response:
    region = path_account(request)
    found = list(region.account.addresses.values())
    query = request.query
    found = _matching(
        found,
        query,
        {"CustomerName": "customer_name", "FriendlyName": "friendly_name", "IsoCountry": "iso_country"},
    )
    emergency = bool_param(query, "EmergencyEnabled")
    if emergency is not None:
        found = [a for a in found if a.emergency_enabled == emergency]
    kept = ("CustomerName", "FriendlyName", "IsoCountry", "EmergencyEnabled")
    filters = {k: query.get(k) or "" for k in kept}
    return listing(request, found, "addresses", render.address, filters)


ADDRESSES.serve_fetch(routes)


@routes.post(ADDRESSES.item_path)
async def update_address(request: web.Request) -> web.Response:
    region, addr = ADDRESSES.found(request)
    params = await form(request)
    emergency = bool_param(params, "EmergencyEnabled")
    auto_correct = bool_param(params, "AutoCorrectAddress") is not False
    now_emergency = addr.emergency_enabled if emergency is None else emergency
    name = text_param(params, "FriendlyName", max_len=_friendly_name_max(now_emergency))
    fields: dict[str, str | None] = {
        "customer_name": params.get("CustomerName") or addr.customer_name,
        "street": params.get("Street") or addr.street,
        "city": params.get("City") or addr.city,
        "region": params.get("Region") or addr.region,
        "postal_code": params.get("PostalCode") or addr.postal_code,
        "iso_country": addr.iso_country,
        "street_secondary": params.get("StreetSecondary", addr.street_secondary) or None,
    }
    if emergency is False and any(
        n.emergency_address_sid == addr.sid for n in region.account.numbers.values()
    ):
        raise refuse(
            request,
            behaviour.ADDRESS_IN_USE,
            "The address is the emergency address of numbers",
            documented=False,
        )
    fields = _validated(request, fields, auto_correct)
    addr.customer_name = fields["customer_name"] or ""
    addr.street = fields["street"] or ""
    addr.city = fields["city"] or ""
    addr.region = fields["region"] or ""
    addr.postal_code = fields["postal_code"] or ""
    addr.street_secondary = fields["street_secondary"]
    addr.emergency_enabled = now_emergency
    addr.friendly_name = addr.friendly_name if name is None else name
    addr.date_updated = now()
    return json_response(render.address(addr))


@routes.delete(ADDRESSES.item_path)
async def delete_address(request: web.Request) -> web.Response:
    region, addr = ADDRESSES.found(request)
    dependents = World.address_dependents(region.account, addr.sid)
    if dependents:
        raise refuse(
            request,
            behaviour.ADDRESS_IN_USE,
            f"Address {addr.sid} is used by {', '.join(n.phone_number for n in dependents)}",
            documented=False,
        )
    region.account.addresses.remove(addr.sid)
    return web.Response(status=204)


@routes.get(ADDRESSES.under("DependentPhoneNumbers.json"))
async def list_dependent_numbers(request: web.Request) -> web.Response:
    region, addr = ADDRESSES.found(request)
    dependents = World.address_dependents(region.account, addr.sid)
    return listing(
        request, dependents, "dependent_phone_numbers", lambda n: render.dependent_number(n, region.name)
    )


# --- balance -------------------------------------------------------------------------------------
@routes.get(ACC + "/Balance.json")
async def fetch_balance(request: web.Request) -> web.Response:
    account = path_account(request).account
    return json_response(render.balance(account.sid, account.current_balance(), behaviour.CURRENCY))
