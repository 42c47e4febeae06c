"""IP access control lists through the official twilio library: the account-level lists and their
addresses (api v2010), their association with a trunk (trunking v1), validation, limits, duplicates,
paging, cascades and what a trunk then admits."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from emulator.helpers import account_auth, assert_twilio_error, raw
from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin

STRICT = (400, 90000)


def _sip(client: Client, account: TwilioAccount) -> Any:
    return client.api.v2010.accounts(account.sid).sip


def test_lists_and_addresses_round_trip(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    sip = _sip(twilio_client, twilio_account)
    acl = sip.ip_access_control_lists.create(friendly_name="pbx (twp-1)")
    assert acl.sid.startswith("AL") and len(acl.sid) == 34
    assert acl.subresource_uris["ip_addresses"].endswith(f"/IpAccessControlLists/{acl.sid}/IpAddresses.json")
    addresses = sip.ip_access_control_lists(acl.sid).ip_addresses

    single = addresses.create(friendly_name="one", ip_address="203.0.113.5")
    block = addresses.create(friendly_name="block", ip_address="198.51.100.0", cidr_prefix_length=24)
    inline = addresses.create(friendly_name="inline", ip_address="192.0.2.0/30")
    assert (single.ip_address, single.cidr_prefix_length) == ("203.0.113.5", 32)
    assert (block.ip_address, block.cidr_prefix_length) == ("198.51.100.0", 24)
    assert (inline.ip_address, inline.cidr_prefix_length) == ("192.0.2.0", 30)
    assert block.ip_access_control_list_sid == acl.sid and block.sid.startswith("IP")

    updated = addresses(block.sid).update(cidr_prefix_length=25)
    assert (updated.ip_address, updated.cidr_prefix_length, updated.friendly_name) == (
        "198.51.100.0",
        25,
        "block",
    )
    assert addresses(block.sid).fetch().cidr_prefix_length == 25
    assert sip.ip_access_control_lists(acl.sid).update(friendly_name="renamed").friendly_name == "renamed"
    assert [a.sid for a in sip.ip_access_control_lists.list()] == [acl.sid]

    assert addresses(single.sid).delete()
    assert {a.sid for a in addresses.list()} == {block.sid, inline.sid}
    with pytest.raises(TwilioRestException) as gone:
        addresses(single.sid).fetch()
    assert gone.value.status == 404
    [state] = twilio_account.state()["ip_access_control_lists"]
    assert {(a["ip_address"], a["cidr_prefix_length"]) for a in state["ip_addresses"]} == {
        ("198.51.100.0", 25),
        ("192.0.2.0", 30),
    }


async def test_async_trunk_association_and_auth_type(
    async_twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    client = async_twilio_client
    sip = client.api.v2010.accounts(twilio_account.sid).sip
    trunk = await client.trunking.v1.trunks.create_async(domain_name="ipacl.pstn.twilio.com")
    acl = await sip.ip_access_control_lists.create_async(friendly_name="pbx")
    await sip.ip_access_control_lists(acl.sid).ip_addresses.create_async(
        friendly_name="office", ip_address="198.51.100.0", cidr_prefix_length=24
    )
    assert not emulator.ip_auth("ipacl.pstn.twilio.com", "198.51.100.7")  # not attached yet

    link = await client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.create_async(
        ip_access_control_list_sid=acl.sid
    )
    assert (link.sid, link.trunk_sid, link.friendly_name) == (acl.sid, trunk.sid, "pbx")
    assert (await client.trunking.v1.trunks(trunk.sid).fetch_async()).auth_type == "IP_ACL"
    fetched = await client.trunking.v1.trunks(trunk.sid).ip_access_control_lists(acl.sid).fetch_async()
    assert fetched.sid == acl.sid
    assert [
        a.sid for a in await client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.list_async()
    ] == [acl.sid]
    assert emulator.ip_auth("ipacl.pstn.twilio.com", "198.51.100.7")
    assert not emulator.ip_auth("ipacl.pstn.twilio.com", "198.51.101.7")

    cl = await sip.credential_lists.create_async(friendly_name="creds")
    await client.trunking.v1.trunks(trunk.sid).credentials_lists.create_async(credential_list_sid=cl.sid)
    fetched_trunk = await client.trunking.v1.trunks(trunk.sid).fetch_async()
    assert fetched_trunk.auth_type == "IP_ACL,CREDENTIAL_LIST"
    assert fetched_trunk.auth_type_set == ["IP_ACL", "CREDENTIAL_LIST"]

    assert await client.trunking.v1.trunks(trunk.sid).ip_access_control_lists(acl.sid).delete_async()
    assert await client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.list_async() == []
    assert (await sip.ip_access_control_lists(acl.sid).fetch_async()).sid == acl.sid  # unlinking keeps it


def test_deleting_a_list_unlinks_it_and_a_trunk_delete_keeps_it(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    sip = _sip(twilio_client, twilio_account)
    first, second = (sip.ip_access_control_lists.create(friendly_name=n) for n in ("a", "b"))
    trunk = twilio_client.trunking.v1.trunks.create()
    for acl in (first, second):
        twilio_client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.create(
            ip_access_control_list_sid=acl.sid
        )
    sip.ip_access_control_lists(first.sid).delete()
    [state_trunk] = twilio_account.state()["trunks"]
    assert state_trunk["ip_access_control_list_sids"] == [second.sid]

    twilio_client.trunking.v1.trunks(trunk.sid).delete()
    assert [a.sid for a in sip.ip_access_control_lists.list()] == [second.sid]


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"friendly_name": "x", "ip_address": "2001:db8::1"}, "IPv6"),
        ({"friendly_name": "x", "ip_address": "10.0.0.*"}, "wildcard"),
        ({"friendly_name": "x", "ip_address": "10.0.0"}, "incomplete"),
        ({"friendly_name": "x", "ip_address": "10.0.0.256"}, "octet"),
        ({"friendly_name": "x", "ip_address": "10.0.0.0", "cidr_prefix_length": 33}, "prefix-high"),
        ({"friendly_name": "x", "ip_address": "10.0.0.0", "cidr_prefix_length": 0}, "prefix-zero"),
        ({"friendly_name": "x", "ip_address": "10.0.0.0/40"}, "inline-prefix"),
        ({"friendly_name": "x" * 256, "ip_address": "10.0.0.1"}, "friendly-name"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_invalid_addresses_are_refused(
    twilio_client: Client, twilio_account: TwilioAccount, params: dict[str, Any], why: str
) -> None:
    sip = _sip(twilio_client, twilio_account)
    acl = sip.ip_access_control_lists.create(friendly_name="pbx")
    with pytest.raises(TwilioRestException) as err:
        sip.ip_access_control_lists(acl.sid).ip_addresses.create(**params)
    assert (err.value.status, err.value.code) == (400, 20001), why
    assert sip.ip_access_control_lists(acl.sid).ip_addresses.list() == []


def test_required_parameters(emulator_url: str, twilio_account: TwilioAccount, twilio_client: Client) -> None:
    base = f"/2010-04-01/Accounts/{twilio_account.sid}/SIP/IpAccessControlLists"
    headers = {**account_auth(twilio_account), "Content-Type": "application/x-www-form-urlencoded"}
    assert_twilio_error(raw(emulator_url, "POST", base + ".json", body=b"", headers=headers), 400, 20001)
    acl = _sip(twilio_client, twilio_account).ip_access_control_lists.create(friendly_name="pbx")
    no_name = raw(
        emulator_url,
        "POST",
        f"{base}/{acl.sid}/IpAddresses.json",
        body=b"IpAddress=10.0.0.1",
        headers=headers,
    )
    assert_twilio_error(no_name, 400, 20001)
    no_ip = raw(
        emulator_url, "POST", f"{base}/{acl.sid}/IpAddresses.json", body=b"FriendlyName=x", headers=headers
    )
    assert_twilio_error(no_ip, 400, 20001)
    trunk = twilio_client.trunking.v1.trunks.create()
    bad_sid = raw(
        emulator_url,
        "POST",
        f"/v1/Trunks/{trunk.sid}/IpAccessControlLists",
        body=b"IpAccessControlListSid=CL1",
        headers=headers,
    )
    assert_twilio_error(bad_sid, 400, 20001)
    unknown = raw(
        emulator_url,
        "POST",
        f"/v1/Trunks/{trunk.sid}/IpAccessControlLists",
        body=f"IpAccessControlListSid=AL{'0' * 32}".encode(),
        headers=headers,
    )
    assert_twilio_error(unknown, 404, 20404)


def _duplicates(client: Client, account: TwilioAccount) -> list[tuple[int, int]]:
    sip = _sip(client, account)
    acl = sip.ip_access_control_lists.create(friendly_name="dup")
    sip.ip_access_control_lists(acl.sid).ip_addresses.create(friendly_name="a", ip_address="10.0.0.0/8")
    trunk = client.trunking.v1.trunks.create()
    client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.create(ip_access_control_list_sid=acl.sid)
    answers = []
    for call in (
        lambda: sip.ip_access_control_lists(acl.sid).ip_addresses.create(
            friendly_name="b", ip_address="10.0.0.0", cidr_prefix_length=8
        ),
        lambda: client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.create(
            ip_access_control_list_sid=acl.sid
        ),
    ):
        with pytest.raises(TwilioRestException) as err:
            call()
        answers.append((err.value.status, err.value.code))
    return answers


def test_duplicates_get_the_modelled_answers_and_strict_mode_the_unexpected_one(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    # Linking twice is documented (catalogue 21245, "Credential List or IP-ACL already associated
    # with Trunk"); the duplicate address is not.
    assert _duplicates(twilio_client, twilio_account) == [(400, 20001), (400, 21245)]
    emulator.configure(strict=True)
    assert _duplicates(twilio_client, twilio_account) == [STRICT, (400, 21245)]


def test_documented_limits(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    assert emulator.get_account(twilio_account.sid)["quotas"]["ip_addresses_per_list"] == 100
    assert emulator.get_account(twilio_account.sid)["quotas"]["ip_access_control_lists"] == 1000
    emulator.patch_account(
        twilio_account.sid, quotas={"ip_addresses_per_list": 2, "ip_access_control_lists": 1}
    )
    sip = _sip(twilio_client, twilio_account)
    acl = sip.ip_access_control_lists.create(friendly_name="pbx")
    with pytest.raises(TwilioRestException) as too_many_lists:
        sip.ip_access_control_lists.create(friendly_name="second")
    assert (too_many_lists.value.status, too_many_lists.value.code) == (400, 21255)
    for n in range(2):
        sip.ip_access_control_lists(acl.sid).ip_addresses.create(friendly_name="a", ip_address=f"10.0.0.{n}")
    with pytest.raises(TwilioRestException) as too_many_addresses:
        sip.ip_access_control_lists(acl.sid).ip_addresses.create(friendly_name="a", ip_address="10.0.0.9")
    assert (too_many_addresses.value.status, too_many_addresses.value.code) == (400, 21237)


def test_strict_mode_allows_25_addresses_per_list(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin
) -> None:
    """The resource pages say 100 addresses per list, catalogue 21237 says 25: strict mode holds 25."""
    emulator.configure(strict=True)
    sip = _sip(twilio_client, twilio_account)
    acl = sip.ip_access_control_lists.create(friendly_name="pbx")
    for n in range(25):
        sip.ip_access_control_lists(acl.sid).ip_addresses.create(friendly_name="a", ip_address=f"10.0.1.{n}")
    with pytest.raises(TwilioRestException) as err:
        sip.ip_access_control_lists(acl.sid).ip_addresses.create(friendly_name="a", ip_address="10.0.2.1")
    assert (err.value.status, err.value.code) == (400, 21237)


def test_paging_walks_every_address_and_list(
    twilio_client: Client, twilio_account: TwilioAccount, emulator_url: str
) -> None:
    sip = _sip(twilio_client, twilio_account)
    acl = sip.ip_access_control_lists.create(friendly_name="pbx")
    created = [
        sip.ip_access_control_lists(acl.sid)
        .ip_addresses.create(friendly_name="a", ip_address=f"10.0.0.{n}")
        .sid
        for n in range(7)
    ]
    assert [a.sid for a in sip.ip_access_control_lists(acl.sid).ip_addresses.list(page_size=3)] == created
    page = raw(
        emulator_url,
        "GET",
        f"/2010-04-01/Accounts/{twilio_account.sid}/SIP/IpAccessControlLists/{acl.sid}/IpAddresses.json?PageSize=3",
        headers=account_auth(twilio_account),
    ).json()
    assert (page["page_size"], page["start"], page["end"], len(page["ip_addresses"])) == (3, 0, 2, 3)
    assert page["next_page_uri"] and page["previous_page_uri"] is None

    trunk = twilio_client.trunking.v1.trunks.create()
    lists = [sip.ip_access_control_lists.create(friendly_name=f"l{n}").sid for n in range(4)]
    for sid in lists:
        twilio_client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.create(
            ip_access_control_list_sid=sid
        )
    linked = twilio_client.trunking.v1.trunks(trunk.sid).ip_access_control_lists.list(page_size=2)
    assert [a.sid for a in linked] == lists
    assert [a.sid for a in sip.ip_access_control_lists.list(page_size=2)] == [acl.sid, *lists]


def test_another_accounts_list_is_not_found(
    twilio_client: Client, twilio_account: TwilioAccount, emulator: EmulatorAdmin, emulator_url: str
) -> None:
    acl = _sip(twilio_client, twilio_account).ip_access_control_lists.create(friendly_name="mine")
    other = TwilioAccount.create(emulator)
    path = f"/2010-04-01/Accounts/{other.sid}/SIP/IpAccessControlLists/{acl.sid}.json"
    assert_twilio_error(raw(emulator_url, "GET", path, headers=account_auth(other)), 404, 20404)
