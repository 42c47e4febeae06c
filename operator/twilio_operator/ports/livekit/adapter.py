"""The LiveKit port's adapter over the official livekit-api library (LiveKit's Twirp SIP service).

One request per port call: the library's region failover is off (it only engages for LiveKit Cloud and
replays a request up to three times), so the reconcile's backoff alone decides how often LiveKit is
asked, and a test can count the requests. Every failure leaves this module as a sanitised
`LiveKitError`, raised outside the library's `except` block so that no library exception (which can
hold the request's signed token) is chained to it; nothing of the library crosses the port.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
from livekit import api
from livekit.api.sip_service import SipService

from twilio_operator import metrics
from twilio_operator.api.errors import (
    LiveKitError,
    LiveKitErrorKind,
    classify_livekit,
    clean_detail,
    conflicting_livekit_id,
)
from twilio_operator.api.livekit_values import (
    DispatchRule,
    DispatchRuleSpec,
    InboundTrunk,
    InboundTrunkSpec,
    LiveKitServer,
    MediaEncryption,
    OutboundTrunk,
    OutboundTrunkSpec,
    Transport,
)
from twilio_operator.ports.livekit import operations as op
from twilio_operator.ports.livekit.operations import Operation
from twilio_operator.ports.livekit.port import LiveKitPort

T = TypeVar("T")
DETAIL_LIMIT = 500  # LiveKit's conflict messages list the numbers; keep enough of them to be useful

_TRANSPORT_TO_PROTO = {
    Transport.AUTO: api.SIPTransport.SIP_TRANSPORT_AUTO,
    Transport.UDP: api.SIPTransport.SIP_TRANSPORT_UDP,
    Transport.TCP: api.SIPTransport.SIP_TRANSPORT_TCP,
    Transport.TLS: api.SIPTransport.SIP_TRANSPORT_TLS,
}
_TRANSPORT_FROM_PROTO = {proto: value for value, proto in _TRANSPORT_TO_PROTO.items()}
_ENCRYPTION_TO_PROTO = {
    MediaEncryption.DISABLE: api.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE,
    MediaEncryption.ALLOW: api.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_ALLOW,
    MediaEncryption.REQUIRE: api.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE,
}
_ENCRYPTION_FROM_PROTO = {proto: value for value, proto in _ENCRYPTION_TO_PROTO.items()}
_RULE_TYPES = {
    "dispatch_rule_individual": "individual",
    "dispatch_rule_direct": "direct",
    "dispatch_rule_callee": "callee",
}


class LiveKitLibraryConnector:
    """LiveKitConnector over livekit-api. Create it inside the running event loop.

    One aiohttp session (one connection pool) serves every LiveKit server: the key and secret sign
    each request, so nothing else is per server. The library's LiveKitAPI is built per connect and
    holds no connection of its own.
    """

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def connect(self, server: LiveKitServer) -> LiveKitPort:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        return LiveKitSipClient(server, self._session, self._timeout)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class LiveKitSipClient(LiveKitPort):
    """LiveKitPort for one server and API key, over livekit-api's SipService.

    A URL that cannot work (no http/https/ws/wss scheme, no host) makes every call fail as INVALID
    without a request: the URL comes from a spec, and a port is handed out before anything is sent.
    """

    def __init__(self, server: LiveKitServer, session: aiohttp.ClientSession, timeout: float) -> None:
        self._secret = server.api_secret
        self._timeout = timeout
        self._url_problem = _url_problem(server.url)
        self._host = "" if self._url_problem else urlsplit(server.url).netloc
        self._sip: SipService | None = None
        if self._url_problem is None:
            self._sip = api.LiveKitAPI(
                server.url, server.api_key, server.api_secret, session=session, failover=False
            ).sip

    @property
    def _service(self) -> SipService:
        if self._sip is None:  # only reached through _call, which checks _url_problem first
            raise RuntimeError("no SIP service for an invalid URL")
        return self._sip

    # ---- the one place where a library call becomes a value or a LiveKitError

    async def _call(
        self,
        operation: Operation,
        call: Callable[[], Awaitable[T]],
        *,
        password: str = "",
        own_id: str | None = None,
    ) -> T:
        started = time.perf_counter()
        try:
            if self._url_problem is not None:
                raise _InvalidURL(self._url_problem)
            result = await call()
        except api.ServerError as exc:
            error = self._server_error(operation, exc, password, own_id)
        except _InvalidURL as exc:
            error = LiveKitError(operation.description, LiveKitErrorKind.INVALID, detail=str(exc))
        except aiohttp.InvalidURL:
            error = LiveKitError(
                operation.description, LiveKitErrorKind.INVALID, detail="the LiveKit URL is not a valid URL"
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = LiveKitError(
                operation.description, LiveKitErrorKind.UNREACHABLE, detail=self._no_answer(exc)
            )
        else:
            metrics.observe_livekit_call(operation.label, 200, time.perf_counter() - started, None)
            return result
        metrics.observe_livekit_call(
            operation.label, error.status, time.perf_counter() - started, error.kind.value
        )
        raise error

    def _server_error(
        self, operation: Operation, exc: api.ServerError, password: str, own_id: str | None
    ) -> LiveKitError:
        message = str(exc.message or "")
        kind = classify_livekit(exc.status, exc.code, message)
        detail = clean_detail(message, (self._secret, password), limit=DETAIL_LIMIT)
        if kind is LiveKitErrorKind.UNREACHABLE:
            detail = f"{self._host} answered HTTP {exc.status}, but not as LiveKit's API"
        elif kind is LiveKitErrorKind.AUTH and not detail:
            detail = "LiveKit did not accept the API key and secret"  # its 401 has no message
        return LiveKitError(
            operation.description,
            kind,
            status=exc.status,
            code=exc.code or None,
            detail=detail,
            conflicting_id=conflicting_livekit_id(message, own_id)
            if kind is LiveKitErrorKind.CONFLICT
            else None,
        )

    def _no_answer(self, exc: BaseException) -> str:
        """Why no answer arrived, in our words: library messages may quote request details."""
        if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
            return f"no answer from {self._host} within {self._timeout:g}s"
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return f"{self._host} closed the connection without an answer"
        if isinstance(exc, aiohttp.ClientSSLError):
            return f"TLS with {self._host} failed ({type(exc).__name__})"
        if isinstance(exc, aiohttp.ClientConnectorError):
            # errno, not strerror: asyncio's strerror is "Connect call failed ('127.0.0.1', 1)".
            errno = exc.os_error.errno if exc.os_error is not None else None
            reason = os.strerror(errno).lower() if errno else type(exc).__name__
            return f"cannot connect to {self._host}: {reason}"
        return f"no answer from {self._host} ({type(exc).__name__})"

    # ---- inbound trunks

    async def list_inbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[InboundTrunk]:
        request = api.ListSIPInboundTrunkRequest(numbers=list(numbers), trunk_ids=list(trunk_ids))
        response = await self._call(op.LIST_INBOUND_TRUNKS, lambda: self._service.list_inbound_trunk(request))
        return [_inbound_trunk(t) for t in response.items]

    async def create_inbound_trunk(self, spec: InboundTrunkSpec) -> InboundTrunk:
        request = api.CreateSIPInboundTrunkRequest(trunk=_inbound_trunk_info(spec))
        created = await self._call(
            op.CREATE_INBOUND_TRUNK, lambda: self._service.create_inbound_trunk(request)
        )
        return _inbound_trunk(created)

    async def update_inbound_trunk(self, trunk_id: str, spec: InboundTrunkSpec) -> InboundTrunk:
        info = _inbound_trunk_info(spec)
        updated = await self._call(
            op.UPDATE_INBOUND_TRUNK,
            lambda: self._service.update_inbound_trunk(trunk_id, info),
            own_id=trunk_id,
        )
        return _inbound_trunk(updated)

    # ---- outbound trunks

    async def list_outbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[OutboundTrunk]:
        request = api.ListSIPOutboundTrunkRequest(numbers=list(numbers), trunk_ids=list(trunk_ids))
        response = await self._call(
            op.LIST_OUTBOUND_TRUNKS, lambda: self._service.list_outbound_trunk(request)
        )
        return [_outbound_trunk(t) for t in response.items]

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec) -> OutboundTrunk:
        request = api.CreateSIPOutboundTrunkRequest(trunk=_outbound_trunk_info(spec))
        created = await self._call(
            op.CREATE_OUTBOUND_TRUNK,
            lambda: self._service.create_outbound_trunk(request),
            password=spec.auth_password,
        )
        return _outbound_trunk(created)

    async def update_outbound_trunk(self, trunk_id: str, spec: OutboundTrunkSpec) -> OutboundTrunk:
        info = _outbound_trunk_info(spec)
        updated = await self._call(
            op.UPDATE_OUTBOUND_TRUNK,
            lambda: self._service.update_outbound_trunk(trunk_id, info),
            password=spec.auth_password,
            own_id=trunk_id,
        )
        return _outbound_trunk(updated)

    async def delete_trunk(self, trunk_id: str) -> None:
        request = api.DeleteSIPTrunkRequest(sip_trunk_id=trunk_id)
        await self._call(op.DELETE_TRUNK, lambda: self._service.delete_trunk(request))

    # ---- dispatch rules

    async def list_dispatch_rules(
        self, *, trunk_ids: Sequence[str] = (), rule_ids: Sequence[str] = ()
    ) -> list[DispatchRule]:
        request = api.ListSIPDispatchRuleRequest(trunk_ids=list(trunk_ids), dispatch_rule_ids=list(rule_ids))
        response = await self._call(op.LIST_DISPATCH_RULES, lambda: self._service.list_dispatch_rule(request))
        return [_dispatch_rule(r) for r in response.items]

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> DispatchRule:
        request = api.CreateSIPDispatchRuleRequest(dispatch_rule=_dispatch_rule_info(spec))
        created = await self._call(
            op.CREATE_DISPATCH_RULE, lambda: self._service.create_dispatch_rule(request)
        )
        return _dispatch_rule(created)

    async def update_dispatch_rule(self, rule_id: str, spec: DispatchRuleSpec) -> DispatchRule:
        info = _dispatch_rule_info(spec)
        updated = await self._call(
            op.UPDATE_DISPATCH_RULE, lambda: self._service.update_dispatch_rule(rule_id, info), own_id=rule_id
        )
        return _dispatch_rule(updated)

    async def delete_dispatch_rule(self, rule_id: str) -> bool:
        request = api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)
        try:
            await self._call(
                op.DELETE_DISPATCH_RULE, lambda: self._service.delete_dispatch_rule(request), own_id=rule_id
            )
        except LiveKitError as error:
            if error.kind is LiveKitErrorKind.NOT_FOUND:
                return False
            raise
        return True


class _InvalidURL(Exception):
    """The server URL cannot work; the message says why (it never holds the key or secret)."""


URL_SCHEMES = ("http", "https", "ws", "wss")


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        return "the LiveKit URL is not a valid URL"
    if parts.scheme not in URL_SCHEMES:
        return "the LiveKit URL must start with http://, https://, ws:// or wss://"
    if not parts.hostname:
        return "the LiveKit URL has no host"
    del port
    return None


# --------------------------------------------------------------------------- values <-> protobuf


def _inbound_trunk_info(spec: InboundTrunkSpec) -> api.SIPInboundTrunkInfo:
    return api.SIPInboundTrunkInfo(
        name=spec.name,
        metadata=spec.metadata,
        numbers=list(spec.numbers),
        allowed_addresses=list(spec.allowed_addresses),
        krisp_enabled=spec.krisp_enabled,
        media_encryption=_ENCRYPTION_TO_PROTO[spec.media_encryption],
    )


def _inbound_trunk(info: api.SIPInboundTrunkInfo) -> InboundTrunk:
    return InboundTrunk(
        id=info.sip_trunk_id,
        spec=InboundTrunkSpec(
            name=info.name,
            numbers=tuple(info.numbers),
            metadata=info.metadata,
            allowed_addresses=tuple(info.allowed_addresses),
            krisp_enabled=info.krisp_enabled,
            media_encryption=_ENCRYPTION_FROM_PROTO[info.media_encryption],
        ),
    )


def _outbound_trunk_info(spec: OutboundTrunkSpec) -> api.SIPOutboundTrunkInfo:
    return api.SIPOutboundTrunkInfo(
        name=spec.name,
        metadata=spec.metadata,
        address=spec.address,
        numbers=list(spec.numbers),
        transport=_TRANSPORT_TO_PROTO[spec.transport],
        destination_country=spec.destination_country,
        auth_username=spec.auth_username,
        auth_password=spec.auth_password,
        media_encryption=_ENCRYPTION_TO_PROTO[spec.media_encryption],
    )


def _outbound_trunk(info: api.SIPOutboundTrunkInfo) -> OutboundTrunk:
    return OutboundTrunk(
        id=info.sip_trunk_id,
        spec=OutboundTrunkSpec(
            name=info.name,
            address=info.address,
            numbers=tuple(info.numbers),
            metadata=info.metadata,
            transport=_TRANSPORT_FROM_PROTO[info.transport],
            destination_country=info.destination_country,
            auth_username=info.auth_username,
            auth_password=info.auth_password,
            media_encryption=_ENCRYPTION_FROM_PROTO[info.media_encryption],
        ),
    )


def _dispatch_rule_info(spec: DispatchRuleSpec) -> api.SIPDispatchRuleInfo:
    return api.SIPDispatchRuleInfo(
        name=spec.name,
        metadata=spec.metadata,
        trunk_ids=list(spec.trunk_ids),
        numbers=list(spec.numbers),
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=spec.room_prefix)
        ),
        room_config=api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=a) for a in spec.agents]),
    )


def _dispatch_rule(info: api.SIPDispatchRuleInfo) -> DispatchRule:
    which = info.rule.WhichOneof("rule")
    rule_type = _RULE_TYPES.get(which or "", which or "none")
    if which == "dispatch_rule_direct":
        room = info.rule.dispatch_rule_direct.room_name
    elif which == "dispatch_rule_callee":
        room = info.rule.dispatch_rule_callee.room_prefix
    else:
        room = info.rule.dispatch_rule_individual.room_prefix
    return DispatchRule(
        id=info.sip_dispatch_rule_id,
        spec=DispatchRuleSpec(
            name=info.name,
            trunk_ids=tuple(info.trunk_ids),
            numbers=tuple(info.numbers),
            room_prefix=room,
            agents=tuple(a.agent_name for a in info.room_config.agents),
            metadata=info.metadata,
        ),
        rule_type=rule_type,
    )
