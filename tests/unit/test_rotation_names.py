"""Usernames of rotated SIP credentials and the Secret's two pairs."""

from __future__ import annotations

import pytest

from twilio_operator.api import credentials, names

UID = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_rotated_usernames_fit_twilio_and_carry_their_creation_time() -> None:
    username = names.rotated_sip_username(UID, 1764504000)
    assert len(username) <= 32
    assert names.is_sip_username_of(UID, username)
    assert names.sip_username_created(UID, username) == 1764504000
    assert names.sip_username_created(UID, names.sip_username(UID)) is None


@pytest.mark.parametrize(
    ("username", "ours"),
    [
        (names.sip_username(UID), True),
        (names.rotated_sip_username(UID, 1), True),
        (names.rotated_sip_username(OTHER, 1764504000), False),
        (names.sip_username(OTHER), False),
        ("someone-else", False),
        ("", False),
        (None, False),
    ],
)
def test_which_usernames_are_ours(username: str | None, ours: bool) -> None:
    assert names.is_sip_username_of(UID, username) is ours


def _secret(username: str, password: str, previous: tuple[str, str] | None = None) -> tuple[dict, dict]:
    data = {"username": username.encode(), "password": password.encode()}
    annotations = {names.PASSWORD_FINGERPRINT: credentials.password_fingerprint(UID, password)}
    if previous:
        data["previousUsername"], data["previousPassword"] = previous[0].encode(), previous[1].encode()
        annotations[names.PREVIOUS_FINGERPRINT] = credentials.password_fingerprint(UID, previous[1])
    return data, annotations


def test_current_and_previous_pairs() -> None:
    new = names.rotated_sip_username(UID, 1764504000)
    data, annotations = _secret(new, "New-Password-1", (names.sip_username(UID), "Old-Password-1"))
    assert credentials.current_sip_pair(UID, data, annotations) == (new, "New-Password-1")
    assert credentials.previous_sip_pair(UID, data, annotations) == (
        names.sip_username(UID),
        "Old-Password-1",
    )
    assert credentials.sip_secret_intact(UID, data, annotations, {"username": names.sip_username(UID)})
    data["previousPassword"] = b"edited"
    assert credentials.previous_sip_pair(UID, data, annotations) is None
    data["password"] = b"edited"
    assert credentials.current_sip_pair(UID, data, annotations) is None
    assert not credentials.sip_secret_intact(UID, data, annotations, {})


def test_status_patch_unsets_nested_fields() -> None:
    from twilio_operator.api.models import SipCredentialsStatus, TwilioProviderStatus
    from twilio_operator.api.patches import status_patch

    before = TwilioProviderStatus(
        sip_credentials=SipCredentialsStatus(username="b", previous_username="a", previous_expires_at="t")
    )
    after = TwilioProviderStatus(sip_credentials=SipCredentialsStatus(username="b"))
    assert status_patch(before, after)["sipCredentials"] == {
        "username": "b",
        "previousUsername": None,
        "previousExpiresAt": None,
    }


def test_when_the_next_rotation_step_is_due() -> None:
    from datetime import UTC, datetime

    from twilio_operator.api.models import SipCredentialsStatus
    from twilio_operator.provider.rotation import rotation_requested, seconds_until_next_step

    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert seconds_until_next_step(None, now) is None
    assert seconds_until_next_step(SipCredentialsStatus(username="u"), now) is None
    both = SipCredentialsStatus(
        next_rotation_at="2026-12-01T12:00:00Z", previous_expires_at="2026-11-30T12:30:00Z"
    )
    assert seconds_until_next_step(both, now) == 1800
    overdue = SipCredentialsStatus(previous_expires_at="2026-11-30T11:00:00Z")
    assert seconds_until_next_step(overdue, now) == 1.0  # due: at once, but never a busy loop

    key = names.ROTATE_SIP_CREDENTIALS
    assert rotation_requested({key: "2"}, {"sipCredentials": {"lastRotationRequest": "1"}})
    assert not rotation_requested({key: "2"}, {"sipCredentials": {"lastRotationRequest": "2"}})
    assert not rotation_requested({}, {})
    assert rotation_requested({key: "1"}, {})


def test_a_tiny_rotation_interval_counts_as_one_hour() -> None:
    from datetime import UTC, datetime, timedelta

    from twilio_operator.api.models import SipCredentialsSpec, TwilioProviderSpec, TwilioProviderStatus
    from twilio_operator.provider.resource import Provider
    from twilio_operator.provider.rotation import next_rotation_at
    from twilio_operator.provider.sip_secret import Held

    spec = TwilioProviderSpec.model_validate(
        {"displayName": "a", "accountSid": "AC" + "0" * 32, "credentialsSecretRef": {"name": "c"}}
    ).model_copy(update={"sip_credentials": SipCredentialsSpec(rotation_interval="1s", grace_period="0s")})
    provider = Provider("ns", "acme", UID, 1, spec, TwilioProviderStatus())
    created = 1764504000
    held = Held(username=names.rotated_sip_username(UID, created), password="p", state="applied")
    now = datetime.fromtimestamp(created, UTC)
    assert next_rotation_at(provider, held, now) == now + timedelta(hours=1)
