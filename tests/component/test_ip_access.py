"""spec.ipAccessControl against the emulator: the operator's IP access control list is created with the
spec's entries and attached beside the credential list, converged, repaired, removed with the field,
deleted at teardown (kept with Orphan), and only reported under ObserveOnly."""

from __future__ import annotations

from typing import Any

from fixtures.twilio_user import delete_ip_access_control_list_as_a_user
from twilio_operator.api import names
from twilio_operator.api.models import IpAccessControl
from twilio_operator.deletion import finalize_provider

from .conftest import NAMESPACE, World

OFFICE, PBX = "198.51.100.0/24", "203.0.113.5"


def acls_of(world: World) -> list[dict[str, Any]]:
    return world.account.state()["ip_access_control_lists"]


def entries(acl: dict[str, Any]) -> set[str]:
    return {f"{a['ip_address']}/{a['cidr_prefix_length']}" for a in acl["ip_addresses"]}


def detail(world: World, name: str) -> Any:
    return next((d for d in world.status.verification_details if d.check_name == name), None)


async def test_create_attaches_an_ip_acl_beside_the_credential_list(world: World) -> None:
    world.with_spec(ip_access_control=IpAccessControl(cidrs=[OFFICE, PBX]))
    outcome = await world.reconcile()

    assert outcome.ready
    [acl] = acls_of(world)
    assert names.is_our_ip_access_control_list(acl["friendly_name"], world.provider.uid)
    assert entries(acl) == {OFFICE, PBX + "/32"}
    assert world.status.ip_access_control_list_sid == acl["sid"]
    [trunk] = world.account.state()["trunks"]
    assert trunk["ip_access_control_list_sids"] == [acl["sid"]]
    assert trunk["credential_list_sids"] == [world.status.credential_list_sid]
    assert trunk["auth_type"] == "IP_ACL,CREDENTIAL_LIST"
    check = detail(world, "ipAccessControl")
    assert check is not None and check.status == "passed" and acl["sid"] in check.message
    assert check.details == {"entries": "2"}
    domain = world.status.trunk_domain_name
    assert domain is not None
    assert world.emulator.ip_auth(domain, "198.51.100.77") and world.emulator.ip_auth(domain, PBX)
    assert not world.emulator.ip_auth(domain, "203.0.113.6")
    secret = world.kube.secret_text(NAMESPACE, "acme-sip-credentials")
    assert world.emulator.sip_auth(domain, secret["username"], secret["password"])  # still works

    seq = world.last_seq()
    assert (await world.reconcile()).ready
    assert world.writes_since(seq) == []  # converged: nothing to write


async def test_providers_without_the_field_never_read_ip_acls(world: World) -> None:
    seq = world.last_seq()
    await world.reconcile()
    await world.reconcile()
    assert not any("IpAccessControlLists" in r["path"] for r in world.emulator.requests(since=seq))
    assert detail(world, "ipAccessControl") is None and world.status.ip_access_control_list_sid is None


async def test_entries_follow_the_spec(world: World) -> None:
    world.with_spec(ip_access_control=IpAccessControl(cidrs=[OFFICE, PBX]))
    await world.reconcile()
    acl_sid = world.status.ip_access_control_list_sid

    world.with_spec(ip_access_control=IpAccessControl(cidrs=["198.51.100.0/25", PBX, "192.0.2.0/30"]))
    seq = world.last_seq()
    await world.reconcile()
    [acl] = acls_of(world)
    assert acl["sid"] == acl_sid
    assert entries(acl) == {"198.51.100.0/25", PBX + "/32", "192.0.2.0/30"}
    writes = world.writes_since(seq)
    assert (
        sum(r["method"] == "POST" for r in writes) == 2 and sum(r["method"] == "DELETE" for r in writes) == 1
    )
    assert "IpAccessControlUpdated" in world.kube.reasons()


async def test_drift_is_repaired(world: World, twilio_client: Any) -> None:
    world.with_spec(ip_access_control=IpAccessControl(cidrs=[OFFICE, PBX]))
    await world.reconcile()
    acl_sid, trunk_sid = world.status.ip_access_control_list_sid, world.status.trunk_sid
    sip = twilio_client.api.v2010.accounts(world.account.sid).sip
    addresses = sip.ip_access_control_lists(acl_sid).ip_addresses
    office = next(a for a in addresses.list() if a.cidr_prefix_length == 24)
    addresses(office.sid).delete()
    addresses.create(friendly_name="by hand", ip_address="192.0.2.1")
    twilio_client.trunking.v1.trunks(trunk_sid).ip_access_control_lists(acl_sid).delete()

    assert (await world.reconcile()).ready
    [acl] = acls_of(world)
    assert entries(acl) == {OFFICE, PBX + "/32"}
    [trunk] = world.account.state()["trunks"]
    assert trunk["ip_access_control_list_sids"] == [acl_sid]

    # The whole list deleted by hand (unlinked first, as Twilio may demand): a new one.
    delete_ip_access_control_list_as_a_user(twilio_client, world.account.sid, acl_sid)
    assert (await world.reconcile()).ready
    [recreated] = acls_of(world)
    assert recreated["sid"] != acl_sid and entries(recreated) == {OFFICE, PBX + "/32"}
    assert world.status.ip_access_control_list_sid == recreated["sid"]


async def test_removing_the_field_detaches_and_deletes_the_list(world: World) -> None:
    world.with_spec(ip_access_control=IpAccessControl(cidrs=[OFFICE]))
    await world.reconcile()
    world.with_spec(ip_access_control=None)
    assert (await world.reconcile()).ready
    assert acls_of(world) == []
    [trunk] = world.account.state()["trunks"]
    assert trunk["ip_access_control_list_sids"] == [] and trunk["auth_type"] == "CREDENTIAL_LIST"
    assert world.status.ip_access_control_list_sid is None
    assert detail(world, "ipAccessControl") is None
    assert "IpAccessControlRemoved" in world.kube.reasons()

    seq = world.last_seq()
    await world.reconcile()
    assert not any("IpAccessControlLists" in r["path"] for r in world.emulator.requests(since=seq))


async def test_teardown_deletes_the_list(world: World) -> None:
    world.with_spec(ip_access_control=IpAccessControl(cidrs=[OFFICE]))
    await world.reconcile()
    acl_sid = world.status.ip_access_control_list_sid
    teardown = await finalize_provider(world.provider, world.deps)
    assert acl_sid in teardown.removed
    assert acls_of(world) == [] and world.account.state()["trunks"] == []


async def test_orphan_keeps_the_list(world: World) -> None:
    world.with_spec(ip_access_control=IpAccessControl(cidrs=[OFFICE]), deletion_policy="Orphan")
    await world.reconcile()
    acl_sid = world.status.ip_access_control_list_sid
    seq = world.last_seq()
    await finalize_provider(world.provider, world.deps)
    assert world.writes_since(seq) == []
    assert [a["sid"] for a in acls_of(world)] == [acl_sid]
    assert any(acl_sid in message for *_, message in world.kube.events)


async def test_observe_only_reports_and_writes_nothing(world: World) -> None:
    await world.reconcile()  # a Full provider made the trunk and list, without IP access control
    world.with_spec(management_policy="ObserveOnly", ip_access_control=IpAccessControl(cidrs=[OFFICE]))
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    assert world.writes_since(seq) == []
    assert acls_of(world) == []
    assert world.status.verification_status == "warning"
    observed = detail(world, "managedResources")
    assert observed is not None and "no IP access control list of this provider exists" in observed.message
