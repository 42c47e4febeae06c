"""The full provisioning flow through the official twilio library, sync and async."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin

PASSWORD = "Str0ngPassword"


def test_sync_provisioning_flow(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    account_sid = twilio_account.sid
    account = twilio_client.api.v2010.accounts(account_sid).fetch()
    assert (account.sid, account.status, account.type) == (account_sid, "active", "Full")
    assert account.auth_token == twilio_account.auth_token

    trunk = twilio_client.trunking.v1.trunks.create(
        friendly_name="tp-1", domain_name="flow-sync.pstn.twilio.com"
    )
    assert trunk.sid.startswith("TK") and len(trunk.sid) == 34
    assert (trunk.domain_name, trunk.transfer_mode, trunk.transfer_caller_id) == (
        "flow-sync.pstn.twilio.com",
        "disable-all",
        "from-transferee",
    )
    assert trunk.auth_type == ""
    assert trunk.date_created is not None and trunk.date_created.tzinfo is not None

    sip = twilio_client.api.v2010.accounts(account_sid).sip
    cred_list = sip.credential_lists.create(friendly_name="tp-1-creds")
    credential = sip.credential_lists(cred_list.sid).credentials.create(username="user1", password=PASSWORD)
    assert credential.credential_list_sid == cred_list.sid
    assert not hasattr(credential, "password")

    link = twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.create(
        credential_list_sid=cred_list.sid
    )
    assert (link.sid, link.trunk_sid, link.friendly_name) == (cred_list.sid, trunk.sid, "tp-1-creds")
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().auth_type == "CREDENTIAL_LIST"

    origination = twilio_client.trunking.v1.trunks(trunk.sid).origination_urls.create(
        weight=10, priority=1, enabled=True, friendly_name="agent", sip_url="sip:agent@example.com"
    )
    assert (origination.weight, origination.priority, origination.enabled) == (10, 1, True)
    updated = (
        twilio_client.trunking.v1.trunks(trunk.sid).origination_urls(origination.sid).update(enabled=False)
    )
    assert updated.enabled is False

    first, second = (n.sid for n in twilio_account.incoming_phone_numbers)
    number = (
        twilio_client.api.v2010.accounts(account_sid)
        .incoming_phone_numbers(first)
        .update(trunk_sid=trunk.sid)
    )
    assert number.trunk_sid == trunk.sid
    attached = twilio_client.trunking.v1.trunks(trunk.sid).phone_numbers.create(phone_number_sid=second)
    assert attached.trunk_sid == trunk.sid
    on_trunk = twilio_client.trunking.v1.trunks(trunk.sid).phone_numbers.list(page_size=50)
    assert {n.sid for n in on_trunk} == {first, second}

    route = twilio_client.routes.v2.trunks("flow-sync.pstn.twilio.com").update(voice_region="ie1")
    assert route.voice_region == "ie1" and route.sid.startswith("QQ")
    assert twilio_client.routes.v2.trunks("flow-sync.pstn.twilio.com").fetch().voice_region == "ie1"

    updated_trunk = twilio_client.trunking.v1.trunks(trunk.sid).update(transfer_mode="enable-all")
    assert updated_trunk.transfer_mode == "enable-all"

    assert emulator.sip_auth("flow-sync.pstn.twilio.com", "user1", PASSWORD)
    assert not emulator.sip_auth("flow-sync.pstn.twilio.com", "user1", PASSWORD + "x")


async def test_async_provisioning_flow(async_twilio_client: Client, twilio_account: TwilioAccount) -> None:
    client = async_twilio_client
    account_sid = twilio_account.sid
    assert (await client.api.v2010.accounts(account_sid).fetch_async()).status == "active"
    trunk = await client.trunking.v1.trunks.create_async(domain_name="flow-async.pstn.twilio.com")
    sip = client.api.v2010.accounts(account_sid).sip
    cred_list = await sip.credential_lists.create_async(friendly_name="async-creds")
    await sip.credential_lists(cred_list.sid).credentials.create_async(username="u", password=PASSWORD)
    await client.trunking.v1.trunks(trunk.sid).credentials_lists.create_async(
        credential_list_sid=cred_list.sid
    )
    await client.trunking.v1.trunks(trunk.sid).origination_urls.create_async(
        weight=1, priority=1, enabled=True, friendly_name="o", sip_url="sip:o@example.com"
    )
    number_sid = twilio_account.incoming_phone_numbers[0].sid
    await client.trunking.v1.trunks(trunk.sid).phone_numbers.create_async(phone_number_sid=number_sid)
    numbers = await client.api.v2010.accounts(account_sid).incoming_phone_numbers.list_async(page_size=100)
    assert {n.sid: n.trunk_sid for n in numbers}[number_sid] == trunk.sid
    route = await client.routes.v2.trunks("flow-async.pstn.twilio.com").update_async(voice_region="au1")
    assert route.voice_region == "au1"
    fetched = await client.trunking.v1.trunks(trunk.sid).fetch_async()
    assert fetched.auth_type == "CREDENTIAL_LIST"
    assert await client.trunking.v1.trunks(trunk.sid).delete_async() is True
    with pytest.raises(TwilioRestException) as err:
        await client.trunking.v1.trunks(trunk.sid).fetch_async()
    assert (err.value.status, err.value.code) == (404, 20404)


def test_paging_follows_next_page_links(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    emulator.add_numbers(twilio_account.sid, count=120)
    emulator.clear_requests()
    numbers = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers.list(page_size=50)
    assert len(numbers) == 122
    assert len({n.sid for n in numbers}) == 122
    pages = [r for r in emulator.requests() if r["path"].endswith("IncomingPhoneNumbers.json")]
    assert len(pages) == 3
    assert "PageToken=PA" in pages[1]["query"] and "Page=2" in pages[2]["query"]

    for i in range(7):
        twilio_client.trunking.v1.trunks.create(friendly_name=f"t{i}")
    emulator.clear_requests()
    names = [t.friendly_name for t in twilio_client.trunking.v1.trunks.stream(page_size=3)]
    assert names == [f"t{i}" for i in range(7)]
    assert [r["path"] for r in emulator.requests()] == ["/v1/Trunks"] * 3


def test_page_metadata_shapes(twilio_client: Client, twilio_account: TwilioAccount) -> None:
    numbers = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers
    page = numbers.page(page_size=1)
    assert page._payload["next_page_uri"].startswith(f"/2010-04-01/Accounts/{twilio_account.sid}/")
    assert page._payload["start"] == 0 and page._payload["end"] == 0
    assert page.next_page() is not None and page.next_page().next_page() is None

    twilio_client.trunking.v1.trunks.create()
    twilio_client.trunking.v1.trunks.create()
    trunk_page = twilio_client.trunking.v1.trunks.page(page_size=1)
    meta = trunk_page._payload["meta"]
    assert meta["key"] == "trunks" and meta["page_size"] == 1
    assert meta["next_page_url"].startswith("https://trunking.twilio.com/v1/Trunks?")


def test_filters_on_incoming_numbers(twilio_client: Client, twilio_account: TwilioAccount) -> None:
    numbers = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers
    assert [n.phone_number for n in numbers.list(phone_number="+15005550006")] == ["+15005550006"]
    assert len(numbers.list(phone_number="500555000*")) == 2
    assert numbers.list(friendly_name="nope") == []


def test_cascades(twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin) -> None:
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    trunk = twilio_client.trunking.v1.trunks.create(domain_name="cascade.pstn.twilio.com")
    cred_list = sip.credential_lists.create(friendly_name="c")
    credential = sip.credential_lists(cred_list.sid).credentials.create(username="u", password=PASSWORD)
    trunks = twilio_client.trunking.v1.trunks
    trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    trunks(trunk.sid).origination_urls.create(
        weight=1, priority=1, enabled=True, friendly_name="o", sip_url="sip:o@example.com"
    )
    number_sid = twilio_account.incoming_phone_numbers[0].sid
    trunks(trunk.sid).phone_numbers.create(phone_number_sid=number_sid)

    trunks(trunk.sid).delete()
    numbers = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers
    assert numbers(number_sid).fetch().trunk_sid is None
    assert sip.credential_lists(cred_list.sid).fetch().sid == cred_list.sid  # the list survives

    # Deleting a credential list deletes its credentials and unlinks it from trunks.
    other = trunks.create()
    trunks(other.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    sip.credential_lists(cred_list.sid).delete()
    assert trunks(other.sid).credentials_lists.list() == []
    assert trunks(other.sid).fetch().auth_type == ""
    with pytest.raises(TwilioRestException) as err:
        sip.credential_lists(cred_list.sid).credentials(credential.sid).fetch()
    assert err.value.status == 404
    state = emulator.state()["accounts"][0]
    assert [t["sid"] for t in state["trunks"]] == [other.sid]
    assert state["credential_lists"] == []


def test_detach_unlink_and_updates(twilio_client: Client, twilio_account: TwilioAccount) -> None:
    trunks = twilio_client.trunking.v1.trunks
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    trunk = trunks.create()
    cred_list = sip.credential_lists.create(friendly_name="c")
    trunks(trunk.sid).credentials_lists.create(credential_list_sid=cred_list.sid)
    assert trunks(trunk.sid).credentials_lists(cred_list.sid).fetch().trunk_sid == trunk.sid
    assert trunks(trunk.sid).credentials_lists(cred_list.sid).delete() is True
    assert sip.credential_lists(cred_list.sid).update(friendly_name="renamed").friendly_name == "renamed"

    number_sid = twilio_account.incoming_phone_numbers[0].sid
    trunks(trunk.sid).phone_numbers.create(phone_number_sid=number_sid)
    assert trunks(trunk.sid).phone_numbers(number_sid).fetch().trunk_sid == trunk.sid
    assert trunks(trunk.sid).phone_numbers(number_sid).delete() is True
    numbers = twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers
    assert numbers(number_sid).fetch().trunk_sid is None
    numbers(number_sid).update(trunk_sid=trunk.sid)
    assert numbers(number_sid).update(trunk_sid="").trunk_sid is None

    origination = trunks(trunk.sid).origination_urls.create(
        weight=1, priority=2, enabled=True, friendly_name="o", sip_url="sip:o@example.com"
    )
    assert trunks(trunk.sid).origination_urls(origination.sid).fetch().priority == 2
    assert trunks(trunk.sid).origination_urls(origination.sid).delete() is True
    assert trunks(trunk.sid).origination_urls.list() == []
    assert numbers(number_sid).delete() is True  # release
    assert all(n.sid != number_sid for n in numbers.list())
