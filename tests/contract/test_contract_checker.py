"""The contract checker itself: it must catch what breaks Twilio's documents, and pass what doesn't."""

from __future__ import annotations

import json
from typing import Any

import pytest
from multidict import MultiDict
from twilio.rest import Client

from fixtures.emulator import OPENAPI_DIR, OPENAPI_FILES, TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.emulator.contract import ContractChecker, Exchange
from twilio_operator.ports.twilio.http import ORIGINAL_HOST_HEADER, rewrite

AC, TK = "AC" + "a" * 32, "TK" + "b" * 32
AUTH = {"Authorization": "Basic QUM6dG9rZW4="}


@pytest.fixture(scope="module")
def checker() -> ContractChecker:
    if not all((OPENAPI_DIR / name).is_file() for name in OPENAPI_FILES):
        pytest.fail(f"Twilio OpenAPI documents missing in {OPENAPI_DIR}: run `make openapi`")
    return ContractChecker(str(OPENAPI_DIR))


def trunk_body(**overrides: Any) -> dict[str, Any]:
    url = f"https://trunking.twilio.com/v1/Trunks/{TK}"
    body = {
        "sid": TK,
        "account_sid": AC,
        "domain_name": "x.pstn.twilio.com",
        "disaster_recovery_method": "POST",
        "disaster_recovery_url": None,
        "friendly_name": None,
        "secure": False,
        "cnam_lookup_enabled": False,
        "symmetric_rtp_enabled": False,
        "recording": {"mode": "do-not-record", "trim": "do-not-trim"},
        "transfer_mode": "disable-all",
        "transfer_caller_id": "from-transferee",
        "auth_type": "",
        "auth_type_set": [],
        "date_created": "2024-01-01T00:00:00Z",
        "date_updated": "2024-01-01T00:00:00Z",
        "url": url,
        "links": {"phone_numbers": f"{url}/PhoneNumbers"},
    }
    body.update(overrides)
    return body


def exchange(
    method: str, path: str, status: int, response: Any, body: bytes | None = None, query: str = ""
) -> Exchange:
    return Exchange(
        method=method,
        path=path,
        query=MultiDict(pair.split("=", 1) for pair in query.split("&") if pair),
        query_string=query,
        headers=AUTH,
        body=body,
        content_type="application/x-www-form-urlencoded" if body else "",
        status=status,
        response_body=json.dumps(response).encode() if response is not None else None,
        response_content_type="application/json",
    )


def check(checker: ContractChecker, ex: Exchange) -> list[dict[str, Any]]:
    before = len(checker.violations)
    checker.check(ex)
    return checker.violations[before:]


def test_valid_exchange_passes(checker: ContractChecker) -> None:
    assert check(checker, exchange("GET", f"/v1/Trunks/{TK}", 200, trunk_body())) == []
    assert (
        check(checker, exchange("POST", "/v1/Trunks", 201, trunk_body(), body=b"FriendlyName=a&Secure=true"))
        == []
    )
    assert check(checker, exchange("DELETE", f"/v1/Trunks/{TK}", 204, None)) == []


@pytest.mark.parametrize(
    ("ex", "needle"),
    [
        (exchange("GET", f"/v1/Trunks/{TK}", 200, trunk_body(transfer_mode="sometimes")), "transfer_mode"),
        (exchange("GET", f"/v1/Trunks/{TK}", 200, trunk_body(secure="yes")), "secure"),
        (exchange("GET", f"/v1/Trunks/{TK}", 200, trunk_body(account_sid="nope")), "account_sid"),
        (exchange("POST", "/v1/Trunks", 201, trunk_body(), body=b"Secure=perhaps"), "request"),
        (exchange("POST", "/v1/Trunks", 201, trunk_body(), body=b"TransferMode=bogus"), "request"),
        (exchange("GET", "/v1/Trunks", 200, {"trunks": [], "meta": {"page": "zero"}}), "response"),
        (exchange("GET", "/v1/Nowhere", 200, {}), ""),
        (exchange("GET", f"/v1/Trunks/{TK}", 404, {"message": "gone"}), "error body"),
    ],
    ids=[
        "enum",
        "boolean",
        "sid-pattern",
        "bad-bool-param",
        "bad-enum-param",
        "meta-type",
        "unknown-path",
        "error",
    ],
)
def test_violations_are_caught(checker: ContractChecker, ex: Exchange, needle: str) -> None:
    found = check(checker, ex)
    assert found, f"expected a violation for {ex.method} {ex.path}"
    assert any(needle in v["problem"] for v in found), found
    assert {v["status"] for v in found} == {ex.status}


def test_empty_trunk_sid_clears_without_violation(checker: ContractChecker) -> None:
    # Outside strict mode the emulator takes TrunkSid= as "detach" (the spec forbids ""); see contract.py.
    path = f"/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/PN{'c' * 32}.json"
    found = check(checker, exchange("POST", path, 200, {"sid": "PN" + "c" * 32}, body=b"TrunkSid="))
    assert not any("request" in v["problem"] for v in found), found


