"""The status a connection's reconcile writes, and its Events."""

from __future__ import annotations

from typing import TypedDict, Unpack

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api.conditions import ConditionUpdate, merge_conditions
from twilio_operator.api.models import (
    LIVEKIT_CONNECTION,
    Condition,
    LiveKitNumberStatus,
    LiveKitOutboundStatus,
    LiveKitRuleStatus,
    LiveKitTrunkStatus,
)
from twilio_operator.api.patches import dump, status_patch
from twilio_operator.livekit_connection.resource import Connection
from twilio_operator.ports.deps import Deps


class ConnectionStatusFields(TypedDict, total=False):
    """The fields of LiveKitConnectionStatus, typed for `ConnectionWriter.set`."""

    observed_generation: int | None
    conditions: list[Condition]
    inbound_trunk: LiveKitTrunkStatus | None
    outbound_trunk: LiveKitOutboundStatus | None
    dispatch_rules: list[LiveKitRuleStatus]
    numbers: list[LiveKitNumberStatus]
    number_count: int | None
    origination_uri: str | None


class ConnectionWriter:
    """Accumulates status changes; writes them once, and only what changed."""

    def __init__(self, connection: Connection, deps: Deps) -> None:
        self._connection = connection
        self._deps = deps
        self.before = connection.status  # as the reconcile found it (what users saw)
        self.status = connection.status
        self._written = connection.status
        self.now = deps.clock()

    def set(self, **fields: Unpack[ConnectionStatusFields]) -> None:
        self.status = self.status.model_copy(update=dict(fields))

    def condition(self, *updates: ConditionUpdate) -> None:
        merged = merge_conditions(self.status.conditions, updates, self._connection.generation, self.now)
        self.set(conditions=merged)

    async def flush(self) -> None:
        """Write what changed since the reconcile began (nothing: no request, no watch event)."""
        status = self.status
        if dump(status) != dump(self._written):
            conn = self._connection
            patch = status_patch(self._written, status)
            await self._deps.kube.patch_status(LIVEKIT_CONNECTION, conn.namespace, conn.name, patch)
            self._written = status
        metrics.STATES.record(
            self._connection.uid,
            self._connection.namespace,
            self._connection.name,
            metrics.ObjectHealth(LIVEKIT_CONNECTION.kind, c.is_true(self.status.conditions)),
        )

    async def event(self, type_: str, reason: str, message: str) -> None:
        await self._deps.kube.post_event(self._connection.ref, type_, reason, message)
