"""The admin API under /_emulator/ (no auth): seed accounts, script faults, read the request log,
inspect state. Never returns a SIP password; POST /_emulator/sip-auth checks one instead."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from twilio_operator.emulator import render
from twilio_operator.emulator.context import json_response, runtime, world
from twilio_operator.emulator.errors import TwilioError, invalid, not_found
from twilio_operator.emulator.state import Account, Number, World

PREFIX = "/_emulator"
routes = web.RouteTableDef()
ACCOUNT_STATUSES = frozenset({"active", "suspended", "closed"})
ACCOUNT_TYPES = frozenset({"Full", "Trial"})
MAX_BULK_NUMBERS = 100_000


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise invalid("Body must be a JSON object") from None
    if not isinstance(body, dict):
        raise invalid("Body must be a JSON object")
    return body


def _number_json(number: Number) -> dict[str, Any]:
    return {
        "sid": number.sid,
        "phone_number": number.phone_number,
        "friendly_name": number.friendly_name,
        "capabilities": number.capabilities,
        "trunk_sid": number.trunk_sid,
    }


def account_json(account: Account) -> dict[str, Any]:
    """The admin view of an account: it includes the secrets the test just asked us to create."""
    return {
        "sid": account.sid,
        "auth_token": account.auth_token,
        "friendly_name": account.friendly_name,
        "status": account.status,
        "type": account.type,
        "api_keys": [{"sid": sid, "secret": secret} for sid, secret in account.api_keys.items()],
        "incoming_phone_numbers": [_number_json(n) for n in account.numbers.values()],
    }


def _check_account_spec(spec: dict[str, Any]) -> None:
    if spec.get("status") is not None and spec["status"] not in ACCOUNT_STATUSES:
        raise invalid(f"status must be one of {sorted(ACCOUNT_STATUSES)}")
    if spec.get("type") is not None and spec["type"] not in ACCOUNT_TYPES:
        raise invalid(f"type must be one of {sorted(ACCOUNT_TYPES)}")
    if spec.get("sid") is not None and not (isinstance(spec["sid"], str) and spec["sid"].startswith("AC")):
        raise invalid("sid must be an AC... string")
    for key in ("api_keys", "incoming_phone_numbers"):
        if not isinstance(spec.get(key) or [], list):
            raise invalid(f"{key} must be a list")


def seed_accounts(w: World, specs: list[dict[str, Any]]) -> None:
    for spec in specs:
        _check_account_spec(spec)
        w.create_account(spec)


def _account(request: web.Request) -> Account:
    account = world(request).find_account(request.match_info["sid"])
    if account is None:
        raise not_found(f"Account {request.match_info['sid']}")
    return account


@routes.post(PREFIX + "/accounts")
async def create_account(request: web.Request) -> web.Response:
    spec = await _json(request)
    _check_account_spec(spec)
    return json_response(account_json(world(request).create_account(spec)), status=201)


@routes.get(PREFIX + "/accounts/{sid}")
async def get_account(request: web.Request) -> web.Response:
    return json_response(account_json(_account(request)))


@routes.patch(PREFIX + "/accounts/{sid}")
async def patch_account(request: web.Request) -> web.Response:
    account = _account(request)
    spec = await _json(request)
    _check_account_spec({"status": spec.get("status")})
    if spec.get("status"):
        account.status = spec["status"]
    if spec.get("auth_token"):
        account.auth_token = str(spec["auth_token"])
    return json_response(account_json(account))


@routes.post(PREFIX + "/accounts/{sid}/incoming_phone_numbers")
async def add_numbers(request: web.Request) -> web.Response:
    account = _account(request)
    spec = await _json(request)
    numbers = spec.get("numbers")
    if numbers is None:
        count = spec.get("count", 0)
        if not isinstance(count, int) or not 0 < count <= MAX_BULK_NUMBERS:
            raise invalid(f"count must be an integer between 1 and {MAX_BULK_NUMBERS}")
        numbers = [{} for _ in range(count)]
    elif not isinstance(numbers, list) or not all(isinstance(n, dict) for n in numbers):
        raise invalid("numbers must be a list of objects")
    added = world(request).add_numbers(account, numbers)
    return json_response({"incoming_phone_numbers": [_number_json(n) for n in added]}, status=201)


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
    rule = runtime(request).faults.add(await _json(request))
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
    faults.configure(await _json(request))
    return json_response(faults.config_json())


@routes.get(PREFIX + "/config")
async def get_config(request: web.Request) -> web.Response:
    return json_response(runtime(request).faults.config_json())


@routes.get(PREFIX + "/state")
async def dump_state(request: web.Request) -> web.Response:
    w = world(request)
    base = f"{request.scheme}://{request.host}"
    accounts = []
    for account in w.accounts.values():
        trunks = []
        for trunk in account.trunks.values():
            trunks.append(
                {
                    **render.trunk(trunk, base),
                    "credential_list_sids": list(trunk.credential_lists),
                    "origination_urls": [
                        render.origination_url(o, base) for o in trunk.origination_urls.values()
                    ],
                    "phone_number_sids": [n.sid for n in w.trunk_numbers(account, trunk.sid)],
                }
            )
        accounts.append(
            {
                "sid": account.sid,
                "friendly_name": account.friendly_name,
                "status": account.status,
                "type": account.type,
                "api_key_sids": list(account.api_keys),
                "trunks": trunks,
                "credential_lists": [
                    {
                        "sid": cl.sid,
                        "friendly_name": cl.friendly_name,
                        "credentials": [
                            {"sid": c.sid, "username": c.username} for c in cl.credentials.values()
                        ],
                    }
                    for cl in account.credential_lists.values()
                ],
                "incoming_phone_numbers": [_number_json(n) for n in account.numbers.values()],
                "routes": [render.route(r, base) for r in account.routes.values()],
            }
        )
    return json_response({"accounts": accounts, "reserved_domains": sorted(w.reserved_domains)})


@routes.post(PREFIX + "/sip-auth")
async def sip_auth(request: web.Request) -> web.Response:
    spec = await _json(request)
    fields = [spec.get(k) for k in ("domain_name", "username", "password")]
    if not all(isinstance(f, str) for f in fields):
        raise invalid("domain_name, username and password are required strings")
    ok, reason = world(request).sip_auth(*[str(f) for f in fields])
    return json_response({"ok": ok, "reason": reason})


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


def admin_error(exc: TwilioError) -> web.Response:
    return json_response(exc.body(), status=exc.status)
