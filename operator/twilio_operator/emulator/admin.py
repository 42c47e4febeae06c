"""The admin API under /_emulator/ (no auth): seed accounts, script faults, read the request log,
inspect state. Never returns a SIP password; POST /_emulator/sip-auth checks one instead."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from twilio_operator.emulator import behaviour, render
from twilio_operator.emulator.context import json_response, runtime, world
from twilio_operator.emulator.errors import invalid, not_found
from twilio_operator.emulator.state import Account, ApiKey, Number, Region, World

PREFIX = "/_emulator"
routes = web.RouteTableDef()
ACCOUNT_STATUSES = frozenset({"active", "suspended", "closed"})
ACCOUNT_TYPES = frozenset({"Full", "Trial"})
MAX_BULK_NUMBERS = 100_000


async def load_json(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise invalid("Body must be a JSON object") from None
    if not isinstance(body, dict):
        raise invalid("Body must be a JSON object")
    return body


def _voice_json(number: Number) -> dict[str, Any]:
    return {
        name: {
            "trunk_sid": c.trunk_sid,
            "voice_url": c.voice_url,
            "voice_application_sid": c.voice_application_sid,
        }
        for name, c in sorted(number.voice.items())
        if not c.is_empty()
    }


def number_json(number: Number, account: Account, region: str | None = None) -> dict[str, Any]:
    """A number of the account (numbers are global). trunk_sid, voice_url and voice_application_sid
    are its configuration in `region`; without one, in the first region (home first) where it is on a
    trunk, else in the home region. `voice` has every region's, `voice_region` the inbound route."""
    if region is None:
        order = [account.home_region, *sorted(set(account.regions) - {account.home_region})]
        region = next((r for r in order if number.trunk_in(r)), account.home_region)
    config = number.voice_in(region)
    route = account.number_routes.get(number.phone_number)
    return {
        "sid": number.sid,
        "phone_number": number.phone_number,
        "friendly_name": number.friendly_name,
        "capabilities": number.capabilities,
        "type": number.number_type,
        "iso_country": number.iso_country,
        "trunk_sid": config.trunk_sid,
        "voice_url": config.voice_url,
        "voice_application_sid": config.voice_application_sid,
        "region": region,
        "voice": _voice_json(number),
        "voice_region": route.voice_region if route is not None else None,
        "address_sid": number.address_sid,
        "bundle_sid": number.bundle_sid,
        "emergency_address_sid": number.emergency_address_sid,
        "emergency_address_status": number.emergency_address_status,
    }


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {"sid": key.sid, "secret": key.secret, "type": key.type, "permissions": sorted(key.permissions)}


def region_json(region: Region) -> dict[str, Any]:
    """One region's credentials (the secrets the test asked for) and the account's numbers with their
    voice configuration in this region."""
    return {
        "region": region.name,
        "auth_token": region.auth_token,
        "api_keys": [_key_json(k) for k in region.api_keys.values()],
        "incoming_phone_numbers": [
            number_json(n, region.account, region.name) for n in region.numbers.values()
        ],
    }


def account_json(account: Account) -> dict[str, Any]:
    """The admin view of an account. The top-level auth_token, api_keys and incoming_phone_numbers are
    those of its home region (`region`); `regions` has every region's."""
    home = account.regions[account.home_region]
    return {
        "sid": account.sid,
        "friendly_name": account.friendly_name,
        "status": account.status,
        "type": account.type,
        **region_json(home),
        "regions": {name: region_json(r) for name, r in account.regions.items()},
        "suspension_mode": account.suspension_mode,
        "concurrency_limit": account.concurrency_limit,
        "quotas": {name: account.quota(name) for name in sorted(behaviour.QUOTA_NAMES)},
        "balance": f"{account.current_balance():.2f}",
    }


def region_name_of(name: Any) -> str:
    if name not in behaviour.PROCESSING_REGIONS:
        raise invalid(f"region must be one of {sorted(behaviour.PROCESSING_REGIONS)}")
    return str(name)


