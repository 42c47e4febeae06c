"""The Twilio port's adapter over the official twilio library.

It talks HTTP through the twilio library's async client; `base_url` (set from
TWILIO_OPERATOR_TWILIO_BASE_URL) points it at the emulator, and that is the only
difference between tests and production. Every failure leaves this module as a
sanitised `TwilioError`; nothing of the library crosses the port.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.response import Response
from twilio.rest import Client

from twilio_operator import metrics
from twilio_operator.api.credentials import TwilioCredentials
from twilio_operator.api.errors import ErrorKind, TwilioError, classify, clean_detail
from twilio_operator.api.quotas import QuotaExceeded
from twilio_operator.api.twilio_values import (
    Account,
    Address,
    AddressFields,
    Balance,
    Credential,
    CredentialList,
    IncomingNumber,
    IpAccessControlList,
    IpAddress,
    NumberForSale,
    NumberPage,
    NumberSearch,
    OriginationUrl,
    Recording,
    Trunk,
)
from twilio_operator.ports.twilio import operations as op
from twilio_operator.ports.twilio.http import RewritingAsyncHttpClient
from twilio_operator.ports.twilio.limits import AccountLimits
from twilio_operator.ports.twilio.operations import Operation
from twilio_operator.ports.twilio.port import TwilioPort

T = TypeVar("T")
log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 1000  # Twilio's maximum; the library would otherwise send PageSize=limit uncapped
# In-place retries of one request (see TwilioAccount._call); the handlers' backoff covers the rest.
CALL_ATTEMPTS = 3
# A 429 was not processed, and the adaptive bound (ports/twilio/limits.py) makes the next one rarer.
RATE_LIMITED_ATTEMPTS = 8
RETRY_BASE_DELAY = 0.5  # seconds, doubled per attempt, jittered
MAX_IN_PLACE_RETRY_AFTER = 2.0  # a longer Retry-After goes back to the handler's backoff, freeing the object
# Twilio's quota codes (its error catalogue, twilio.com/docs/api/errors/<code>): a refusal with one of
# them is QuotaExceeded whatever the counts say (an account's limits may differ from the documented
# ones). api.quotas keeps the count-based guess for refusals without such a code.
QUOTA_CODES = {
    21244: "SIP trunks",  # "Maximum Number of Trunks reached"
    21239: "credential lists",  # "Maximum Credential Lists Reached"
    21242: "credentials in one credential list",  # "Maximum Credentials Reached for List"
    21237: "IP addresses in one IP access control list",  # "Maximum IP Addresses Reached for List"
    21255: "IP access control lists",  # "Maximum IP Access Control Lists reached"
}


# --------------------------------------------------------------------------- the adapter

_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "twilio_retry_after", default=None
)
_last_status: contextvars.ContextVar[int | None] = contextvars.ContextVar("twilio_last_status", default=None)
_concurrent: contextvars.ContextVar[int | None] = contextvars.ContextVar("twilio_concurrent", default=None)
CONCURRENT_REQUESTS_HEADER = "Twilio-Concurrent-Requests"


class _HttpClient(RewritingAsyncHttpClient):
    """Remembers, for the calling task, the last status and a 429's Retry-After: the library's
    results and TwilioRestException drop both."""

    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = await super().request(*args, **kwargs)
        _last_status.set(response.status_code)
        _concurrent.set(_parse_count(response.headers))
        if response.status_code in (429, 503):
            _retry_after.set(_parse_retry_after(response.headers))
        return response


def _parse_count(headers: Any) -> int | None:
    raw = headers.get(CONCURRENT_REQUESTS_HEADER) if headers is not None else None
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _parse_retry_after(headers: Any) -> float | None:
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def library_client(credentials: TwilioCredentials, http_client: Any = None) -> Client:
    """The twilio library's Client as the operator builds it: for ie1 and au1 both the region and its
    edge (`{product}.{edge}.{region}.twilio.com`; the region alone builds `{product}.{region}.twilio.com`,
    a host pattern Twilio retired), for the other regions neither (us1). `http_client` None: the
    library's own sync client (tools, the smoke tier)."""
    return Client(
        username=credentials.username,
        password=credentials.secret,
        account_sid=credentials.account_sid,
        region=credentials.region.client,
        edge=credentials.region.client_edge,
        http_client=http_client,
        # A non-empty mapping: with {} the library falls back to os.environ (TWILIO_REGION etc.).
        environment={"TWILIO_OPERATOR": "1"},
    )


