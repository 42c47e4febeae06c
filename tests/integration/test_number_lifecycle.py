"""A number's whole life against the real API server and the emulator (issue 27): bought declaratively
and imported, kept when its object is deleted and found again when the object is re-created, released
only when bought and asked for, linked to a TwilioEmergencyAddress, which is deleted only once no
number uses it. The operator is a real `twilio-operator run` process."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import (
    ADDRESSES,
    NUMBERS,
    REPO,
    condition,
    create,
    events,
    get,
    merge_patch,
    wait_for,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider, StartOperator
from twilio_operator.api import names
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

US_415 = {"country": "US", "areaCode": "415"}
HQ = {
    "providerRef": {"name": "acme"},
    "customerName": "Acme Inc",
    "street": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postalCode": "94105",
    "isoCountry": "US",
}
BUY = "/IncomingPhoneNumbers.json"


def ours(account: TwilioAccount, namespace: str, name: str) -> list[dict[str, Any]]:
    tag = names.purchased_number_name(namespace, name)
    return [n for n in account.state()["incoming_phone_numbers"] if n["friendly_name"] == tag]


def purchases(emulator: EmulatorAdmin, since: int) -> list[dict[str, Any]]:
    return [r for r in emulator.requests(since=since) if r["method"] == "POST" and r["path"].endswith(BUY)]


def reasons(cp: ControlPlane, namespace: str, name: str) -> dict[str, str]:
    return {e["reason"]: e["message"] for e in events(cp, namespace, name)}


def delete(cp: ControlPlane, plural: str, namespace: str, name: str) -> None:
    status, body = cp.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/{plural}/{name}"
    )
    assert status in (200, 202), body


def gone(cp: ControlPlane, plural: str, namespace: str, name: str, timeout: float = 60) -> None:
    wait_for(lambda: get(cp, plural, namespace, name) is None, timeout, f"{plural}/{name} gone")


@pytest.fixture
def provider(make_ready_provider: MakeReadyProvider, start_operator: StartOperator) -> dict[str, Any]:
    start_operator(TWILIO_OPERATOR_PURCHASE_RETRY_SECONDS="2")
    return make_ready_provider()


def test_bought_imported_retained_and_found_again_without_a_purchase(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict[str, Any],
) -> None:
    emulator.add_available_numbers(count=2, area_code="415")
    seq = last_seq(emulator)
    create(
        crds,
        NUMBERS,
        namespace,
        "sales",
        {"providerRef": {"name": "acme"}, "purchase": US_415, "agentRef": {"name": "sales"}},
    )

    number = wait_ready(crds, NUMBERS, namespace, "sales")

    [bought] = ours(twilio_account, namespace, "sales")
    status = number["status"]
    assert status["purchase"]["sid"] == status["sid"] == bought["sid"]
    assert status["trunkSid"] == provider["status"]["trunkSid"] == bought["trunk_sid"]
    assert len(purchases(emulator, seq)) == 1
    assert "bought " + bought["phone_number"] in reasons(crds, namespace, "sales")["Purchased"]
    explained = crds.kubectl("explain", "twiliophonenumbers.spec.releasePolicy")
    assert explained.returncode == 0 and "irreversible" in explained.stdout, explained.stderr

    delete(crds, NUMBERS, namespace, "sales")
    gone(crds, NUMBERS, namespace, "sales")
    [kept] = ours(twilio_account, namespace, "sales")
    assert (kept["sid"], kept["trunk_sid"]) == (bought["sid"], None)  # detached, still the account's
    retained = next(e["message"] for e in events(crds, namespace, "sales") if e["reason"] == "Retained")
    assert bought["phone_number"] in retained and "releasePolicy Retain" in retained

    seq = last_seq(emulator)
    create(crds, NUMBERS, namespace, "sales", {"providerRef": {"name": "acme"}, "purchase": US_415})
    again = wait_ready(crds, NUMBERS, namespace, "sales")
    assert again["status"]["sid"] == bought["sid"] and purchases(emulator, seq) == []
    assert len(ours(twilio_account, namespace, "sales")) == 1
    assert len(emulator.available_numbers()) == 1  # one number ever left the inventory


def test_release_with_an_emergency_address_then_the_address_goes(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict[str, Any],
) -> None:
    emulator.add_available_numbers(count=1, area_code="415")
    create(crds, ADDRESSES, namespace, "hq", HQ)
    address = wait_ready(crds, ADDRESSES, namespace, "hq")
    assert address["status"]["validation"] == "validated" and address["status"]["addressSid"].startswith("AD")
    spec = {
        "providerRef": {"name": "acme"},
        "purchase": US_415,
        "releasePolicy": "Release",
        "emergencyAddressRef": {"name": "hq"},
    }
    create(crds, NUMBERS, namespace, "line", spec)
    number = wait_ready(crds, NUMBERS, namespace, "line")
    assert number["status"]["emergencyAddressStatus"] == "registered"
    e164 = number["status"]["phoneNumber"]
    state = twilio_account.state()
    assert (
        next(n for n in state["incoming_phone_numbers"] if n["phone_number"] == e164)["emergency_address_sid"]
        == (address["status"]["addressSid"])
    )
    seq = last_seq(emulator)

    delete(crds, NUMBERS, namespace, "line")
    gone(crds, NUMBERS, namespace, "line")

    assert e164 not in {n["phone_number"] for n in twilio_account.state()["incoming_phone_numbers"]}
    released = reasons(crds, namespace, "line")["Released"]
    assert e164 in released and "cannot be undone" in released
    delete(crds, ADDRESSES, namespace, "hq")
    gone(crds, ADDRESSES, namespace, "hq")
    assert twilio_account.state()["addresses"] == []
    deletes = [
        r for r in emulator.requests(since=seq) if r["method"] == "DELETE" and "/v1/Trunks" not in r["path"]
    ]
    assert [r["status"] for r in deletes] == [204, 204]  # the number, the Address: neither refused


def test_deleting_an_address_in_use_says_so_and_goes_once_the_number_lets_go(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict[str, Any],
) -> None:
    create(crds, ADDRESSES, namespace, "hq", HQ)
    wait_ready(crds, ADDRESSES, namespace, "hq")
    spec = {
        "providerRef": {"name": "acme"},
        "phoneNumber": "+15005550006",
        "emergencyAddressRef": {"name": "hq"},
    }
    create(crds, NUMBERS, namespace, "line", spec)
    wait_ready(crds, NUMBERS, namespace, "line")
    seq = last_seq(emulator)

    delete(crds, ADDRESSES, namespace, "hq")
    blocked = wait_for(
        lambda: condition(obj := get(crds, ADDRESSES, namespace, "hq")).get("reason") == "InUse" and obj,
        30,
        "InUse",
    )
    assert "TwilioPhoneNumber line still name this emergency address" in condition(blocked)["message"]
    assert len(twilio_account.state()["addresses"]) == 1

    merge_patch(crds, "twpn", namespace, "line", {"spec": {"emergencyAddressRef": None}})
    gone(crds, ADDRESSES, namespace, "hq", timeout=45)
    assert twilio_account.state()["addresses"] == []
    number = next(
        n for n in twilio_account.state()["incoming_phone_numbers"] if n["phone_number"] == "+15005550006"
    )
    assert number["emergency_address_sid"] is None
    assert [r for r in emulator.requests(since=seq) if r["status"] >= 400 and r["method"] == "DELETE"] == []


def test_nothing_for_sale_backs_off_however_often_the_object_is_woken(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict[str, Any],
) -> None:
    """TWILIO_OPERATOR_PURCHASE_RETRY_SECONDS=2: attempts 2, 4, 8, 16 s apart. Touching the object every
    second for 20 s (each touch runs the update handler) must not add searches."""
    seq = last_seq(emulator)
    create(crds, NUMBERS, namespace, "wanted", {"providerRef": {"name": "acme"}, "purchase": US_415})
    wait_for(
        lambda: condition(get(crds, NUMBERS, namespace, "wanted")).get("reason") == "NoNumberAvailable",
        30,
        "NoNumberAvailable",
    )
    started = time.monotonic()
    for touch in range(20):
        merge_patch(
            crds,
            "twpn",
            namespace,
            "wanted",
            {"metadata": {"annotations": {"example.com/touch": str(touch)}}},
        )
        time.sleep(max(0.0, started + touch + 1 - time.monotonic()))
    window = time.monotonic() - started
    found = [r for r in emulator.requests(since=seq) if "AvailablePhoneNumbers" in r["path"]]
    # About 22 s since the first search: at most the searches at 0, 2, 6, 14 s (plus one for rounding).
    assert 2 <= len(found) <= 5, (len(found), window)
    assert purchases(emulator, seq) == []
    obj = get(crds, NUMBERS, namespace, "wanted")
    assert obj is not None and obj["status"]["purchase"]["failures"] == len(found)
    assert "no US local numbers in area code 415 with voice for sale" in condition(obj)["message"]

    emulator.add_available_numbers(count=1, area_code="212")
    merge_patch(
        crds, "twpn", namespace, "wanted", {"spec": {"purchase": {"areaCode": "212"}}}
    )  # tried at once
    ready = wait_ready(crds, NUMBERS, namespace, "wanted", timeout=20)
    assert ready["status"]["phoneNumber"].startswith("+1212")


def test_a_purchase_that_cannot_succeed_is_a_clear_condition(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict[str, Any],
) -> None:
    emulator.add_available_numbers(
        [{"phone_number": "+493012345678", "iso_country": "DE", "bundle_required": True}]
    )
    create(
        crds, NUMBERS, namespace, "berlin", {"providerRef": {"name": "acme"}, "purchase": {"country": "DE"}}
    )
    obj = wait_for(
        lambda: (
            condition(o := get(crds, NUMBERS, namespace, "berlin")).get("reason") == "BundleRequired" and o
        ),
        30,
        "BundleRequired",
    )
    assert (
        "Twilio error 21649" in condition(obj)["message"]
        and "spec.purchase.bundleSid" in condition(obj)["message"]
    )
    printed = crds.kubectl("get", "twpn", "berlin", "-n", namespace, "-o", "wide")
    assert "BundleRequired" in printed.stdout

    merge_patch(crds, "twpn", namespace, "berlin", {"spec": {"purchase": {"bundleSid": "BU" + "2" * 32}}})
    bought = wait_ready(crds, NUMBERS, namespace, "berlin", timeout=20)
    assert bought["status"]["phoneNumber"] == "+493012345678"
    # Bought: the purchase is frozen now (a whole-object rule reads status.purchase.sid).
    refused = crds.kubectl(
        "patch",
        "twpn",
        "berlin",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"purchase": {"country": "GB"}}}),
    )
    assert refused.returncode != 0 and "cannot change once its number is bought" in refused.stderr


def test_the_examples_are_valid_objects(crds: ControlPlane, namespace: str) -> None:
    for example in sorted((REPO / "examples" / "numbers").glob("*.yaml")):
        done = crds.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(example))
        assert done.returncode == 0, (example.name, done.stderr)