def test_strict_checker_holds_empty_trunk_sid_to_the_spec() -> None:
    strict = ContractChecker(str(OPENAPI_DIR), strict=lambda: True)
    path = f"/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/PN{'c' * 32}.json"
    found = check(strict, exchange("POST", path, 200, {"sid": "PN" + "c" * 32}, body=b"TrunkSid="))
    assert any("request" in v["problem"] for v in found), found


def test_routes_v2_phone_number_shapes_are_checked(checker: ContractChecker) -> None:
    body = {"phone_number": "+15005550006", "sid": "QQ" + "d" * 32, "voice_region": "ie1"}
    path = "/v2/PhoneNumbers/+15005550006"
    assert check(checker, exchange("POST", path, 200, body, body=b"VoiceRegion=ie1")) == []
    found = check(checker, exchange("GET", path, 200, {**body, "sid": "XX1"}))
    assert any("sid" in v["problem"] for v in found), found


def test_session_emulator_checks_contract(
    emulator: EmulatorAdmin, twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    assert emulator.contract_checking()
    before = len(emulator.contract_violations())
    twilio_client.trunking.v1.trunks.create(domain_name="contract.pstn.twilio.com", secure=True)
    twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers.list(page_size=1)
    twilio_client.routes.v2.trunks("contract.pstn.twilio.com").update(voice_region="ie1")
    twilio_client.routes.v2.trunks("contract.pstn.twilio.com").fetch()
    twilio_client.routes.v2.phone_numbers("+15005550006").update(voice_region="au1")
    twilio_client.routes.v2.phone_numbers("+15005550006").fetch()
    assert emulator.contract_violations()[before:] == []


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        (
            None,
            "https://trunking.twilio.com/v1/Trunks?PageSize=5",
            "https://trunking.twilio.com/v1/Trunks?PageSize=5",
        ),
        (
            "http://127.0.0.1:9",
            "https://trunking.ie1.twilio.com/v1/Trunks?PageSize=5",
            "http://127.0.0.1:9/v1/Trunks?PageSize=5",
        ),
        (
            "http://localhost:1/",
            "https://api.twilio.com/2010-04-01/Accounts/AC1.json",
            "http://localhost:1/2010-04-01/Accounts/AC1.json",
        ),
    ],
)
def test_rewrite(base: str | None, url: str, expected: str) -> None:
    new_url, headers = rewrite(base.rstrip("/") if base else None, url, {"Accept": "application/json"})
    assert new_url == expected
    if base is None:
        assert headers == {"Accept": "application/json"}
    else:
        assert headers == {"Accept": "application/json", ORIGINAL_HOST_HEADER: url.split("/")[2]}


AL, IP = "AL" + "e" * 32, "IP" + "f" * 32


def ip_address_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "sid": IP,
        "account_sid": AC,
        "friendly_name": "pbx",
        "ip_address": "203.0.113.0",
        "cidr_prefix_length": 24,
        "ip_access_control_list_sid": AL,
        "date_created": "Mon, 01 Jan 2024 00:00:00 +0000",
        "date_updated": "Mon, 01 Jan 2024 00:00:00 +0000",
        "uri": f"/2010-04-01/Accounts/{AC}/SIP/IpAccessControlLists/{AL}/IpAddresses/{IP}.json",
    }
    body.update(overrides)
    return body


def test_ip_access_control_shapes_are_checked(checker: ContractChecker) -> None:
    addresses = f"/2010-04-01/Accounts/{AC}/SIP/IpAccessControlLists/{AL}/IpAddresses.json"
    create = b"FriendlyName=pbx&IpAddress=203.0.113.0&CidrPrefixLength=24"
    assert check(checker, exchange("POST", addresses, 201, ip_address_body(), body=create)) == []
    found = check(
        checker, exchange("POST", addresses, 201, ip_address_body(cidr_prefix_length="24"), body=create)
    )
    assert any("cidr_prefix_length" in v["problem"] for v in found), found
    found = check(checker, exchange("POST", addresses, 201, ip_address_body(), body=b"CidrPrefixLength=x"))
    assert any("request" in v["problem"] for v in found), found
    link = f"/v1/Trunks/{TK}/IpAccessControlLists"
    linked = {
        "sid": AL,
        "account_sid": AC,
        "trunk_sid": TK,
        "friendly_name": "pbx",
        "url": f"https://x{link}/{AL}",
    }
    assert (
        check(checker, exchange("POST", link, 201, linked, body=f"IpAccessControlListSid={AL}".encode()))
        == []
    )
    found = check(checker, exchange("POST", link, 201, linked, body=b"IpAccessControlListSid=CL1"))
    assert any("request" in v["problem"] for v in found), found
    found = check(checker, exchange("GET", f"{link}/{AL}", 200, {**linked, "trunk_sid": "TK1"}))
    assert any("trunk_sid" in v["problem"] for v in found), found


