"""Deletes meet dependencies. Default: the assumed cascades (a deleted list is unlinked, a deleted trunk
drops its links, origination URLs and numbers). Strict mode: refused with the catalogue's codes, 21241
(credential list), 21236 (IP access control list), 21247 (trunk) - unconfirmed for trunks, the
catalogue names SIP Domains. Documented in both modes: 21247 for a trunk with subdomains (see
test_emulator_numbers_global) and 21634 for a trunk whose numbers have an emergency address."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin

PASSWORD = "Str0ngPassword"


def build(client: Client, account: TwilioAccount) -> dict[str, Any]:
    """A trunk with every kind of subresource: a credential list, an IP ACL, an origination URL, a number."""
    sip = client.api.v2010.accounts(account.sid).sip
    cred_list = sip.credential_lists.create(friendly_name="creds")
    acl = sip.ip_access_control_lists.create(friendly_name="pbx")
    trunk = client.trunking.v1.trunks.create(domain_name="deps.pstn.twilio.com")
    links = client.trunking.v1.trunks(trunk.sid)
    links.credentials_lists.create(credential_list_sid=cred_list.sid)
    links.ip_access_control_lists.create(ip_access_control_list_sid=acl.sid)
    origination = links.origination_urls.create(
        weight=1, priority=1, enabled=True, friendly_name="pbx", sip_url="sip:pbx.example.com"
    )
    number = account.incoming_phone_numbers[0].sid
    client.api.v2010.accounts(account.sid).incoming_phone_numbers(number).update(trunk_sid=trunk.sid)
    return {"cl": cred_list.sid, "al": acl.sid, "tk": trunk.sid, "ou": origination.sid, "pn": number}


def refused(call: Any) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as err:
        call()
    return err.value.status, int(err.value.code)


def test_default_mode_cascades(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    made = build(twilio_client, twilio_account)
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    sip.credential_lists(made["cl"]).delete()
    sip.ip_access_control_lists(made["al"]).delete()
    twilio_client.trunking.v1.trunks(made["tk"]).delete()
    number = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers(made["pn"]).fetch()
    assert number.trunk_sid is None
    assert emulator.state()["accounts"][0]["trunks"] == []


def test_strict_mode_refuses_deletes_with_dependencies(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    made = build(twilio_client, twilio_account)
    emulator.configure(strict=True)
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    trunk = twilio_client.trunking.v1.trunks(made["tk"])
    assert refused(lambda: sip.credential_lists(made["cl"]).delete()) == (400, 21241)
    assert refused(lambda: sip.ip_access_control_lists(made["al"]).delete()) == (400, 21236)
    assert refused(trunk.delete) == (400, 21247)
    # The explicit order works in both worlds: numbers, origination URLs, links, lists, the trunk.
    trunk.phone_numbers(made["pn"]).delete()
    assert refused(trunk.delete) == (400, 21247)
    trunk.origination_urls(made["ou"]).delete()
    trunk.credentials_lists(made["cl"]).delete()
    trunk.ip_access_control_lists(made["al"]).delete()
    sip.credential_lists(made["cl"]).delete()
    sip.ip_access_control_lists(made["al"]).delete()
    trunk.delete()
    assert emulator.state()["accounts"][0]["trunks"] == []


@pytest.mark.parametrize("strict", [False, True])
def test_trunk_with_emergency_numbers_cannot_be_deleted(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin, strict: bool
) -> None:
    """Catalogue 21634 "SIP Trunk is in use for emergency calling"."""
    emulator.configure(strict=strict)
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    address = api.addresses.create(
        customer_name="Acme",
        street="1 Main St",
        city="Springfield",
        region="IL",
        postal_code="62701",
        iso_country="US",
        emergency_enabled=True,
    )
    trunk = twilio_client.trunking.v1.trunks.create()
    number = twilio_account.incoming_phone_numbers[0].sid
    api.incoming_phone_numbers(number).update(trunk_sid=trunk.sid, emergency_address_sid=address.sid)
    assert refused(twilio_client.trunking.v1.trunks(trunk.sid).delete) == (400, 21634)
    api.incoming_phone_numbers(number).update(emergency_address_sid="")
    if strict:
        api.incoming_phone_numbers(number).update(
            voice_application_sid="AP" + "a" * 32
        )  # a detach strict allows
    twilio_client.trunking.v1.trunks(trunk.sid).delete()


def test_credential_errors_use_the_catalogue_codes(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    """21240 lists the password and username rules; 21243 is the generic Credential code (strict mode
    uses it for the rules; a duplicate username is undocumented: 21243, strict 90000). A second list
    with the same FriendlyName: 21240 in strict mode ("may already exist", unconfirmed)."""
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    cred_list = sip.credential_lists.create(friendly_name="same")
    credentials = sip.credential_lists(cred_list.sid).credentials
    credentials.create(username="taken", password=PASSWORD)
    cases = [
        lambda: credentials.create(username="u", password="short"),
        lambda: credentials.create(username="u" * 33, password=PASSWORD),
        lambda: credentials.create(username="taken", password=PASSWORD),
    ]
    assert [refused(c) for c in cases] == [(400, 21240), (400, 21240), (400, 21243)]
    assert sip.credential_lists.create(friendly_name="same").friendly_name == "same"
    emulator.configure(strict=True)
    assert [refused(c) for c in cases] == [(400, 21243), (400, 21243), (400, 90000)]
    assert refused(lambda: sip.credential_lists.create(friendly_name="same")) == (400, 21240)