def _check_region_spec(spec: Any, region: str) -> None:
    if not isinstance(spec, dict):
        raise invalid("a region's spec must be an object")
    for key in ("api_keys", "incoming_phone_numbers"):
        if not isinstance(spec.get(key) or [], list):
            raise invalid(f"{key} must be a list")
    for key in spec.get("api_keys") or []:
        _check_key_spec(key, region)
    for number in spec.get("incoming_phone_numbers") or []:
        check_number_spec(number)


def check_number_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        raise invalid("a number spec must be an object")
    if spec.get("type") is not None and spec["type"] not in behaviour.NUMBER_TYPES:
        raise invalid(f"type must be one of {sorted(behaviour.NUMBER_TYPES)}")
    requirement = spec.get("address_requirements")
    if requirement is not None and requirement not in behaviour.ADDRESS_REQUIREMENTS:
        raise invalid(f"address_requirements must be one of {sorted(behaviour.ADDRESS_REQUIREMENTS)}")
    voice = spec.get("voice") or {}
    if not isinstance(voice, dict) or not all(isinstance(v, dict) for v in voice.values()):
        raise invalid("voice must be an object: {region: {trunk_sid?, voice_url?, voice_application_sid?}}")
    for name in voice:
        region_name_of(name)


def _check_key_spec(key: Any, region: str) -> None:
    if not isinstance(key, dict):
        raise invalid("an API key spec must be an object")
    key_type = key.get("type") or behaviour.DEFAULT_API_KEY_TYPE
    if key_type not in behaviour.API_KEY_TYPES:
        raise invalid(f"API key type must be one of {sorted(behaviour.API_KEY_TYPES)}")
    if key_type == "restricted" and region not in behaviour.RESTRICTED_KEY_REGIONS:
        raise invalid(
            f"Restricted API keys exist only in {', '.join(sorted(behaviour.RESTRICTED_KEY_REGIONS))} "
            "(twilio.com changelog 2025-12-10); not in " + region
        )
    permissions = key.get("permissions")
    if permissions is not None:
        if key_type != "restricted":
            raise invalid("permissions are only for restricted keys")
        if not isinstance(permissions, list) or not all(isinstance(x, str) for x in permissions):
            raise invalid("permissions must be a list of strings")
    if key.get("sid") is not None and not (isinstance(key["sid"], str) and key["sid"].startswith("SK")):
        raise invalid("an API key sid must be an SK... string")


