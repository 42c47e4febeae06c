"""Would a call be admitted (/_emulator/call-auth)? Each attached method is checked; with both an IP ACL
and a credential list on the trunk, one passing suffices by default and both must pass in strict mode
(reports say both are required; unconfirmed)."""

from __future__ import annotations

import pytest
from twilio.rest import Client

from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin, EmulatorAdminError

DOMAIN = "admit.pstn.twilio.com"
PASSWORD = "Str0ngPassword"
OFFICE, STRANGER = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def trunk(twilio_client: Client, twilio_account: TwilioAccount) -> str:
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    trunk = twilio_client.trunking.v1.trunks.create(domain_name=DOMAIN)
    cred_list = sip.credential_lists.create(friendly_name="creds")
    sip.credential_lists(cred_list.sid).credentials.create(username="pbx", password=PASSWORD)
    twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    return str(trunk.sid)


def attach_acl(client: Client, account: TwilioAccount, trunk: str) -> None:
    sip = client.api.v2010.accounts(account.sid).sip
    acl = sip.ip_access_control_lists.create(friendly_name="office")
    sip.ip_access_control_lists(acl.sid).ip_addresses.create(friendly_name="o", ip_address="198.51.100.0/24")
    client.trunking.v1.trunks(trunk).ip_access_control_lists.create(ip_access_control_list_sid=acl.sid)


def admitted(emulator: EmulatorAdmin, source_ip: str | None, password: str | None) -> bool:
    username = "pbx" if password else None
    return bool(emulator.call_auth(DOMAIN, source_ip=source_ip, username=username, password=password)["ok"])


def test_credentials_alone(emulator: EmulatorAdmin, trunk: str) -> None:
    result = emulator.call_auth(DOMAIN, source_ip=STRANGER, username="pbx", password=PASSWORD)
    assert (result["ok"], result["ip"], result["credentials"]["ok"]) == (True, None, True)
    assert not admitted(emulator, STRANGER, "Wr0ngPassword123")


@pytest.mark.parametrize(
    ("strict", "expected"),
    [
        # (source, password) -> admitted
        (
            False,
            {
                (OFFICE, PASSWORD): True,
                (OFFICE, None): True,
                (STRANGER, PASSWORD): True,
                (STRANGER, None): False,
            },
        ),
        (
            True,
            {
                (OFFICE, PASSWORD): True,
                (OFFICE, None): False,
                (STRANGER, PASSWORD): False,
                (STRANGER, None): False,
            },
        ),
    ],
)
def test_acl_and_credentials_either_or_both(
    twilio_client: Client,
    twilio_account: TwilioAccount,
    emulator: EmulatorAdmin,
    trunk: str,
    strict: bool,
    expected: dict[tuple[str, str | None], bool],
) -> None:
    attach_acl(twilio_client, twilio_account, trunk)
    assert emulator.configure(strict=strict)["strict"] is strict
    seen = {(ip, pw): admitted(emulator, ip, pw) for ip, pw in expected}
    assert seen == expected
    detail = emulator.call_auth(DOMAIN, source_ip=OFFICE)
    assert detail["mode"] == ("both" if strict else "either")
    assert (detail["ip"]["ok"], detail["credentials"]["ok"]) == (True, False)


def test_trunk_without_authentication_admits_nothing(twilio_client: Client, emulator: EmulatorAdmin) -> None:
    twilio_client.trunking.v1.trunks.create(domain_name="bare.pstn.twilio.com")
    result = emulator.call_auth("bare.pstn.twilio.com", source_ip=OFFICE, username="pbx", password=PASSWORD)
    assert result["ok"] is False and "auth_type is empty" in result["reason"]
    assert emulator.call_auth("nobody.pstn.twilio.com")["ok"] is False
    with pytest.raises(EmulatorAdminError) as err:
        emulator.call_auth(DOMAIN, region="mars")
    assert err.value.status == 400
