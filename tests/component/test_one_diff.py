"""ObserveOnly reports exactly what Full would change (issue 23): one table of differences, each made
by hand in the emulator on a provider that was Ready. For each: ObserveOnly reports it (and writes
nothing), Full then writes to exactly the resources the report names, and ObserveOnly afterwards
reports nothing left. A difference that Full leaves alone (an adopted trunk's transfer mode without
spec.transferMode, an origination URL the server spells differently) is reported by neither."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from twilio_operator.api.models import OriginationUri, TrunkRecording, TrunkSettings

from .conftest import World

Perturb = Callable[[World, Any], None]


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]  # the provider's spec (besides the basics), set before it becomes Ready
    perturb: Perturb  # what a person changes in Twilio afterwards
    reported: tuple[str, ...]  # fragments of what ObserveOnly reports (empty: nothing)
    writes: tuple[str, ...]  # path patterns of the writes Full makes (empty: none)
    adopt: bool = False  # the provider adopts a trunk made by hand


def _trunk(world: World) -> str:
    return world.status.trunk_sid or ""


def rename(world: World, client: Any) -> None:
    client.trunking.v1.trunks(_trunk(world)).update(friendly_name="renamed by hand")


def transfer(world: World, client: Any) -> None:
    client.trunking.v1.trunks(_trunk(world)).update(transfer_mode="enable-all")


def detach_list(world: World, client: Any) -> None:
    client.trunking.v1.trunks(_trunk(world)).credentials_lists(world.status.credential_list_sid).delete()


def insecure(world: World, client: Any) -> None:
    client.trunking.v1.trunks(_trunk(world)).update(secure=False)


def stop_recording(world: World, client: Any) -> None:
    client.trunking.v1.trunks(_trunk(world)).recordings().update(mode="do-not-record")


def delete_origination(world: World, client: Any) -> None:
    for url in client.trunking.v1.trunks(_trunk(world)).origination_urls.list():
        client.trunking.v1.trunks(_trunk(world)).origination_urls(url.sid).delete()


def add_origination(world: World, client: Any) -> None:
    client.trunking.v1.trunks(_trunk(world)).origination_urls.create(
        friendly_name="stray", sip_url="sip:stray.example.com", priority=1, weight=1, enabled=True
    )


def reweigh_origination(world: World, client: Any) -> None:
    [url] = client.trunking.v1.trunks(_trunk(world)).origination_urls.list()
    client.trunking.v1.trunks(_trunk(world)).origination_urls(url.sid).update(weight=99)


def respell_origination(world: World, client: Any) -> None:
    """The server's own spelling (upper-case host, parameter order): the same URI (api/sip.py)."""
    [url] = client.trunking.v1.trunks(_trunk(world)).origination_urls.list()
    trunk = client.trunking.v1.trunks(_trunk(world))
    trunk.origination_urls(url.sid).delete()
    trunk.origination_urls.create(
        friendly_name=url.friendly_name,
        sip_url="sip:AGENTS.EXAMPLE.COM;transport=TCP",
        priority=url.priority,
        weight=url.weight,
        enabled=url.enabled,
    )


def nothing(world: World, client: Any) -> None:
    return None