def _check_settings(spec: dict[str, Any]) -> None:
    mode = spec.get("suspension_mode")
    if mode is not None and mode not in behaviour.SUSPENSION_MODES:
        raise invalid(f"suspension_mode must be one of {sorted(behaviour.SUSPENSION_MODES)}")
    limit = spec.get("concurrency_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise invalid("concurrency_limit must be an integer >= 0 (0: unlimited) or null (global setting)")
    quotas = spec.get("quotas")
    if quotas is not None:
        if not isinstance(quotas, dict):
            raise invalid("quotas must be an object")
        for name, value in quotas.items():
            if name not in behaviour.QUOTA_NAMES:
                raise invalid(f"quota names are {sorted(behaviour.QUOTA_NAMES)}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise invalid(f"quota {name} must be an integer >= 0")
    balance = spec.get("balance")
    if balance is not None:
        try:
            ok = Decimal(str(balance)) >= 0
        except ArithmeticError:
            ok = False
        if isinstance(balance, bool) or not ok:
            raise invalid('balance must be a number >= 0 (a decimal string like "12.50" works too)')


def _check_account_spec(spec: dict[str, Any]) -> None:
    if spec.get("status") is not None and spec["status"] not in ACCOUNT_STATUSES:
        raise invalid(f"status must be one of {sorted(ACCOUNT_STATUSES)}")
    if spec.get("type") is not None and spec["type"] not in ACCOUNT_TYPES:
        raise invalid(f"type must be one of {sorted(ACCOUNT_TYPES)}")
    if spec.get("sid") is not None and not (isinstance(spec["sid"], str) and spec["sid"].startswith("AC")):
        raise invalid("sid must be an AC... string")
    home = region_name_of(spec["region"]) if spec.get("region") is not None else behaviour.DEFAULT_REGION
    _check_region_spec(spec, home)
    regions = spec.get("regions") or {}
    if not isinstance(regions, dict):
        raise invalid(
            "regions must be an object: {region: {auth_token?, api_keys?, incoming_phone_numbers?}}"
        )
    for name, region_spec in regions.items():
        _check_region_spec(region_spec or {}, region_name_of(name))
    _check_settings(spec)


def seed_accounts(w: World, specs: list[dict[str, Any]]) -> None:
    for spec in specs:
        _check_account_spec(spec)
        w.create_account(spec)


def _account(request: web.Request) -> Account:
    account = world(request).find_account(request.match_info["sid"])
    if account is None:
        raise not_found(f"Account {request.match_info['sid']}")
    return account


def _region_of(account: Account, name: Any) -> Region:
    region = account.regions.get(region_name_of(name or account.home_region))
    if region is None:
        raise not_found(f"Account {account.sid} has no credentials in {name}")
    return region


@routes.post(PREFIX + "/accounts")
async def create_account(request: web.Request) -> web.Response:
    spec = await load_json(request)
    _check_account_spec(spec)
    return json_response(account_json(world(request).create_account(spec)), status=201)


@routes.get(PREFIX + "/accounts/{sid}")
async def get_account(request: web.Request) -> web.Response:
    return json_response(account_json(_account(request)))


@routes.patch(PREFIX + "/accounts/{sid}")
async def patch_account(request: web.Request) -> web.Response:
    """status, type, auth_token (of `region`, default the home region), suspension_mode,
    concurrency_limit, quotas."""
    account = _account(request)
    spec = await load_json(request)
    _check_account_spec({k: spec.get(k) for k in ("status", "type")})
    _check_settings(spec)
    region = _region_of(account, spec.get("region"))
    if spec.get("status"):
        account.status = spec["status"]
    if spec.get("type"):
        account.type = spec["type"]
    if spec.get("auth_token"):
        region.auth_token = str(spec["auth_token"])
    World.apply_settings(account, spec)
    return json_response(account_json(account))


@routes.post(PREFIX + "/accounts/{sid}/regions/{region}")
async def add_region(request: web.Request) -> web.Response:
    """Credentials (and numbers) in another processing region: {auth_token?, api_keys?,
    incoming_phone_numbers?}. Adds to the region if it exists."""
    account = _account(request)
    name = region_name_of(request.match_info["region"])
    spec = await load_json(request)
    _check_region_spec(spec, name)
    region = world(request).add_region(account, name, spec)
    return json_response(region_json(region), status=201)


@routes.post(PREFIX + "/accounts/{sid}/api_keys")
async def add_api_key(request: web.Request) -> web.Response:
    """{type?: main|standard|restricted, permissions?: [...], sid?, secret?, region?}"""
    account = _account(request)
    spec = await load_json(request)
    region = _region_of(account, spec.get("region"))
    _check_key_spec(spec, region.name)
    before = set(region.api_keys)
    world(request).add_region(account, region.name, {"api_keys": [spec]})
    (key_sid,) = set(region.api_keys) - before
    return json_response({**_key_json(region.api_keys[key_sid]), "region": region.name}, status=201)


@routes.post(PREFIX + "/accounts/{sid}/incoming_phone_numbers")
async def add_numbers(request: web.Request) -> web.Response:
    account = _account(request)
    spec = await load_json(request)
    region = _region_of(account, spec.get("region"))
    numbers = spec.get("numbers")
    if numbers is None:
        count = spec.get("count", 0)
        if not isinstance(count, int) or not 0 < count <= MAX_BULK_NUMBERS:
            raise invalid(f"count must be an integer between 1 and {MAX_BULK_NUMBERS}")
        numbers = [{} for _ in range(count)]
    elif not isinstance(numbers, list):
        raise invalid("numbers must be a list of objects")
    for number in numbers:
        check_number_spec(number)
    added = world(request).add_numbers(region, numbers)
    return json_response(
        {"incoming_phone_numbers": [number_json(n, account, region.name) for n in added]}, status=201
    )


@routes.get(PREFIX + "/requests")
async def list_requests(request: web.Request) -> web.Response:
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise invalid("since must be an integer") from None
    return json_response({"requests": runtime(request).journal.since(since)})


@routes.delete(PREFIX + "/requests")
async def clear_requests(request: web.Request) -> web.Response:
    runtime(request).journal.clear()
    return web.Response(status=204)


@routes.post(PREFIX + "/faults")
async def add_fault(request: web.Request) -> web.Response:
    rule = runtime(request).faults.add(await load_json(request))
    return json_response({"id": rule.id, **rule.to_json()}, status=201)


@routes.get(PREFIX + "/faults")
async def list_faults(request: web.Request) -> web.Response:
    return json_response({"faults": [r.to_json() for r in runtime(request).faults.rules]})


@routes.delete(PREFIX + "/faults")
async def clear_faults(request: web.Request) -> web.Response:
    runtime(request).faults.rules.clear()
    return web.Response(status=204)


@routes.delete(PREFIX + "/faults/{id}")
async def delete_fault(request: web.Request) -> web.Response:
    if not runtime(request).faults.remove(request.match_info["id"]):
        raise not_found(f"Fault {request.match_info['id']}")
    return web.Response(status=204)


@routes.post(PREFIX + "/config")
async def configure(request: web.Request) -> web.Response:
    faults = runtime(request).faults
    faults.configure(await load_json(request))
    return json_response(faults.config_json())


@routes.get(PREFIX + "/config")
async def get_config(request: web.Request) -> web.Response:
    return json_response(runtime(request).faults.config_json())


def _region_state(w: World, region: Region, base: str) -> dict[str, Any]:
    tag = {"region": region.name}
    trunks = [
        {
            **render.trunk(trunk, base),
            **tag,
            "credential_list_sids": list(trunk.credential_lists),
            "ip_access_control_list_sids": list(trunk.ip_access_control_lists),
            "origination_urls": [render.origination_url(o, base) for o in trunk.origination_urls.values()],
            "phone_number_sids": [n.sid for n in w.trunk_numbers(region, trunk.sid)],
        }
        for trunk in region.trunks.values()
    ]
    credential_lists = [
        {
            "sid": cl.sid,
            "friendly_name": cl.friendly_name,
            **tag,
            "credentials": [{"sid": c.sid, "username": c.username} for c in cl.credentials.values()],
        }
        for cl in region.credential_lists.values()
    ]
    ip_access_control_lists = [
        {
            "sid": acl.sid,
            "friendly_name": acl.friendly_name,
            **tag,
            "ip_addresses": [
                {"sid": ip.sid, "ip_address": ip.ip_address, "cidr_prefix_length": ip.cidr_prefix_length}
                for ip in acl.ip_addresses.values()
            ],
        }
        for acl in region.ip_access_control_lists.values()
    ]
    return {
        "api_key_sids": list(region.api_keys),
        "trunks": trunks,
        "credential_lists": credential_lists,
        "ip_access_control_lists": ip_access_control_lists,
    }


def _account_state(w: World, account: Account, base: str) -> dict[str, Any]:
    """The resources of every region side by side (each tagged with its region), then what the
    account holds once: its numbers (each with its voice configuration per region), routes, addresses."""
    merged: dict[str, list[Any]] = {}
    for region in account.regions.values():
        for key, items in _region_state(w, region, base).items():
            merged.setdefault(key, []).extend(items)
    return {
        "sid": account.sid,
        "friendly_name": account.friendly_name,
        "status": account.status,
        "type": account.type,
        "regions": sorted(account.regions),
        "balance": f"{account.current_balance():.2f}",
        **merged,
        "incoming_phone_numbers": [number_json(n, account) for n in account.numbers.values()],
        "routes": [render.route(r, base) for r in account.trunk_routes.values()],
        "number_routes": [render.number_route(r, base) for r in account.number_routes.values()],
        "addresses": [render.address(a) for a in account.addresses.values()],
    }


@routes.get(PREFIX + "/state")
async def dump_state(request: web.Request) -> web.Response:
    """Every account with the resources of all its regions and what it holds once."""
    w = world(request)
    base = f"{request.scheme}://{request.host}"
    accounts = [_account_state(w, account, base) for account in w.accounts.values()]
    return json_response({"accounts": accounts, "reserved_domains": sorted(w.reserved_domains)})


def _optional_region(spec: dict[str, Any]) -> str | None:
    region = spec.get("region")
    return None if region is None else region_name_of(region)


@routes.post(PREFIX + "/sip-auth")
async def sip_auth(request: web.Request) -> web.Response:
    spec = await load_json(request)
    fields = [spec.get(k) for k in ("domain_name", "username", "password")]
    if not all(isinstance(f, str) for f in fields):
        raise invalid("domain_name, username and password are required strings")
    domain, username, password = (str(f) for f in fields)
    ok, reason = world(request).sip_auth(domain, username, password, _optional_region(spec))
    return json_response({"ok": ok, "reason": reason})


@routes.post(PREFIX + "/ip-auth")
async def ip_auth(request: web.Request) -> web.Response:
    spec = await load_json(request)
    fields = [spec.get(k) for k in ("domain_name", "source_ip")]
    if not all(isinstance(f, str) for f in fields):
        raise invalid("domain_name and source_ip are required strings")
    domain, source_ip = (str(f) for f in fields)
    ok, reason = world(request).ip_auth(domain, source_ip, _optional_region(spec))
    return json_response({"ok": ok, "reason": reason})


@routes.post(PREFIX + "/call-auth")
async def call_auth(request: web.Request) -> web.Response:
    """Would a SIP request to the trunk be admitted: {domain_name, source_ip?, username?, password?,
    region?}. Each attached method is checked; with both attached, one suffices by default and both
    are required in strict mode (behaviour.ADMISSION_*)."""
    spec = await load_json(request)
    if not isinstance(spec.get("domain_name"), str):
        raise invalid("domain_name is a required string")
    optional = {k: spec.get(k) for k in ("source_ip", "username", "password")}
    if not all(v is None or isinstance(v, str) for v in optional.values()):
        raise invalid("source_ip, username and password must be strings")
    strict = runtime(request).strict
    result = world(request).call_auth(
        spec["domain_name"],
        source_ip=optional["source_ip"],
        username=optional["username"],
        password=optional["password"],
        both_required=strict,
        region_name=_optional_region(spec),
    )
    mode = behaviour.ADMISSION_STRICT if strict else behaviour.ADMISSION_DEFAULT
    return json_response({**result, "mode": mode})


@routes.post(PREFIX + "/reset")
async def reset(request: web.Request) -> web.Response:
    """Back to the startup world (seed file included); contract violations are kept on purpose."""
    rt = runtime(request)
    w = world(request)
    w.clear()
    seed_accounts(w, rt.seed_accounts)
    rt.faults.reset()
    rt.faults.configure(rt.startup_config)
    rt.journal.clear()
    return web.Response(status=204)


@routes.get(PREFIX + "/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"ok": True})


@routes.get(PREFIX + "/contract-violations")
async def contract_violations(request: web.Request) -> web.Response:
    checker = runtime(request).checker
    return json_response(
        {"enabled": checker is not None, "violations": checker.violations if checker else []}
    )
