"""The narrow async port to LiveKit's SIP API: what the operator keeps in one LiveKit project.

Contract of every method: non-blocking; exactly one HTTP request (no retry in place: the reconcile that
calls it decides when to try again, so its backoff bounds the load on LiveKit); failures arrive as
`LiveKitError` (api/errors.py), never as a library exception, and never carry the API secret or a SIP
password. Updates replace the whole object with the spec, so they also undo edits made by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from twilio_operator.api.livekit_values import (
    DispatchRule,
    DispatchRuleSpec,
    InboundTrunk,
    InboundTrunkSpec,
    LiveKitServer,
    OutboundTrunk,
    OutboundTrunkSpec,
)


class LiveKitPort(Protocol):
    """One LiveKit server (or Cloud project) with one API key."""

    async def list_inbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[InboundTrunk]:
        """Every inbound trunk, or those holding one of `numbers` / with one of `trunk_ids`."""
        ...

    async def create_inbound_trunk(self, spec: InboundTrunkSpec) -> InboundTrunk:
        """CONFLICT (with the other trunk's ID) when another inbound trunk holds one of the numbers."""
        ...

    async def update_inbound_trunk(self, trunk_id: str, spec: InboundTrunkSpec) -> InboundTrunk:
        """Replace the trunk; NOT_FOUND when it is gone, CONFLICT as for a create."""
        ...

    async def list_outbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[OutboundTrunk]: ...

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec) -> OutboundTrunk:
        """INVALID without numbers or address."""
        ...

    async def update_outbound_trunk(self, trunk_id: str, spec: OutboundTrunkSpec) -> OutboundTrunk:
        """Replace the trunk, credentials included (a rotation switches the password here)."""
        ...

    async def delete_trunk(self, trunk_id: str) -> None:
        """Delete an inbound or outbound trunk. LiveKit answers a missing trunk as deleted too."""
        ...

    async def list_dispatch_rules(
        self, *, trunk_ids: Sequence[str] = (), rule_ids: Sequence[str] = ()
    ) -> list[DispatchRule]: ...

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> DispatchRule:
        """CONFLICT (with the other rule's ID) when a rule for the same trunk and number exists."""
        ...

    async def update_dispatch_rule(self, rule_id: str, spec: DispatchRuleSpec) -> DispatchRule: ...

    async def delete_dispatch_rule(self, rule_id: str) -> bool:
        """False when the rule was already gone."""
        ...


class LiveKitConnector(Protocol):
    """Hands out a port per LiveKit server and key; owns the connection pool."""

    def connect(self, server: LiveKitServer) -> LiveKitPort: ...
    async def close(self) -> None: ...
