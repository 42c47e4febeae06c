"""The status a TwilioProvider reconcile writes, its Events, and the health the metrics report."""

from __future__ import annotations

from typing import Literal, TypedDict, Unpack

from twilio_operator import metrics
from twilio_operator.api import conditions as c
from twilio_operator.api.conditions import ConditionUpdate, merge_conditions
from twilio_operator.api.models import (
    PROVIDER,
    AvailableNumber,
    Condition,
    SipCredentialsStatus,
    TwilioProviderStatus,
    VerificationDetail,
    VerificationStatus,
)
from twilio_operator.api.patches import status_patch
from twilio_operator.api.times import parse_rfc3339
from twilio_operator.ports.deps import Deps
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.verification import Check


class ProviderStatusFields(TypedDict, total=False):
    """The fields of TwilioProviderStatus, typed for `StatusWriter.set` (a unit test keeps the two
    equal): mypy checks every name and value a reconcile sets."""

    observed_generation: int | None
    conditions: list[Condition]
    provider_type: Literal["twilio"] | None
    verification_status: VerificationStatus | None
    last_verified_at: str | None
    verification_details: list[VerificationDetail]
    phone_number_count: int | None
    account_phone_number_count: int | None
    available_numbers: list[AvailableNumber]
    trunk_sid: str | None
    trunk_domain_name: str | None
    termination_uri: str | None
    credential_list_sid: str | None
    ip_access_control_list_sid: str | None
    sip_credentials_secret_name: str | None
    region: str | None
    supports_call_transfer: bool | None
    transfer_mode: str | None
    trunk_recreations: int | None
    origination_uris: list[str] | None
    sip_credentials: SipCredentialsStatus | None


class StatusWriter:
    """Accumulates status changes; writes them at once when a SID must not be lost."""

    def __init__(self, provider: Provider, deps: Deps) -> None:
        self._provider = provider
        self._deps = deps
        self.before = provider.status  # as the reconcile found it (what users saw)
        self.status = provider.status
        self._written = provider.status  # what the API server has, as far as this reconcile knows
        self.now = deps.clock()
        # While a provider is provisioned for the first time, the Normal events of each step are
        # folded into the one Provisioned event: one API write instead of five per new provider.
        self.folding = provider.status.trunk_sid is None
        self.folded: list[str] = []
        # SIDs of resources this reconcile created: known to be empty, so nobody has to list them
        # (one Twilio round trip less on the critical path of a create).
        self.created_now: set[str] = set()

    def set(self, **fields: Unpack[ProviderStatusFields]) -> None:
        self.status = self.status.model_copy(update=dict(fields))

    def condition(self, *updates: ConditionUpdate) -> None:
        merged = merge_conditions(self.status.conditions, updates, self._provider.generation, self.now)
        self.set(conditions=merged)

    async def flush(self) -> None:
        """Write the status as it is now. Steps still running (after one of a gather failed) may
        change it during the write: what they change is not counted as written."""
        p = self._provider
        status = self.status
        patch = status_patch(self._written, status)
        # The agent table's publisher writes status.agentTable; the reconcile never does, and
        # re-sending the value it read could put back an older one.
        patch.pop("agentTable", None)
        await self._deps.kube.patch_status(PROVIDER, p.namespace, p.name, patch)
        self._written = status
        metrics.STATES.record(p.uid, p.namespace, p.name, provider_health(status))

    async def event(self, type_: str, reason: str, message: str) -> None:
        if self.folding and type_ == "Normal":
            self.folded.append(message)
            return
        await self._deps.kube.post_event(self._provider.ref, type_, reason, message)

    async def unfold(self, reason: str, summary: str = "") -> None:
        """Post the folded steps: in `reason`'s event after `summary`, or each on its own if none."""
        folded, self.folded, self.folding = self.folded, [], False
        if summary:
            await self.event("Normal", reason, "; ".join([summary, *folded]))
            return
        for message in folded:
            await self.event("Normal", reason, message)


def provider_health(status: TwilioProviderStatus) -> metrics.ObjectHealth:
    verified = status.verification_status in ("verified", "warning") and status.last_verified_at
    sip = status.sip_credentials
    return metrics.ObjectHealth(
        kind="TwilioProvider",
        ready=c.is_true(status.conditions),
        verification_status=status.verification_status,
        last_verified=_unix(status.last_verified_at) if verified and status.last_verified_at else None,
        sip_credential_created=_unix(sip.created_at) if sip and sip.created_at else None,
        sip_rotation_due=_unix(sip.next_rotation_at) if sip and sip.next_rotation_at else None,
    )


def _unix(stamp: str) -> float | None:
    moment = parse_rfc3339(stamp)
    return moment.timestamp() if moment is not None else None


async def post_verification_events(writer: StatusWriter, before: str | None, checks: list[Check]) -> None:
    """Events for the verification transitions a human cares about."""
    after = writer.status.verification_status
    if before == after:
        return
    if after == "warning":
        warnings = "; ".join(check.message for check in checks if check.status == "warning")
        await writer.event("Warning", c.VERIFICATION_WARNING, warnings)
    elif before in ("failed", "warning") and after == "verified":
        await writer.event("Normal", c.VERIFICATION_RECOVERED, f"verification passed again (was {before})")
