"""Twilio paging: PageSize/Page/PageToken in, 2010 `*_page_uri` or v1 `meta` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

from twilio_operator.emulator import behaviour
from twilio_operator.emulator.errors import invalid


class HasSid(Protocol):
    @property
    def sid(self) -> str: ...


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}")
    return value


T = TypeVar("T", bound=HasSid)


class Window(Generic[T]):
    """Which slice of `items` a request asks for, and the query strings of its neighbours."""

    def __init__(self, query: Mapping[str, str], items: Sequence[T], extra: Mapping[str, str]) -> None:
        self.page_size = _int_param(
            query, "PageSize", behaviour.PAGE_SIZE_DEFAULT, 1, behaviour.PAGE_SIZE_MAX
        )
        self.page = _int_param(query, "Page", 0, 0, 10**9)
        self.extra = {k: v for k, v in extra.items() if v is not None}
        start = self.page * self.page_size
        token = query.get("PageToken") or ""
        # PA<sid>: the page after <sid>; PB<sid>: the page before it. Unknown sids fall back to Page.
        if len(token) > 2 and token[:2] in ("PA", "PB"):
            index = next((i for i, it in enumerate(items) if it.sid == token[2:]), None)
            if index is not None:
                start = index + 1 if token[:2] == "PA" else max(0, index - self.page_size)
        self.start = start
        self.items = list(items[start : start + self.page_size])
        self.has_next = start + self.page_size < len(items)
        self.has_previous = self.page > 0 and start > 0

    def _query(self, page: int, token: str | None) -> str:
        params = {**self.extra, "PageSize": str(self.page_size), "Page": str(page)}
        if token:
            params["PageToken"] = token
        return urlencode(params)

    def this_query(self) -> str:
        return self._query(self.page, None)

    def first_query(self) -> str:
        return self._query(0, None)

    def next_query(self) -> str | None:
        if not self.has_next or not self.items:
            return None
        return self._query(self.page + 1, "PA" + self.items[-1].sid)

    def previous_query(self) -> str | None:
        if not self.has_previous:
            return None
        token = "PB" + self.items[0].sid if self.items else None
        return self._query(self.page - 1, token)


def page_2010(window: Window[Any], path: str, key: str, rendered: list[dict[str, Any]]) -> dict[str, Any]:
    nxt, prev = window.next_query(), window.previous_query()
    return {
        key: rendered,
        "page": window.page,
        "page_size": window.page_size,
        "start": window.start,
        "end": window.start + max(len(rendered) - 1, 0),
        "uri": f"{path}?{window.this_query()}",
        "first_page_uri": f"{path}?{window.first_query()}",
        "previous_page_uri": f"{path}?{prev}" if prev else None,
        "next_page_uri": f"{path}?{nxt}" if nxt else None,
    }


def page_v1(window: Window[Any], url: str, key: str, rendered: list[dict[str, Any]]) -> dict[str, Any]:
    nxt, prev = window.next_query(), window.previous_query()
    return {
        key: rendered,
        "meta": {
            "key": key,
            "page": window.page,
            "page_size": window.page_size,
            "url": f"{url}?{window.this_query()}",
            "first_page_url": f"{url}?{window.first_query()}",
            "previous_page_url": f"{url}?{prev}" if prev else None,
            "next_page_url": f"{url}?{nxt}" if nxt else None,
        },
    }
