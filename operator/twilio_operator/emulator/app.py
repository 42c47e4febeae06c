"""The emulator's aiohttp application: one middleware wraps every Twilio request with auth, faults,
the request log and the contract check; the admin API under /_emulator/ skips all of that."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from twilio_operator.emulator import (
    admin,
    admin_numbers,
    behaviour,
    routes_api,
    routes_numbers,
    routes_trunking,
)
from twilio_operator.emulator.context import (
    ACCOUNT,
    RUNTIME,
    WORLD,
    Runtime,
    authenticate,
    authorize,
    original_host,
)
from twilio_operator.emulator.contract import ContractChecker, Exchange
from twilio_operator.emulator.errors import TwilioError
from twilio_operator.emulator.faults import Faults
from twilio_operator.emulator.journal import Journal
from twilio_operator.emulator.state import World

_log = logging.getLogger("twilio_operator.emulator")
OPENAPI_DIR_ENV = "TWILIO_EMULATOR_OPENAPI_DIR"
STRICT_ENV = "TWILIO_EMULATOR_STRICT"  # "1"/"true": strict mode (see behaviour.STRICT_UNDOCUMENTED)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_IN_FLIGHT = "twilio_in_flight"  # request key: this account's requests in flight, this one included

_HTTP_CODES = {
    404: (behaviour.CODE_NOT_FOUND, "The requested resource was not found"),
    405: (behaviour.CODE_METHOD_NOT_ALLOWED, "Method not allowed"),
    413: (behaviour.CODE_PAYLOAD_TOO_LARGE, "Request body too large"),
}


def error_response(exc: TwilioError) -> web.Response:
    response = web.json_response(exc.body(), status=exc.status)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _from_http_exception(exc: web.HTTPException) -> TwilioError:
    code, message = _HTTP_CODES.get(exc.status, (behaviour.CODE_INVALID_PARAMETER, exc.reason))
    return TwilioError(exc.status, code, message)


async def _guarded(handler: Handler, request: web.Request) -> web.StreamResponse:
    """Run a handler; every failure becomes a Twilio-shaped error, never a dropped connection."""
    try:
        return await handler(request)
    except TwilioError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        return error_response(_from_http_exception(exc))
    except Exception:
        _log.exception("unhandled error for %s %s", request.method, request.path)
        return error_response(TwilioError(500, behaviour.CODE_INTERNAL, "Internal emulator error"))


async def _faulted(handler: Handler, request: web.Request, rt: Runtime) -> tuple[web.StreamResponse, bool]:
    """Apply latency and faults around the handler. Returns (response, whether state changed)."""
    faults = rt.faults
    account = request[ACCOUNT] = authenticate(request)
    if not faults.enter(account.sid, account.account.concurrency_limit):
        raise TwilioError(
            429,
            behaviour.CODE_TOO_MANY_REQUESTS,
            "Too many concurrent requests",
            behaviour.RETRY_AFTER_DEFAULT,
        )
    request[_IN_FLIGHT] = faults.in_flight(account.sid)
    try:
        authorize(request)
        return await _faulted_in_flight(handler, request, faults)
    finally:
        faults.leave(account.sid)


async def _faulted_in_flight(
    handler: Handler, request: web.Request, faults: Faults
) -> tuple[web.StreamResponse, bool]:
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    rule = faults.match(request.method, request.path)
    if rule is not None and rule.action == "delay":
        await asyncio.sleep(rule.delay_ms / 1000)
        rule = None
    if rule is not None and rule.action in ("error", "rate_limit"):
        raise TwilioError(rule.status, rule.code, "Injected fault", rule.retry_after)
    retry_after = faults.rate_limited()
    if retry_after is not None:
        raise TwilioError(429, behaviour.CODE_TOO_MANY_REQUESTS, "Too Many Requests", retry_after)
    failure = faults.random_failure()
    if failure is not None:
        raise TwilioError(failure, behaviour.CODE_INTERNAL, "Injected random failure")
    response = await _guarded(handler, request)
    wrote = request.method not in ("GET", "HEAD") and response.status < 400
    if rule is not None and rule.action == "commit_then_error":
        return error_response(TwilioError(rule.status, rule.code, "Injected fault after commit")), wrote
    if rule is not None and rule.action == "commit_then_hang":
        await asyncio.sleep(rule.hang_seconds)
    return response, wrote


@web.middleware
async def twilio_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(admin.PREFIX + "/") or request.path == admin.PREFIX:
        return await _guarded(handler, request)
    rt = request.app[RUNTIME]
    started = time.monotonic()
    wrote = False
    response: web.StreamResponse
    try:
        if (request.content_length or 0) > behaviour.MAX_BODY_BYTES:
            raise TwilioError(413, behaviour.CODE_PAYLOAD_TOO_LARGE, "Request body too large")
        response, wrote = await _faulted(handler, request, rt)
    except TwilioError as exc:
        response = error_response(exc)
    account = request.get(ACCOUNT)
    # Every Twilio answer says how many requests of the account were in flight (this one included);
    # refused or unauthenticated requests were not counted, so they show what was in flight.
    in_flight = request.get(_IN_FLIGHT)
    if in_flight is None:
        in_flight = rt.faults.in_flight(account.sid) if account is not None else 0
    response.headers[behaviour.CONCURRENCY_HEADER] = str(in_flight)
    rt.journal.record(
        {
            "time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": request.query_string,
            "host": original_host(request),
            "status": response.status,
            "account_sid": account.sid if account is not None else None,
            "duration_ms": round((time.monotonic() - started) * 1000, 3),
            "write": wrote,
        }
    )
    if rt.checker is not None:
        await _check_contract(rt.checker, request, response)
    return response


async def _check_contract(
    checker: ContractChecker, request: web.Request, response: web.StreamResponse
) -> None:
    body: bytes | None = None
    if response.status < 400 and request.body_exists:  # only accepted requests are checked in full
        try:
            body = await request.read()
        except web.HTTPException:
            body = None
    response_body = response.body if isinstance(response, web.Response) else None
    checker.check(
        Exchange(
            method=request.method,
            path=request.path,
            query=request.query,
            query_string=request.query_string,
            headers=dict(request.headers),
            body=body,
            content_type=request.headers.get("Content-Type", ""),
            status=response.status,
            response_body=response_body if isinstance(response_body, bytes) else None,
            response_content_type=response.content_type,
        )
    )


def build_app(
    *,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    seed: int | None = None,
    accounts: list[dict[str, Any]] | None = None,
    openapi_dir: str | None = None,
    strict: bool = behaviour.STRICT_DEFAULT,
) -> web.Application:
    world = World(seed)
    seed_list = accounts or []
    admin.seed_accounts(world, seed_list)
    faults = Faults(latency_ms, fault_rate, seed)
    faults.strict = strict
    checker = ContractChecker(openapi_dir, strict=lambda: faults.strict) if openapi_dir else None
    runtime = Runtime(faults, Journal(), checker, seed_list)
    app = web.Application(middlewares=[twilio_middleware], client_max_size=behaviour.MAX_BODY_BYTES)
    app[WORLD] = world
    app[RUNTIME] = runtime
    app.add_routes(admin.routes)
    app.add_routes(admin_numbers.routes)
    app.add_routes(routes_api.routes)
    app.add_routes(routes_numbers.routes)
    app.add_routes(routes_trunking.routes)
    return app


def load_state_file(path: str | None) -> list[dict[str, Any]]:
    if not path:
        return []
    data = json.loads(Path(path).read_text())
    accounts = data.get("accounts", []) if isinstance(data, dict) else None
    if not isinstance(accounts, list):
        raise ValueError(f'{path}: expected {{"accounts": [...]}}')
    return accounts


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8099,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    seed: int | None = None,
    state_file: str | None = None,
    openapi_dir: str | None = None,
    strict: bool | None = None,
) -> None:
    """Run until interrupted. Contract checking is on when an OpenAPI dir is given (or in the env);
    strict mode when `strict` is true, or it is None and the env says so."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    openapi_dir = openapi_dir or os.environ.get(OPENAPI_DIR_ENV) or None
    if strict is None:
        strict = os.environ.get(STRICT_ENV, "").lower() in ("1", "true", "yes")
    app = build_app(
        strict=strict,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        seed=seed,
        accounts=load_state_file(state_file),
        openapi_dir=openapi_dir,
    )
    _log.info(
        "emulator on http://%s:%d (contract checking %s, strict mode %s)",
        host,
        port,
        "on" if openapi_dir else "off",
        "on" if strict else "off",
    )
    # No access log: it would cost throughput, and the request log is at /_emulator/requests.
    web.run_app(app, host=host, port=port, access_log=None, print=None, shutdown_timeout=1.0)
