"""Issue 24 on the real API server with the operator process, each test in both of the emulator's
worlds (`both_worlds`: the documented one and strict mode, whatever the session's): numbers are global
(item 1), teardown meets dependencies (item 3), a detach is done only when the number reads back
detached (item 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, last_seq
from fixtures.kube import (
    CREDENTIALS_SECRET,
    NUMBERS,
    PROVIDERS,
    create,
    create_ready_provider,
    delete,
    events,
    get,
    provider_spec,
    put_secret,
    wait_gone,
    wait_ready,
    wait_reason,
)
from fixtures.operator_process import StartOperator, operator_launcher
from twilio_operator.api.credentials import TwilioCredentials
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.adapter import library_client
from twilio_operator.ports.twilio.http import RewritingHttpClient
from twilio_operator.testing.controlplane import ControlPlane

NUMBER, BY_HAND = "+15005550006", "+15005550007"
IE1_NUMBER = "+353100000001"
APPLICATION = "AP" + "b" * 32
# A blocked deletion is retried with backoff (here from 3 s instead of 30, then doubling): a window of
# 20 s sees at most four tries of five requests each (find, list trunks, two refused ways, read back).
QUIET_SECONDS = 20
MAX_BLOCKED_REQUESTS = 20

pytestmark = pytest.mark.usefixtures("both_worlds")


@pytest.fixture
def launch_both(
    crds: ControlPlane, emulator: EmulatorAdmin, namespace: str, other_namespace: str, tmp_path: Path
) -> Iterator[StartOperator]:
    with operator_launcher(crds, emulator, [namespace, other_namespace], tmp_path) as start:
        yield start


def number_of(emulator: EmulatorAdmin, account: TwilioAccount, e164: str) -> dict[str, Any]:
    """The number with its voice configuration per region and its inbound route."""
    return next(n for n in emulator.numbers(account.sid) if n["phone_number"] == e164)


def message(obj: dict[str, Any]) -> str:
    ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
    return str(ready["message"])


def test_two_providers_of_one_account_in_us1_and_ie1_and_one_number(
    crds: ControlPlane,
    namespace: str,
    other_namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    launch_both: StartOperator,
) -> None:
    """The number is live on the us1 provider's trunk: the ie1 provider's TwilioPhoneNumber is a
    Conflict naming the region and the trunk, moves nothing (not even with allowTakeover: it is
    another provider's trunk), and takes the number once the us1 object is deleted."""
    launch_both()
    for ns in (namespace, other_namespace):
        put_secret(crds, ns, CREDENTIALS_SECRET, {"authToken": twilio_account.auth_token})
    us1 = create_ready_provider(crds, namespace, "acme", provider_spec(twilio_account))
    ie1 = create_ready_provider(crds, other_namespace, "acme-eu", provider_spec(twilio_account, region="ie1"))
    us1_trunk, ie1_trunk = us1["status"]["trunkSid"], ie1["status"]["trunkSid"]
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": NUMBER})
    wait_ready(crds, NUMBERS, namespace, "line")
    seq = last_seq(emulator)

    create(
        crds,
        NUMBERS,
        other_namespace,
        "line",
        {"providerRef": {"name": "acme-eu"}, "phoneNumber": NUMBER, "allowTakeover": True},
    )
    refused = wait_reason(crds, other_namespace, "line", "Conflict", plural=NUMBERS)
    assert f"{us1_trunk} in us1" in message(refused) and "another TwilioProvider" in message(refused)
    writes = [r for r in emulator.requests(since=seq) if r["write"]]
    assert writes == [], writes
    number = number_of(emulator, twilio_account, NUMBER)
    assert number["voice"]["us1"]["trunk_sid"] == us1_trunk and number["voice_region"] is None
    assert "ie1" not in number["voice"]

    # The us1 side lets go (its deletion detaches the number and wakes the waiting object).
    delete(crds, namespace, "line", plural=NUMBERS)
    wait_gone(crds, namespace, "line", plural=NUMBERS)
    taken = wait_ready(crds, NUMBERS, other_namespace, "line", timeout=60)
    assert taken["status"]["trunkSid"] == ie1_trunk and "processed in ie1" in message(taken)
    number = number_of(emulator, twilio_account, NUMBER)
    assert number["voice"]["ie1"]["trunk_sid"] == ie1_trunk and number["voice_region"] == "ie1"
    assert number["voice"].get("us1", {}).get("trunk_sid") is None


def test_deleting_a_provider_empties_its_trunk_and_names_every_number(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    start_operator: StartOperator,
    credentials: str,
) -> None:
    """Origination URIs, an IP ACL, a number imported by a TwilioPhoneNumber and one attached by hand:
    the teardown removes them in the order both worlds accept, and its Event names both numbers."""
    start_operator()
    provider = create_ready_provider(
        crds,
        namespace,
        "acme",
        provider_spec(
            twilio_account,
            originationUris=[{"sipUrl": "sip:agents.example.com"}],
            ipAccessControl={"cidrs": ["198.51.100.0/24"]},
        ),
    )
    trunk_sid = provider["status"]["trunkSid"]
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": NUMBER})
    wait_ready(crds, NUMBERS, namespace, "line")
    emulator.patch_number(twilio_account.sid, BY_HAND, voice={"us1": {"trunk_sid": trunk_sid}})

    delete(crds, namespace, "acme")
    wait_gone(crds, namespace, "acme", timeout=60)

    state = twilio_account.state()
    assert (
        state["trunks"] == [] and state["credential_lists"] == [] and state["ip_access_control_lists"] == []
    )
    for e164 in (NUMBER, BY_HAND):
        assert number_of(emulator, twilio_account, e164)["voice"].get("us1", {}).get("trunk_sid") is None
    [deleted] = [e["message"] for e in events(crds, namespace, "acme") if e["reason"] == "Deleted"]
    assert NUMBER in deleted and f"{BY_HAND} (attached outside the operator)" in deleted, deleted
    [detached] = [e["message"] for e in events(crds, namespace, "acme") if e["reason"] == "Detached"]
    assert NUMBER in detached and f"{BY_HAND} (attached outside the operator)" in detached, detached


def test_an_ie1_detach_counts_only_when_the_number_reads_back_detached(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    start_operator: StartOperator,
    credentials: str,
) -> None:
    """In strict IE1 no request the operator may send takes a number without a known voice
    application off the trunk: the deletion waits, says what is still attached in status and an
    Event, retries slowly, and goes on by itself once the number is taken off by hand. The default
    world (TrunkSid="" accepted) detaches at once."""
    start_operator(TWILIO_OPERATOR_DELETION_RETRY_SECONDS="3")
    emulator.add_numbers(twilio_account.sid, numbers=[{"phone_number": IE1_NUMBER}], region="ie1")
    provider = create_ready_provider(crds, namespace, "acme", provider_spec(twilio_account, region="ie1"))
    trunk_sid = provider["status"]["trunkSid"]
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": IE1_NUMBER})
    wait_ready(crds, NUMBERS, namespace, "line")
    delete(crds, namespace, "line", plural=NUMBERS)
    if not emulator.configure()["strict"]:
        wait_gone(crds, namespace, "line", plural=NUMBERS)
        assert (
            number_of(emulator, twilio_account, IE1_NUMBER)["voice"].get("ie1", {}).get("trunk_sid") is None
        )
        return

    blocked = wait_reason(crds, namespace, "line", "DeletionBlocked", plural=NUMBERS)
    assert f"{IE1_NUMBER} still on trunk {trunk_sid}" in message(blocked)
    assert any(
        e["reason"] == "DeletionBlocked" and IE1_NUMBER in e["message"]
        for e in events(crds, namespace, "line")
    )
    assert not any(e["reason"] == "Detached" for e in events(crds, namespace, "line"))
    seq = last_seq(emulator)
    time.sleep(QUIET_SECONDS)
    calls = [r for r in emulator.requests(since=seq) if r["account_sid"] == twilio_account.sid]
    assert len(calls) <= MAX_BLOCKED_REQUESTS, [f"{r['method']} {r['path']}" for r in calls]
    assert number_of(emulator, twilio_account, IE1_NUMBER)["voice"]["ie1"]["trunk_sid"] == trunk_sid

    # Taken off by hand, in IE1, the one way the spec allows there: an application of the user's.
    ie1 = ResolvedRegion.of("ie1")
    account, token = twilio_account.sid, twilio_account.auth_token
    user = library_client(
        TwilioCredentials(account, account, token, ie1), RewritingHttpClient(emulator.base_url)
    )
    sid = blocked["status"]["sid"]
    user.api.v2010.accounts(account).incoming_phone_numbers(sid).update(voice_application_sid=APPLICATION)
    wait_gone(crds, namespace, "line", plural=NUMBERS, timeout=120)
    assert get(crds, PROVIDERS, namespace, "acme") is not None
