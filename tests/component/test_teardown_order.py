"""A provider's teardown meets Twilio's dependencies (issue 24, item 3), in both of the emulator's
worlds (each test runs in each, `both_worlds`): the default one cascades (assumed), strict mode
refuses a trunk with numbers, origination URLs or links (21247) and a list still linked (21241,
21236). One order works in both: numbers (every one on the trunk, also those no TwilioPhoneNumber
attached), origination URLs, list and IP ACL links, the lists and IP ACLs, the trunk; each step
idempotent, so a teardown stopped anywhere completes later."""

from __future__ import annotations

from typing import Any

import pytest

from twilio_operator.api.errors import DeletionBlocked, TwilioError
from twilio_operator.api.models import IpAccessControl, OriginationUri
from twilio_operator.deletion import finalize_provider
from twilio_operator.phone_number.reconcile import PhoneNumber, ProviderView, reconcile_number

from .conftest import NAMESPACE, World, make_provider

IMPORTED, BY_HAND = "+15005550006", "+15005550007"

pytestmark = pytest.mark.usefixtures("both_worlds")


def number_object(world: World, e164: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": NAMESPACE, "name": "line", "uid": "u-line", "generation": 1},
        "spec": {"providerRef": {"name": world.provider.name}, "phoneNumber": e164},
    }


async def provisioned(world: World, twilio_client: Any) -> dict[str, Any]:
    """A provider with every kind of dependency on its trunk: origination URIs, its IP ACL, a number
    imported through a TwilioPhoneNumber, a number attached by hand, and a credential list of
    someone else linked by hand. Returns that foreign list."""
    world.with_spec(
        origination_uris=[OriginationUri(sip_url="sip:agents.example.com")],
        ip_access_control=IpAccessControl(cidrs=["198.51.100.0/24"]),
    )
    assert (await world.reconcile()).ready
    provider = ProviderView(
        world.provider.name, world.provider.uid, world.provider.spec, world.provider.status
    )
    body = number_object(world, IMPORTED)
    assert (await reconcile_number(PhoneNumber.from_body(body), provider, [], world.deps)).ready
    world.kube.objects[("twiliophonenumbers", NAMESPACE)] = [
        {**body, "status": world.kube.statuses[("twiliophonenumbers", NAMESPACE, "line")]}
    ]
    trunk_sid = world.status.trunk_sid
    world.emulator.patch_number(world.account.sid, BY_HAND, voice={"us1": {"trunk_sid": trunk_sid}})
    foreign = twilio_client.api.v2010.accounts(world.account.sid).sip.credential_lists.create(
        friendly_name="another team's list"
    )
    twilio_client.trunking.v1.trunks(trunk_sid).credentials_lists.create(credential_list_sid=foreign.sid)
    return {"sid": foreign.sid}


def trunk_of(world: World, e164: str) -> str | None:
    return (
        next(n for n in world.emulator.numbers(world.account.sid) if n["phone_number"] == e164)["voice"]
        .get("us1", {})
        .get("trunk_sid")
    )


async def test_teardown_empties_the_trunk_in_order_and_names_every_number(
    world: World, twilio_client: Any
) -> None:
    foreign = await provisioned(world, twilio_client)
    trunk_sid, list_sid = world.status.trunk_sid, world.status.credential_list_sid
    acl_sid = world.status.ip_access_control_list_sid
    seq = world.last_seq()

    teardown = await finalize_provider(world.provider, world.deps)

    assert {trunk_sid, list_sid, acl_sid} <= set(teardown.removed)
    state = world.account.state()
    assert state["trunks"] == [] and state["ip_access_control_lists"] == []
    assert [cl["sid"] for cl in state["credential_lists"]] == [foreign["sid"]]  # unlinked, never deleted
    assert trunk_of(world, IMPORTED) is None and trunk_of(world, BY_HAND) is None
    [deleted] = [m for _, _, reason, m in world.kube.events if reason == "Deleted"]
    assert IMPORTED in deleted and f"{BY_HAND} (attached outside the operator)" in deleted, deleted

    writes = [(r["method"], r["path"]) for r in world.writes_since(seq)]
    order = [_step(method, path) for method, path in writes]
    assert order == sorted(order), writes  # numbers, origination URLs, links, lists, the trunk
    assert writes[-1] == ("DELETE", f"/v1/Trunks/{trunk_sid}")


def _step(method: str, path: str) -> int:
    if "IncomingPhoneNumbers" in path or "/PhoneNumbers" in path:
        return 1
    if "/OriginationUrls/" in path:
        return 2
    if path.startswith("/v1/Trunks/") and ("/CredentialLists/" in path or "/IpAccessControlLists/" in path):
        return 3
    if "/SIP/" in path:
        return 4
    assert (method, path.count("/")) == ("DELETE", 3), path
    return 5


