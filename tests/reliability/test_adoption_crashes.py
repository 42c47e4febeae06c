"""Adoption at the edges: SIGKILL the operator right after each Twilio write of adopting a trunk made
by hand, start it again, and check that the trunk is still the user's (nothing renamed, nothing
created beside it) with exactly one list and one credential of ours; refusals make no write at all
and delete cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, account_state, last_seq
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    decoded,
    delete,
    events,
    get,
    provider_spec,
    secret,
    wait_for,
    wait_gone,
    wait_ready,
    wait_reason,
)
from fixtures.operator_process import OperatorProcess, StartOperator
from twilio_operator.api.names import object_tag
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import CREDENTIALS, LISTS, TRUNK_LIST, TRUNK_LISTS, kill

ORIGINATION = "sip:agents.example.net"


def hand_made_trunk(twilio_client: Any, label: str) -> Any:
    """A trunk as a setup guide has people make it: own domain and name, transfers, one origination."""
    trunk = twilio_client.trunking.v1.trunks.create(
        friendly_name=f"By hand {label}",
        domain_name=f"by-hand-{label}.pstn.twilio.com",
        transfer_mode="enable-all",
    )
    twilio_client.trunking.v1.trunks(trunk.sid).origination_urls.create(
        friendly_name="agents", sip_url=ORIGINATION, priority=1, weight=1, enabled=True
    )
    return trunk


def hang(method: str, path: str) -> dict[str, Any]:
    return {"path": path, "method": method, "action": "commit_then_hang", "hang_seconds": 20}


def assert_adopted_once(
    cp: ControlPlane, emulator: EmulatorAdmin, account_sid: str, namespace: str, name: str, trunk: Any
) -> None:
    """The user's trunk, untouched where the spec is silent, carries exactly one list with one credential,
    and the SIP Secret's password works on it."""
    obj = get(cp, PROVIDERS, namespace, name)
    assert obj is not None and condition(obj).get("status") == "True", condition(obj)
    state = account_state(emulator, account_sid)
    [now] = [t for t in state["trunks"] if t["sid"] == trunk.sid]
    assert (now["domain_name"], now["friendly_name"], now["transfer_mode"]) == (
        trunk.domain_name,
        trunk.friendly_name,
        "enable-all",
    )
    assert [o["sip_url"] for o in now["origination_urls"]] == [ORIGINATION], now
    assert now["credential_list_sids"] == [obj["status"]["credentialListSid"]], now
    [cl] = [cl for cl in state["credential_lists"] if cl["sid"] == obj["status"]["credentialListSid"]]
    sip = decoded(secret(cp, namespace, f"{name}-sip-credentials") or {})
    assert [cr["username"] for cr in cl["credentials"]] == [sip["username"]], cl
    assert emulator.sip_auth(trunk.domain_name, sip["username"], sip["password"])
    uid_mark = obj["metadata"]["uid"].replace("-", "")
    assert not [t for t in state["trunks"] if uid_mark in t["domain_name"]]  # no trunk created beside it


def _ours(state: dict[str, Any], uid: str) -> list[dict[str, Any]]:
    return [cl for cl in state["credential_lists"] if f"({object_tag(uid)})" in cl["friendly_name"]]


