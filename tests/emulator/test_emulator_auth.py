"""Authentication and account isolation, as Twilio enforces them."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from emulator.helpers import account_auth, assert_twilio_error, basic, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.http import RewritingHttpClient


def client_for(url: str, user: str, secret: str, account_sid: str | None = None) -> Client:
    return Client(user, secret, account_sid=account_sid, http_client=RewritingHttpClient(url))


def test_wrong_token_is_401_20003(emulator_url: str, twilio_account: TwilioAccount) -> None:
    client = client_for(emulator_url, twilio_account.sid, "not-the-token")
    with pytest.raises(TwilioRestException) as err:
        client.api.v2010.accounts(twilio_account.sid).fetch()
    assert (err.value.status, err.value.code) == (401, 20003)
    with pytest.raises(TwilioRestException) as err:
        client.trunking.v1.trunks.create()
    assert err.value.status == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!"},
        basic("nobody", "x"),
        basic("AC" + "0" * 32, "x"),
    ],
    ids=["none", "bearer", "bad-base64", "unknown-user", "unknown-account"],
)
def test_bad_credentials_raw(emulator_url: str, emulator: EmulatorAdmin, headers: dict[str, str]) -> None:
    assert_twilio_error(raw(emulator_url, "GET", "/v1/Trunks", headers=headers), 401, 20003)
    logged = emulator.requests()[-1]
    assert (logged["status"], logged["account_sid"]) == (401, None)


def test_api_key_auth(emulator_url: str, twilio_account: TwilioAccount, emulator: EmulatorAdmin) -> None:
    key = twilio_account.api_keys[0]
    client = client_for(emulator_url, key.sid, key.secret, account_sid=twilio_account.sid)
    assert client.api.v2010.accounts(twilio_account.sid).fetch().sid == twilio_account.sid
    trunk = client.trunking.v1.trunks.create(friendly_name="by key")
    assert trunk.account_sid == twilio_account.sid
    assert emulator.requests()[-1]["account_sid"] == twilio_account.sid

    wrong_secret = client_for(emulator_url, key.sid, "wrong", account_sid=twilio_account.sid)
    with pytest.raises(TwilioException) as page_err:  # list errors are plain TwilioExceptions
        wrong_secret.trunking.v1.trunks.list()
    assert page_err.value.args[1].status_code == 401


def test_api_key_of_another_account_on_2010_path(
    emulator_url: str, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    other = TwilioAccount.create(emulator, api_keys=[{}])
    key = other.api_keys[0]
    client = client_for(emulator_url, key.sid, key.secret, account_sid=twilio_account.sid)
    with pytest.raises(TwilioRestException) as err:
        client.api.v2010.accounts(twilio_account.sid).sip.credential_lists.create(friendly_name="x")
    assert (err.value.status, err.value.code) == (401, 20003)


def test_resources_of_another_account_are_404(
    emulator_url: str, twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    trunk = twilio_client.trunking.v1.trunks.create()
    cred_list = twilio_client.api.v2010.accounts(twilio_account.sid).sip.credential_lists.create(
        friendly_name="x"
    )
    other = TwilioAccount.create(emulator)
    intruder = client_for(emulator_url, other.sid, other.auth_token)
    with pytest.raises(TwilioRestException) as err:
        intruder.trunking.v1.trunks(trunk.sid).fetch()
    assert (err.value.status, err.value.code) == (404, 20404)
    assert intruder.trunking.v1.trunks.list() == []
    # Linking a credential list of another account to one's own trunk is a 404 too.
    own = intruder.trunking.v1.trunks.create()
    with pytest.raises(TwilioRestException) as err:
        intruder.trunking.v1.trunks(own.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    assert err.value.status == 404


@pytest.mark.parametrize("status", ["suspended", "closed"])
@pytest.mark.parametrize(
    ("mode", "answer"),
    [(None, (403, 20403)), ("forbidden", (403, 20403)), ("reject", (401, 20005))],
)
@pytest.mark.parametrize("strict", [False, True])  # documented: the same in both modes
def test_inactive_account_is_refused(
    emulator_url: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    status: str,
    mode: str | None,
    answer: tuple[int, int],
    strict: bool,
) -> None:
    """Default: 403 / 20403, twilio.com/docs/api/errors/20403 ("Typically this means the account has
    been suspended or closed"); mode reject: 401 / 20005."""
    emulator.configure(strict=strict)
    emulator.patch_account(twilio_account.sid, status=status, suspension_mode=mode)
    for path in (f"/2010-04-01/Accounts/{twilio_account.sid}.json", "/v1/Trunks"):
        response = raw(emulator_url, "GET", path, headers=account_auth(twilio_account))
        assert_twilio_error(response, *answer)
    emulator.patch_account(twilio_account.sid, status="active")
    response = raw(
        emulator_url,
        "GET",
        f"/2010-04-01/Accounts/{twilio_account.sid}.json",
        headers=account_auth(twilio_account),
    )
    assert response.status == 200 and response.json()["status"] == "active"


def test_token_rotation(emulator_url: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> None:
    emulator.patch_account(twilio_account.sid, auth_token="new-token-0123456789")
    old = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account))
    assert_twilio_error(old, 401, 20003)
    new = raw(emulator_url, "GET", "/v1/Trunks", headers=basic(twilio_account.sid, "new-token-0123456789"))
    assert new.status == 200 and new.json()["trunks"] == []
