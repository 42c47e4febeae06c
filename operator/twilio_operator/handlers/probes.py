"""Liveness: /healthz fails when the TwilioProvider watch stops delivering events.

kopf's watch can stall or die silently (kopf#1276: the watch task exits and leaves a zombie); the
process then looks alive while nothing is reconciled. kopf answers /healthz from the probe handlers
registered here: `watch_progress` raises, and kopf answers HTTP 500, once the watch has been silent
for longer than the horizon.

Every verification of a provider writes its status (lastVerifiedAt), and that write comes back
through the watch as an event. So while providers exist, a healthy operator hears from its watch at
least once per verification interval. The horizon is therefore the larger of
Settings.liveness_stall_seconds (TWILIO_OPERATOR_LIVENESS_STALL_SECONDS, default 600) and twice the
shortest verification interval of the providers it knows: no false alarm for an idle operator with
hourly verifications, and no extra API writes just to prove liveness. With no provider to watch, the
probe never fails.
"""

from __future__ import annotations

from typing import Any

import kopf

from twilio_operator.handlers.state import OperatorState, state_of
from twilio_operator.provider.schedule import verification_interval_seconds


def provider_event(state: OperatorState, type: str | None, uid: str, spec: Any) -> None:
    """Record a TwilioProvider watch event (called by the handlers' one provider event handler)."""
    if type == "DELETED":
        state.progress.gone(uid)
    else:
        scale = state.settings.verification_interval_scale
        state.progress.seen(uid, verification_interval_seconds(spec.get("verificationInterval"), scale=scale))


@kopf.on.probe(id="watchProgress", errors=kopf.ErrorsMode.PERMANENT)
async def watch_progress(memo: kopf.Memo, **_: Any) -> float:
    """Seconds since the last provider event; fails the liveness probe after the horizon."""
    state = state_of(memo)
    silence = state.progress.silence()
    horizon = state.progress.horizon(state.settings.liveness_stall_seconds)
    if horizon is not None and silence > horizon:
        raise kopf.PermanentError(
            f"no TwilioProvider watch event for {silence:.0f}s (limit {horizon:.0f}s): the watch is stalled"
        )
    return round(silence, 1)
