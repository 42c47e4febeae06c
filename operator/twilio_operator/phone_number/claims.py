"""Which TwilioPhoneNumber owns a number that several objects ask for: the oldest (name breaks ties).

Pure: the claimants come from an in-memory index of the namespace's objects.
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
