"""spec.ipAccessControl without I/O: what the model admits, and how the entries are planned."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from twilio_operator.api import names
from twilio_operator.api.models import IpAccessControl, TwilioProviderSpec, TwilioProviderStatus
from twilio_operator.api.ownership import find_ip_access_control_lists
from twilio_operator.api.twilio_values import CredentialList, IpAccessControlList, IpAddress, Trunk
from twilio_operator.provider.diff import (
    AddIpEntry,
    IpAccessSeen,
    RemoveIpEntry,
    TwilioSeen,
    describe,
    diff,
    plan_ip_entries,
    wanted_entries,
)
from twilio_operator.provider.observe import reads_ip_access
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.verification import ip_admission_check, sip_host

AC = "AC" + "0" * 32


def provider(cidrs: list[str] | None = None, recorded: str | None = None) -> Provider:
    body: dict[str, object] = {"displayName": "Acme", "accountSid": AC, "credentialsSecretRef": {"name": "s"}}
    if cidrs is not None:
        body["ipAccessControl"] = {"cidrs": cidrs}
    return Provider(
        namespace="ns",
        name="acme",
        uid=str(uuid.uuid4()),
        generation=1,
        spec=TwilioProviderSpec.model_validate(body),
        status=TwilioProviderStatus(ip_access_control_list_sid=recorded),
    )


@pytest.mark.parametrize(
    "cidr", ["203.0.113.5", "203.0.113.5/32", "198.51.100.0/24", "10.0.0.0/8", "0.0.0.0/8", "192.0.2.128/25"]
)
def test_valid_entries_are_admitted(cidr: str) -> None:
    assert IpAccessControl(cidrs=[cidr]).cidrs == [cidr]


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("2001:db8::/32", "IPv4 addresses only"),
        ("2001:db8::1", "IPv4 addresses only"),
        ("10.0.0.0/7", "/8 to /32"),
        ("0.0.0.0/0", "/8 to /32"),
        ("203.0.113.5/24", "network address"),
        ("203.0.113.0/33", "network address"),
        ("203.0.113", "network address"),
        ("203.0.113.*", "network address"),
        ("sip.example.com", "network address"),
        ("", "network address"),
    ],
)
def test_invalid_entries_are_refused_with_a_reason(cidr: str, why: str) -> None:
    with pytest.raises(ValidationError) as err:
        IpAccessControl(cidrs=[cidr])
    assert why in str(err.value)


def test_entry_count_is_bounded_by_twilios_limit() -> None:
    with pytest.raises(ValidationError):
        IpAccessControl(cidrs=[])
    with pytest.raises(ValidationError):
        IpAccessControl(cidrs=[f"10.0.{n // 256}.{n % 256}" for n in range(101)])
    assert len(IpAccessControl(cidrs=[f"10.0.0.{n}" for n in range(100)]).cidrs) == 100


def test_wanted_entries_are_normalised() -> None:
    spec = IpAccessControl(cidrs=["203.0.113.5", "203.0.113.5/32", "198.51.100.0/24"])
    assert wanted_entries(spec) == {("203.0.113.5", 32), ("198.51.100.0", 24)}
    assert wanted_entries(None) == frozenset()


def ip(sid: str, address: str, prefix: int) -> IpAddress:
    return IpAddress(sid=sid, ip_address=address, cidr_prefix_length=prefix)


@pytest.mark.parametrize(
    ("wanted", "existing", "add", "remove"),
    [
        ({("10.0.0.0", 8)}, [], [("10.0.0.0", 8)], []),
        ({("10.0.0.0", 8)}, [ip("IP1", "10.0.0.0", 8)], [], []),
        (set(), [ip("IP1", "10.0.0.0", 8)], [], ["IP1"]),
        ({("10.0.0.0", 8)}, [ip("IP1", "10.0.0.0", 16)], [("10.0.0.0", 8)], ["IP1"]),
        ({("10.0.0.1", 32)}, [ip("IP1", "10.0.0.1", 0)], [], []),  # 0: "the entire address"
        ({("10.0.0.1", 32)}, [ip("IP1", "10.0.0.1", 32), ip("IP2", "10.0.0.1", 32)], [], ["IP2"]),
        (
            {("10.0.0.9", 32), ("10.0.0.10", 32), ("9.0.0.0", 8)},
            [],
            [("9.0.0.0", 8), ("10.0.0.9", 32), ("10.0.0.10", 32)],
            [],
        ),
    ],
    ids=["create", "converged", "extra", "changed-prefix", "zero-prefix", "repeat", "numeric-order"],
)
def test_plan_entries(
    wanted: set[tuple[str, int]], existing: list[IpAddress], add: list[tuple[str, int]], remove: list[str]
) -> None:
    plan = plan_ip_entries(frozenset(wanted), existing)
    assert [c.entry for c in plan if isinstance(c, AddIpEntry)] == add
    assert [c.address.sid for c in plan if isinstance(c, RemoveIpEntry)] == remove


def test_adds_go_first_unless_they_would_overflow_the_list() -> None:
    one = plan_ip_entries(frozenset({("10.0.0.0", 8)}), [ip("IP1", "11.0.0.0", 8)])
    assert [type(c) for c in one] == [AddIpEntry, RemoveIpEntry]
    full = [ip(f"IP{n}", f"11.0.0.{n}", 32) for n in range(100)]
    assert isinstance(plan_ip_entries(frozenset({("10.0.0.0", 8)}), full)[0], RemoveIpEntry)


def test_the_list_is_found_by_its_tag_and_the_recorded_sid_only_among_ours() -> None:
    p = provider(["10.0.0.0/8"], recorded="AL2")
    tagged = names.ip_access_control_list_name("Acme", p.uid)
    lists = [
        IpAccessControlList("AL1", tagged),
        IpAccessControlList("AL2", tagged),
        IpAccessControlList("AL3", "someone else's"),
    ]
    found = find_ip_access_control_lists(p, lists)
    assert [a.sid for a in found] == ["AL2", "AL1"]
    forged = provider(["10.0.0.0/8"], recorded="AL3")
    assert find_ip_access_control_lists(forged, lists[2:]) == ()


def test_only_providers_that_use_the_field_read_ip_acls() -> None:
    assert not reads_ip_access(provider())
    assert reads_ip_access(provider(["10.0.0.0/8"]))
    assert reads_ip_access(provider(recorded="AL1"))  # the field was removed: the list must go


def _ip_differences(p: Provider, seen: IpAccessSeen) -> list[str]:
    trunk = Trunk("TK1", "d.pstn.twilio.com", "Acme", "disable-all")
    listed = CredentialList("CL1", "x")
    changes = diff(p, TwilioSeen(trunk, listed, attached_lists=("CL1",), originations=(), ip_access=seen))
    return [text for text in describe(changes) if "IP access" in text]


def test_observe_only_differences() -> None:
    p = provider(["10.0.0.0/8", "203.0.113.5"])
    acl = IpAccessControlList("AL1", names.ip_access_control_list_name("Acme", p.uid))
    assert _ip_differences(p, IpAccessSeen()) == [
        "no IP access control list of this provider exists (Full would create one)",
        "IP access control entry 10.0.0.0/8 is missing",
        "IP access control entry 203.0.113.5/32 is missing",
        "IP access control list (new) is not attached to the trunk",
    ]
    seen = IpAccessSeen((acl,), (ip("IP1", "10.0.0.0", 8), ip("IP2", "192.0.2.0", 24)), ())
    assert _ip_differences(p, seen) == [
        "IP access control entry 203.0.113.5/32 is missing",
        "IP access control entry 192.0.2.0/24 is not in the spec",
        "IP access control list AL1 is not attached to the trunk",
    ]
    converged = IpAccessSeen((acl,), (ip("IP1", "10.0.0.0", 8), ip("IP3", "203.0.113.5", 32)), ("AL1",))
    assert _ip_differences(p, converged) == []
    assert _ip_differences(provider(recorded="AL1"), converged) == [
        "IP access control list AL1 is not in the spec (Full would delete it)"
    ]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("sip:agents.example.com", "agents.example.com"),
        ("sip:203.0.113.10:5060;transport=tcp", "203.0.113.10"),
        ("sip:user@198.51.100.7;transport=udp", "198.51.100.7"),
        ("sip:pbx.example.com:5080", "pbx.example.com"),
    ],
)
def test_sip_host(url: str, host: str) -> None:
    assert sip_host(url) == host


@pytest.mark.parametrize(
    ("cidrs", "originations", "says"),
    [
        # The platform is unknown: what is now required, both checks named.
        (
            ["198.51.100.0/24"],
            ["sip:agents.example.com"],
            ("only from 198.51.100.0/24", "acme-sip-credentials"),
        ),
        # An origination on an address inside the list: no lockout named.
        (["198.51.100.0/24", "203.0.113.5"], ["sip:198.51.100.9"], ("198.51.100.0/24, 203.0.113.5",)),
        # One outside: named as locked out.
        (
            ["198.51.100.0/24"],
            ["sip:203.0.113.9:5060"],
            ("203.0.113.9 receives this trunk's calls", "refused"),
        ),
    ],
)
def test_ip_admission_always_warns_with_what_is_required(
    cidrs: list[str], originations: list[str], says: tuple[str, ...]
) -> None:
    check = ip_admission_check(cidrs, originations, "acme-sip-credentials")
    assert check.name == "ipAccessControlAdmission" and check.status == "warning"
    assert all(part in check.message for part in says), check.message
    assert ("receives this trunk's calls" in check.message) == ("203.0.113.9" in " ".join(originations))
    assert "unconfirmed" in check.message