def _trunk(state: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(t for t in state["trunks"] if t["sid"] == sid)


# (what was written, its fault, whether Twilio shows it: (account state, provider uid, trunk SID) -> bool)
CrashPoint = tuple[str, dict[str, Any], Callable[[dict[str, Any], str, str], bool]]
CRASH_POINTS: list[CrashPoint] = [
    ("credential list created", hang("POST", LISTS), lambda s, uid, tk: bool(_ours(s, uid))),
    (
        "list attached to the adopted trunk",
        hang("POST", TRUNK_LISTS),
        lambda s, uid, tk: bool(_trunk(s, tk)["credential_list_sids"]),
    ),
    (
        "SIP credential created",
        hang("POST", CREDENTIALS),
        lambda s, uid, tk: any(cl["credentials"] for cl in _ours(s, uid)),
    ),
]


def test_sigkill_after_every_adoption_write_leaves_the_trunk_the_users_and_one_of_ours(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    twilio_client: Any,
    credentials: str,
    start_operator: StartOperator,
) -> None:
    running: OperatorProcess = start_operator()
    adopted: dict[str, Any] = {}  # provider name -> the hand-made trunk it adopted
    for index, (point, fault, written) in enumerate(CRASH_POINTS):
        name = f"a{index}"
        trunk = hand_made_trunk(twilio_client, name)
        emulator.add_fault(**fault)
        obj = create(crds, PROVIDERS, namespace, name, provider_spec(twilio_account, trunkSid=trunk.sid))
        uid = obj["metadata"]["uid"]
        # The write is committed in Twilio and its answer hangs: kill the operator while it waits.
        wait_for(
            lambda: written(twilio_account.state(), uid, trunk.sid),  # noqa: B023
            timeout=25,
            what=f"{point} ({name})",
            interval=0.05,
        )
        kill(running)
        emulator.clear_faults()
        running = start_operator()
        wait_ready(crds, PROVIDERS, namespace, name, timeout=45)
        adopted[name] = trunk
        for done, its_trunk in adopted.items():
            assert_adopted_once(crds, emulator, twilio_account.sid, namespace, done, its_trunk)

    # Deleted with deletionPolicy unset, killed after the list is detached: the adopted trunk stays,
    # with its origination, and what the operator made for it is gone.
    name, trunk = "a0", adopted.pop("a0")
    list_sid = (get(crds, PROVIDERS, namespace, name) or {})["status"]["credentialListSid"]
    emulator.add_fault(**hang("DELETE", TRUNK_LIST))
    delete(crds, namespace, name)
    wait_for(
        lambda: not _trunk(twilio_account.state(), trunk.sid)["credential_list_sids"],
        timeout=25,
        what="the list detached from the adopted trunk",
        interval=0.05,
    )
    kill(running)
    emulator.clear_faults()
    running = start_operator()
    wait_gone(crds, namespace, name, timeout=45)
    state = twilio_account.state()
    [kept] = [t for t in state["trunks"] if t["sid"] == trunk.sid]
    assert kept["credential_list_sids"] == [] and kept["domain_name"] == trunk.domain_name
    assert list_sid not in {cl["sid"] for cl in state["credential_lists"]}
    for done, its_trunk in adopted.items():
        assert_adopted_once(crds, emulator, twilio_account.sid, namespace, done, its_trunk)
    assert "Traceback" not in running.log()


@pytest.mark.usefixtures("operator", "credentials")
def test_a_refused_adoption_writes_nothing_and_deletes_cleanly(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    twilio_client: Any,
) -> None:
    seq = last_seq(emulator)
    missing = "TK" + "0" * 32
    create(crds, PROVIDERS, namespace, "stray", provider_spec(twilio_account, trunkSid=missing))
    refused = wait_reason(crds, namespace, "stray", "AdoptionRefused", timeout=20)
    assert condition(refused)["status"] == "False"
    assert missing in condition(refused)["message"]
    said = [e for e in events(crds, namespace, "stray") if e["reason"] == "AdoptionRefused"]
    assert said and said[0]["type"] == "Warning" and missing in said[0]["message"]

    ours = twilio_account.sid
    assert [r for r in emulator.requests(since=seq) if r["write"] and r["account_sid"] == ours] == []

    # Another provider's trunk cannot be adopted either.
    create(crds, PROVIDERS, namespace, "owner", provider_spec(twilio_account))
    owner = wait_ready(crds, PROVIDERS, namespace, "owner")
    since_owner_ready = last_seq(emulator)
    create(
        crds,
        PROVIDERS,
        namespace,
        "thief",
        provider_spec(twilio_account, trunkSid=owner["status"]["trunkSid"]),
    )
    thief = wait_reason(crds, namespace, "thief", "AdoptionRefused", timeout=20)
    assert "managed by another TwilioProvider" in condition(thief)["message"]
    assert secret(crds, namespace, "stray-sip-credentials") is None
    assert secret(crds, namespace, "thief-sip-credentials") is None

    # Deleting the refused ones touches nothing in Twilio; the owner's trunk is intact.
    delete(crds, namespace, "stray")
    delete(crds, namespace, "thief")
    wait_gone(crds, namespace, "stray", timeout=20)
    wait_gone(crds, namespace, "thief", timeout=20)
    state = twilio_account.state()
    [trunk] = state["trunks"]
    assert trunk["sid"] == owner["status"]["trunkSid"]
    assert trunk["credential_list_sids"] == [owner["status"]["credentialListSid"]]
    assert len(state["credential_lists"]) == 1
    writes = [
        (r["method"], r["path"])
        for r in emulator.requests(since=since_owner_ready)
        if r["write"] and r["account_sid"] == twilio_account.sid
    ]
    assert writes == [], writes
