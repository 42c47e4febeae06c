"""TwilioPhoneNumber against the real API server and the emulator: import, route, conflicts, delete."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    NUMBERS,
    PROVIDERS,
    condition,
    create,
    events,
    get,
    provider_spec,
    put_secret,
    wait_for,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider, OperatorProcess
from fixtures.twilio_user import detach_number_as_a_user
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST, SECOND = "+15005550006", "+15005550007"


def number_state(account: TwilioAccount, e164: str) -> dict[str, Any]:
    state = account.state()
    return next(n for n in state["incoming_phone_numbers"] if n["phone_number"] == e164)


def wait_reason(
    cp: ControlPlane, plural: str, namespace: str, name: str, reason: str, timeout: float = 30
) -> dict:
    return wait_for(
        lambda: condition(obj := get(cp, plural, namespace, name)).get("reason") == reason and obj,
        timeout=timeout,
        what=f"{name} reason {reason}",
    )


@pytest.fixture
def provider(make_ready_provider: MakeReadyProvider, operator: OperatorProcess) -> dict:
    """The Ready provider "acme" that the numbers of these tests route to."""
    return make_ready_provider(originationUris=[{"sipUrl": "sip:agents.example.com", "priority": 1}])


def test_import_route_count_and_delete(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount, provider: dict
) -> None:
    trunk_sid = provider["status"]["trunkSid"]
    available = provider["status"]["availableNumbers"]
    assert {n["phoneNumber"] for n in available} == {FIRST, SECOND}
    assert all(n["voice"] and "trunkSid" not in n for n in available)

    create(
        crds,
        NUMBERS,
        namespace,
        "support",
        {"providerRef": {"name": "acme"}, "phoneNumber": FIRST, "agentRef": {"name": "support-agent"}},
    )
    number = wait_ready(crds, NUMBERS, namespace, "support")
    status = number["status"]
    assert (
        status["trunkSid"] == trunk_sid and status["phoneNumber"] == FIRST and status["sid"].startswith("PN")
    )
    assert status["capabilities"]["voice"] is True and status["agent"] == "support-agent"
    assert status["observedGeneration"] == 1
    assert number_state(twilio_account, FIRST)["trunk_sid"] == trunk_sid
    [trunk] = twilio_account.state()["trunks"]
    assert [o["sip_url"] for o in trunk["origination_urls"]] == ["sip:agents.example.com"]

    # The provider recounts as soon as one of its numbers is attached or detached.
    wait_for(
        lambda: get(crds, PROVIDERS, namespace, "acme")["status"].get("phoneNumberCount") == 1,
        what="phoneNumberCount 1",
    )

    printed = crds.kubectl("get", "twpn", "-n", namespace)
    assert printed.returncode == 0 and FIRST in printed.stdout and "support-agent" in printed.stdout

    crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twiliophonenumbers/support"
    )
    wait_for(lambda: get(crds, NUMBERS, namespace, "support") is None, what="number object gone")
    detached = number_state(twilio_account, FIRST)
    assert detached["trunk_sid"] is None  # detached, and still in the account: never released
    wait_for(
        lambda: get(crds, PROVIDERS, namespace, "acme")["status"].get("phoneNumberCount") == 0,
        what="phoneNumberCount back to 0",
    )


def test_by_sid_and_duplicates(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount, provider: dict
) -> None:
    sid = number_state(twilio_account, SECOND)["sid"]
    create(crds, NUMBERS, namespace, "by-sid", {"providerRef": {"name": "acme"}, "phoneNumberSid": sid})
    wait_ready(crds, NUMBERS, namespace, "by-sid")
    time.sleep(1.1)  # creationTimestamp has one-second resolution: make the second one younger
    create(crds, NUMBERS, namespace, "again", {"providerRef": {"name": "acme"}, "phoneNumber": SECOND})
    obj = wait_reason(crds, NUMBERS, namespace, "again", "Duplicate")
    assert "already imported by TwilioPhoneNumber by-sid" in condition(obj)["message"]

    # Deleting the duplicate must not detach the number the first one imported.
    crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twiliophonenumbers/again"
    )
    wait_for(lambda: get(crds, NUMBERS, namespace, "again") is None, what="duplicate gone")
    assert number_state(twilio_account, SECOND)["trunk_sid"] == provider["status"]["trunkSid"]


def test_not_in_account_and_conflict(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict,
    twilio_client: Any,
) -> None:
    create(
        crds, NUMBERS, namespace, "missing", {"providerRef": {"name": "acme"}, "phoneNumber": "+15559990000"}
    )
    obj = wait_reason(crds, NUMBERS, namespace, "missing", "NotFound")
    assert "+15559990000 is not a phone number of Twilio account" in condition(obj)["message"]

    other = twilio_client.trunking.v1.trunks.create(
        friendly_name="someone else", domain_name="other-team.pstn.twilio.com"
    )
    sid = number_state(twilio_account, FIRST)["sid"]
    twilio_client.api.v2010.accounts(twilio_account.sid).incoming_phone_numbers(sid).update(
        trunk_sid=other.sid
    )

    create(crds, NUMBERS, namespace, "taken", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    obj = wait_reason(crds, NUMBERS, namespace, "taken", "Conflict")
    assert other.sid in condition(obj)["message"] and "allowTakeover" in condition(obj)["message"]
    assert number_state(twilio_account, FIRST)["trunk_sid"] == other.sid  # nothing stolen

    crds.kubectl(
        "patch", "twpn", "taken", "-n", namespace, "--type=merge", "-p", '{"spec":{"allowTakeover":true}}'
    )
    wait_ready(crds, NUMBERS, namespace, "taken")
    assert number_state(twilio_account, FIRST)["trunk_sid"] == provider["status"]["trunkSid"]


@pytest.mark.usefixtures("operator")
def test_waits_for_provider_then_converges(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount
) -> None:
    create(crds, NUMBERS, namespace, "early", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    wait_reason(crds, NUMBERS, namespace, "early", "ProviderNotFound")
    create(crds, PROVIDERS, namespace, "acme", provider_spec(twilio_account))
    wait_reason(crds, NUMBERS, namespace, "early", "ProviderNotReady")
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token})
    wait_ready(crds, PROVIDERS, namespace, "acme")
    number = wait_ready(crds, NUMBERS, namespace, "early", timeout=30)
    assert number["status"]["trunkSid"]


def test_detached_number_warns_and_is_reattached(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    provider: dict,
    twilio_client: Any,
) -> None:
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    number = wait_ready(crds, NUMBERS, namespace, "line")
    # Taken off by hand the way the API's spec allows in us1 (TrunkSid="" is outside its pattern).
    detach_number_as_a_user(twilio_client, number["status"]["trunkSid"], number["status"]["sid"])
    put_secret(crds, namespace, "twilio-credentials", {"authToken": twilio_account.auth_token, "touch": "2"})
    # The warning can be short-lived (the number re-attaches within seconds), so read it from the
    # Event that records it rather than from a status that may already have moved on.
    warning = wait_for(
        lambda: next(
            (e["message"] for e in events(crds, namespace, "acme") if e["reason"] == "VerificationWarning"),
            None,
        ),
        what="verification warning",
    )
    assert FIRST in warning and "no longer on the trunk" in warning
    wait_for(
        lambda: number_state(twilio_account, FIRST)["trunk_sid"] == provider["status"]["trunkSid"],
        what="number re-attached",
    )


def test_deleting_the_provider_detaches_its_numbers(
    crds: ControlPlane, namespace: str, emulator: EmulatorAdmin, twilio_account: TwilioAccount, provider: dict
) -> None:
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    wait_ready(crds, NUMBERS, namespace, "line")
    crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders/acme"
    )
    wait_for(lambda: get(crds, PROVIDERS, namespace, "acme") is None, what="provider gone")
    assert number_state(twilio_account, FIRST)["trunk_sid"] is None
    obj = wait_reason(crds, NUMBERS, namespace, "line", "ProviderNotFound", timeout=10)
    assert "TwilioProvider" in condition(obj)["message"]
    assert "trunkSid" not in obj["status"], obj["status"]  # no stale trunk left in status
    [deleted] = [e["message"] for e in events(crds, namespace, "acme") if e["reason"] == "Deleted"]
    assert FIRST in deleted and "detached" in deleted, deleted
    assert "ProviderNotFound" in {e["reason"] for e in events(crds, namespace, "line")}
    # And the number object itself can still be deleted.
    crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twiliophonenumbers/line"
    )
    wait_for(lambda: get(crds, NUMBERS, namespace, "line") is None, what="number object gone")


# Three ways to name the number since spec.purchase (issue 27); the CRD's rule says so.
ONE_WAY = "set exactly one of phoneNumber, phoneNumberSid or purchase"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"providerRef": {"name": "acme"}, "phoneNumber": "4155550100"}, "should match"),
        ({"providerRef": {"name": "acme"}, "phoneNumberSid": "PN123"}, "should match"),
        ({"providerRef": {"name": "acme"}}, ONE_WAY),
        ({"providerRef": {"name": "acme"}, "phoneNumber": FIRST, "phoneNumberSid": "PN" + "0" * 32}, ONE_WAY),
        ({"providerRef": {"name": "acme"}, "phoneNumber": FIRST, "purchase": {"country": "US"}}, ONE_WAY),
        ({"phoneNumber": FIRST}, "providerRef: Required value"),
    ],
)
def test_api_server_refuses_malformed_numbers(
    crds: ControlPlane, namespace: str, spec: dict, message: str
) -> None:
    body = {
        "apiVersion": "voip.twilio-operator.dev/v1alpha1",
        "kind": "TwilioPhoneNumber",
        "metadata": {"name": "bad"},
        "spec": spec,
    }
    status, result = crds.request(
        "POST", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twiliophonenumbers", body
    )
    assert status == 422, result
    assert message in result["message"]


@pytest.mark.usefixtures("operator")
def test_thousands_of_numbers_are_paged_and_bounded(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount, make_ready_provider: MakeReadyProvider
) -> None:
    emulator.add_numbers(twilio_account.sid, count=2500)
    seq = emulator.requests()[-1]["seq"] if emulator.requests() else 0
    status = make_ready_provider("big", timeout=60)["status"]
    assert status["accountPhoneNumberCount"] == 2502
    assert len(status["availableNumbers"]) == 100
    pages = [r for r in emulator.requests(since=seq) if "IncomingPhoneNumbers" in r["path"]]
    assert all("PageSize=1000" in r["query"] for r in pages), pages[:3]
    # 2502 numbers at 1000 a page: a scan of the account is a first page and two more (a later
    # verification may already have started its own scan when the provider turns Ready).
    first_scan = ["PageToken" in r["query"] for r in pages[:3]]
    assert first_scan == [False, True, True], [(r["path"], r["query"]) for r in pages]


@pytest.mark.parametrize(
    "change",
    [{"phoneNumber": SECOND}, {"phoneNumber": None, "phoneNumberSid": "PN" + "0" * 32}],
)
def test_the_imported_number_cannot_be_edited(crds: ControlPlane, namespace: str, change: dict) -> None:
    """Editing the number would leave the old one on the trunk with nothing tracking it."""
    create(crds, NUMBERS, namespace, "line", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    patch = json.dumps({"spec": change})
    refused = crds.kubectl("patch", "twiliophonenumber", "line", "-n", namespace, "--type=merge", "-p", patch)
    assert refused.returncode != 0
    assert "phoneNumber and phoneNumberSid are immutable" in refused.stderr, refused.stderr
