"""Twilio's regions: the one table the models, the CEL rules and the Twilio adapter read.

Only us1, ie1 and au1 are processing regions (REST resources and inbound calls are handled
there); the others only pick the edge location of the termination URI.
"""

from __future__ import annotations

from dataclasses import dataclass
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
PROCESSING_REGIONS: Final[tuple[Region, ...]] = (DEFAULT_PROCESSING, *NON_DEFAULT_PROCESSING)

if set(get_args(Region)) != set(EDGES):  # pragma: no cover - a programming error, caught at import
    raise AssertionError("regions.EDGES must name exactly the regions of regions.Region")


@dataclass(frozen=True)
class ResolvedRegion:
    """spec.region resolved once, and passed along as this value: where the REST resources live and
    inbound calls are processed, what the REST client is told, and the edge of the termination URI."""

    configured: Region | None = None  # as the spec says; None: unset (the global termination name)

    @classmethod
    def of(cls, region: str | None) -> ResolvedRegion:
        """The spec's value (unknown names count as unset: the API server admits only known ones)."""
        known = next((name for name in EDGES if name == region), None)
        return cls(known)

    @property
    def shown(self) -> Region:
        """The region as status reports it: unset is us1."""
        return self.configured or DEFAULT_PROCESSING

    @property
    def processing(self) -> Region:
        """The processing region that keeps the provider's Twilio resources (us1 unless ie1 or au1)."""
        return self.configured if self.configured in NON_DEFAULT_PROCESSING else DEFAULT_PROCESSING

    @property
    def client(self) -> Region | None:
        """The region to hand the REST client and routes v2: ie1 or au1, else None (Twilio's us1)."""
        return self.configured if self.configured in NON_DEFAULT_PROCESSING else None

    @property
    def client_edge(self) -> str | None:
        """The edge the REST client goes through for a non-default processing region."""
        return EDGES[self.client] if self.client is not None else None

    @property
    def termination_edge(self) -> str | None:
        """The edge named in the termination URI; None: the global name (Twilio picks the edge)."""
        return EDGES[self.configured] if self.configured is not None else None


def processing_region_cel(var: str) -> str:
    """A CEL expression that evaluates to the processing region of `var`'s spec (see processing_region)."""
    listed = ", ".join(f"'{r}'" for r in NON_DEFAULT_PROCESSING)
    return f"(has({var}.region) && {var}.region in [{listed}] ? {var}.region : '{DEFAULT_PROCESSING}')"
