"""The admin API's number parts (/_emulator/, no auth, JSON): a number's voice configuration per
region and its inbound route, Twilio's inventory of numbers for sale, address validation rules and an
address's validation flags. See docs/emulator.md for each call."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from twilio_operator.emulator import behaviour, render
from twilio_operator.emulator.admin import PREFIX, check_number_spec, load_json, number_json, region_name_of
from twilio_operator.emulator.context import json_response, world
from twilio_operator.emulator.errors import invalid, not_found
from twilio_operator.emulator.state import Account, AvailableNumber, Number, Route, World, now

routes = web.RouteTableDef()
MAX_INVENTORY_BATCH = 100_000
E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")
RULE_ACTIONS = frozenset({"reject", "correct"})
ADDRESS_FIELDS = frozenset({"street", "city", "region", "postal_code", "street_secondary", "customer_name"})


def _account(request: web.Request) -> Account:
    account = world(request).find_account(request.match_info["sid"])
    if account is None:
        raise not_found(f"Account {request.match_info['sid']}")
    return account


def _number(request: web.Request, account: Account) -> Number:
    key = request.match_info["number"]
    number = account.numbers.get(key) or account.number_by_e164(key)
    if number is None:
        raise not_found(f"Number {key} of account {account.sid}")
    return number


@routes.get(PREFIX + "/accounts/{sid}/incoming_phone_numbers")
async def list_numbers(request: web.Request) -> web.Response:
    account = _account(request)
    return json_response(
        {"incoming_phone_numbers": [number_json(n, account) for n in account.numbers.values()]}
    )


@routes.patch(PREFIX + "/accounts/{sid}/incoming_phone_numbers/{number}")
async def patch_number(request: web.Request) -> web.Response:
    """{friendly_name?, voice?: {REGION: {trunk_sid?, voice_url?, voice_application_sid?}},
    voice_region?: REGION|null (the inbound route), emergency_address_sid?: AD|null, address_sid?: AD|null}.
    {number} is the PN sid or the E.164 number. A trunk must be a trunk of the account in that region."""
    account = _account(request)
    number = _number(request, account)
    spec = await load_json(request)
    check_number_spec({"voice": spec.get("voice")})
    for key in ("emergency_address_sid", "address_sid"):
        sid = spec.get(key)
        if sid is not None and sid not in account.addresses:
            raise invalid(f"{key} {sid} is not an address of the account")
    region = spec.get("voice_region")
    if region is not None:
        region_name_of(region)
    for name, config in (spec.get("voice") or {}).items():
        World.set_voice(account, number, name, config)
    if isinstance(spec.get("friendly_name"), str):
        number.friendly_name = spec["friendly_name"]
    if "address_sid" in spec:
        number.address_sid = spec["address_sid"]
    if "emergency_address_sid" in spec:
        World.link_emergency_address(account, number, spec["emergency_address_sid"])
    if "voice_region" in spec:
        _set_route(request, account, number, region)
    return json_response(number_json(number, account))


def _set_route(request: web.Request, account: Account, number: Number, region: str | None) -> None:
    if region is None:
        account.number_routes.pop(number.phone_number, None)
        return
    route = account.number_routes.get(number.phone_number)
    if route is None:
        created = now()
        account.number_routes[number.phone_number] = Route(
            world(request).new_sid("QQ"), account.sid, number.phone_number, region, None, created, created
        )
    else:
        route.voice_region, route.date_updated = region, now()


# --- Twilio's inventory of numbers for sale ------------------------------------------------------
def _available(spec: dict[str, Any], phone: str) -> AvailableNumber:
    number_type = spec.get("type") or "local"
    if number_type not in behaviour.NUMBER_TYPES:
        raise invalid(f"type must be one of {sorted(behaviour.NUMBER_TYPES)}")
    requirement = spec.get("address_requirements") or "none"
    if requirement not in behaviour.ADDRESS_REQUIREMENTS:
        raise invalid(f"address_requirements must be one of {sorted(behaviour.ADDRESS_REQUIREMENTS)}")
    try:
        price = Decimal(str(spec.get("price") or behaviour.DEFAULT_PRICES[number_type]))
    except InvalidOperation:
        raise invalid("price must be a decimal number") from None
    capabilities = {"voice": True, "sms": True, "mms": True, "fax": False}
    capabilities.update(spec.get("capabilities") or {})
    country = str(spec.get("iso_country") or "US").upper()
    return AvailableNumber(
        phone_number=phone,
        iso_country=country,
        number_type=number_type,
        capabilities=capabilities,
        address_requirements=requirement,
        bundle_required=bool(spec.get("bundle_required")),
        price=price,
        locality=spec.get("locality"),
        region=spec.get("region"),
        postal_code=spec.get("postal_code"),
        beta=bool(spec.get("beta")),
    )


def _generated(spec: dict[str, Any], w: World, count: int) -> list[str]:
    """`count` numbers not yet in the inventory: +1{area_code}555xxxx (area code 555 unless given), or
    under `prefix` (+ and up to 8 digits) padded to 11 digits."""
    prefix = spec.get("prefix") or f"+1{spec.get('area_code') or '555'}555"
    if not isinstance(prefix, str) or not re.fullmatch(r"\+[0-9]{1,8}", prefix):
        raise invalid("prefix must be + and up to 8 digits; area_code 3 digits")
    width = max(4, 12 - len(prefix))
    numbers: list[str] = []
    serial = 0
    while len(numbers) < count:
        serial += 1
        if serial >= 10**width:
            raise invalid("cannot generate that many numbers under this prefix")
        phone = f"{prefix}{serial:0{width}d}"
        if phone not in w.inventory and phone not in numbers:
            numbers.append(phone)
    return numbers


@routes.post(PREFIX + "/available_phone_numbers")
async def add_available(request: web.Request) -> web.Response:
    """{"numbers": [AVAILABLE]} or AVAILABLE plus {"count": N, "area_code"?, "prefix"?}; AVAILABLE =
    {phone_number?, iso_country? (US), type? (local|mobile|toll-free), capabilities?, address_requirements?
    (none|any|local|foreign), bundle_required?, price?, locality?, region?, postal_code?, beta?}."""
    w = world(request)
    spec = await load_json(request)
    if spec.get("numbers") is not None:
        specs = spec["numbers"]
        if not isinstance(specs, list) or not all(isinstance(n, dict) for n in specs):
            raise invalid("numbers must be a list of objects")
        phones = [str(n.get("phone_number") or "") for n in specs]
    else:
        count = spec.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_INVENTORY_BATCH:
            raise invalid(f"count must be an integer between 1 and {MAX_INVENTORY_BATCH}")
        phones = _generated(spec, w, count)
        specs = [spec] * count
    if any(not E164_RE.fullmatch(p) for p in phones):
        raise invalid("every phone_number must be in E.164 form")
    added = [_available(s, p) for s, p in zip(specs, phones, strict=True)]
    for number in added:
        w.inventory[number.phone_number] = number
    return json_response({"available_phone_numbers": [_available_json(n) for n in added]}, status=201)


def _available_json(number: AvailableNumber) -> dict[str, Any]:
    return {
        **render.available_number(number),
        "type": number.number_type,
        "bundle_required": number.bundle_required,
        "price": f"{number.price:.2f}",
    }


@routes.get(PREFIX + "/available_phone_numbers")
async def list_available(request: web.Request) -> web.Response:
    return json_response(
        {"available_phone_numbers": [_available_json(n) for n in world(request).inventory.values()]}
    )


@routes.delete(PREFIX + "/available_phone_numbers")
async def clear_available(request: web.Request) -> web.Response:
    world(request).inventory.clear()
    return web.Response(status=204)


# --- address validation --------------------------------------------------------------------------
@routes.post(PREFIX + "/address_rules")
async def add_address_rule(request: web.Request) -> web.Response:
    """{"street_contains": TEXT, "action": "reject"|"correct", "corrected"?: {street?, city?, region?,
    postal_code?, ...}, "message"?}: an address whose street contains TEXT is refused with 21628, or
    corrected (refused with 21629 naming the suggestion when AutoCorrectAddress=false)."""
    spec = await load_json(request)
    if not isinstance(spec.get("street_contains"), str) or not spec["street_contains"]:
        raise invalid("street_contains is a required non-empty string")
    if spec.get("action") not in RULE_ACTIONS:
        raise invalid(f"action must be one of {sorted(RULE_ACTIONS)}")
    corrected = spec.get("corrected") or {}
    if not isinstance(corrected, dict) or not set(corrected) <= ADDRESS_FIELDS:
        raise invalid(f"corrected may set {sorted(ADDRESS_FIELDS)}")
    keys = ("street_contains", "action", "corrected", "message")
    rule: dict[str, Any] = {k: spec[k] for k in keys if k in spec}
    world(request).address_rules.append(rule)
    return json_response(rule, status=201)


@routes.get(PREFIX + "/address_rules")
async def list_address_rules(request: web.Request) -> web.Response:
    return json_response({"address_rules": world(request).address_rules})


@routes.delete(PREFIX + "/address_rules")
async def clear_address_rules(request: web.Request) -> web.Response:
    world(request).address_rules.clear()
    return web.Response(status=204)


@routes.patch(PREFIX + "/accounts/{sid}/addresses/{address}")
async def patch_address(request: web.Request) -> web.Response:
    """{validated?: bool, verified?: bool}: what Twilio's review decided about the address."""
    account = _account(request)
    addr = account.addresses.get(request.match_info["address"])
    if addr is None:
        raise not_found(f"Address {request.match_info['address']} of account {account.sid}")
    spec = await load_json(request)
    for key in ("validated", "verified"):
        if key in spec:
            if not isinstance(spec[key], bool):
                raise invalid(f"{key} must be true or false")
            setattr(addr, key, spec[key])
    addr.date_updated = now()
    return json_response(render.address(addr))
