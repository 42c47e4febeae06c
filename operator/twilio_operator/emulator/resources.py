"""The REST side of the generic resource store (store.py). `Served` is one kind of resource as the
API serves it (its paths, the owner a request names, its store there, its JSON); the list, the fetch
and the plain delete are answered alike for every kind, here. `admit` is the check a create or
update meets (a duplicate, the quota). What differs per kind stays in the route modules."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from aiohttp import web

from twilio_operator.emulator.context import (
    check_quota,
    current_account,
    json_response,
    public_base,
    refuse,
    sid_param,
    world,
)
from twilio_operator.emulator.paging import HasSid, Window, page_2010, page_v1
from twilio_operator.emulator.state import Region, now
from twilio_operator.emulator.store import Store

OwnerT = TypeVar("OwnerT")
T = TypeVar("T", bound=HasSid)
ChildT = TypeVar("ChildT", bound=HasSid)


def path_item(request: web.Request, store: Store[T], name: str, where: str | None = None) -> T:
    """The item of `store` the path names in {name}: a malformed SID is a 404 naming the path, an
    unknown one the store's 404 (naming `where`, or /{noun}/{sid})."""
    return store.fetch(sid_param(request, name, store.rules.prefix), where)


def admit(
    request: web.Request, region: Region, store: Store[T], key: Hashable | None = None, *, replacing: str = ""
) -> None:
    """Refuse what `store` must not take: an item whose unique key is `key` (when given) beside
    another one, then, for a new item (`replacing` none), one more than its quota."""
    duplicate = store.rules.duplicate
    if key is not None and duplicate is not None and store.holder(key, replacing) is not None:
        answer = (duplicate.status, duplicate.code)
        raise refuse(request, answer, duplicate.message, documented=duplicate.documented)
    if not replacing and store.rules.quota is not None:
        check_quota(request, region, store.rules.quota, len(store))


def listing(
    request: web.Request,
    items: Sequence[T],
    key: str,
    render_one: Callable[[T], dict[str, Any]],
    filters: Mapping[str, str] | None = None,
) -> web.Response:
    """The page of `items` the request asks for: 2010-04-01 paging (`*_page_uri`, relative) on the
    2010 API, v1 `meta` (absolute URLs) elsewhere. The filters given stay in the neighbours' query
    strings."""
    window = Window(request.query, items, {k: v for k, v in (filters or {}).items() if v})
    rendered = [render_one(item) for item in window.items]
    if request.path.startswith("/2010-04-01/"):
        return json_response(page_2010(window, request.path, key, rendered))
    return json_response(page_v1(window, public_base(request) + request.path, key, rendered))


@dataclass(frozen=True)
class Served(Generic[OwnerT, T]):
    """One kind of resource as the API serves it: the collection at `path` (+ `suffix`, ".json" on
    the 2010 API), an item at `path`/{`param`}, kept in `store(owner(request))`. A 404 for an unknown
    item names /{noun}/{sid} for a top-level kind, the request's path for a subresource (`nested`)."""

    path: str
    param: str
    owner: Callable[[web.Request], OwnerT]
    store: Callable[[OwnerT], Store[T]]
    render: Callable[[web.Request, T], dict[str, Any]]
    suffix: str = ""
    nested: bool = False

    @property
    def collection_path(self) -> str:
        return self.path + self.suffix

    @property
    def item_path(self) -> str:
        return f"{self.path}/{{{self.param}}}{self.suffix}"

    def under(self, noun: str) -> str:
        """The path of a subresource of an item: `path`/{`param`}/`noun`."""
        return f"{self.path}/{{{self.param}}}/{noun}"

    def child(
        self,
        noun: str,
        param: str,
        store: Callable[[T], Store[ChildT]],
        render: Callable[[web.Request, ChildT], dict[str, Any]],
    ) -> Served[T, ChildT]:
        """A subresource of this kind's items, at `path`/{`param`}/`noun`."""
        return Served(self.under(noun), param, self.item, store, render, self.suffix, nested=True)

    def found(self, request: web.Request) -> tuple[OwnerT, T]:
        """The item the path names, with its owner (404 if either is not there)."""
        owner = self.owner(request)
        where = request.path if self.nested else None
        return owner, path_item(request, self.store(owner), self.param, where)

    def item(self, request: web.Request) -> T:
        return self.found(request)[1]

    def create(
        self,
        request: web.Request,
        owner: OwnerT,
        make: Callable[[str, datetime], T],
        key: Hashable | None = None,
    ) -> web.Response:
        """Add what `make` builds (from a new SID and the time) to the owner's store once `admit` lets
        it in (`key`: its unique key, where it must be unique), and answer 201 with it. `admit` runs
        before a SID is drawn, so a refused create leaves a seeded world's later SIDs as they were."""
        store = self.store(owner)
        admit(request, current_account(request), store, key)
        item = make(world(request).new_sid(store.rules.prefix), now())
        return self.answer(request, store.add(item), 201)

    def answer(self, request: web.Request, item: T, status: int = 200) -> web.Response:
        return json_response(self.render(request, item), status=status)

    def serve(self, routes: web.RouteTableDef, *, delete: bool = False) -> None:
        """Answer the list and the fetch (and with `delete`, a delete that takes nothing else with
        it) the same way as every other kind."""

        @routes.get(self.collection_path)
        async def list_all(request: web.Request) -> web.Response:
            store = self.store(self.owner(request))
            items = list(store.values())
            return listing(request, items, store.rules.page_key, lambda item: self.render(request, item))

        self.serve_fetch(routes)
        if delete:

            @routes.delete(self.item_path)
            async def remove(request: web.Request) -> web.Response:
                owner, item = self.found(request)
                self.store(owner).remove(item.sid)
                return web.Response(status=204)

    def serve_fetch(self, routes: web.RouteTableDef) -> None:
        """Only the fetch (kinds whose list takes filters)."""

        @routes.get(self.item_path)
        async def fetch(request: web.Request) -> web.Response:
            return self.answer(request, self.item(request))
