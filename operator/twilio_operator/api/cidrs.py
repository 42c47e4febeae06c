"""IPv4 addresses and CIDR blocks of spec.ipAccessControl: the CEL rules the API server checks and the
same rules in Python (the operator checks what it reads, in case an object predates a rule)."""

from __future__ import annotations

import ipaddress

# Twilio: up to 100 entries (addresses or CIDR blocks) per IP access control list
# (twilio.com/docs/voice/sip/api/sip-ipaccesscontrollist-resource).
MAX_IP_ACCESS_ENTRIES = 100
# The operator's own floor: Twilio documents no lower bound for CidrPrefixLength, and a shorter prefix
# than /8 would let a large share of the IPv4 internet reach the trunk without a password.
MIN_CIDR_PREFIX = 8
CIDR_MAX_LENGTH = len("255.255.255.255/32")
_IS_ADDRESS = "(isIP(self) || isCIDR(self))"
CIDR_RULES = (
    {
        "rule": _IS_ADDRESS,
        "message": "must be an IPv4 address like 203.0.113.5 or a CIDR block like 203.0.113.0/24",
    },
    {
        "rule": f"!{_IS_ADDRESS} || (isIP(self) ? ip(self).family() : cidr(self).ip().family()) == 4",
        "message": "Twilio IP access control lists accept IPv4 addresses only",
    },
    {
        "rule": "!isCIDR(self) || cidr(self).ip().family() != 4 || "
        f"cidr(self).prefixLength() >= {MIN_CIDR_PREFIX}",
        "message": f"the prefix length must be /{MIN_CIDR_PREFIX} to /32",
    },
    {
        "rule": "!isCIDR(self) || cidr(self) == cidr(self).masked()",
        "message": "has bits set beyond its prefix length: write the network address, e.g. 203.0.113.0/24",
    },
)


def parse_cidr(text: str) -> ipaddress.IPv4Network:
    """An IPv4 address (a /32) or CIDR block as the CRD admits it; ValueError says why not."""
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ValueError(
            f"{text!r} must be an IPv4 address like 203.0.113.5 or a network address with its prefix "
            "like 203.0.113.0/24"
        ) from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise ValueError(f"{text!r}: Twilio IP access control lists accept IPv4 addresses only")
    if network.prefixlen < MIN_CIDR_PREFIX:
        raise ValueError(f"{text!r}: the prefix length must be /{MIN_CIDR_PREFIX} to /32")
    return network


def checked_cidr(text: str) -> str:
    parse_cidr(text)
    return text