AGENTS = {"origination_uris": [OriginationUri(sip_url="sip:agents.example.com;transport=tcp")]}
CASES = {
    "friendly name": Case({}, rename, ("friendly name is 'renamed by hand'",), (r"^/v1/Trunks/TK\w+$",)),
    "transfer mode": Case({}, transfer, ("transfer mode is enable-all",), (r"^/v1/Trunks/TK\w+$",)),
    "adopted transfer mode": Case({}, transfer, (), (), adopt=True),
    "adopted explicit transfer mode": Case(
        {"transfer_mode": "sip-only"},
        transfer,
        ("transfer mode is enable-all, spec wants sip-only",),
        (r"^/v1/Trunks/TK\w+$",),
        adopt=True,
    ),
    "credential list detached": Case(
        {}, detach_list, ("is not attached to the trunk",), (r"^/v1/Trunks/TK\w+/CredentialLists$",)
    ),
    "trunk setting": Case(
        {"trunk": TrunkSettings(secure=True)}, insecure, ("trunk secure is False",), (r"^/v1/Trunks/TK\w+$",)
    ),
    "recording": Case(
        {"trunk": TrunkSettings(recording=TrunkRecording(mode="record-from-answer"))},
        stop_recording,
        ("trunk recording is do-not-record",),
        (r"^/v1/Trunks/TK\w+/Recording$",),
    ),
    "origination missing": Case(
        AGENTS,
        delete_origination,
        ("origination URI sip:agents.example.com;transport=tcp is missing",),
        (r"/OriginationUrls$",),
    ),
    "origination extra": Case(
        AGENTS,
        add_origination,
        ("origination URI sip:stray.example.com is not in the spec",),
        (r"/OriginationUrls/OU\w+$",),
    ),
    "origination weight": Case(
        AGENTS, reweigh_origination, ("has other priority, weight or enabled",), (r"/OriginationUrls/OU\w+$",)
    ),
    "origination respelled": Case(AGENTS, respell_origination, (), ()),
    "no difference": Case({}, nothing, (), ()),
}


def made_by_hand(client: Any) -> Any:
    return client.trunking.v1.trunks.create(
        friendly_name="made by hand",
        domain_name="one-diff-by-hand.pstn.twilio.com",
        transfer_mode="disable-all",
    )


@pytest.mark.parametrize("name", list(CASES))
async def test_observe_only_reports_exactly_what_full_changes(
    world: World, twilio_client: Any, name: str
) -> None:
    case = CASES[name]
    spec = dict(case.spec)
    if case.adopt:
        spec["trunk_sid"] = made_by_hand(twilio_client).sid
    world.provider = replace(world.provider, spec=world.provider.spec.model_copy(update=spec))
    assert (await world.reconcile()).ready
    case.perturb(world, twilio_client)

    reported = await run(world, "ObserveOnly")
    assert reported["writes"] == [], reported["writes"]
    for fragment in case.reported:
        assert fragment in reported["message"], reported["message"]
    if not case.reported:
        assert "matches the spec" in reported["message"], reported["message"]

    applied = await run(world, "Full")
    paths = [w["path"] for w in applied["writes"] if not w["path"].startswith("/2010-04-01")]
    for pattern in case.writes:
        assert any(re.search(pattern, p) for p in paths), (pattern, paths)
    unexplained = [p for p in paths if not any(re.search(pattern, p) for pattern in case.writes)]
    assert unexplained == [], unexplained  # Full changed nothing that ObserveOnly had not reported

    after = await run(world, "ObserveOnly")
    assert "matches the spec" in after["message"], after["message"]


async def run(world: World, policy: str) -> dict[str, Any]:
    world.provider = replace(
        world.provider,
        spec=world.provider.spec.model_copy(update={"management_policy": policy}),
        generation=world.provider.generation + 1,
    )
    seq = world.last_seq()
    assert (await world.reconcile()).ready
    details = {d.check_name: d.message for d in world.status.verification_details}
    writes = [w for w in world.writes_since(seq) if w["account_sid"] == world.account.sid]
    return {"message": details.get("managedResources", ""), "writes": writes}


def test_the_table_covers_every_kind_of_change() -> None:
    """A new kind of change in provider/diff.py needs a row here."""
    from twilio_operator.provider import diff

    covered = {
        "UpdateTrunk",
        "AttachCredentialList",
        "SetRecording",
        "CreateOriginationUrl",
        "DeleteOriginationUrl",
        "UpdateOriginationUrl",
    }
    # Creations, the voice region and IP access control have their own component tests
    # (test_reconcile_provider, test_number_regions, test_ip_access) against the same diff.
    elsewhere = {
        "CreateTrunk",
        "CreateCredentialList",
        "CreateIpAccessControlList",
        "RemoveIpAccessControlLists",
        "SetVoiceRegion",
        "AddIpEntry",
        "RemoveIpEntry",
        "AttachIpAccessControlList",
    }
    kinds = {t.__name__ for t in diff.Change.__args__}  # type: ignore[attr-defined]
    assert kinds == covered | elsewhere
