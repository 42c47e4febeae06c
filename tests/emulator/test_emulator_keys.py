"""API key types (twilio.com/docs/iam/api-keys/key-resource-v1, twilio-python#259): Main keys do what
the Auth Token does, Standard keys everything but /Accounts and /Keys, Restricted keys only their
permissions (403 with 70051)."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import assert_twilio_error, basic, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError
from twilio_operator.emulator.context import permission_for
from twilio_operator.ports.twilio.http import RewritingHttpClient


def key_client(url: str, key_sid: str, secret: str, account_sid: str) -> Client:
    return Client(key_sid, secret, account_sid=account_sid, http_client=RewritingHttpClient(url))


def test_admin_default_key_type_is_main(emulator_url: str, twilio_account: TwilioAccount) -> None:
    key = twilio_account.api_keys[0]
    assert (key.type, key.permissions) == ("main", ())
    client = key_client(emulator_url, key.sid, key.secret, twilio_account.sid)
    assert client.api.v2010.accounts(twilio_account.sid).fetch().status == "active"


def test_standard_key_cannot_read_the_account_but_manages_trunking(
    emulator_url: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    sid = twilio_account.sid
    key = emulator.add_api_key(sid, type="standard")
    assert (key["type"], key["region"]) == ("standard", "us1")
    client = key_client(emulator_url, key["sid"], key["secret"], sid)
    with pytest.raises(TwilioRestException) as err:
        client.api.v2010.accounts(sid).fetch()
    assert (err.value.status, err.value.code) == (401, 20003)
    # /Keys is refused as well (the emulator serves no Keys resource, but the check comes first).
    keys = raw(
        emulator_url, "GET", f"/2010-04-01/Accounts/{sid}/Keys.json", headers=basic(key["sid"], key["secret"])
    )
    assert_twilio_error(keys, 401, 20003)

    trunk = client.trunking.v1.trunks.create(domain_name="standard-key.pstn.twilio.com")
    sip = client.api.v2010.accounts(sid).sip
    cred_list = sip.credential_lists.create(friendly_name="by standard key")
    sip.credential_lists(cred_list.sid).credentials.create(username="u1", password="Str0ngPassword")
    client.trunking.v1.trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    numbers = client.api.v2010.accounts(sid).incoming_phone_numbers.list(page_size=50)
    assert len(numbers) == 2
    updated = (
        client.api.v2010.accounts(sid).incoming_phone_numbers(numbers[0].sid).update(trunk_sid=trunk.sid)
    )
    assert updated.trunk_sid == trunk.sid
    client.routes.v2.trunks("standard-key.pstn.twilio.com").update(voice_region="ie1")


def test_restricted_key_has_only_its_permissions(
    emulator_url: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    sid = twilio_account.sid
    key = emulator.add_api_key(
        sid,
        type="restricted",
        permissions=["/twilio/trunking/trunks/read", "/twilio/api/incoming-phone-numbers/read"],
    )
    client = key_client(emulator_url, key["sid"], key["secret"], sid)
    assert client.trunking.v1.trunks.list() == []
    assert len(client.api.v2010.accounts(sid).incoming_phone_numbers.list()) == 2
    for call in (
        lambda: client.trunking.v1.trunks.create(friendly_name="nope"),
        lambda: client.api.v2010.accounts(sid).fetch(),
        lambda: client.api.v2010.accounts(sid).sip.credential_lists.create(friendly_name="nope"),
    ):
        with pytest.raises(TwilioRestException) as err:
            call()
        assert (err.value.status, err.value.code) == (403, 70051)
    assert emulator.state()["accounts"][0]["trunks"] == []


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "/v1/Trunks", "/twilio/trunking/trunks/read"),
        ("POST", "/v1/Trunks", "/twilio/trunking/trunks/create"),
        ("POST", "/v1/Trunks/TK" + "a" * 32, "/twilio/trunking/trunks/update"),
        ("DELETE", "/v1/Trunks/TK" + "a" * 32, "/twilio/trunking/trunks/delete"),
        (
            "POST",
            "/v1/Trunks/TK" + "a" * 32 + "/CredentialLists",
            "/twilio/trunking/trunks/credential-lists/create",
        ),
        ("POST", "/v1/Trunks/TK" + "a" * 32 + "/Recording", "/twilio/trunking/trunks/recording/update"),
        (
            "POST",
            "/2010-04-01/Accounts/AC1/SIP/CredentialLists.json",
            "/twilio/api/sip/credential-lists/create",
        ),
        (
            "POST",
            "/2010-04-01/Accounts/AC1/SIP/CredentialLists/CL1/Credentials/CR1.json",
            "/twilio/api/sip/credential-lists/credentials/update",
        ),
        (
            "GET",
            "/2010-04-01/Accounts/AC1/IncomingPhoneNumbers.json",
            "/twilio/api/incoming-phone-numbers/read",
        ),
        ("POST", "/v2/Trunks/a.pstn.twilio.com", "/twilio/routes/trunks/update"),
        ("GET", "/v2/PhoneNumbers/+15005550006", "/twilio/routes/phone-numbers/read"),
        ("GET", "/2010-04-01/Accounts/AC1.json", None),
        ("GET", "/2010-04-01/Accounts/AC1/Keys.json", None),
    ],
)
def test_permission_names(method: str, path: str, permission: str | None) -> None:
    assert permission_for(method, path) == permission


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "owner"},
        {"type": "standard", "permissions": ["/twilio/trunking/trunks/read"]},
        {"type": "restricted", "permissions": "all"},
    ],
    ids=["unknown-type", "permissions-on-standard", "permissions-not-a-list"],
)
def test_admin_refuses_bad_key_specs(emulator: EmulatorAdmin, spec: dict[str, Any]) -> None:
    with pytest.raises(EmulatorAdminError) as err:
        emulator.create_account(api_keys=[spec])
    assert err.value.status == 400
