"""The liveness probe's decision in isolation (the stall itself is in reliability/test_kube_faults.py)."""

from __future__ import annotations

import kopf
import pytest

from twilio_operator.handlers import probes as liveness
from twilio_operator.handlers.state import OperatorState, Progress
from twilio_operator.ports.deps import Deps
from twilio_operator.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_horizon_is_the_larger_of_the_setting_and_twice_the_shortest_interval() -> None:
    clock = Clock()
    progress = Progress(clock)
    assert progress.horizon(600) is None  # nothing to watch: never stalled
    progress.seen("uid-a", 3600.0)
    progress.seen("uid-b", 120.0)
    assert progress.horizon(600) == 600
    assert progress.horizon(10) == 240
    progress.gone("uid-b")
    assert progress.horizon(10) == 7200
    progress.gone("uid-a")
    clock.now += 10_000
    assert progress.horizon(10) is None and progress.silence() == 10_000


async def test_probe_fails_only_after_the_horizon() -> None:
    clock = Clock()
    settings = Settings.from_environ(
        {
            "TWILIO_OPERATOR_LIVENESS_STALL_SECONDS": "30",
            "TWILIO_OPERATOR_VERIFICATION_INTERVAL_SCALE": str(5 / 60),  # 1m -> 5 s
        }
    )
    state = OperatorState(Deps(twilio=None, kube=None), settings, progress=Progress(clock))  # type: ignore[arg-type]
    memo = kopf.Memo(state=state)
    clock.now += 1000
    assert await liveness.watch_progress(memo=memo) == 1000  # idle with nothing to watch is fine
    liveness.provider_event(state, type=None, uid="uid-a", spec={"verificationInterval": "1m"})
    clock.now += 29
    assert await liveness.watch_progress(memo=memo) == 29
    clock.now += 2
    with pytest.raises(kopf.PermanentError, match="watch is stalled"):
        await liveness.watch_progress(memo=memo)
    liveness.provider_event(state, type="MODIFIED", uid="uid-a", spec={})
    assert await liveness.watch_progress(memo=memo) == 0
    liveness.provider_event(state, type="DELETED", uid="uid-a", spec={})
    clock.now += 10_000
    assert await liveness.watch_progress(memo=memo) == 10_000


def test_stall_setting_falls_back_to_the_default() -> None:
    stall = Settings.from_environ({"TWILIO_OPERATOR_LIVENESS_STALL_SECONDS": "soon"}).liveness_stall_seconds
    assert stall == Settings().liveness_stall_seconds
    assert Settings.from_environ({}).liveness_stall_seconds == 600
