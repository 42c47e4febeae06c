"""spec.ipAccessControl on the real API server with the operator process: admission refuses a
malformed entry with a readable reason; the operator attaches, converges, repairs and removes its IP
access control list, and deletes it with the provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twilio.rest import Client

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    PROVIDERS,
    decoded,
    delete,
    get,
    merge_patch,
    provider_spec,
    secret,
    wait_for,
    wait_gone,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.ports.twilio.http import RewritingHttpClient
from twilio_operator.testing.controlplane import ControlPlane

OFFICE, PBX = "198.51.100.0/24", "203.0.113.5"


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (["203.0.113.0/33"], "must be an IPv4 address like 203.0.113.5 or a CIDR block like 203.0.113.0/24"),
        (["pbx.example.com"], "must be an IPv4 address like 203.0.113.5 or a CIDR block like 203.0.113.0/24"),
        (["2001:db8::/64"], "Twilio IP access control lists accept IPv4 addresses only"),
        (["10.0.0.0/7"], "the prefix length must be /8 to /32"),
        (["203.0.113.5/24"], "write the network address, e.g. 203.0.113.0/24"),
        ([OFFICE, OFFICE], "Duplicate value"),
        ([], "should have at least 1 items"),
        ([f"10.0.0.{n}" for n in range(101)], "must have at most 100 items"),
    ],
    ids=["prefix-33", "hostname", "ipv6", "prefix-7", "host-bits", "duplicate", "empty", "too-many"],
)
def test_api_server_refuses_malformed_cidrs_readably(
    crds: ControlPlane, namespace: str, twilio_account: TwilioAccount, cidrs: list[str], message: str
) -> None:
    body = {
        "apiVersion": "voip.twilio-operator.dev/v1alpha1",
        "kind": "TwilioProvider",
        "metadata": {"name": "bad"},
        "spec": {**provider_spec(twilio_account), "ipAccessControl": {"cidrs": cidrs}},
    }
    status, result = crds.request(
        "POST", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{namespace}/twilioproviders", body
    )
    assert status == 422, result
    assert message in result["message"], result["message"]
    assert "spec.ipAccessControl.cidrs" in result["message"]


def _acls(account: TwilioAccount) -> list[dict[str, Any]]:
    return account.state()["ip_access_control_lists"]


def _entries(acl: dict[str, Any]) -> set[str]:
    return {f"{a['ip_address']}/{a['cidr_prefix_length']}" for a in acl["ip_addresses"]}


@pytest.mark.usefixtures("operator", "both_worlds")  # issue 24, item 2: either check, or both
def test_ip_access_control_lifecycle(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    ready = make_ready_provider(ipAccessControl={"cidrs": [OFFICE, PBX]})
    status = ready["status"]
    [acl] = _acls(twilio_account)
    assert status["ipAccessControlListSid"] == acl["sid"]
    assert _entries(acl) == {OFFICE, PBX + "/32"}
    detail = next(d for d in status["verificationDetails"] if d["checkName"] == "ipAccessControl")
    assert detail["status"] == "passed" and acl["sid"] in detail["message"]
    domain = status["trunkDomainName"]
    assert emulator.ip_auth(domain, "198.51.100.9") and not emulator.ip_auth(domain, "192.0.2.1")
    [trunk] = twilio_account.state()["trunks"]
    assert trunk["ip_access_control_list_sids"] == [acl["sid"]]
    assert trunk["credential_list_sids"] == [status["credentialListSid"]]  # an addition, not a swap

    # A second check, not an alternative: the detail says what is now required (the platform that
    # uses the SIP Secret is unknown to the operator) and both worlds agree with what it says. A call
    # from the listed addresses with the SIP credentials is admitted in both; one from elsewhere, or
    # without credentials, in the default world only (strict: both must pass, as reports say).
    admission = next(d for d in status["verificationDetails"] if d["checkName"] == "ipAccessControlAdmission")
    assert admission["status"] == "warning" and status["verificationStatus"] == "warning"
    assert OFFICE in admission["message"] and "acme-sip-credentials" in admission["message"]
    sip = decoded(secret(crds, namespace, "acme-sip-credentials") or {})
    login = {"username": sip["username"], "password": sip["password"]}
    assert emulator.call_auth(domain, source_ip="198.51.100.9", **login)["ok"]
    strict = bool(emulator.configure()["strict"])
    assert emulator.call_auth(domain, source_ip="192.0.2.1", **login)["ok"] is not strict
    assert emulator.call_auth(domain, source_ip="198.51.100.9")["ok"] is not strict

    # A change of the spec converges the entries.
    merge_patch(crds, "twilioprovider", namespace, "acme", {"spec": {"ipAccessControl": {"cidrs": [PBX]}}})
    wait_for(
        lambda: [_entries(a) for a in _acls(twilio_account)] == [{PBX + "/32"}],
        what="the IP access control list holds only the PBX",
    )
    wait_ready(crds, PROVIDERS, namespace, "acme")

    # Drift in Twilio (detached by hand) is repaired by the next reconcile, here woken by a spec change.
    client = Client(
        twilio_account.sid,
        twilio_account.auth_token,
        http_client=RewritingHttpClient(emulator.base_url),
    )
    assert client.trunking.v1.trunks(trunk["sid"]).ip_access_control_lists(acl["sid"]).delete()
    merge_patch(crds, "twilioprovider", namespace, "acme", {"spec": {"verificationInterval": "1m"}})
    wait_for(
        lambda: twilio_account.state()["trunks"][0]["ip_access_control_list_sids"] == [acl["sid"]],
        timeout=90,
        what="the IP access control list attached again",
    )

    # Removing the field detaches and deletes the list and clears the SID in status.
    merge_patch(crds, "twilioprovider", namespace, "acme", {"spec": {"ipAccessControl": None}})
    wait_for(lambda: _acls(twilio_account) == [], what="the IP access control list deleted")
    wait_for(
        lambda: (
            "ipAccessControlListSid" not in (get(crds, PROVIDERS, namespace, "acme") or {}).get("status", {})
        ),
        what="status.ipAccessControlListSid cleared",
    )

    # Set again, then deleted with the provider.
    merge_patch(crds, "twilioprovider", namespace, "acme", {"spec": {"ipAccessControl": {"cidrs": [OFFICE]}}})
    wait_for(lambda: len(_acls(twilio_account)) == 1, what="a new IP access control list")
    delete(crds, namespace, "acme")
    wait_gone(crds, namespace, "acme")
    assert _acls(twilio_account) == []
    assert twilio_account.state()["trunks"] == []


def test_the_example_is_admitted(crds: ControlPlane, namespace: str) -> None:
    example = Path(__file__).parents[2] / "examples" / "ip-access-control" / "asterisk.yaml"
    result = crds.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(example))
    assert result.returncode == 0, result.stderr
