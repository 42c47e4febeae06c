"""Per-account concurrency (twilio.com/docs/api/errors/20429) and the documented quotas
(twilio.com/docs/sip-trunking/scale-and-limits, the SIP CredentialList resource page)."""

from __future__ import annotations

import threading
import time

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import RawResponse, account_auth, assert_twilio_error, basic, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.http import RewritingHttpClient

HEADER = "Twilio-Concurrent-Requests"
PASSWORD = "Str0ngPassword"


def test_every_answer_carries_the_concurrency_header(
    emulator_url: str, twilio_account: TwilioAccount
) -> None:
    ok = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account))
    assert (ok.status, ok.headers.get(HEADER)) == (200, "1")
    missing = raw(emulator_url, "GET", "/v1/Trunks/TK" + "0" * 32, headers=account_auth(twilio_account))
    assert (missing.status, missing.headers.get(HEADER)) == (404, "1")
    refused = raw(emulator_url, "GET", "/v1/Trunks", headers=basic(twilio_account.sid, "wrong"))
    assert (refused.status, refused.headers.get(HEADER)) == (401, "0")


def _hold_one_request(emulator: EmulatorAdmin, emulator_url: str, account: TwilioAccount) -> threading.Thread:
    """Start a request that the emulator holds for a while (a scripted delay), in a thread."""
    emulator.add_fault(r"/v1/Trunks", "delay", method="POST", delay_ms=3000)
    held = threading.Thread(
        target=raw, args=(emulator_url, "POST", "/v1/Trunks"), kwargs={"headers": account_auth(account)}
    )
    held.start()
    return held


def _until_refused(emulator_url: str, account: TwilioAccount, held: threading.Thread) -> RawResponse | None:
    """Poll with cheap reads while the held request is in flight; the first 429, if any."""
    while held.is_alive():
        response = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(account))
        if response.status == 429:
            return response
        time.sleep(0.01)
    return None


@pytest.mark.parametrize("how", ["account", "global"])
def test_concurrency_limit_answers_429_20429(
    emulator_url: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount, how: str
) -> None:
    if how == "account":
        emulator.patch_account(twilio_account.sid, concurrency_limit=1)
        assert emulator.get_account(twilio_account.sid)["concurrency_limit"] == 1
    else:
        emulator.configure(concurrency_limit=1)
    other = TwilioAccount.create(emulator)  # other accounts are not limited by this one's requests
    held = _hold_one_request(emulator, emulator_url, twilio_account)
    refused = _until_refused(emulator_url, twilio_account, held)
    other_ok = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(other))
    held.join()
    assert refused is not None, "no request was refused while one was in flight"
    assert_twilio_error(refused, 429, 20429)
    assert refused.headers.get(HEADER) == "1" and refused.headers.get("Retry-After") == "1"
    assert other_ok.status == 200
    after = raw(emulator_url, "GET", "/v1/Trunks", headers=account_auth(twilio_account))
    assert after.status == 200 and len(after.json()["trunks"]) == 1


def test_account_limit_wins_over_the_global_one(
    emulator_url: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    emulator.configure(concurrency_limit=1)
    emulator.patch_account(twilio_account.sid, concurrency_limit=0)  # 0: unlimited for this account
    held = _hold_one_request(emulator, emulator_url, twilio_account)
    refused = _until_refused(emulator_url, twilio_account, held)
    held.join()
    assert refused is None
    assert emulator.clear_concurrency_limit(twilio_account.sid)["concurrency_limit"] is None


def test_default_quotas(emulator: EmulatorAdmin) -> None:
    full = emulator.create_account()
    assert full["quotas"] == {
        "credential_lists": 100,
        "credentials_per_list": 1000,
        "ip_access_control_lists": 1000,
        "ip_addresses_per_list": 100,
        "trunk_phone_numbers": 1_000_000_000,
        "trunks": 100,
    }
    trial = emulator.create_account(type="Trial")
    assert (trial["quotas"]["trunks"], trial["quotas"]["trunk_phone_numbers"]) == (1, 1)


def test_trial_account_gets_one_trunk_and_one_number(emulator_url: str, emulator: EmulatorAdmin) -> None:
    account = TwilioAccount.create(emulator, type="Trial", incoming_phone_numbers=[{}, {}])
    client = Client(account.sid, account.auth_token, http_client=RewritingHttpClient(emulator_url))
    trunk = client.trunking.v1.trunks.create()
    with pytest.raises(TwilioRestException) as err:
        client.trunking.v1.trunks.create()
    assert (err.value.status, err.value.code) == (400, 21244)  # "Maximum Number of Trunks reached"
    first, second = (n.sid for n in account.incoming_phone_numbers)
    client.trunking.v1.trunks(trunk.sid).phone_numbers.create(phone_number_sid=first)
    with pytest.raises(TwilioRestException) as err:
        client.api.v2010.accounts(account.sid).incoming_phone_numbers(second).update(trunk_sid=trunk.sid)
    assert (err.value.status, err.value.code) == (400, 20001)  # no code documented for this one
    with pytest.raises(TwilioRestException):
        client.trunking.v1.trunks(trunk.sid).phone_numbers.create(phone_number_sid=second)
    # Detaching frees the slot.
    client.trunking.v1.trunks(trunk.sid).phone_numbers(first).delete()
    client.trunking.v1.trunks(trunk.sid).phone_numbers.create(phone_number_sid=second)
    # Upgrading the account lifts the trial limits.
    emulator.patch_account(account.sid, type="Full")
    client.trunking.v1.trunks.create()


def test_quota_overrides(emulator_url: str, emulator: EmulatorAdmin) -> None:
    account = TwilioAccount.create(emulator, quotas={"credential_lists": 1, "credentials_per_list": 2})
    client = Client(account.sid, account.auth_token, http_client=RewritingHttpClient(emulator_url))
    sip = client.api.v2010.accounts(account.sid).sip
    cred_list = sip.credential_lists.create(friendly_name="only one")
    with pytest.raises(TwilioRestException) as err:
        sip.credential_lists.create(friendly_name="second")
    assert (err.value.status, err.value.code) == (400, 21239)  # "Maximum Credential Lists Reached"
    for user in ("a", "b"):
        sip.credential_lists(cred_list.sid).credentials.create(username=user, password=PASSWORD)
    with pytest.raises(TwilioRestException) as err:
        sip.credential_lists(cred_list.sid).credentials.create(username="c", password=PASSWORD)
    assert (err.value.status, err.value.code) == (400, 21242)  # "Maximum Credentials Reached for List"
    emulator.patch_account(account.sid, quotas={"trunks": 0})
    with pytest.raises(TwilioRestException) as err:
        client.trunking.v1.trunks.create()
    assert err.value.code == 21244
    assert emulator.state()["accounts"][0]["trunks"] == []
