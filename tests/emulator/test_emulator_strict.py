"""Strict mode (undocumented cases answer a generic 400 with an unexpected code), the documented
trunk_sid / voice_application_sid rule, and the two suspension modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import account_auth, assert_twilio_error, raw
from fixtures.emulator import TwilioAccount, start_emulator, stop
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError

PASSWORD = "Str0ngPassword"
STRICT = (400, 90000)
APP = "AP" + "a" * 32


def _duplicates(client: Client, account_sid: str) -> list[tuple[int, int]]:
    """Provoke three conflicts: a taken username and a number attached twice (no answer documented)
    and a credential list linked twice (catalogue 21245); return (status, code) of each."""
    sip = client.api.v2010.accounts(account_sid).sip
    cred_list = sip.credential_lists.create(friendly_name="dup")
    sip.credential_lists(cred_list.sid).credentials.create(username="u", password=PASSWORD)
    trunk = client.trunking.v1.trunks.create()
    client.trunking.v1.trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    number = client.api.v2010.accounts(account_sid).incoming_phone_numbers.list()[0]
    client.trunking.v1.trunks(trunk.sid).phone_numbers.create(phone_number_sid=number.sid)
    answers = []
    for call in (
        lambda: sip.credential_lists(cred_list.sid).credentials.create(username="u", password=PASSWORD),
        lambda: client.trunking.v1.trunks(trunk.sid).credentials_lists.create(
            credential_list_sid=cred_list.sid
        ),
        lambda: client.trunking.v1.trunks(trunk.sid).phone_numbers.create(phone_number_sid=number.sid),
    ):
        with pytest.raises(TwilioRestException) as err:
            call()
        answers.append((err.value.status, err.value.code))
    return answers


def test_default_mode_keeps_the_modelled_conflict_codes(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    assert emulator.configure()["strict"] is False
    assert _duplicates(twilio_client, twilio_account.sid) == [(400, 21243), (400, 21245), (409, 20409)]


def test_strict_mode_answers_undocumented_conflicts_unexpectedly(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    assert emulator.configure(strict=True)["strict"] is True
    assert _duplicates(twilio_client, twilio_account.sid) == [STRICT, (400, 21245), STRICT]


def test_strict_mode_keeps_documented_quota_codes_and_hides_the_undocumented_one(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    emulator.configure(strict=True)
    emulator.patch_account(twilio_account.sid, quotas={"trunks": 1, "trunk_phone_numbers": 0})
    trunk = twilio_client.trunking.v1.trunks.create()
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks.create()
    assert (err.value.status, err.value.code) == (400, 21244)
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks(trunk.sid).phone_numbers.create(
            phone_number_sid=twilio_account.incoming_phone_numbers[0].sid
        )
    assert (err.value.status, err.value.code) == STRICT


def test_empty_trunk_sid_detaches_by_default_and_is_refused_in_strict_mode(
    emulator_url: str, twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    account_sid, number_sid = twilio_account.sid, twilio_account.incoming_phone_numbers[0].sid
    numbers = twilio_client.api.v2010.accounts(account_sid).incoming_phone_numbers
    trunk = twilio_client.trunking.v1.trunks.create()
    numbers(number_sid).update(trunk_sid=trunk.sid)
    assert numbers(number_sid).update(trunk_sid="").trunk_sid is None

    numbers(number_sid).update(trunk_sid=trunk.sid)
    emulator.configure(strict=True)
    path = f"/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}.json"
    headers = {**account_auth(twilio_account), "Content-Type": "application/x-www-form-urlencoded"}
    response = raw(emulator_url, "POST", path, body=b"TrunkSid=", headers=headers)
    assert_twilio_error(response, 400, 20001)
    assert numbers(number_sid).fetch().trunk_sid == trunk.sid
    # Detaching the documented way still works in strict mode.
    twilio_client.trunking.v1.trunks(trunk.sid).phone_numbers(number_sid).delete()
    assert numbers(number_sid).fetch().trunk_sid is None


def test_reset_restores_the_startup_mode(emulator: EmulatorAdmin) -> None:
    emulator.configure(strict=True)
    emulator.reset()
    assert emulator.configure()["strict"] is False


def test_trunk_and_voice_application_clear_each_other(
    twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    numbers = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers
    number_sid = twilio_account.incoming_phone_numbers[0].sid
    trunk = twilio_client.trunking.v1.trunks.create()
    numbers(number_sid).update(voice_application_sid=APP, voice_url="https://example.com/voice")
    on_trunk = numbers(number_sid).update(trunk_sid=trunk.sid)
    assert (on_trunk.trunk_sid, on_trunk.voice_application_sid) == (trunk.sid, None)
    assert on_trunk.voice_url == "https://example.com/voice"  # ignored while on a trunk, not deleted
    on_app = numbers(number_sid).update(voice_application_sid=APP)
    assert (on_app.trunk_sid, on_app.voice_application_sid) == (None, APP)
    assert twilio_client.trunking.v1.trunks(trunk.sid).phone_numbers.list() == []


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_readable_suspension_mode(
    emulator_url: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount, status: str
) -> None:
    sid = twilio_account.sid
    patched = emulator.patch_account(sid, status=status, suspension_mode="readable")
    assert patched["suspension_mode"] == "readable"
    fetched = raw(
        emulator_url, "GET", f"/2010-04-01/Accounts/{sid}.json", headers=account_auth(twilio_account)
    )
    assert fetched.status == 200 and fetched.json()["status"] == status
    for method, path in (
        ("GET", "/v1/Trunks"),
        ("GET", f"/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json"),
    ):
        assert_twilio_error(raw(emulator_url, method, path, headers=account_auth(twilio_account)), 401, 20005)
    emulator.patch_account(sid, suspension_mode="reject")
    fetched = raw(
        emulator_url, "GET", f"/2010-04-01/Accounts/{sid}.json", headers=account_auth(twilio_account)
    )
    assert_twilio_error(fetched, 401, 20005)


def test_default_suspension_mode_is_forbidden(emulator: EmulatorAdmin) -> None:
    assert emulator.create_account()["suspension_mode"] == "forbidden"
    with pytest.raises(EmulatorAdminError) as err:
        emulator.create_account(suspension_mode="lenient")
    assert err.value.status == 400


def test_strict_mode_from_the_environment_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_EMULATOR_STRICT", "1")
    process, url = start_emulator(tmp_path / "strict.log")
    try:
        admin = EmulatorAdmin(url)
        assert admin.configure()["strict"] is True
        admin.configure(strict=False)
        admin.reset()
        assert admin.configure()["strict"] is True  # back to the startup mode
    finally:
        stop(process)
