"""The admin API: request log, region hosts, state dump, bulk numbers, reset, --state seeding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from twilio.rest import Client

from emulator.helpers import basic, raw
from fixtures.emulator import TwilioAccount, start_emulator, stop
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError
from twilio_operator.ports.twilio.http import RewritingHttpClient


def test_request_log_contents(
    emulator: EmulatorAdmin, twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    twilio_client.api.v2010.accounts(twilio_account.sid).fetch()
    trunk = twilio_client.trunking.v1.trunks.create()
    twilio_client.trunking.v1.trunks.list(page_size=5)
    log = emulator.requests()
    assert [(r["method"], r["path"], r["status"], r["write"]) for r in log] == [
        ("GET", f"/2010-04-01/Accounts/{twilio_account.sid}.json", 200, False),
        ("POST", "/v1/Trunks", 201, True),
        ("GET", "/v1/Trunks", 200, False),
    ]
    assert [r["host"] for r in log] == ["api.twilio.com", "trunking.twilio.com", "trunking.twilio.com"]
    assert all(r["account_sid"] == twilio_account.sid for r in log)
    assert log[2]["query"] == "PageSize=5"
    assert all(isinstance(r["duration_ms"], float) and r["time"] > 0 for r in log)
    assert [r["seq"] for r in emulator.requests(since=log[0]["seq"])] == [log[1]["seq"], log[2]["seq"]]
    assert trunk.sid not in json.dumps(log)  # the log holds paths, not bodies
    assert twilio_account.auth_token not in json.dumps(log)
    emulator.clear_requests()
    assert emulator.requests() == []


@pytest.mark.parametrize(
    ("region", "edge", "host"),
    [("ie1", "dublin", "trunking.dublin.ie1.twilio.com"), (None, "dublin", "trunking.dublin.us1.twilio.com")],
)
def test_original_host_is_logged_for_regions(
    emulator: EmulatorAdmin,
    emulator_url: str,
    twilio_account: TwilioAccount,
    region: str | None,
    edge: str | None,
    host: str,
) -> None:
    client = Client(
        twilio_account.sid,
        twilio_account.auth_token,
        region=region,
        edge=edge,
        http_client=RewritingHttpClient(emulator_url),
    )
    for _ in range(3):
        client.trunking.v1.trunks.create()
    emulator.clear_requests()
    assert len(client.trunking.v1.trunks.list(page_size=2)) == 3  # the next page keeps the region
    assert [r["host"] for r in emulator.requests()] == [host, host]


def test_state_dump_has_no_secrets(
    emulator: EmulatorAdmin, twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    trunk = twilio_client.trunking.v1.trunks.create(domain_name="dump.pstn.twilio.com")
    cred_list = sip.credential_lists.create(friendly_name="dump")
    sip.credential_lists(cred_list.sid).credentials.create(username="dumper", password="Secr3tPassword")
    twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    twilio_client.routes.v2.trunks("dump.pstn.twilio.com").update(voice_region="ie1")
    state = emulator.state()
    text = json.dumps(state)
    for secret in ("Secr3tPassword", twilio_account.auth_token, twilio_account.api_keys[0].secret):
        assert secret not in text
    (account,) = state["accounts"]
    assert account["trunks"][0]["credential_list_sids"] == [cred_list.sid]
    assert account["credential_lists"][0]["credentials"][0]["username"] == "dumper"
    assert account["routes"][0]["voice_region"] == "ie1"
    assert len(account["incoming_phone_numbers"]) == 2


def test_bulk_numbers_and_patch(emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> None:
    added = emulator.add_numbers(twilio_account.sid, count=2000)
    assert len(added) == 2000 and len({n["sid"] for n in added}) == 2000
    explicit = emulator.add_numbers(
        twilio_account.sid, numbers=[{"phone_number": "+15559990001", "sid": "PN" + "1" * 32}]
    )
    assert explicit[0]["sid"] == "PN" + "1" * 32
    with pytest.raises(EmulatorAdminError) as err:  # one account holds a number once
        emulator.add_numbers(twilio_account.sid, numbers=[{"phone_number": "+15559990001"}])
    assert err.value.status == 409
    with pytest.raises(EmulatorAdminError) as err:
        emulator.add_numbers(twilio_account.sid, count=0)
    assert err.value.status == 400
    with pytest.raises(EmulatorAdminError) as err:
        emulator.patch_account("AC" + "f" * 32, status="suspended")
    assert err.value.status == 404


def test_create_account_with_given_sids(emulator: EmulatorAdmin, emulator_url: str) -> None:
    sid, token = "AC" + "ab" * 16, "tok-" + "x" * 28
    account = emulator.create_account(
        sid=sid, auth_token=token, type="Trial", api_keys=[{"sid": "SK" + "cd" * 16, "secret": "s3cret"}]
    )
    assert (account["sid"], account["auth_token"], account["type"]) == (sid, token, "Trial")
    response = raw(emulator_url, "GET", f"/2010-04-01/Accounts/{sid}.json", headers=basic(sid, token))
    assert response.json()["type"] == "Trial"
    with pytest.raises(EmulatorAdminError) as err:
        emulator.create_account(sid=sid)
    assert err.value.status == 409
    with pytest.raises(EmulatorAdminError) as err:
        emulator.create_account(status="frozen")
    assert err.value.status == 400


def test_reset_forgets_everything(emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> None:
    emulator.add_fault("/v1/Trunks", "error")
    emulator.reset()
    assert emulator.state() == {"accounts": [], "reserved_domains": []}
    assert emulator.faults() == [] and emulator.requests() == []


def test_state_file_seeds_accounts(tmp_path: Path) -> None:
    sid = "AC" + "5" * 32
    state = {
        "accounts": [
            {
                "sid": sid,
                "auth_token": "seeded-token",
                "incoming_phone_numbers": [{"phone_number": "+15551112222", "sid": "PN" + "6" * 32}],
            }
        ]
    }
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    process, url = start_emulator(tmp_path / "seeded.log", "--state", str(state_file), "--latency-ms", "1")
    try:
        client = Client(sid, "seeded-token", http_client=RewritingHttpClient(url))
        numbers = client.api.v2010.accounts(sid).incoming_phone_numbers.list()
        assert [n.sid for n in numbers] == ["PN" + "6" * 32]
        admin = EmulatorAdmin(url)
        assert admin.configure()["latency_ms"] == 1
        assert admin.contract_checking() is False  # no --openapi-dir given
        admin.reset()  # the seed survives a reset
        assert [a["sid"] for a in admin.state()["accounts"]] == [sid]
    finally:
        stop(process)


def test_number_lifecycle_admin_calls(emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> None:
    sid = twilio_account.sid
    generated = emulator.add_available_numbers(count=2, area_code="212", price="2.50", bundle_required=True)
    assert [(n["phone_number"], n["price"], n["bundle_required"]) for n in generated] == [
        ("+12125550001", "2.50", True),
        ("+12125550002", "2.50", True),
    ]
    assert len(emulator.available_numbers()) == 2
    emulator.clear_available_numbers()
    assert emulator.available_numbers() == []
    assert emulator.get_account(sid)["balance"] == "1000.00"
    assert emulator.patch_account(sid, balance="12.5")["balance"] == "12.50"
    bad_calls = [
        lambda: emulator.add_available_numbers([{"phone_number": "12345"}]),
        lambda: emulator.add_available_numbers(count=1, type="premium"),
        lambda: emulator.add_available_numbers(count=0),
        lambda: emulator.patch_account(sid, balance=-1),
        lambda: emulator.add_address_rule("x", "explode"),
        lambda: emulator.patch_number(sid, "+15005550006", voice={"mars": {}}),
        lambda: emulator.patch_number(sid, "+15005550006", emergency_address_sid="AD" + "0" * 32),
        lambda: emulator.create_account(incoming_phone_numbers=[{"type": "premium"}]),
    ]
    for call in bad_calls:
        with pytest.raises(EmulatorAdminError) as err:
            call()
        assert err.value.status == 400
    for call in (
        lambda: emulator.patch_number(sid, "+19999999999", friendly_name="x"),
        lambda: emulator.patch_address(sid, "AD" + "0" * 32, verified=True),
    ):
        with pytest.raises(EmulatorAdminError) as err:
            call()
        assert err.value.status == 404
    rule = emulator.add_address_rule("Nowhere", message="no such street")
    assert rule == {"street_contains": "Nowhere", "action": "reject", "message": "no such street"}
    emulator.reset()
    assert emulator.available_numbers() == []
