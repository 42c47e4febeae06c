"""One kind of Twilio resource held by SID. Every kind is created, listed, fetched, updated and
deleted the same way; what differs between kinds (SID prefix, the path a 404 names, the key of a
page, the quota one more counts against, what no two may share and Twilio's answer to a second one)
is its `Rules`. What is not a rule (validation, rendering, cascades) stays with the kind's routes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, ValuesView
from dataclasses import dataclass
from typing import Generic, TypeVar

from twilio_operator.emulator.errors import not_found
from twilio_operator.emulator.paging import HasSid

T = TypeVar("T", bound=HasSid)


@dataclass(frozen=True)
class Refusal:
    """Twilio's answer to a request the rules refuse; an undocumented one goes through strict mode's
    generic answer (context.undocumented)."""

    status: int
    code: int
    message: str
    documented: bool = True


@dataclass(frozen=True)
class Rules(Generic[T]):
    """What differs between kinds of resource."""

    prefix: str  # of the SIDs: TK, CL, ...
    noun: str  # the path segment a 404 names: "The requested resource /Trunks/TK..."
    page_key: str  # the list's key in a page: "trunks"
    quota: str | None = None  # behaviour.QUOTA_CODES name one more counts against
    unique: Callable[[T], Hashable] | None = None  # what no two items may share
    duplicate: Refusal | None = None  # the answer to a second item with the same `unique`


class Store(Mapping[str, T]):
    """The resources of one kind under one owner (a region, a list, a trunk), by SID, oldest first
    (Twilio pages them in creation order)."""

    def __init__(self, rules: Rules[T]) -> None:
        self.rules = rules
        self._items: dict[str, T] = {}

    def __getitem__(self, sid: str) -> T:
        return self._items[sid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, sid: object) -> bool:
        return sid in self._items

    def values(self) -> ValuesView[T]:
        return self._items.values()

    def __repr__(self) -> str:
        return f"Store({self.rules.page_key}: {list(self._items)})"

    def add(self, item: T) -> T:
        self._items[item.sid] = item
        return item

    def remove(self, sid: str) -> None:
        """Forget `sid`; one already gone is no error (cascades remove what may have gone)."""
        self._items.pop(sid, None)

    def fetch(self, sid: str, where: str | None = None) -> T:
        """The item `sid`, else Twilio's 404 naming `where` (by default /{noun}/{sid})."""
        found = self._items.get(sid)
        if found is None:
            raise not_found("The requested resource " + (where or f"/{self.rules.noun}/{sid}"))
        return found

    def holder(self, key: Hashable, besides: str = "") -> T | None:
        """The item other than `besides` whose unique key is `key`, if any."""
        unique = self.rules.unique
        if unique is None:
            return None
        return next((i for i in self._items.values() if i.sid != besides and unique(i) == key), None)