class TwilioLibraryConnector:
    """TwilioConnector over the twilio library. Create it inside the running event loop.

    One HTTP client (one aiohttp connection pool) serves every account: credentials travel per
    request, and a pool per account cost a TLS handshake and a few hundred kB per customer. What
    stays per account is the adaptive concurrency bound and the 429 pause (see `limits`);
    `max_concurrency_per_account` is its ceiling. The twilio library's Client is built per
    connect (about 0.1 ms) and dropped with the reconcile: kept per account, the clients held
    13 kB each, 130 MB for 10,000 customers, and a copy of each token.
    """

    def __init__(
        self, base_url: str | None, *, timeout: float = 15.0, max_concurrency_per_account: int = 8
    ) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._max_concurrency = max_concurrency_per_account
        self._http: _HttpClient | None = None
        self._limits: dict[str, AccountLimits] = {}

    def connect(self, credentials: TwilioCredentials) -> TwilioPort:
        if self._http is None:
            self._http = _HttpClient(self._base_url, timeout=self._timeout)
        limits = self._limits.get(credentials.account_sid)
        if limits is None:
            limits = self._limits[credentials.account_sid] = AccountLimits(self._max_concurrency)
        return TwilioAccount(self._client(credentials, self._http), credentials, limits)

    @staticmethod
    def _client(credentials: TwilioCredentials, http: _HttpClient) -> Client:
        return library_client(credentials, http)

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()


