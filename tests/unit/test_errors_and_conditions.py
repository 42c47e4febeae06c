"""Error classification, sanitised messages, backoff, and condition transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twilio_operator import metrics
from twilio_operator.api.conditions import ConditionUpdate, merge_conditions
from twilio_operator.api.errors import ErrorKind, TwilioError, classify, clean_detail
from twilio_operator.api.models import TwilioPhoneNumberStatus
from twilio_operator.api.patches import status_patch
from twilio_operator.handlers.runtime import MAX_BACKOFF, backoff
from twilio_operator.handlers.scheduler import WakeSpacing


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, 20003, ErrorKind.AUTH),
        (403, None, ErrorKind.AUTH),
        (400, 20005, ErrorKind.AUTH),
        (404, 20404, ErrorKind.NOT_FOUND),
        (429, 20429, ErrorKind.TRANSIENT),
        (500, None, ErrorKind.TRANSIENT),
        (503, None, ErrorKind.TRANSIENT),
        (None, None, ErrorKind.TRANSIENT),
        (400, 21248, ErrorKind.REJECTED),
        (400, 21252, ErrorKind.REJECTED),
    ],
)
def test_classify(status: int | None, code: int | None, kind: ErrorKind) -> None:
    assert classify(status, code) is kind


def test_error_message_is_clean() -> None:
    token = "0123456789abcdef" * 2
    detail = clean_detail(f"Unable to create record: bad \x1b[31mthing\x1b[0m {token}", [token])
    error = TwilioError("create SIP trunk", ErrorKind.REJECTED, status=400, code=21248, detail=detail)
    assert str(error) == "cannot create SIP trunk: HTTP 400, Twilio error 21248: bad thing [redacted]"
    assert token not in str(error) and "\x1b" not in str(error)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[1;31mred\x1b[0m", "red"),  # SGR colours
        ("a\x1b[2Kb", "ab"),  # erase line
        ("\x1b]8;;https://x\x07link\x1b]8;;\x07", "link"),  # OSC 8 hyperlink, BEL-terminated
        ("\x1b]0;title\x1b\\text", "text"),  # OSC, ST-terminated
        ("tab\there\nnewline", "tab here newline"),  # other control characters become spaces
        ("plain", "plain"),
    ],
)
def test_clean_detail_strips_escape_sequences(raw: str, clean: str) -> None:
    assert clean_detail(raw) == clean


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    assert 5 <= backoff(0) <= 6.25
    assert backoff(3) >= 40
    assert backoff(50) <= MAX_BACKOFF * 1.25
    assert backoff(0, retry_after=120) == 120


def test_last_transition_time_moves_only_on_flips() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first = merge_conditions([], [ConditionUpdate("Ready", "False", "Progressing")], 1, t0)
    same = merge_conditions(
        first, [ConditionUpdate("Ready", "False", "AuthFailed", "x")], 2, t0 + timedelta(1)
    )
    flipped = merge_conditions(same, [ConditionUpdate("Ready", "True", "Provisioned")], 3, t0 + timedelta(2))
    assert first[0].last_transition_time == same[0].last_transition_time == "2026-01-01T00:00:00Z"
    assert same[0].reason == "AuthFailed" and same[0].observed_generation == 2
    assert flipped[0].last_transition_time == "2026-01-03T00:00:00Z"


def test_conditions_are_ordered_ready_first() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    merged = merge_conditions(
        [],
        [
            ConditionUpdate("SipCredentialsStored", "True", "Stored"),
            ConditionUpdate("Ready", "True", "Provisioned"),
        ],
        1,
        now,
    )
    assert [c.type for c in merged] == ["Ready", "SipCredentialsStored"]


def test_wake_spacing_doubles_while_wakeups_keep_coming_and_resets_after_quiet() -> None:
    spacing = WakeSpacing(minimum=2.0, maximum=16.0)
    assert spacing.before_woken_run(100.0) == 0.0  # the first wake-up runs at once
    spacing.ran(100.0)
    waits = []
    now = 100.0
    for _ in range(5):  # woken right after every run, as two objects waking each other would
        now += 0.1
        wait = spacing.before_woken_run(now)
        waits.append(round(wait, 1))
        now += wait
        spacing.ran(now)
    assert waits == [3.9, 7.9, 15.9, 15.9, 15.9]
    assert spacing.before_woken_run(now + 60) == 0.0 and spacing.current == 2.0  # quiet: back to the minimum


def test_status_patch_sends_null_for_fields_that_became_unset() -> None:
    written = TwilioPhoneNumberStatus(sid="PN1", trunk_sid="TK1", phone_number="+15005550006")
    wanted = written.model_copy(update={"trunk_sid": None})
    same = {"conditions": [], "sid": "PN1", "phoneNumber": "+15005550006"}
    assert status_patch(written, wanted) == {**same, "trunkSid": None}
    assert status_patch(wanted, wanted) == same


def test_calls_per_object_reports_the_busiest_object_of_the_last_two_minutes() -> None:
    now = [600.0]
    rate = metrics.CallsPerObject(clock=lambda: now[0])
    for _ in range(3):
        rate.count("quiet")
    for _ in range(50):
        rate.count("looping")
    assert rate.busiest() == 50
    now[0] += 60  # the next minute: last minute's 50 still count
    rate.count("looping")
    assert rate.busiest() == 50
    now[0] += 60  # two minutes on: only this minute's single request
    assert rate.busiest() == 1
    now[0] += 120
    assert rate.busiest() == 0 and rate.minutes == {}


def test_retry_delays_grow_for_every_kind_of_lasting_refusal() -> None:
    from twilio_operator.api.errors import KubernetesError
    from twilio_operator.handlers.runtime import retry_delay
    from twilio_operator.settings import Settings

    for error in (
        KubernetesError("write status", 409, "Conflict"),
        KubernetesError("write Secret", 422, "Unprocessable Entity", "field is immutable"),
        KubernetesError("write Secret", 403, "Forbidden"),
    ):
        delays = [retry_delay(error, failures, Settings()) for failures in range(8)]
        assert delays[-1] > 4 * delays[0], (error, delays)  # bounded: it backs off, no hot loop
        assert max(delays) <= MAX_BACKOFF * 1.25
