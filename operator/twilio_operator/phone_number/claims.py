"""Which TwilioPhoneNumber owns a number that several objects ask for: within a namespace the oldest
(name breaks ties); across namespaces, objects that may both take the number over are a contest.

Pure: the claimants come from in-memory indexes of the objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Claimant:
    """A TwilioPhoneNumber that may ask for the same number."""

    name: str
    created: str
    keys: frozenset[str]  # what it asks for: its spec value and, once resolved, the number's SID and E.164


def claim_keys(body: dict[str, Any]) -> frozenset[str]:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    keys = {spec.get("phoneNumber"), spec.get("phoneNumberSid"), status.get("sid"), status.get("phoneNumber")}
    return frozenset(k for k in keys if k)


def first_claimant(
    name: str, created: str, number_keys: Iterable[str], claimants: Iterable[Claimant]
) -> str | None:
    """The name of an older object asking for one of `number_keys`, or None when `name` comes first."""
    keys = set(number_keys)
    rivals = [
        other
        for other in claimants
        if other.name != name and other.keys & keys and (other.created, other.name) < (created, name)
    ]
    return min(rivals, key=lambda r: (r.created, r.name)).name if rivals else None


@dataclass(frozen=True)
class Contender:
    """A TwilioPhoneNumber of another namespace asking for a number (seen through the cluster-wide index)."""

    namespace: str
    name: str
    allow_takeover: bool
    keys: frozenset[str]


def contender_of(namespace: str, name: str, body: dict[str, Any]) -> Contender:
    allow = bool((body.get("spec") or {}).get("allowTakeover"))
    return Contender(namespace=namespace, name=name, allow_takeover=allow, keys=claim_keys(body))


def takeover_contest(
    namespace: str, number_keys: Iterable[str], contenders: Iterable[Contender]
) -> list[str]:
    """`namespace/name` of the objects of other namespaces that may also take over one of
    `number_keys`: two such objects would move the number between their trunks forever."""
    keys = set(number_keys)
    found = {
        f"{other.namespace}/{other.name}"
        for other in contenders
        if other.namespace != namespace and other.allow_takeover and other.keys & keys
    }
    return sorted(found)