class TwilioAccount(TwilioPort):
    """TwilioPort for one account, over one twilio Client."""

    def __init__(self, client: Client, credentials: TwilioCredentials, limits: AccountLimits) -> None:
        self._client = client
        self._account = client.api.v2010.accounts(credentials.account_sid)
        self._secrets = (credentials.secret,)
        self._limits = limits

    async def _call(self, operation: Operation, call: Callable[[], Awaitable[T]]) -> T:
        """One Twilio request. Any request answered 429 (which Twilio did not process), and an
        idempotent one that failed transiently, are retried in place a few times; a create whose
        outcome is unknown (5xx, timeout) is not: the next reconcile observes what happened and
        carries on from there."""
        attempt = throttled = 0
        while True:
            try:
                return await self._call_once(operation, call)
            except TwilioError as error:
                if error.status == 429:
                    throttled += 1  # not processed by Twilio: its own, larger budget
                    if throttled >= RATE_LIMITED_ATTEMPTS or not _retry_in_place(error, operation.idempotent):
                        raise
                    continue  # the account is paused already (limits.not_before)
                attempt += 1
                if attempt >= CALL_ATTEMPTS or not _retry_in_place(error, operation.idempotent):
                    raise
                await asyncio.sleep(RETRY_BASE_DELAY * 2 ** (attempt - 1) * random.uniform(1.0, 1.5))  # noqa: S311

    async def _call_once(self, operation: Operation, call: Callable[[], Awaitable[T]]) -> T:
        limits = self._limits
        async with limits.slot() as sent_at:
            _retry_after.set(None)
            _last_status.set(None)
            _concurrent.set(None)
            started = time.perf_counter()
            try:
                result = await call()
            except TwilioRestException as exc:
                error = self._error(operation.description, exc.status, exc.code, exc.msg)
            except TwilioException as exc:  # paging errors carry the raw response as args[1]
                error = self._page_error(operation.description, exc)
            except (TimeoutError, aiohttp.ClientError) as exc:
                error = TwilioError(operation.description, ErrorKind.TRANSIENT, detail=type(exc).__name__)
            else:
                metrics.observe_twilio_call(
                    operation.label, _last_status.get(), time.perf_counter() - started
                )
                limits.succeeded()
                return result
            metrics.observe_twilio_call(operation.label, error.status, time.perf_counter() - started)
            if error.status == 429:
                limits.throttled(sent_at, error.retry_after, _concurrent.get())
            raise error

    def _error(self, operation: str, status: int | None, code: int | None, message: str) -> TwilioError:
        kind = classify(status, code)
        detail = clean_detail(str(message or ""), self._secrets)
        if kind is ErrorKind.REJECTED and code in QUOTA_CODES:
            what = QUOTA_CODES[code]
            return QuotaExceeded(
                operation,
                kind,
                status=status,
                code=code,
                detail=f"quota reached: Twilio allows no more {what} in this account and region ({detail}); "
                f"delete unused {what} or ask Twilio to raise the limit",
            )
        return TwilioError(
            operation, kind, status=status, code=code, detail=detail, retry_after=_retry_after.get()
        )

    def _page_error(self, operation: str, exc: TwilioException) -> TwilioError:
        response = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Response) else None
        if response is None:
            return TwilioError(operation, ErrorKind.TRANSIENT, detail="unexpected response")
        code, message = None, ""
        try:
            body = json.loads(response.text)
            code, message = body.get("code"), body.get("message", "")
        except (ValueError, AttributeError):
            pass
        return self._error(operation, response.status_code, code, message)

    async def _delete(self, operation: Operation, call: Callable[[], Awaitable[Any]]) -> bool:
        try:
            await self._call(operation, call)
        except TwilioError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return False
            raise
        return True

    async def _fetch_or_none(self, operation: Operation, call: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await self._call(operation, call)
        except TwilioError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return None
            raise

    # ---- account

    async def fetch_account(self) -> Account:
        a = await self._call(op.FETCH_ACCOUNT, self._account.fetch_async)
        return Account(
            sid=a.sid, status=str(a.status or ""), friendly_name=a.friendly_name or "", type=str(a.type)
        )

    # ---- trunks

    @property
    def _trunks(self) -> Any:
        return self._client.trunking.v1.trunks

    async def list_trunks(self) -> list[Trunk]:
        items = await self._call(op.LIST_TRUNKS, lambda: self._trunks.list_async(page_size=LIST_PAGE_SIZE))
        return [_trunk(t) for t in items]

    async def create_trunk(self, friendly_name: str, domain_name: str, transfer_mode: str) -> Trunk:
        t = await self._call(
            op.CREATE_TRUNK,
            lambda: self._trunks.create_async(
                friendly_name=friendly_name, domain_name=domain_name, transfer_mode=transfer_mode
            ),
        )
        return _trunk(t)

    async def update_trunk(self, sid: str, *, friendly_name: str | None, transfer_mode: str | None) -> Trunk:
        changes = {k: v for k, v in (("friendly_name", friendly_name), ("transfer_mode", transfer_mode)) if v}
        t = await self._call(op.UPDATE_TRUNK, lambda: self._trunks(sid).update_async(**changes))
        return _trunk(t)

    async def update_trunk_settings(self, sid: str, settings: Mapping[str, Any]) -> Trunk:
        t = await self._call(op.UPDATE_TRUNK_SETTINGS, lambda: self._trunks(sid).update_async(**settings))
        return _trunk(t)

    async def fetch_recording(self, trunk_sid: str) -> Recording:
        r = await self._call(op.FETCH_RECORDING, self._trunks(trunk_sid).recordings().fetch_async)
        return _recording(r)

    async def update_recording(self, trunk_sid: str, mode: str, trim: str | None) -> Recording:
        changes = {"mode": mode, **({"trim": trim} if trim else {})}
        r = await self._call(
            op.UPDATE_RECORDING, lambda: self._trunks(trunk_sid).recordings().update_async(**changes)
        )
        return _recording(r)

    async def delete_trunk(self, sid: str) -> bool:
        return await self._delete(op.DELETE_TRUNK, self._trunks(sid).delete_async)

    # ---- credential lists and credentials

    @property
    def _lists(self) -> Any:
        return self._account.sip.credential_lists

    async def list_credential_lists(self) -> list[CredentialList]:
        items = await self._call(
            op.LIST_CREDENTIAL_LISTS, lambda: self._lists.list_async(page_size=LIST_PAGE_SIZE)
        )
        return [CredentialList(sid=c.sid, friendly_name=c.friendly_name or "") for c in items]

    async def create_credential_list(self, friendly_name: str) -> CredentialList:
        c = await self._call(
            op.CREATE_CREDENTIAL_LIST, lambda: self._lists.create_async(friendly_name=friendly_name)
        )
        return CredentialList(sid=c.sid, friendly_name=c.friendly_name or "")

    async def delete_credential_list(self, sid: str) -> bool:
        return await self._delete(op.DELETE_CREDENTIAL_LIST, self._lists(sid).delete_async)

    async def list_credentials(self, list_sid: str) -> list[Credential]:
        items = await self._call(
            op.LIST_CREDENTIALS,
            lambda: self._lists(list_sid).credentials.list_async(page_size=LIST_PAGE_SIZE),
        )
        return [Credential(sid=c.sid, username=c.username) for c in items]

    async def create_credential(self, list_sid: str, username: str, password: str) -> Credential:
        c = await self._call(
            op.CREATE_CREDENTIAL,
            lambda: self._lists(list_sid).credentials.create_async(username=username, password=password),
        )
        return Credential(sid=c.sid, username=c.username)

    async def update_credential_password(self, list_sid: str, sid: str, password: str) -> None:
        await self._call(
            op.UPDATE_CREDENTIAL_PASSWORD,
            lambda: self._lists(list_sid).credentials(sid).update_async(password=password),
        )

    async def delete_credential(self, list_sid: str, sid: str) -> bool:
        return await self._delete(op.DELETE_CREDENTIAL, self._lists(list_sid).credentials(sid).delete_async)

    # ---- trunk associations

    async def list_trunk_credential_lists(self, trunk_sid: str) -> list[str]:
        items = await self._call(
            op.LIST_TRUNK_CREDENTIAL_LISTS,
            lambda: self._trunks(trunk_sid).credentials_lists.list_async(page_size=LIST_PAGE_SIZE),
        )
        return [c.sid for c in items]

    async def attach_credential_list(self, trunk_sid: str, list_sid: str) -> None:
        await self._call(
            op.ATTACH_CREDENTIAL_LIST,
            lambda: self._trunks(trunk_sid).credentials_lists.create_async(credential_list_sid=list_sid),
        )

    async def detach_credential_list(self, trunk_sid: str, list_sid: str) -> bool:
        return await self._delete(
            op.DETACH_CREDENTIAL_LIST,
            self._trunks(trunk_sid).credentials_lists(list_sid).delete_async,
        )

    # ---- IP access control lists, their addresses, their trunk association

    @property
    def _acls(self) -> Any:
        return self._account.sip.ip_access_control_lists

    async def list_ip_access_control_lists(self) -> list[IpAccessControlList]:
        items = await self._call(op.LIST_IP_ACLS, lambda: self._acls.list_async(page_size=LIST_PAGE_SIZE))
        return [IpAccessControlList(sid=a.sid, friendly_name=a.friendly_name or "") for a in items]

    async def create_ip_access_control_list(self, friendly_name: str) -> IpAccessControlList:
        a = await self._call(op.CREATE_IP_ACL, lambda: self._acls.create_async(friendly_name=friendly_name))
        return IpAccessControlList(sid=a.sid, friendly_name=a.friendly_name or "")

    async def delete_ip_access_control_list(self, sid: str) -> bool:
        return await self._delete(op.DELETE_IP_ACL, self._acls(sid).delete_async)

    async def list_ip_addresses(self, acl_sid: str) -> list[IpAddress]:
        items = await self._call(
            op.LIST_IP_ADDRESSES,
            lambda: self._acls(acl_sid).ip_addresses.list_async(page_size=LIST_PAGE_SIZE),
        )
        return [_ip_address(i) for i in items]

    async def create_ip_address(
        self, acl_sid: str, friendly_name: str, ip_address: str, cidr_prefix_length: int
    ) -> IpAddress:
        i = await self._call(
            op.CREATE_IP_ADDRESS,
            lambda: self._acls(acl_sid).ip_addresses.create_async(
                friendly_name=friendly_name, ip_address=ip_address, cidr_prefix_length=cidr_prefix_length
            ),
        )
        return _ip_address(i)

    async def delete_ip_address(self, acl_sid: str, sid: str) -> bool:
        return await self._delete(op.DELETE_IP_ADDRESS, self._acls(acl_sid).ip_addresses(sid).delete_async)

    async def list_trunk_ip_access_control_lists(self, trunk_sid: str) -> list[str]:
        items = await self._call(
            op.LIST_TRUNK_IP_ACLS,
            lambda: self._trunks(trunk_sid).ip_access_control_lists.list_async(page_size=LIST_PAGE_SIZE),
        )
        return [a.sid for a in items]

    async def attach_ip_access_control_list(self, trunk_sid: str, acl_sid: str) -> None:
        await self._call(
            op.ATTACH_IP_ACL,
            lambda: self._trunks(trunk_sid).ip_access_control_lists.create_async(
                ip_access_control_list_sid=acl_sid
            ),
        )

    async def detach_ip_access_control_list(self, trunk_sid: str, acl_sid: str) -> bool:
        return await self._delete(
            op.DETACH_IP_ACL, self._trunks(trunk_sid).ip_access_control_lists(acl_sid).delete_async
        )

    async def list_origination_urls(self, trunk_sid: str) -> list[OriginationUrl]:
        items = await self._call(
            op.LIST_ORIGINATION_URLS,
            lambda: self._trunks(trunk_sid).origination_urls.list_async(page_size=LIST_PAGE_SIZE),
        )
        return [_origination(o) for o in items]

    async def create_origination_url(self, trunk_sid: str, url: OriginationUrl) -> OriginationUrl:
        urls = self._trunks(trunk_sid).origination_urls
        o = await self._call(op.CREATE_ORIGINATION_URL, lambda: urls.create_async(**_origination_params(url)))
        return _origination(o)

    async def update_origination_url(self, trunk_sid: str, url: OriginationUrl) -> OriginationUrl:
        one = self._trunks(trunk_sid).origination_urls(url.sid)
        o = await self._call(op.UPDATE_ORIGINATION_URL, lambda: one.update_async(**_origination_params(url)))
        return _origination(o)

    async def delete_origination_url(self, trunk_sid: str, sid: str) -> bool:
        return await self._delete(
            op.DELETE_ORIGINATION_URL, self._trunks(trunk_sid).origination_urls(sid).delete_async
        )

    # ---- phone numbers

    @property
    def _numbers(self) -> Any:
        return self._account.incoming_phone_numbers

    async def page_incoming_numbers(self, keep: int) -> NumberPage:
        async def scan() -> NumberPage:
            kept: list[IncomingNumber] = []
            trunk_of: dict[str, str | None] = {}
            e164: set[str] = set()
            async for n in await self._numbers.stream_async(page_size=LIST_PAGE_SIZE):
                trunk_of[n.sid] = n.trunk_sid or None
                e164.add(n.phone_number)
                if len(kept) < keep:
                    kept.append(_number(n))
            return NumberPage(
                numbers=tuple(kept), total=len(trunk_of), trunk_of=trunk_of, phone_numbers=frozenset(e164)
            )

        return await self._call(op.LIST_INCOMING_NUMBERS, scan)

    async def find_incoming_number(
        self, *, sid: str | None, phone_number: str | None
    ) -> IncomingNumber | None:
        if sid:
            n = await self._fetch_or_none(op.FETCH_INCOMING_NUMBER, self._numbers(sid).fetch_async)
            return _number(n) if n is not None else None
        items = await self._call(
            op.FIND_INCOMING_NUMBER,
            lambda: self._numbers.list_async(phone_number=phone_number, page_size=LIST_PAGE_SIZE),
        )
        exact = [n for n in items if n.phone_number == phone_number]
        return _number(exact[0]) if exact else None

    async def list_trunk_numbers(self, trunk_sid: str) -> list[IncomingNumber]:
        """The numbers whose voice configuration in this region names the trunk, read from the
        account's numbers: the trunk's PhoneNumbers subresource is not served in every region (IE1)."""

        async def scan() -> list[IncomingNumber]:
            return [
                _number(n)
                async for n in await self._numbers.stream_async(page_size=LIST_PAGE_SIZE)
                if n.trunk_sid == trunk_sid
            ]

        return await self._call(op.LIST_TRUNK_NUMBERS, scan)

    async def set_number_trunk(self, number_sid: str, trunk_sid: str | None) -> IncomingNumber:
        """TrunkSid on the number (works in every region). None sends `TrunkSid=""`, which the API's
        own pattern forbids: Twilio may refuse it (phone_number/detach.py reads the number back)."""
        n = await self._call(
            op.MOVE_NUMBER if trunk_sid else op.DETACH_NUMBER,
            lambda: self._numbers(number_sid).update_async(trunk_sid=trunk_sid or ""),
        )
        return _number(n)

    async def set_number_voice_application(self, number_sid: str, application_sid: str) -> IncomingNumber:
        """VoiceApplicationSid on the number: Twilio documents that it deletes the trunk_sid, so this
        is a detach the spec allows in every region (used to give a number back its own application)."""
        n = await self._call(
            op.SET_VOICE_APPLICATION,
            lambda: self._numbers(number_sid).update_async(voice_application_sid=application_sid),
        )
        return _number(n)

    async def remove_trunk_number(self, trunk_sid: str, number_sid: str) -> bool:
        """The trunk's PhoneNumbers subresource; False when Twilio answers 404 (not on that trunk, or a
        region that does not serve the subresource: only a read of the number tells which)."""
        return await self._delete(
            op.REMOVE_TRUNK_NUMBER, self._trunks(trunk_sid).phone_numbers(number_sid).delete_async
        )

    # ---- routes

    async def fetch_voice_region(self, domain_name: str) -> str | None:
        r = await self._fetch_or_none(
            op.FETCH_VOICE_REGION, self._client.routes.v2.trunks(domain_name).fetch_async
        )
        return str(r.voice_region) if r is not None and r.voice_region else None

    async def update_voice_region(self, domain_name: str, region: str) -> None:
        await self._call(
            op.UPDATE_VOICE_REGION,
            lambda: self._client.routes.v2.trunks(domain_name).update_async(voice_region=region),
        )

    async def fetch_number_voice_region(self, phone_number: str) -> str | None:
        """None: never set, which Twilio answers with 404 and which means us1."""
        r = await self._fetch_or_none(
            op.FETCH_NUMBER_VOICE_REGION, self._client.routes.v2.phone_numbers(phone_number).fetch_async
        )
        return str(r.voice_region) if r is not None and r.voice_region else None

    async def update_number_voice_region(self, phone_number: str, region: str) -> str:
        r = await self._call(
            op.UPDATE_NUMBER_VOICE_REGION,
            lambda: self._client.routes.v2.phone_numbers(phone_number).update_async(voice_region=region),
        )
        return str(r.voice_region or region)

    # ---- buying and releasing numbers

    async def search_numbers_for_sale(self, search: NumberSearch, limit: int) -> list[NumberForSale]:
        country = self._account.available_phone_numbers(search.country)
        listing = {"local": country.local, "mobile": country.mobile, "toll-free": country.toll_free}[
            search.number_type
        ]
        filters: dict[str, Any] = {
            "area_code": search.area_code,
            "contains": search.contains,
            # Only what is required is filtered on: VoiceEnabled=false would exclude voice numbers.
            "voice_enabled": True if search.voice else None,
            "sms_enabled": True if search.sms else None,
            "mms_enabled": True if search.mms else None,
        }
        wanted = {k: v for k, v in filters.items() if v is not None}
        items = await self._call(
            op.SEARCH_NUMBERS_FOR_SALE, lambda: listing.list_async(limit=limit, page_size=limit, **wanted)
        )
        return [
            NumberForSale(
                phone_number=n.phone_number,
                iso_country=str(n.iso_country or search.country),
                address_requirements=str(n.address_requirements or "none"),
                locality=n.locality or None,
                region=n.region or None,
            )
            for n in items
        ]

    async def buy_number(
        self, phone_number: str, friendly_name: str, *, address_sid: str | None, bundle_sid: str | None
    ) -> IncomingNumber:
        given = {"address_sid": address_sid, "bundle_sid": bundle_sid}
        params = {"phone_number": phone_number, "friendly_name": friendly_name}
        params.update({k: v for k, v in given.items() if v})
        n = await self._call(op.BUY_NUMBER, lambda: self._numbers.create_async(**params))
        return _number(n)

    async def list_numbers_named(self, friendly_name: str) -> list[IncomingNumber]:
        items = await self._call(
            op.LIST_NUMBERS_NAMED,
            lambda: self._numbers.list_async(friendly_name=friendly_name, page_size=LIST_PAGE_SIZE),
        )
        return [_number(n) for n in items if n.friendly_name == friendly_name]

    async def release_number(self, number_sid: str) -> bool:
        return await self._delete(op.RELEASE_NUMBER, self._numbers(number_sid).delete_async)

    async def set_number_emergency_address(self, number_sid: str, address_sid: str | None) -> IncomingNumber:
        """`None` unlinks: Twilio's emergency-calling pages say "Set Emergency Address to Null", which
        a form parameter can only say as the empty value."""
        n = await self._call(
            op.SET_EMERGENCY_ADDRESS,
            lambda: self._numbers(number_sid).update_async(emergency_address_sid=address_sid or ""),
        )
        return _number(n)

    async def fetch_balance(self) -> Balance:
        b = await self._call(op.FETCH_BALANCE, self._account.balance.fetch_async)
        try:
            amount = Decimal(str(b.balance))
        except InvalidOperation:
            raise TwilioError(
                op.FETCH_BALANCE.description, ErrorKind.TRANSIENT, detail="unreadable balance"
            ) from None
        return Balance(amount=amount, currency=str(b.currency or "USD"))

    # ---- addresses

    @property
    def _addresses(self) -> Any:
        return self._account.addresses

    async def list_addresses_named(self, friendly_name: str) -> list[Address]:
        items = await self._call(
            op.LIST_ADDRESSES,
            lambda: self._addresses.list_async(friendly_name=friendly_name, page_size=LIST_PAGE_SIZE),
        )
        return [_address(a) for a in items if a.friendly_name == friendly_name]

    async def fetch_address(self, sid: str) -> Address | None:
        a = await self._fetch_or_none(op.FETCH_ADDRESS, self._addresses(sid).fetch_async)
        return _address(a) if a is not None else None

    async def create_emergency_address(self, friendly_name: str, fields: AddressFields) -> Address:
        """AutoCorrectAddress=false: a near match is refused with Twilio's suggestion (21629) instead
        of stored corrected, so what Twilio holds is what the spec says and never drifts from it."""
        extra = {"street_secondary": fields.street_secondary} if fields.street_secondary else {}
        a = await self._call(
            op.CREATE_ADDRESS,
            lambda: self._addresses.create_async(
                customer_name=fields.customer_name,
                street=fields.street,
                city=fields.city,
                region=fields.region,
                postal_code=fields.postal_code,
                iso_country=fields.iso_country,
                friendly_name=friendly_name,
                emergency_enabled=True,
                auto_correct_address=False,
                **extra,
            ),
        )
        return _address(a)

    async def update_address(self, sid: str, fields: AddressFields) -> Address:
        """Everything but the country, which Twilio does not change (the spec keeps it immutable)."""
        a = await self._call(
            op.UPDATE_ADDRESS,
            lambda: self._addresses(sid).update_async(
                customer_name=fields.customer_name,
                street=fields.street,
                street_secondary=fields.street_secondary or "",
                city=fields.city,
                region=fields.region,
                postal_code=fields.postal_code,
                emergency_enabled=True,
                auto_correct_address=False,
            ),
        )
        return _address(a)

    async def delete_address(self, sid: str) -> bool:
        return await self._delete(op.DELETE_ADDRESS, self._addresses(sid).delete_async)

    async def list_address_dependents(self, sid: str) -> list[IncomingNumber]:
        items = await self._call(
            op.LIST_ADDRESS_DEPENDENTS,
            lambda: self._addresses(sid).dependent_phone_numbers.list_async(page_size=LIST_PAGE_SIZE),
        )
        return [IncomingNumber(sid=d.sid, phone_number=d.phone_number, trunk_sid=None) for d in items]


def _trunk(t: Any) -> Trunk:
    return Trunk(
        sid=t.sid,
        domain_name=t.domain_name or "",
        friendly_name=t.friendly_name or "",
        transfer_mode=str(t.transfer_mode or "disable-all"),
        secure=bool(t.secure),
        cnam_lookup_enabled=bool(t.cnam_lookup_enabled),
        transfer_caller_id=str(t.transfer_caller_id or "from-transferee"),
        disaster_recovery_url=t.disaster_recovery_url or None,
        disaster_recovery_method=str(t.disaster_recovery_method) if t.disaster_recovery_method else None,
    )


def _ip_address(i: Any) -> IpAddress:
    return IpAddress(
        sid=i.sid, ip_address=i.ip_address or "", cidr_prefix_length=int(i.cidr_prefix_length or 0)
    )


def _recording(r: Any) -> Recording:
    return Recording(mode=str(r.mode or "do-not-record"), trim=str(r.trim or "do-not-trim"))


def _retry_in_place(error: TwilioError, idempotent: bool) -> bool:
    """A 429 with a short Retry-After (Twilio did not process the request), or an idempotent request
    that failed transiently. A long Retry-After goes back to the handler's backoff, freeing the object."""
    if error.status == 429:
        return (error.retry_after or 0) <= MAX_IN_PLACE_RETRY_AFTER
    return idempotent and error.kind is ErrorKind.TRANSIENT


def _origination_params(url: OriginationUrl) -> dict[str, Any]:
    """Twilio requires every field on create; update takes the same set."""
    return {
        "weight": url.weight,
        "priority": url.priority,
        "enabled": url.enabled,
        "friendly_name": url.friendly_name,
        "sip_url": url.sip_url,
    }


def _origination(o: Any) -> OriginationUrl:
    return OriginationUrl(
        sid=o.sid,
        sip_url=o.sip_url,
        priority=int(o.priority),
        weight=int(o.weight),
        enabled=bool(o.enabled),
        friendly_name=o.friendly_name or "",
    )


def _number(n: Any) -> IncomingNumber:
    caps = n.capabilities or {}
    return IncomingNumber(
        sid=n.sid,
        phone_number=n.phone_number,
        trunk_sid=n.trunk_sid or None,
        voice=bool(caps.get("voice")),
        sms=bool(caps.get("sms") or caps.get("SMS")),
        mms=bool(caps.get("mms") or caps.get("MMS")),
        fax=bool(caps.get("fax")),
        voice_application_sid=n.voice_application_sid or None,
        voice_url=n.voice_url or None,
        friendly_name=n.friendly_name or "",
        emergency_address_sid=getattr(n, "emergency_address_sid", None) or None,
        emergency_address_status=_text(getattr(n, "emergency_address_status", None)),
    )


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _address(a: Any) -> Address:
    return Address(
        sid=a.sid,
        friendly_name=a.friendly_name or "",
        fields=AddressFields(
            customer_name=a.customer_name or "",
            street=a.street or "",
            city=a.city or "",
            region=a.region or "",
            postal_code=a.postal_code or "",
            iso_country=a.iso_country or "",
            street_secondary=a.street_secondary or None,
        ),
        emergency_enabled=bool(a.emergency_enabled),
        validated=bool(a.validated),
        verified=bool(a.verified),
    )
