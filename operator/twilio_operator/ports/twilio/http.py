"""HTTP clients for the official twilio library that can aim it at the local emulator.

`Client(http_client=RewritingAsyncHttpClient(base_url))` keeps everything the library does (region
and edge host names, absolute next-page URLs) and only swaps scheme and host at the last moment, so
the code path is the production one. The original host travels in `X-Twilio-Original-Host`, which
lets the emulator log region routing and build absolute URLs that come back through this client.
With `base_url=None` nothing is rewritten. Either way a timeout is enforced: the async parent
ignores its constructor timeout and the sync parent has none by default.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

ORIGINAL_HOST_HEADER = "X-Twilio-Original-Host"


def encode_basic_auth(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def rewrite(
    base_url: str | None, url: str, headers: dict[str, str] | None
) -> tuple[str, dict[str, str] | None]:
    """(url aimed at base_url, headers plus the original host); unchanged when base_url is None."""
    if base_url is None:
        return url, headers
    target, original = urlsplit(base_url), urlsplit(url)
    new_url = urlunsplit((target.scheme, target.netloc, original.path, original.query, original.fragment))
    return new_url, {**(headers or {}), ORIGINAL_HOST_HEADER: original.netloc}


class RewritingAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """AsyncTwilioHttpClient that can target base_url and enforces `timeout` (seconds).

    Construct it inside a running event loop and `await client.close()` at shutdown.
    """

    def __init__(self, base_url: str | None, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the parent's signature
        allow_redirects: bool = False,
    ) -> Response:
        url, headers = rewrite(self.base_url, url, headers)
        if auth is not None:
            # Same bytes on the wire as the parent's aiohttp.BasicAuth, which aiohttp 3.14 deprecates.
            headers = {**(headers or {}), "Authorization": encode_basic_auth(*auth)}
        limit = timeout if timeout is not None else self.timeout
        async with asyncio.timeout(limit):
            response: Response = await super().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                allow_redirects=allow_redirects,
            )
        return response


class RewritingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """TwilioHttpClient that can target base_url; `timeout` (seconds) applies to every request."""

    def __init__(self, base_url: str | None, timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url.rstrip("/") if base_url else None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        url, headers = rewrite(self.base_url, url, headers)
        response: Response = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        return response
