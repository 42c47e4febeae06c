"""The optional trunk settings of spec.trunk: only what the spec states is compared and written, so a
setting left unset keeps whatever Twilio (or a person in the Console) has."""

from __future__ import annotations

from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api.models import TrunkRecording, TrunkSettings
from twilio_operator.api.twilio_values import Recording, Trunk
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter

# spec field -> the trunk value's attribute, which is also the twilio library's update keyword
_TRUNK_FIELDS = (
    "secure",
    "cnam_lookup_enabled",
    "transfer_caller_id",
    "disaster_recovery_url",
    "disaster_recovery_method",
)


def trunk_drift(wanted: TrunkSettings | None, trunk: Trunk) -> dict[str, Any]:
    """The trunk fields the spec sets to something else than the trunk has (pure)."""
    if wanted is None:
        return {}
    drift = {}
    for name in _TRUNK_FIELDS:
        value = getattr(wanted, name)
        if value is not None and value != getattr(trunk, name):
            drift[name] = value
    return drift


def recording_drift(wanted: TrunkRecording | None, current: Recording | None) -> bool:
    if wanted is None:
        return False
    if current is None:
        return True
    return wanted.mode != current.mode or (wanted.trim is not None and wanted.trim != current.trim)


async def ensure_trunk_extra_settings(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk
) -> None:
    wanted = provider.spec.trunk
    drift = trunk_drift(wanted, trunk)
    if drift:
        await twilio.update_trunk_settings(trunk.sid, drift)
        await writer.event("Normal", c.TRUNK_UPDATED, f"set {', '.join(sorted(drift))} of trunk {trunk.sid}")
    if wanted is None or wanted.recording is None:
        return  # not stated: no read, no write
    current = await twilio.fetch_recording(trunk.sid)
    if recording_drift(wanted.recording, current):
        await twilio.update_recording(trunk.sid, wanted.recording.mode, wanted.recording.trim)
        await writer.event(
            "Normal", c.TRUNK_UPDATED, f"set recording of trunk {trunk.sid} to {wanted.recording.mode}"
        )
