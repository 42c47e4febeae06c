"""Buying a number and creating an emergency Address at the edges (issue 27): SIGKILL the operator
right after Twilio bought the number (its answer never came), and right after the purchase's SID went
into status; start it again; exactly one number is bought and imported. The same for the Address.

The purchase is cut with a `commit_then_hang` fault: Twilio sells the number, the answer hangs, the
operator is killed while it waits (the worst case: money spent, nobody knows)."""

from __future__ import annotations

import re
from typing import Any

from fixtures.emulator import TwilioAccount, account_state, last_seq
from fixtures.kube import ADDRESSES, NUMBERS, create, get, wait_for, wait_ready
from fixtures.operator_process import MakeReadyProvider, StartOperator
from twilio_operator.api import names
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import kill

BUY = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/IncomingPhoneNumbers\.json"
ADDRESS_CREATE = r"/2010-04-01/Accounts/AC[0-9a-f]{32}/Addresses\.json"
US_415 = {"country": "US", "areaCode": "415"}


def hang(method: str, path: str) -> dict[str, Any]:
    return {"path": path, "method": method, "action": "commit_then_hang", "hang_seconds": 20}


def answered(emulator: EmulatorAdmin, since: int, path: str) -> None:
    """The hung request is logged once its answer is finally sent: wait for it, so that it does not
    land in the request log of the next test."""
    wait_for(
        lambda: any(
            r["method"] == "POST" and re.fullmatch(path, r["path"]) for r in emulator.requests(since=since)
        ),
        30,
        f"the hung POST {path} answered",
    )


def tagged(emulator: EmulatorAdmin, account_sid: str, namespace: str, name: str) -> list[dict[str, Any]]:
    tag = names.purchased_number_name(namespace, name)
    return [
        n for n in account_state(emulator, account_sid)["incoming_phone_numbers"] if n["friendly_name"] == tag
    ]


def test_sigkill_after_the_purchase_request_buys_no_second_number(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
) -> None:
    running = start_operator()
    provider = make_ready_provider()
    emulator.add_available_numbers(count=5, area_code="415")
    sid = twilio_account.sid

    # 1. Killed while Twilio's answer to the purchase hangs: the number is bought, status knows nothing.
    seq = last_seq(emulator)
    emulator.add_fault(**hang("POST", BUY))
    create(crds, NUMBERS, namespace, "first", {"providerRef": {"name": "acme"}, "purchase": US_415})
    wait_for(lambda: bool(tagged(emulator, sid, namespace, "first")), 25, "the number bought", interval=0.05)
    kill(running)
    obj = get(crds, NUMBERS, namespace, "first") or {}
    assert not (obj.get("status") or {}).get("purchase", {}).get("sid")  # the crash window, really hit
    emulator.clear_faults()
    running = start_operator()
    first = wait_ready(crds, NUMBERS, namespace, "first", timeout=45)
    [bought] = tagged(emulator, sid, namespace, "first")
    assert first["status"]["purchase"]["sid"] == bought["sid"] == first["status"]["sid"]
    assert bought["trunk_sid"] == provider["status"]["trunkSid"]
    assert len(emulator.available_numbers()) == 4  # exactly one number left the inventory

    # 2. Killed as soon as the SID is in status (before the import finished).
    create(crds, NUMBERS, namespace, "second", {"providerRef": {"name": "acme"}, "purchase": US_415})
    wait_for(
        lambda: bool(
            ((get(crds, NUMBERS, namespace, "second") or {}).get("status") or {})
            .get("purchase", {})
            .get("sid")
        ),
        25,
        "the SID recorded",
        interval=0.05,
    )
    kill(running)
    start_operator()
    second = wait_ready(crds, NUMBERS, namespace, "second", timeout=45)
    assert len(tagged(emulator, sid, namespace, "second")) == 1
    assert second["status"]["sid"] != first["status"]["sid"]
    assert len(emulator.available_numbers()) == 3
    assert len(twilio_account.state()["incoming_phone_numbers"]) == 2 + 2  # the fixture's two, ours two
    answered(emulator, seq, BUY)


def test_sigkill_after_the_address_create_makes_no_second_address(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
) -> None:
    running = start_operator()
    make_ready_provider()
    seq = last_seq(emulator)
    emulator.add_fault(**hang("POST", ADDRESS_CREATE))
    spec = {
        "providerRef": {"name": "acme"},
        "customerName": "Acme Inc",
        "street": "1 Market St",
        "city": "San Francisco",
        "region": "CA",
        "postalCode": "94105",
        "isoCountry": "US",
    }
    created = create(crds, ADDRESSES, namespace, "hq", spec)
    tag = names.address_name(created["metadata"]["uid"])

    def addresses() -> list[dict[str, Any]]:
        return [a for a in twilio_account.state()["addresses"] if a["friendly_name"] == tag]

    wait_for(lambda: bool(addresses()), 25, "the Address created", interval=0.05)
    kill(running)
    emulator.clear_faults()
    start_operator()
    ready = wait_ready(crds, ADDRESSES, namespace, "hq", timeout=45)
    [address] = addresses()
    assert ready["status"]["addressSid"] == address["sid"] and address["emergency_enabled"] is True
    assert len(twilio_account.state()["addresses"]) == 1
    answered(emulator, seq, ADDRESS_CREATE)
