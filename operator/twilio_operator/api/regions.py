"""Twilio's regions: the one table the models, the CEL rules and the Twilio adapter read.

Only us1, ie1 and au1 are processing regions (REST resources and inbound calls are handled
there); the others only pick the edge location of the termination URI.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Region = Literal["us1", "us2", "ie1", "de1", "au1", "jp1", "br1", "sg1"]

# The edge location that serves each region (the host part of regional SIP and REST names).
EDGES: Final[dict[Region, str]] = {
    "us1": "ashburn",
    "us2": "umatilla",
    "ie1": "dublin",
    "de1": "frankfurt",
    "au1": "sydney",
    "jp1": "tokyo",
    "br1": "sao-paulo",
    "sg1": "singapore",
}
# Processing regions other than the default us1: the REST client must be told to use them.
NON_DEFAULT_PROCESSING: Final[tuple[Region, ...]] = ("ie1", "au1")
DEFAULT_PROCESSING: Final[Region] = "us1"

if set(get_args(Region)) != set(EDGES):  # pragma: no cover - a programming error, caught at import
    raise AssertionError("regions.EDGES must name exactly the regions of regions.Region")


def edge_of(region: str | None) -> str | None:
    """The edge location of a region name, None for None or an unknown name."""
    return next((edge for name, edge in EDGES.items() if name == region), None)


def processing_region(region: str | None) -> str:
    """The processing region that keeps a provider's Twilio resources (us1 unless ie1 or au1)."""
    return region if region in NON_DEFAULT_PROCESSING else DEFAULT_PROCESSING


def client_region(region: str | None) -> str | None:
    """The region to hand the REST client: ie1 or au1, else None (Twilio's default, us1)."""
    return region if region in NON_DEFAULT_PROCESSING else None


def processing_region_cel(var: str) -> str:
    """A CEL expression that evaluates to the processing region of `var`'s spec (see processing_region)."""
    listed = ", ".join(f"'{r}'" for r in NON_DEFAULT_PROCESSING)
    return f"(has({var}.region) && {var}.region in [{listed}] ? {var}.region : '{DEFAULT_PROCESSING}')"
