"""What Twilio rejects, the emulator rejects: domains, passwords, names, and plain bad HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import account_auth, assert_twilio_error, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.http import RewritingHttpClient

GOOD_PASSWORD = "Str0ngPassword"


def test_domain_taken_across_accounts_and_reserved_after_delete(
    emulator_url: str, twilio_client: Client, emulator: EmulatorAdmin
) -> None:
    trunk = twilio_client.trunking.v1.trunks.create(domain_name="taken-1.pstn.twilio.com")
    other = TwilioAccount.create(emulator)
    other_client = Client(other.sid, other.auth_token, http_client=RewritingHttpClient(emulator_url))
    with pytest.raises(TwilioRestException) as err:
        other_client.trunking.v1.trunks.create(domain_name="TAKEN-1.pstn.twilio.com")
    assert (err.value.status, err.value.code) == (400, 21248)
    assert "Trunk Domain already taken" in err.value.msg

    twilio_client.trunking.v1.trunks(trunk.sid).delete()
    for client in (twilio_client, other_client):
        with pytest.raises(TwilioRestException) as err:
            client.trunking.v1.trunks.create(domain_name="taken-1.pstn.twilio.com")
        assert err.value.code == 21248
    assert "taken-1.pstn.twilio.com" in emulator.state()["reserved_domains"]


def test_domain_rename_releases_old_name(twilio_client: Client) -> None:
    trunk = twilio_client.trunking.v1.trunks.create(domain_name="rename-a.pstn.twilio.com")
    updated = twilio_client.trunking.v1.trunks(trunk.sid).update(domain_name="rename-b.pstn.twilio.com")
    assert updated.domain_name == "rename-b.pstn.twilio.com"
    # the same trunk may re-save its own name
    assert (
        twilio_client.trunking.v1.trunks(trunk.sid).update(domain_name="rename-b.pstn.twilio.com").sid
        == trunk.sid
    )
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks.create(domain_name="rename-a.pstn.twilio.com")
    assert err.value.code == 21248


@pytest.mark.parametrize(
    "domain",
    [
        "no_underscores.pstn.twilio.com",
        "acme.example.com",
        "acme.pstn.twilio.com.evil",
        "a b.pstn.twilio.com",
        ".pstn.twilio.com",
    ],
)
def test_invalid_domain_names(twilio_client: Client, domain: str) -> None:
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks.create(domain_name=domain)
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Str0ngPassword", True),
        ("Short1Aa", False),  # < 12 chars
        ("alllowercase123", False),
        ("ALLUPPERCASE123", False),
        ("NoDigitsAtAllHere", False),
        ("aB3" * 4, True),
    ],
)
def test_password_rules(
    twilio_client: Client, twilio_account: TwilioAccount, password: str, ok: bool
) -> None:
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    cred_list = sip.credential_lists.create(friendly_name="pw")
    credentials = sip.credential_lists(cred_list.sid).credentials
    if ok:
        assert credentials.create(username="user", password=password).username == "user"
        return
    with pytest.raises(TwilioRestException) as err:
        credentials.create(username="user", password=password)
    assert (err.value.status, err.value.code) == (400, 21240)  # errors/21240 lists the password rules


def test_password_update_and_sip_auth(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    trunk = twilio_client.trunking.v1.trunks.create(domain_name="pwupdate.pstn.twilio.com")
    cred_list = sip.credential_lists.create(friendly_name="pw")
    cred = sip.credential_lists(cred_list.sid).credentials.create(username="user", password=GOOD_PASSWORD)
    detail = emulator.sip_auth_detail("pwupdate.pstn.twilio.com", "user", GOOD_PASSWORD)
    assert detail == {"ok": False, "reason": "no credential list is attached to the trunk"}
    twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    assert emulator.sip_auth("pwupdate.pstn.twilio.com", "user", GOOD_PASSWORD)
    with pytest.raises(TwilioRestException):
        sip.credential_lists(cred_list.sid).credentials(cred.sid).update(password="weak")
    sip.credential_lists(cred_list.sid).credentials(cred.sid).update(password="N3wPasswordXyz")
    assert not emulator.sip_auth("pwupdate.pstn.twilio.com", "user", GOOD_PASSWORD)
    assert emulator.sip_auth("pwupdate.pstn.twilio.com", "user", "N3wPasswordXyz")
    assert not emulator.sip_auth("pwupdate.pstn.twilio.com", "other", "N3wPasswordXyz")
    assert "N3wPasswordXyz" not in str(emulator.state())


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "u" * 33), ("friendly_name", "f" * 65)],
)
def test_length_limits(twilio_client: Client, twilio_account: TwilioAccount, field: str, value: str) -> None:
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    with pytest.raises(TwilioRestException) as err:
        if field == "username":
            cred_list = sip.credential_lists.create(friendly_name="x")
            sip.credential_lists(cred_list.sid).credentials.create(username=value, password=GOOD_PASSWORD)
        else:
            sip.credential_lists.create(friendly_name=value)
    assert err.value.status == 400
    # exactly at the limit is fine
    cred_list = sip.credential_lists.create(friendly_name="f" * 64)
    assert (
        sip.credential_lists(cred_list.sid).credentials.create(username="u" * 32, password=GOOD_PASSWORD).sid
    )


def test_duplicate_associations(twilio_client: Client, twilio_account: TwilioAccount) -> None:
    trunks = twilio_client.trunking.v1.trunks
    trunk = trunks.create()
    cred_list = twilio_client.api.v2010.accounts(twilio_account.sid).sip.credential_lists.create(
        friendly_name="x"
    )
    trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    with pytest.raises(TwilioRestException) as err:
        trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    assert (err.value.status, err.value.code) == (400, 21245)  # catalogue 21245
    number_sid = twilio_account.incoming_phone_numbers[0].sid
    trunks(trunk.sid).phone_numbers.create(phone_number_sid=number_sid)
    with pytest.raises(TwilioRestException) as err:
        trunks(trunk.sid).phone_numbers.create(phone_number_sid=number_sid)
    assert (err.value.status, err.value.code) == (409, 20409)
    # attaching to another trunk moves the number
    second = trunks.create()
    trunks(second.sid).phone_numbers.create(phone_number_sid=number_sid)
    assert trunks(trunk.sid).phone_numbers.list() == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weight": 0, "priority": 1, "enabled": True, "friendly_name": "o", "sip_url": "sip:a@b.c"},
        {"weight": 1, "priority": 70000, "enabled": True, "friendly_name": "o", "sip_url": "sip:a@b.c"},
        {"weight": 1, "priority": 1, "enabled": True, "friendly_name": "o", "sip_url": "sips:a@b.c"},
        {"weight": 1, "priority": 1, "enabled": True, "friendly_name": "o" * 65, "sip_url": "sip:a@b.c"},
    ],
    ids=["weight-0", "priority-too-big", "sips", "long-name"],
)
def test_origination_url_validation(twilio_client: Client, kwargs: dict[str, Any]) -> None:
    trunk = twilio_client.trunking.v1.trunks.create()
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks(trunk.sid).origination_urls.create(**kwargs)
    assert err.value.status == 400


def test_invalid_region_and_enum(twilio_client: Client) -> None:
    trunk = twilio_client.trunking.v1.trunks.create(domain_name="region-x.pstn.twilio.com")
    with pytest.raises(TwilioRestException) as err:
        twilio_client.routes.v2.trunks("region-x.pstn.twilio.com").update(voice_region="mars1")
    assert err.value.code == 21252
    with pytest.raises(TwilioRestException) as err:
        twilio_client.trunking.v1.trunks(trunk.sid).update(transfer_mode="sometimes")
    assert err.value.status == 400
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().transfer_mode == "disable-all"


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("method", "path", "body", "extra_headers", "status", "code"),
    [
        ("GET", "/v1/Nope", None, {}, 404, 20404),
        ("GET", "/2010-04-01/Accounts/{AC}/Nope.json", None, {}, 404, 20404),
        ("PUT", "/v1/Trunks", b"", {}, 405, None),
        ("PATCH", "/2010-04-01/Accounts/{AC}.json", b"", {}, 405, None),
        ("GET", "/v1/Trunks/TKnot-a-sid", None, {}, 404, 20404),
        ("GET", "/v1/Trunks/TK" + "A" * 32, None, {}, 404, 20404),
        ("GET", "/v1/Trunks/TK" + "0" * 32, None, {}, 404, 20404),
        ("GET", "/2010-04-01/Accounts/{AC}/SIP/CredentialLists/CL123.json", None, {}, 404, 20404),
        ("GET", "/2010-04-01/Accounts/ACbogus.json", None, {}, 404, 20404),
        ("POST", "/v1/Trunks", b'{"FriendlyName": "json"}', {"Content-Type": "application/json"}, 400, None),
        ("POST", "/v1/Trunks", b"Secure=maybe", FORM, 400, 20001),
        ("POST", "/v1/Trunks", b"\xff\xfe=%%%", FORM, 400, None),
        ("POST", "/v1/Trunks", b"x" * (2 * 1024 * 1024), FORM, 413, None),
        ("GET", "/v1/Trunks?PageSize=0", None, {}, 400, None),
        ("GET", "/v1/Trunks?PageSize=1001", None, {}, 400, None),
        ("GET", "/v1/Trunks?Page=abc", None, {}, 400, None),
    ],
)
def test_bad_http_gets_twilio_shaped_4xx(
    emulator_url: str,
    twilio_account: TwilioAccount,
    method: str,
    path: str,
    body: bytes | None,
    extra_headers: dict[str, str],
    status: int,
    code: int | None,
) -> None:
    headers = {**account_auth(twilio_account), **extra_headers}
    response = raw(emulator_url, method, path.replace("{AC}", twilio_account.sid), body=body, headers=headers)
    assert_twilio_error(response, status, code)
    # and the server keeps serving
    ok = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account))
    assert ok.status == 200
