"""Adopting a trunk (and credential list) that the user made before the operator: everything the
spec does not state stays as the user made it; deletion keeps what was adopted unless told."""

from __future__ import annotations

from typing import Any

from twilio_operator.deletion import finalize_provider
from twilio_operator.provider.reconcile import reconcile_provider

from .conftest import World


def made_by_hand(twilio_client: Any) -> Any:
    """A trunk as the LiveKit setup guide has people make it: own domain, transfers, one origination."""
    trunk = twilio_client.trunking.v1.trunks.create(
        friendly_name="LiveKit trunk",
        domain_name="my-company-livekit.pstn.twilio.com",
        transfer_mode="enable-all",
    )
    trunk_context = twilio_client.trunking.v1.trunks(trunk.sid)
    trunk_context.origination_urls.create(
        friendly_name="livekit", sip_url="sip:abc.sip.livekit.cloud", priority=1, weight=1, enabled=True
    )
    return trunk


def condition(world: World, type_: str = "Ready") -> tuple[str, str, str]:
    found = next(c for c in world.status.conditions if c.type == type_)
    return found.status, found.reason, found.message


async def test_an_adopted_trunk_keeps_what_the_spec_does_not_state(world: World, twilio_client: Any) -> None:
    trunk = made_by_hand(twilio_client)
    world.with_spec(trunk_sid=trunk.sid)
    assert (await world.reconcile()).ready
    after = twilio_client.trunking.v1.trunks(trunk.sid).fetch()
    assert (after.domain_name, after.friendly_name, after.transfer_mode) == (
        "my-company-livekit.pstn.twilio.com",
        "LiveKit trunk",
        "enable-all",
    )
    origination = twilio_client.trunking.v1.trunks(trunk.sid).origination_urls.list()
    assert [o.sip_url for o in origination] == ["sip:abc.sip.livekit.cloud"]
    assert world.status.trunk_sid == trunk.sid
    assert world.status.termination_uri == "sip:my-company-livekit.pstn.twilio.com"
    attached = [cl.sid for cl in twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.list()]
    assert attached == [world.status.credential_list_sid]
    assert len(world.account.state()["trunks"]) == 1  # nothing created beside it

    # Deletion with deletionPolicy unset keeps the adopted trunk and removes only the operator's list.
    removed = await finalize_provider(world.provider, world.deps)
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().sid == trunk.sid
    assert twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.list() == []
    assert removed.removed == (world.status.credential_list_sid,)


async def test_explicit_delete_removes_an_adopted_trunk(world: World, twilio_client: Any) -> None:
    trunk = made_by_hand(twilio_client)
    world.with_spec(trunk_sid=trunk.sid, deletion_policy="Delete")
    assert (await world.reconcile()).ready
    await finalize_provider(world.provider, world.deps)
    assert world.account.state()["trunks"] == [] and world.account.state()["credential_lists"] == []


async def test_adopting_a_trunk_the_account_does_not_have_is_refused_and_creates_nothing(
    world: World,
) -> None:
    world.with_spec(trunk_sid="TK" + "0" * 32)
    seq = world.last_seq()
    outcome = await world.reconcile()
    assert not outcome.ready and outcome.blocked
    status, reason, message = condition(world)
    assert (status, reason) == ("False", "AdoptionRefused") and "is not a trunk of account" in message
    assert world.writes_since(seq) == []
    assert "AdoptionRefused" in world.kube.reasons()


async def test_adopting_another_providers_trunk_is_refused(world: World, twilio_client: Any) -> None:
    assert (await world.reconcile()).ready  # the first provider makes its own trunk
    theirs = world.status.trunk_sid
    other = World(world.emulator, world.account, world.kube, world.deps, _another(world, theirs))
    seq = world.last_seq()
    outcome = await reconcile_provider(other.provider, other.deps)
    assert not outcome.ready
    assert "is managed by another TwilioProvider" in outcome.message
    assert world.writes_since(seq) == []


def _another(world: World, trunk_sid: str | None) -> Any:
    from .conftest import make_provider

    return make_provider(world.account.sid, name="second", trunkSid=trunk_sid)


async def test_a_refused_adoption_never_deletes_the_other_providers_trunk(world: World) -> None:
    """The walkthrough's case: a provider that names another provider's trunk is refused; deleting it
    with deletionPolicy Delete must leave that trunk, its list and its numbers alone."""
    assert (await world.reconcile()).ready  # acme makes its own trunk
    theirs, their_list = world.status.trunk_sid, world.status.credential_list_sid
    intruder = _another(world, theirs)
    intruder = intruder.__class__(
        **{**intruder.__dict__, "spec": intruder.spec.model_copy(update={"deletion_policy": "Delete"})}
    )
    outcome = await reconcile_provider(intruder, world.deps)
    assert "is managed by another TwilioProvider" in outcome.message
    intruder = intruder.__class__(**{**intruder.__dict__, "status": _written_status(world, intruder.name)})
    seq = world.last_seq()

    await finalize_provider(intruder, world.deps)

    assert [w for w in world.writes_since(seq) if w["method"] == "DELETE"] == []
    state = world.account.state()
    assert [t["sid"] for t in state["trunks"]] == [theirs]
    assert [cl["sid"] for cl in state["credential_lists"]] == [their_list]
    kept = [m for _, _, reason, m in world.kube.events if reason == "Deleted"]
    assert kept and theirs in kept[-1] and "never completed" in kept[-1]