def test_session_emulator_checks_ip_access_control_contract(
    emulator: EmulatorAdmin, twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    """Every IP ACL operation of both documents, as the twilio library sends it, with no violation."""
    before = len(emulator.contract_violations())
    sip = twilio_client.api.v2010.accounts(twilio_account.sid).sip
    acl = sip.ip_access_control_lists.create(friendly_name="pbx")
    sip.ip_access_control_lists(acl.sid).fetch()
    sip.ip_access_control_lists(acl.sid).update(friendly_name="pbx 2")
    sip.ip_access_control_lists.list(page_size=1)
    addresses = sip.ip_access_control_lists(acl.sid).ip_addresses
    ip = addresses.create(friendly_name="office", ip_address="198.51.100.0", cidr_prefix_length=24)
    addresses.create(friendly_name="host", ip_address="203.0.113.9")
    addresses(ip.sid).fetch()
    addresses(ip.sid).update(cidr_prefix_length=25, friendly_name="office 2")
    addresses.list(page_size=1)
    trunk = twilio_client.trunking.v1.trunks.create()
    links = twilio_client.trunking.v1.trunks(trunk.sid).ip_access_control_lists
    links.create(ip_access_control_list_sid=acl.sid)
    links(acl.sid).fetch()
    links.list(page_size=1)
    twilio_client.trunking.v1.trunks(trunk.sid).fetch()  # auth_type IP_ACL
    links(acl.sid).delete()
    addresses(ip.sid).delete()
    sip.ip_access_control_lists(acl.sid).delete()
    assert emulator.contract_violations()[before:] == []


@pytest.mark.parametrize("strict", [False, True])
def test_empty_emergency_address_sid_unlinks_in_both_modes(strict: bool) -> None:
    """Twilio's emergency-calling pages say to "Set Emergency Address to Null": in a form that is ""."""
    checker = ContractChecker(str(OPENAPI_DIR), strict=lambda: strict)
    path = f"/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/PN{'c' * 32}.json"
    found = check(
        checker, exchange("POST", path, 200, {"sid": "PN" + "c" * 32}, body=b"EmergencyAddressSid=")
    )
    assert not any("request" in v["problem"] for v in found), found
    bad = check(
        checker, exchange("POST", path, 200, {"sid": "PN" + "c" * 32}, body=b"EmergencyAddressSid=XX1")
    )
    assert any("request" in v["problem"] for v in bad), bad


def test_number_lifecycle_shapes_are_checked(checker: ContractChecker) -> None:
    path = f"/2010-04-01/Accounts/{AC}/AvailablePhoneNumbers/US/Local.json"
    listing = {
        "available_phone_numbers": [{"phone_number": "+14155550100", "latitude": "north"}],
        "uri": path,
    }
    found = check(checker, exchange("GET", path, 200, listing, query="AreaCode=415"))
    assert any("latitude" in v["problem"] for v in found), found
    address = f"/2010-04-01/Accounts/{AC}/Addresses/AD{'e' * 32}.json"
    found = check(
        checker, exchange("GET", address, 200, {"sid": "AD" + "e" * 32, "emergency_enabled": "yes"})
    )
    assert any("emergency_enabled" in v["problem"] for v in found), found


def test_session_emulator_checks_number_lifecycle_contract(
    emulator: EmulatorAdmin, twilio_client: Client, twilio_account: TwilioAccount
) -> None:
    """Searching, buying, addresses, dependents, the balance and a release, as the twilio library sends
    them, with no violation."""
    before = len(emulator.contract_violations())
    emulator.add_available_numbers(count=3, area_code="415")
    emulator.add_available_numbers(count=1, prefix="+1800", type="toll-free")
    emulator.add_available_numbers(count=1, prefix="+44770", iso_country="GB", type="mobile")
    api = twilio_client.api.v2010.accounts(twilio_account.sid)
    available = api.available_phone_numbers("US")
    found = available.local.list(
        area_code=415, contains="555", voice_enabled=True, sms_enabled=True, page_size=2
    )
    assert len(found) == 3  # two pages of two
    available.toll_free.list(page_size=5)
    api.available_phone_numbers("GB").mobile.list(exclude_all_address_required=True)
    address = api.addresses.create(
        customer_name="Acme", street="1 Main St", city="SF", region="CA", postal_code="94105",
        iso_country="US", emergency_enabled=True, friendly_name="e911",
    )  # fmt: skip
    api.addresses(address.sid).fetch()
    api.addresses(address.sid).update(street_secondary="Suite 3")
    api.addresses.list(emergency_enabled=True, page_size=1)
    trunk = twilio_client.trunking.v1.trunks.create()
    bought = api.incoming_phone_numbers.create(area_code="415", friendly_name="tp-x", trunk_sid=trunk.sid)
    api.incoming_phone_numbers(bought.sid).update(emergency_address_sid=address.sid, address_sid=address.sid)
    api.addresses(address.sid).dependent_phone_numbers.list()
    api.incoming_phone_numbers(bought.sid).update(emergency_address_sid="")
    api.balance.fetch()
    api.incoming_phone_numbers(bought.sid).delete()
    api.addresses(address.sid).delete()
    assert emulator.contract_violations()[before:] == []
