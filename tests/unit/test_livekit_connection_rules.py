"""The pure rules of a LiveKitConnection: the UID mark, LiveKit's normal form of numbers, what LiveKit
should hold, the changes and their order, conflicts, the conditions decided once, and what a provider
reads of its connections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from twilio_operator.api import conditions as c
from twilio_operator.api import livekit
from twilio_operator.api.conditions import ConditionUpdate, merge_conditions
from twilio_operator.api.errors import LiveKitError, LiveKitErrorKind
from twilio_operator.api.livekit import Connected, LiveKitLinks
from twilio_operator.api.livekit_values import DispatchRule, DispatchRuleSpec, InboundTrunk, InboundTrunkSpec
from twilio_operator.api.models import LiveKitConnectionSpec, LiveKitConnectionStatus
from twilio_operator.livekit_connection import diff as d
from twilio_operator.livekit_connection import readiness
from twilio_operator.livekit_connection import wanted as w
from twilio_operator.livekit_connection.resource import Connection, Number

UID = "0c6f0e0e-5b1c-4b8e-9f00-3f6c1c1f7a11"
A, B, C, D = "+15550001111", "+15550002222", "+15550003333", "+15550004444"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def connection(**spec: Any) -> Connection:
    body = {
        "providerRef": {"name": "acme"},
        "url": "https://acme.livekit.cloud",
        "apiSecretRef": {"name": "livekit-api"},
        "sipUri": "sip:acme.sip.livekit.cloud",
        **spec,
    }
    return Connection(
        "voice", "agents", UID, 1, LiveKitConnectionSpec.model_validate(body), LiveKitConnectionStatus()
    )


def rule(rule_id: str, agent: str | None, numbers: tuple[str, ...], uid: str = UID) -> DispatchRule:
    metadata = livekit.metadata(uid, "dispatch", agent) if agent else livekit.metadata(uid, "dispatch")
    return DispatchRule(
        rule_id, DispatchRuleSpec("r", ("ST_in",), numbers, "call-", (agent or "x",), metadata)
    )


# --------------------------------------------------------------------------- the mark and numbers


def test_the_mark_names_connection_role_and_agent_and_nothing_else_counts() -> None:
    text = livekit.metadata(UID, "dispatch", "support")
    assert livekit.mark_of(text) == livekit.Mark(UID, "dispatch", "support")
    assert livekit.owned_by(UID, text, "dispatch") is not None
    assert livekit.owned_by(UID, text, "inbound") is None  # another role
    assert livekit.owned_by(str(UID).replace("0", "1"), text, "dispatch") is None  # another connection
    for foreign in ("", "not json", "[]", '{"x": 1}', '{"voip.twilio-operator.dev/connection-uid": 5}'):
        assert livekit.mark_of(foreign) is None, foreign


@pytest.mark.parametrize(
    ("number", "normal"),
    [("+15550001111", "+15550001111"), ("15550001111", "+15550001111"), ("+1 (555) 000-1111", "+15550001111"),
     ("abc", "abc"), ("", ""), ("sip:x@y", "sip:x@y")],
)  # fmt: skip
def test_numbers_compare_as_livekit_normalises_them(number: str, normal: str) -> None:
    assert livekit.normalize_number(number) == normal


def test_links_give_each_uri_once_and_who_uses_a_username() -> None:
    links = LiveKitLinks(
        (
            Connected("b", "sip:lk.example.com;transport=tcp", "u1"),
            Connected("a", "sip:LK.example.com;transport=TCP", "u2"),
            Connected("c", "sip:other.example.com", "u1"),
        )
    )
    assert links.origination_uris() == ("sip:LK.example.com;transport=TCP", "sip:other.example.com")
    assert links.using("u1") == ("b", "c") and links.using("u3") == () and links.using(None) == ()


# --------------------------------------------------------------------------- what LiveKit should hold


def test_no_trunk_and_no_rule_without_numbers() -> None:
    conn = connection()
    assert w.inbound_trunk(conn, []) is None
    assert w.numbers_by_agent(conn, [Number(A, "a")]) == {}  # no agentRef, no default agent


def test_the_default_agent_takes_the_numbers_without_an_agent() -> None:
    conn = connection(dispatch={"defaultAgent": "reception"})
    numbers = [Number(A, "a"), Number(B, "b", "sales"), Number(C, "c", "reception")]
    assert w.numbers_by_agent(conn, numbers) == {"reception": (A, C), "sales": (B,)}


def test_the_sip_pair_never_shows_its_password() -> None:
    pair = w.SipPair("user", "sekret-password-0123456789")
    assert "sekret" not in repr(pair) and "sekret" not in str(pair)


# --------------------------------------------------------------------------- changes and their order


def test_rule_changes_give_numbers_up_before_others_take_them() -> None:
    seen = [rule("SDR_one", "one", (A, B)), rule("SDR_two", "two", (C,)), rule("SDR_old", "gone", (D,))]
    spec = w.dispatch_rule
    conn = connection()
    wanted = {
        "one": spec(conn, "one", "ST_in", {A, C}),  # gives B up, takes C
        "two": spec(conn, "two", "ST_in", {B}),  # gives C up, takes B: keeps none
        "new": spec(conn, "new", "ST_in", {D}),
    }
    changes = d.rule_changes(seen, wanted, {})
    kinds = [
        (
            type(ch).__name__,
            getattr(ch, "agent", None),
            tuple(getattr(ch, "spec", None).numbers) if hasattr(ch, "spec") else None,
        )
        for ch in changes
    ]
    assert kinds == [
        ("DeleteRule", "gone", None),
        ("DeleteRule", "two", None),
        ("UpdateRule", "one", (A,)),
        ("UpdateRule", "one", (A, C)),
        ("CreateRule", "two", (B,)),
        ("CreateRule", "new", (D,)),
    ]
    # Every moment, each number is in at most one of our rules.
    held: dict[str, set[str]] = {r.spec.agents[0]: set(r.spec.numbers) for r in seen}
    for change in changes:
        if isinstance(change, d.DeleteRule):
            held.pop(change.agent or "", None)
        else:
            held[change.agent] = set(change.spec.numbers)
        every = [n for numbers in held.values() for n in numbers]
        assert len(every) == len(set(every)), change


def test_duplicates_go_the_recorded_one_stays_and_a_hand_edit_is_repaired() -> None:
    conn = connection()
    wanted = {"one": w.dispatch_rule(conn, "one", "ST_in", {A})}
    seen = [DispatchRule("SDR_b", wanted["one"]), DispatchRule("SDR_a", wanted["one"])]
    assert [type(ch).__name__ for ch in d.rule_changes(seen, wanted, {"one": "SDR_b"})] == ["DeleteRule"]
    assert d.rule_changes(seen, wanted, {"one": "SDR_b"})[0].id == "SDR_a"  # type: ignore[union-attr]
    edited = DispatchRule("SDR_b", wanted["one"], rule_type="direct")
    [change] = d.rule_changes([edited], wanted, {})
    assert isinstance(change, d.UpdateRule)
    assert d.rule_changes([DispatchRule("SDR_b", wanted["one"])], wanted, {}) == []


def test_inbound_changes_compare_numbers_as_sets() -> None:
    conn = connection()
    wanted = w.inbound_trunk(conn, {A, B})
    assert wanted is not None
    same = InboundTrunk("ST_1", InboundTrunkSpec(wanted.name, (B, A), wanted.metadata))
    assert d.inbound_changes([same], wanted, None) == []
    assert d.inbound_changes([same], None, None) == [
        d.DeleteTrunk("ST_1", "inbound", "no number is left for it")
    ]
    assert d.inbound_changes([], wanted, None) == [d.CreateInbound(wanted)]


def test_an_unknown_sip_pair_leaves_the_outbound_trunk_alone() -> None:
    assert d.outbound_changes([], None, None, known=False) == []


# --------------------------------------------------------------------------- conflicts


def test_conflicts_are_found_by_normal_form_and_catch_alls_never_conflict() -> None:
    others = [
        InboundTrunk("ST_x", InboundTrunkSpec("hand", (B.removeprefix("+"), D))),
        InboundTrunk("ST_all", InboundTrunkSpec("catch-all", ())),
    ]
    [conflict] = d.trunk_conflicts(others, [A, B])
    assert (conflict.other_id, conflict.numbers) == ("ST_x", (B,))
    rules = [
        DispatchRule("SDR_x", DispatchRuleSpec("hand", ("ST_in",), (A,))),
        DispatchRule("SDR_default", DispatchRuleSpec("default", ("ST_in",), ())),
        DispatchRule("SDR_other", DispatchRuleSpec("other trunk", ("ST_zz",), (A,))),
    ]
    assert [k.other_id for k in d.rule_conflicts(rules, "ST_in", [A, B])] == ["SDR_x"]


def test_livekits_words_are_kept_while_the_same_conflict_stands() -> None:
    plain = d.Conflict("trunk", "ST_x", "hand", (B,))
    quoted = d.Conflict("trunk", "ST_x", "hand", (B,), "cannot create ...: Conflicting inbound SIP Trunks")
    previous = "\n".join(["something else", quoted.describe()])
    assert d.quoted_before(plain, previous) == quoted.describe()
    assert d.quoted_before(d.Conflict("trunk", "ST_x", "hand", (B, C)), previous) is None  # not the same


# --------------------------------------------------------------------------- the conditions, decided once


def condition_list(*updates: ConditionUpdate) -> list[Any]:
    return merge_conditions([], updates, 1, NOW)


@pytest.mark.parametrize(
    ("kind", "status", "reason", "reachable"),
    [
        (LiveKitErrorKind.UNREACHABLE, None, "LiveKitUnreachable", "False"),
        (LiveKitErrorKind.AUTH, 401, "LiveKitAuthFailed", "False"),
        (LiveKitErrorKind.TRANSIENT, 500, "LiveKitUnavailable", "True"),
        (LiveKitErrorKind.INVALID, None, "LiveKitRejected", "False"),  # a URL that cannot work: no request
        (LiveKitErrorKind.INVALID, 400, "LiveKitRejected", "True"),
    ],
)
def test_each_livekit_failure_has_its_reason(
    kind: LiveKitErrorKind, status: int | None, reason: str, reachable: str
) -> None:
    error = LiveKitError("list LiveKit inbound trunks", kind, status=status, detail="why")
    decision = readiness.decide(readiness.LiveKitFailed(error), [])
    by_type = {u.type: u for u in decision.updates}
    assert (by_type["Ready"].status, by_type["Ready"].reason) == ("False", reason)
    assert by_type["LiveKitReachable"].status == reachable
    assert decision.events == (("Warning", reason, by_type["Ready"].message),)
    # Said once: the same failure again posts nothing.
    again = readiness.decide(readiness.LiveKitFailed(error), condition_list(*decision.updates))
    assert again.events == ()


def test_ready_needs_every_stage_and_no_conflict() -> None:
    ok = {t: ConditionUpdate(t, "True", c.IN_SYNC, "fine") for t in (c.TRUNKS_IN_SYNC, c.DISPATCH_IN_SYNC)}
    origination = ConditionUpdate(c.ORIGINATION_IN_SYNC, "False", c.ORIGINATION_PENDING, "not yet")
    result = readiness.Synced(ok[c.TRUNKS_IN_SYNC], ok[c.DISPATCH_IN_SYNC], origination, (), "all good")
    ready = {u.type: u for u in readiness.decide(result, []).updates}["Ready"]
    assert (ready.status, ready.reason) == ("False", c.ORIGINATION_PENDING)

    done = readiness.Synced(
        ok[c.TRUNKS_IN_SYNC],
        ok[c.DISPATCH_IN_SYNC],
        ConditionUpdate(c.ORIGINATION_IN_SYNC, "True", c.IN_SYNC, ""),
        (),
        "all good",
    )
    decision = readiness.decide(done, [])
    assert {u.type: u for u in decision.updates}["Ready"].status == "True"
    assert decision.events == (("Normal", c.IN_SYNC, "all good"),)

    conflicted = readiness.Synced(
        ok[c.TRUNKS_IN_SYNC], ok[c.DISPATCH_IN_SYNC], origination, ("ST_x holds +1",), ""
    )
    decision = readiness.decide(conflicted, condition_list(*readiness.decide(done, []).updates))
    by_type = {u.type: u for u in decision.updates}
    assert (by_type["Ready"].reason, by_type["Conflict"].status) == (c.CONFLICT, "True")
    assert decision.events == (("Warning", c.CONFLICT, "ST_x holds +1"),)
    assert c.CONFLICT in c.NEEDS_A_PERSON and c.LIVEKIT_AUTH_FAILED in c.NEEDS_A_PERSON