async def test_a_teardown_stopped_at_any_step_completes_when_run_again(
    world: World, twilio_client: Any
) -> None:
    await provisioned(world, twilio_client)
    trunk_sid = world.status.trunk_sid
    # A write of each step is applied, then answered 500, as often as the adapter repeats it in place
    # (an idempotent write, 3 attempts): the teardown stops there, like a crash, and is run again.
    for method, path in (
        ("POST", r"/2010-04-01/Accounts/AC[0-9a-f]{32}/IncomingPhoneNumbers/PN[0-9a-f]{32}\.json"),
        ("DELETE", rf"/v1/Trunks/{trunk_sid}/PhoneNumbers/PN[0-9a-f]{{32}}"),
        ("DELETE", rf"/v1/Trunks/{trunk_sid}/OriginationUrls/OU[0-9a-f]{{32}}"),
        ("DELETE", rf"/v1/Trunks/{trunk_sid}/CredentialLists/CL[0-9a-f]{{32}}"),
        ("DELETE", r"/2010-04-01/Accounts/AC[0-9a-f]{32}/SIP/CredentialLists/CL[0-9a-f]{32}\.json"),
        ("DELETE", rf"/v1/Trunks/{trunk_sid}"),
    ):
        world.emulator.add_fault(path, "commit_then_error", method=method, times=3)
    stops = 0
    while True:
        try:
            await finalize_provider(world.provider, world.deps)
        except TwilioError as error:
            stops += 1
            assert stops < 20, error
            continue
        break
    # Every later step stops once; a detach whose answer was lost reads the number back instead.
    assert stops >= 4
    state = world.account.state()
    assert state["trunks"] == [] and state["ip_access_control_lists"] == []
    assert trunk_of(world, IMPORTED) is None and trunk_of(world, BY_HAND) is None
    named = " ".join(detached_events(world))
    assert IMPORTED in named and f"{BY_HAND} (attached outside the operator)" in named, named


def detached_events(world: World) -> list[str]:
    return [m for _, _, reason, m in world.kube.events if reason == "Detached"]


async def test_numbers_detached_before_a_later_step_stopped_the_teardown_are_named(
    world: World, twilio_client: Any
) -> None:
    """A step after the numbers is refused (here the origination URL's delete): the deletion waits,
    and the run that completes it finds the numbers already off the trunk. The Event posted as they
    left names them, also the one no TwilioPhoneNumber attached."""
    await provisioned(world, twilio_client)
    trunk_sid = world.status.trunk_sid
    world.emulator.add_fault(
        rf"/v1/Trunks/{trunk_sid}/OriginationUrls/OU[0-9a-f]{{32}}", "error", method="DELETE", status=400
    )
    with pytest.raises(DeletionBlocked):
        await finalize_provider(world.provider, world.deps)
    assert trunk_of(world, IMPORTED) is None and trunk_of(world, BY_HAND) is None
    [detached] = detached_events(world)
    assert IMPORTED in detached and f"{BY_HAND} (attached outside the operator)" in detached, detached
    assert trunk_sid in detached

    assert trunk_sid in (await finalize_provider(world.provider, world.deps)).removed
    [deleted] = [m for _, _, reason, m in world.kube.events if reason == "Deleted"]
    assert IMPORTED not in deleted and len(detached_events(world)) == 1  # nothing left to detach


async def test_a_number_that_cannot_be_taken_off_stops_the_teardown_before_anything_else(
    world: World,
) -> None:
    """Strict IE1 (TrunkSid="" refused, no trunk PhoneNumbers subresource) with a number whose voice
    application before the import is unknown: the teardown stops at its first step, so the trunk
    keeps serving that number; the status and a Warning Event name it. The default world detaches it."""
    world.emulator.add_numbers(world.account.sid, numbers=[{"phone_number": "+353100000001"}], region="ie1")
    world.provider = make_provider(
        world.account.sid,
        region="ie1",
        origination_uris=[OriginationUri(sip_url="sip:agents.example.com")],
    )
    assert (await world.reconcile()).ready
    trunk_sid = world.status.trunk_sid
    world.emulator.patch_number(world.account.sid, "+353100000001", voice={"ie1": {"trunk_sid": trunk_sid}})
    if not world.emulator.configure()["strict"]:
        assert trunk_sid in (await finalize_provider(world.provider, world.deps)).removed
        return
    seq = world.last_seq()
    with pytest.raises(DeletionBlocked) as blocked:
        await finalize_provider(world.provider, world.deps)
    assert f"+353100000001 still on trunk {trunk_sid}" in str(blocked.value)
    [trunk] = world.account.state()["trunks"]
    assert trunk["sid"] == trunk_sid and trunk["origination_urls"]  # nothing after the numbers was removed
    assert all("OriginationUrls" not in r["path"] for r in world.writes_since(seq))
    warnings = [
        m for _, kind, reason, m in world.kube.events if (kind, reason) == ("Warning", "DeletionBlocked")
    ]
    assert warnings and "+353100000001" in warnings[-1]


async def test_a_list_linked_to_another_trunk_is_named_as_the_dependency(
    world: World, twilio_client: Any
) -> None:
    """The provider's credential list linked by hand to a trunk that is not the provider's: the
    teardown leaves that trunk alone (not provably ours), so strict Twilio refuses the list's delete
    (21241) and the deletion waits, saying what depends on it; the default world cascades."""
    assert (await world.reconcile()).ready
    other = twilio_client.trunking.v1.trunks.create(
        friendly_name="other", domain_name="other-team.pstn.twilio.com"
    )
    twilio_client.trunking.v1.trunks(other.sid).credentials_lists.create(
        credential_list_sid=world.status.credential_list_sid
    )
    if not world.emulator.configure()["strict"]:
        await finalize_provider(world.provider, world.deps)
        assert [t["sid"] for t in world.account.state()["trunks"]] == [other.sid]
        return
    with pytest.raises(DeletionBlocked) as blocked:
        await finalize_provider(world.provider, world.deps)
    assert "21241" in str(blocked.value) and "something still depends on it" in str(blocked.value)
    trunks = {t["sid"]: t for t in world.account.state()["trunks"]}
    assert trunks[other.sid]["credential_list_sids"] == [world.status.credential_list_sid]  # untouched
    assert trunks[world.status.trunk_sid]["credential_list_sids"] == []  # ours emptied, deleted last