async def test_an_adoption_the_status_never_recorded_keeps_the_trunk_and_removes_only_ours(
    world: World, twilio_client: Any
) -> None:
    """A crash after the list was attached to an adopted trunk but before the status recorded the
    adoption: nothing proves the trunk is this provider's to delete, so only the operator's own
    list leaves it, even with deletionPolicy Delete."""
    trunk = made_by_hand(twilio_client)
    world.with_spec(trunk_sid=trunk.sid, deletion_policy="Delete")
    assert (await world.reconcile()).ready
    ours = world.status.credential_list_sid
    unrecorded = world.provider.__class__(**{**world.provider.__dict__, "status": type(world.status)()})

    await finalize_provider(unrecorded, world.deps)

    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().domain_name == trunk.domain_name
    assert twilio_client.trunking.v1.trunks(trunk.sid).credentials_lists.list() == []
    assert [cl["sid"] for cl in world.account.state()["credential_lists"]] == []
    assert ours is not None


async def test_a_trunk_adopted_by_a_provider_elsewhere_is_refused(world: World, twilio_client: Any) -> None:
    """Two namespaces (or clusters) adopting one hand-made trunk cannot see each other's objects; the
    first one's credential list on the trunk is the mark that refuses the second."""
    trunk = made_by_hand(twilio_client)
    world.with_spec(trunk_sid=trunk.sid)
    assert (await world.reconcile()).ready
    elsewhere = _another(world, trunk.sid)
    elsewhere = elsewhere.__class__(**{**elsewhere.__dict__, "namespace": "other-namespace"})
    world.kube.put_secret("other-namespace", "twilio-credentials", {"authToken": world.account.auth_token})
    seq = world.last_seq()
    outcome = await reconcile_provider(elsewhere, world.deps)
    assert not outcome.ready
    assert "is already adopted by another TwilioProvider" in outcome.message
    assert world.status.credential_list_sid in outcome.message
    assert world.writes_since(seq) == []


def _written_status(world: World, name: str) -> Any:
    from twilio_operator.api.models import TwilioProviderStatus

    from .conftest import NAMESPACE

    return TwilioProviderStatus.model_validate(
        world.kube.statuses.get(("twilioproviders", NAMESPACE, name), {})
    )


async def test_an_orphaned_providers_trunk_is_adopted_only_when_named(world: World) -> None:
    """docs/migrating.md, "Another TwilioProvider": the old provider is deleted with Orphan, its trunk
    (named after its UID) and list stay; a new provider adopts the trunk only with the adopt-from
    annotation naming the old UID, and then owns it like any adopted trunk."""
    from twilio_operator.api import names

    world.with_spec(deletion_policy="Orphan")
    assert (await world.reconcile()).ready
    old_uid, trunk = world.provider.uid, world.status.trunk_sid
    await finalize_provider(world.provider, world.deps)
    assert [t["sid"] for t in world.account.state()["trunks"]] == [trunk]

    successor = _another(world, trunk)
    refused = await reconcile_provider(successor, world.deps)
    assert not refused.ready and names.ADOPT_FROM in refused.message

    named = successor.__class__(**{**successor.__dict__, "annotations": {names.ADOPT_FROM: old_uid}})
    adopted = await reconcile_provider(named, world.deps)
    assert adopted.ready, adopted.message
    attached = world.account.state()["trunks"][0]["credential_list_sids"]
    assert len(attached) == 2  # the old provider's list stays; the new one's beside it


async def test_an_explicit_transfer_mode_applies_to_an_adopted_trunk_too(
    world: World, twilio_client: Any
) -> None:
    """supportsCallTransfer (false by default in older objects) never touches an adopted trunk: it
    cannot tell "disable" from "not said". spec.transferMode is said: it applies to any trunk, and its
    third value (sip-only) is one the boolean cannot reach."""
    trunk = made_by_hand(twilio_client)  # enable-all
    world.with_spec(trunk_sid=trunk.sid, supports_call_transfer=False)
    assert (await world.reconcile()).ready
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().transfer_mode == "enable-all"
    assert (world.status.transfer_mode, world.status.supports_call_transfer) == ("enable-all", True)

    world.with_spec(supports_call_transfer=None, transfer_mode="sip-only")
    assert (await world.reconcile()).ready
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().transfer_mode == "sip-only"
    assert (world.status.transfer_mode, world.status.supports_call_transfer) == ("sip-only", True)

    # Drift of an explicit mode is repaired like any stated field.
    twilio_client.trunking.v1.trunks(trunk.sid).update(transfer_mode="disable-all")
    assert (await world.reconcile()).ready
    assert twilio_client.trunking.v1.trunks(trunk.sid).fetch().transfer_mode == "sip-only"


async def test_transfer_mode_on_a_created_trunk(world: World, twilio_client: Any) -> None:
    world.with_spec(transfer_mode="sip-only")
    assert (await world.reconcile()).ready
    trunk = twilio_client.trunking.v1.trunks(world.status.trunk_sid).fetch()
    assert trunk.transfer_mode == "sip-only" and world.status.supports_call_transfer is True

    world.with_spec(transfer_mode=None, supports_call_transfer=True)  # the shorthand: enable-all
    assert (await world.reconcile()).ready
    assert twilio_client.trunking.v1.trunks(world.status.trunk_sid).fetch().transfer_mode == "enable-all"

    world.with_spec(supports_call_transfer=None)  # unset: disable-all, Twilio's default
    assert (await world.reconcile()).ready
    assert twilio_client.trunking.v1.trunks(world.status.trunk_sid).fetch().transfer_mode == "disable-all"
