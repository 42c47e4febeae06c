"""What the TwilioProvider and the LiveKitConnection know of each other, and how a LiveKit object is
marked as a connection's own. Pure values and rules; the reads happen elsewhere.

A LiveKitConnection contributes one thing to its provider's Twilio trunk: its `sipUri`, which the
provider merges into the trunk's origination URIs (the provider stays the one writer of them). And
the provider waits for it in one place: a rotated-out SIP credential leaves Twilio only once no
connection's LiveKit outbound trunk uses it (`status.outboundTrunk.username`). The operator's kopf
index of connections hands both to the provider's reconcile as a `LiveKitLinks`.

Every LiveKit trunk and dispatch rule the operator writes carries the connection's UID in its
metadata (JSON), so that a restart finds its own objects instead of creating duplicates, and nothing
without that mark is ever updated or deleted (the rule of api/ownership.py, for LiveKit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from twilio_operator.api.models import GROUP
from twilio_operator.api.sip import normalize_sip_url

# --------------------------------------------------------------------------- provider <-> connection


@dataclass(frozen=True)
class Connected:
    """One LiveKitConnection of a provider, as the provider's reconcile sees it."""

    name: str
    sip_uri: str
    outbound_username: str | None = None  # the SIP username its LiveKit outbound trunk holds


@dataclass(frozen=True)
class LiveKitLinks:
    """The LiveKitConnections that name a provider (empty: no connection, nothing changes)."""

    connections: tuple[Connected, ...] = ()

    def origination_uris(self) -> tuple[str, ...]:
        """The connections' SIP URIs, each normal form once, in a stable order."""
        seen: dict[str, str] = {}
        for connected in sorted(self.connections, key=lambda c: c.name):
            seen.setdefault(normalize_sip_url(connected.sip_uri), connected.sip_uri)
        return tuple(seen.values())

    def using(self, username: str | None) -> tuple[str, ...]:
        """The connections whose outbound trunk authenticates with `username`."""
        if not username:
            return ()
        return tuple(sorted(c.name for c in self.connections if c.outbound_username == username))


NO_LIVEKIT = LiveKitLinks()  # a provider without LiveKitConnections


# --------------------------------------------------------------------------- the mark on LiveKit objects

CONNECTION_UID = f"{GROUP}/connection-uid"
ROLE = f"{GROUP}/role"
AGENT = f"{GROUP}/agent"
Role = Literal["inbound", "outbound", "dispatch"]


@dataclass(frozen=True)
class Mark:
    """What a LiveKit object's metadata says of it, when a connection wrote it."""

    uid: str
    role: str
    agent: str | None = None


def metadata(uid: str, role: Role, agent: str | None = None) -> str:
    """The metadata of a LiveKit object the connection `uid` owns (sorted keys: byte-stable)."""
    fields = {CONNECTION_UID: uid, ROLE: role}
    if agent is not None:
        fields[AGENT] = agent
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def mark_of(text: str) -> Mark | None:
    """The mark in a LiveKit object's metadata, or None (not JSON, not ours, edited)."""
    try:
        fields = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    uid, role, agent = fields.get(CONNECTION_UID), fields.get(ROLE), fields.get(AGENT)
    if not isinstance(uid, str) or not isinstance(role, str) or not (agent is None or isinstance(agent, str)):
        return None
    return Mark(uid, role, agent)


def owned_by(uid: str, text: str, role: Role) -> Mark | None:
    """The mark when the metadata names this connection and role, else None."""
    mark = mark_of(text)
    return mark if mark is not None and mark.uid == uid and mark.role == role else None


# --------------------------------------------------------------------------- numbers as LiveKit compares them

_NUMBER = re.compile(r"^\+?[\d\- ()]+$")


def normalize_number(number: str) -> str:
    """A number as LiveKit's conflict check and number filters compare it (livekit/protocol
    livekit/sip.go NormalizeNumber): spaces, dashes and parentheses dropped, a "+" added; anything
    that does not look like a number is kept as it is."""
    if not number or not _NUMBER.match(number):
        return number
    digits = "".join(ch for ch in number if ch not in " -()")
    return digits if digits.startswith("+") else "+" + digits


def shared_numbers(ours: Iterable[str], theirs: Iterable[str]) -> tuple[str, ...]:
    """Our numbers that `theirs` holds too, by LiveKit's normal form (in our spelling, sorted)."""
    held = {normalize_number(n) for n in theirs}
    return tuple(sorted(n for n in set(ours) if normalize_number(n) in held))
