"""Processing regions (twilio.com/docs/global-infrastructure/manage-regional-api-credentials): a token
or key works only in the region that created it, and each region's data is separate. The region is
read from the Twilio host the client aimed at (X-Twilio-Original-Host)."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import assert_twilio_error, basic, raw
from fixtures.emulator import TwilioAccount, account_state
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError
from twilio_operator.ports.twilio.http import RewritingHttpClient

IE1 = {"region": "ie1", "edge": "dublin"}
AU1 = {"region": "au1", "edge": "sydney"}


def client(url: str, user: str, secret: str, account_sid: str | None = None, **where: str) -> Client:
    return Client(user, secret, account_sid=account_sid, http_client=RewritingHttpClient(url), **where)


@pytest.fixture
def regional(emulator: EmulatorAdmin) -> dict[str, Any]:
    """An account with distinct credentials in us1 and ie1, and none in au1."""
    return emulator.create_account(
        api_keys=[{}],
        incoming_phone_numbers=[{"phone_number": "+15005550100"}],
        regions={"ie1": {"api_keys": [{}], "incoming_phone_numbers": [{"phone_number": "+353100000001"}]}},
    )


def test_tokens_work_only_in_their_region(emulator_url: str, regional: dict[str, Any]) -> None:
    sid = regional["sid"]
    us1_token, ie1_token = regional["auth_token"], regional["regions"]["ie1"]["auth_token"]
    assert us1_token != ie1_token
    assert client(emulator_url, sid, us1_token).api.v2010.accounts(sid).fetch().sid == sid
    assert client(emulator_url, sid, ie1_token, **IE1).api.v2010.accounts(sid).fetch().sid == sid
    for token, where in ((us1_token, IE1), (ie1_token, {}), (us1_token, AU1)):
        with pytest.raises(TwilioRestException) as err:
            client(emulator_url, sid, token, **where).trunking.v1.trunks.create()
        assert (err.value.status, err.value.code) == (401, 20003)


def test_api_keys_work_only_in_their_region(emulator_url: str, regional: dict[str, Any]) -> None:
    sid = regional["sid"]
    us1_key, ie1_key = regional["api_keys"][0], regional["regions"]["ie1"]["api_keys"][0]
    assert client(emulator_url, ie1_key["sid"], ie1_key["secret"], sid, **IE1).trunking.v1.trunks.list() == []
    for key, where in ((us1_key, IE1), (ie1_key, {})):
        with pytest.raises(TwilioRestException) as err:
            client(emulator_url, key["sid"], key["secret"], sid, **where).trunking.v1.trunks.create()
        assert err.value.status == 401


def test_data_of_regions_is_separate_but_numbers_are_global(
    emulator_url: str, regional: dict[str, Any], emulator: EmulatorAdmin
) -> None:
    sid = regional["sid"]
    us1 = client(emulator_url, sid, regional["auth_token"])
    ie1 = client(emulator_url, sid, regional["regions"]["ie1"]["auth_token"], **IE1)
    trunk = ie1.trunking.v1.trunks.create(domain_name="dublin-only.pstn.twilio.com")
    ie1.api.v2010.accounts(sid).sip.credential_lists.create(friendly_name="ie1 list")
    assert [t.sid for t in ie1.trunking.v1.trunks.list()] == [trunk.sid]
    assert us1.trunking.v1.trunks.list() == []
    assert us1.api.v2010.accounts(sid).sip.credential_lists.list() == []
    with pytest.raises(TwilioRestException) as err:
        us1.trunking.v1.trunks(trunk.sid).fetch()
    assert err.value.status == 404
    # Numbers are the account's in every home region (regional-migration-best-practices).
    both = ["+15005550100", "+353100000001"]
    assert [n.phone_number for n in us1.api.v2010.accounts(sid).incoming_phone_numbers.list()] == both
    assert [n.phone_number for n in ie1.api.v2010.accounts(sid).incoming_phone_numbers.list()] == both
    # Another account cannot take the domain; this account may hold it once more in another region.
    other = TwilioAccount.create(emulator)
    with pytest.raises(TwilioRestException) as err:
        client(emulator_url, other.sid, other.auth_token).trunking.v1.trunks.create(
            domain_name="dublin-only.pstn.twilio.com"
        )
    assert err.value.code == 21248
    twin = us1.trunking.v1.trunks.create(domain_name="dublin-only.pstn.twilio.com")
    assert twin.sid != trunk.sid
    state = account_state(emulator, sid)
    assert sorted((t["sid"], t["region"]) for t in state["trunks"]) == sorted(
        [(trunk.sid, "ie1"), (twin.sid, "us1")]
    )
    assert state["regions"] == ["ie1", "us1"]


@pytest.mark.parametrize(
    ("host", "works_with"),  # works_with None: no credentials work
    [
        ("api.twilio.com", "us1"),
        ("api.us1.twilio.com", "us1"),
        ("api.dublin.ie1.twilio.com", "ie1"),
        ("api.ie1.twilio.com", None),  # retired on 2026-04-28
        ("trunking.au1.twilio.com", None),
        ("api.sydney.au1.twilio.com", "au1"),
        ("api.frankfurt.de1.twilio.com", "us1"),  # not a processing region
        (None, "us1"),  # no original host: the emulator's own
    ],
)
def test_region_is_read_from_the_original_host(
    emulator_url: str, emulator: EmulatorAdmin, host: str | None, works_with: str | None
) -> None:
    account = emulator.create_account(regions={"ie1": {}, "au1": {}})
    for region, creds in account["regions"].items():
        headers = basic(account["sid"], creds["auth_token"])
        if host:
            headers["X-Twilio-Original-Host"] = host
        response = raw(emulator_url, "GET", f"/2010-04-01/Accounts/{account['sid']}.json", headers=headers)
        if works_with is None:
            assert_twilio_error(response, 404, 20404)
        elif region == works_with:
            assert response.status == 200, (region, response.body)
            assert response.json()["auth_token"] == creds["auth_token"]
        else:
            assert_twilio_error(response, 401, 20003)


def test_admin_adds_regions_keys_and_numbers(emulator_url: str, emulator: EmulatorAdmin) -> None:
    account = emulator.create_account(region="au1", incoming_phone_numbers=[{}])
    assert (account["region"], list(account["regions"])) == ("au1", ["au1"])
    sid = account["sid"]
    added = emulator.add_region(sid, "ie1", auth_token="f" * 32, incoming_phone_numbers=[{}, {}])
    # Numbers are the account's: the region lists all three.
    assert (added["region"], added["auth_token"], len(added["incoming_phone_numbers"])) == (
        "ie1",
        "f" * 32,
        3,
    )
    emulator.add_numbers(sid, count=3, region="ie1")
    key = emulator.add_api_key(sid, region="ie1", type="standard")
    assert key["region"] == "ie1"
    ie1 = client(emulator_url, key["sid"], key["secret"], sid, **IE1)
    assert len(ie1.api.v2010.accounts(sid).incoming_phone_numbers.list()) == 6
    au1 = client(emulator_url, sid, account["auth_token"], **AU1)
    assert len(au1.api.v2010.accounts(sid).incoming_phone_numbers.list()) == 6
    with pytest.raises(EmulatorAdminError) as err:  # changelog 2025-12-10: restricted keys are US1 only
        emulator.add_api_key(sid, region="ie1", type="restricted", permissions=[])
    assert err.value.status == 400 and "us1" in err.value.body
    emulator.patch_account(sid, region="ie1", auth_token="e" * 32)
    assert emulator.get_account(sid)["regions"]["ie1"]["auth_token"] == "e" * 32
    for bad in ("us2", "de1", "mars"):
        with pytest.raises(EmulatorAdminError) as err:
            emulator.add_region(sid, bad)
        assert err.value.status == 400
