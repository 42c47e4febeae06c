"""The values that cross the LiveKit port: frozen, library-free copies of LiveKit's SIP objects. They
live in api/ because the pure rules of livekit_connection/ read them too (no pure module imports a port).

A `*Spec` is what the operator wants an object to be (what a create or an update sends); `InboundTrunk`,
`OutboundTrunk` and `DispatchRule` are what LiveKit holds: its ID plus the spec as LiveKit returned it,
so a reconcile can compare `observed.spec == wanted`. Lists keep LiveKit's order; compare them as sets
where order means nothing (numbers, addresses, trunk IDs).

Passwords and the API secret are `repr=False`: a value may be logged or shown in a test failure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LiveKitServer:
    """Where LiveKit's API is and how to sign requests to it (an API key and its secret)."""

    url: str  # http(s)://host[:port] of livekit-server; ws(s):// is accepted and means the same
    api_key: str
    api_secret: str = field(repr=False)


class Transport(enum.Enum):
    """How LiveKit's outbound trunk reaches the SIP provider (SIPTransport)."""

    AUTO = "auto"
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class MediaEncryption(enum.Enum):
    """Whether calls through the trunk use SRTP (SIPMediaEncryption)."""

    DISABLE = "disable"
    ALLOW = "allow"
    REQUIRE = "require"


@dataclass(frozen=True)
class InboundTrunkSpec:
    """Calls from the SIP provider (Twilio) to LiveKit, to these numbers (as the provider sends them)."""

    name: str
    numbers: tuple[str, ...]
    metadata: str = ""
    allowed_addresses: tuple[str, ...] = ()  # source IPs or CIDRs allowed to call in; empty: any
    krisp_enabled: bool = False  # Krisp noise cancellation on the caller's audio
    media_encryption: MediaEncryption = MediaEncryption.DISABLE


@dataclass(frozen=True)
class InboundTrunk:
    id: str  # ST_...
    spec: InboundTrunkSpec


@dataclass(frozen=True)
class OutboundTrunkSpec:
    """Calls from LiveKit through the SIP provider: its termination address, the caller IDs LiveKit may
    use, and the digest credentials the provider checks."""

    name: str
    address: str  # the provider's termination domain, e.g. example.pstn.twilio.com
    numbers: tuple[str, ...]  # LiveKit refuses an outbound trunk without numbers (INVALID)
    metadata: str = ""
    transport: Transport = Transport.AUTO
    destination_country: str = ""  # two-letter code, e.g. US; empty: LiveKit's default routing
    auth_username: str = ""
    auth_password: str = field(default="", repr=False)
    media_encryption: MediaEncryption = MediaEncryption.DISABLE


@dataclass(frozen=True)
class OutboundTrunk:
    id: str  # ST_...
    spec: OutboundTrunkSpec


@dataclass(frozen=True)
class DispatchRuleSpec:
    """Which inbound calls go to which agents: each call gets its own room `<room_prefix><caller>_<random>`
    (LiveKit's "individual" rule) into which the named agents are dispatched."""

    name: str
    trunk_ids: tuple[str, ...]  # inbound trunks the rule applies to; empty: every trunk
    numbers: tuple[str, ...]  # called numbers the rule applies to; empty: every number
    room_prefix: str = ""
    agents: tuple[str, ...] = ()  # agent names (room configuration agents[].agentName)
    metadata: str = ""


@dataclass(frozen=True)
class DispatchRule:
    id: str  # SDR_...
    spec: DispatchRuleSpec
    # LiveKit's kind of rule. The operator writes only "individual"; "direct" or "callee" means the rule
    # was changed by hand, and spec.room_prefix is then that rule's room name or prefix.
    rule_type: str = "individual"
