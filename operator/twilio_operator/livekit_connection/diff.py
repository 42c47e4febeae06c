"""The difference between what LiveKit should hold for a connection (wanted.py) and what it holds:
pure functions that return typed changes, in the order act.py applies them.

Ours is what carries the connection's UID mark in its metadata (api/livekit.py); nothing else is ever
updated or deleted. Of several of ours for one role (a duplicate, e.g. made by a second operator by
mistake) the one the status recorded is kept, else the first by ID, and the others are deleted.

Conflicts are found here too, before LiveKit is asked: LiveKit routes a called number to one inbound
trunk, and to one dispatch rule per trunk and number; another trunk or rule that holds one of our
numbers keeps it, and that number is left out of ours (reported as a Conflict) instead of making a
request LiveKit refuses at every reconcile, or, for a trunk update, one it would accept without a
check (livekit-server does not check the numbers of an updated trunk against the others).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from twilio_operator.api import livekit
from twilio_operator.api.livekit_values import (
    DispatchRule,
    DispatchRuleSpec,
    InboundTrunk,
    InboundTrunkSpec,
    OutboundTrunk,
    OutboundTrunkSpec,
)

# --------------------------------------------------------------------------- what was observed


@dataclass(frozen=True)
class LiveKitSeen:
    """Every SIP object of the LiveKit project, split into the connection's own and the others."""

    inbound: tuple[InboundTrunk, ...] = ()
    outbound: tuple[OutboundTrunk, ...] = ()
    rules: tuple[DispatchRule, ...] = ()
    other_inbound: tuple[InboundTrunk, ...] = ()
    other_rules: tuple[DispatchRule, ...] = ()


def partition(
    uid: str,
    inbound: Iterable[InboundTrunk],
    outbound: Iterable[OutboundTrunk],
    rules: Iterable[DispatchRule],
) -> LiveKitSeen:
    inbound, rules = list(inbound), list(rules)
    return LiveKitSeen(
        inbound=tuple(t for t in inbound if livekit.owned_by(uid, t.spec.metadata, "inbound")),
        outbound=tuple(t for t in outbound if livekit.owned_by(uid, t.spec.metadata, "outbound")),
        rules=tuple(r for r in rules if livekit.owned_by(uid, r.spec.metadata, "dispatch")),
        other_inbound=tuple(t for t in inbound if not livekit.owned_by(uid, t.spec.metadata, "inbound")),
        other_rules=tuple(r for r in rules if not livekit.owned_by(uid, r.spec.metadata, "dispatch")),
    )


# --------------------------------------------------------------------------- conflicts


@dataclass(frozen=True)
class Conflict:
    """Another trunk or rule holds some of our numbers. `said`: LiveKit's own refusal, when a request
    of this reconcile got one."""

    kind: Literal["trunk", "rule"]
    other_id: str
    other_name: str
    numbers: tuple[str, ...]
    said: str = ""

    def describe(self) -> str:
        what = "inbound trunk" if self.kind == "trunk" else "dispatch rule"
        held = ", ".join(self.numbers)
        text = (
            f"{what} {self.other_id} ({self.other_name!r}) holds {held}: LiveKit "
            + (
                "routes a number to one inbound trunk only, so it is left out of this connection's trunk"
                if self.kind == "trunk"
                else "allows one dispatch rule per trunk and number, so it is left out of this "
                "connection's rule"
            )
            + f"; remove it from {self.other_id} to let the connection take it"
        )
        return f"{text}{SAID}{self.said}" if self.said else text


SAID = ". LiveKit said: "


def quoted_before(conflict: Conflict, previous: str) -> str | None:
    """LiveKit's words on this conflict in an earlier round's Conflict message (one line per
    conflict), while the same conflict stands: LiveKit is not asked again just to say it again."""
    prefix = conflict.describe() + SAID
    for line in previous.split("\n"):
        if line.startswith(prefix):
            return line
    return None


def trunk_conflicts(others: Iterable[InboundTrunk], numbers: Iterable[str]) -> list[Conflict]:
    """Inbound trunks (not ours) holding one of `numbers`, by LiveKit's normal form. A trunk without
    numbers is LiveKit's catch-all and never conflicts with one that has numbers."""
    wanted = tuple(numbers)
    found = []
    for trunk in others:
        shared = livekit.shared_numbers(wanted, trunk.spec.numbers) if trunk.spec.numbers else ()
        if shared:
            found.append(Conflict("trunk", trunk.id, trunk.spec.name, shared))
    return found


def rule_conflicts(others: Iterable[DispatchRule], trunk_id: str, numbers: Iterable[str]) -> list[Conflict]:
    """Dispatch rules (not ours) on our inbound trunk for one of `numbers`. A rule without trunks or
    without numbers is a default that LiveKit does not count against a specific one."""
    wanted = tuple(numbers)
    found = []
    for rule in others:
        if trunk_id not in rule.spec.trunk_ids or not rule.spec.numbers:
            continue
        shared = livekit.shared_numbers(wanted, rule.spec.numbers)
        if shared:
            found.append(Conflict("rule", rule.id, rule.spec.name, shared))
    return found


def held_elsewhere(conflicts: Iterable[Conflict]) -> frozenset[str]:
    return frozenset(n for conflict in conflicts for n in conflict.numbers)


# --------------------------------------------------------------------------- the changes


@dataclass(frozen=True)
class CreateInbound:
    spec: InboundTrunkSpec


@dataclass(frozen=True)
class UpdateInbound:
    id: str
    spec: InboundTrunkSpec
    was: InboundTrunkSpec


@dataclass(frozen=True)
class CreateOutbound:
    spec: OutboundTrunkSpec


@dataclass(frozen=True)
class UpdateOutbound:
    id: str
    spec: OutboundTrunkSpec
    was: OutboundTrunkSpec


@dataclass(frozen=True)
class DeleteTrunk:
    id: str
    role: Literal["inbound", "outbound"]
    why: str


@dataclass(frozen=True)
class CreateRule:
    agent: str
    spec: DispatchRuleSpec


@dataclass(frozen=True)
class UpdateRule:
    id: str
    agent: str
    spec: DispatchRuleSpec
    was: DispatchRuleSpec


@dataclass(frozen=True)
class DeleteRule:
    id: str
    agent: str | None
    why: str


TrunkChange = CreateInbound | UpdateInbound | CreateOutbound | UpdateOutbound | DeleteTrunk
RuleChange = CreateRule | UpdateRule | DeleteRule
HasId = TypeVar("HasId", InboundTrunk, OutboundTrunk, DispatchRule)


def keep_one(found: Sequence[HasId], recorded: str | None) -> tuple[HasId | None, list[HasId]]:
    """The one to keep (the recorded one, else the first by ID) and the duplicates."""
    ordered = sorted(found, key=lambda o: (o.id != recorded, o.id))
    return (ordered[0], ordered[1:]) if ordered else (None, [])


def _same_inbound(observed: InboundTrunkSpec, wanted: InboundTrunkSpec) -> bool:
    return (
        replace(
            observed,
            numbers=tuple(sorted(observed.numbers)),
            allowed_addresses=tuple(sorted(observed.allowed_addresses)),
        )
        == wanted
    )


def _same_outbound(observed: OutboundTrunkSpec, wanted: OutboundTrunkSpec) -> bool:
    return replace(observed, numbers=tuple(sorted(observed.numbers))) == wanted


def _same_rule(observed: DispatchRule, wanted: DispatchRuleSpec) -> bool:
    spec = observed.spec
    normal = replace(spec, numbers=tuple(sorted(spec.numbers)), trunk_ids=tuple(sorted(spec.trunk_ids)))
    return observed.rule_type == "individual" and normal == wanted


def inbound_changes(
    seen: Sequence[InboundTrunk], wanted: InboundTrunkSpec | None, recorded: str | None
) -> list[TrunkChange]:
    keep, duplicates = keep_one(seen, recorded)
    changes: list[TrunkChange] = [DeleteTrunk(t.id, "inbound", "a duplicate") for t in duplicates]
    if wanted is None:
        if keep is not None:
            changes.append(DeleteTrunk(keep.id, "inbound", "no number is left for it"))
    elif keep is None:
        changes.append(CreateInbound(wanted))
    elif not _same_inbound(keep.spec, wanted):
        changes.append(UpdateInbound(keep.id, wanted, keep.spec))
    return changes


def outbound_changes(
    seen: Sequence[OutboundTrunk],
    wanted: OutboundTrunkSpec | None,
    recorded: str | None,
    *,
    known: bool = True,
) -> list[TrunkChange]:
    """`known` False: what the trunk should hold cannot be said now (the SIP Secret holds no usable
    pair): the trunk is left as it is, duplicates aside."""
    keep, duplicates = keep_one(seen, recorded)
    changes: list[TrunkChange] = [DeleteTrunk(t.id, "outbound", "a duplicate") for t in duplicates]
    if not known:
        return changes
    if wanted is None:
        if keep is not None:
            changes.append(DeleteTrunk(keep.id, "outbound", "no number is left for it"))
    elif keep is None:
        changes.append(CreateOutbound(wanted))
    elif not _same_outbound(keep.spec, wanted):
        changes.append(UpdateOutbound(keep.id, wanted, keep.spec))
    return changes


def rule_changes(
    seen: Sequence[DispatchRule], wanted: dict[str, DispatchRuleSpec], recorded: dict[str, str]
) -> list[RuleChange]:
    """One rule per wanted agent, in an order that never asks LiveKit for two of our rules on one
    number at once: deletions, then updates that only take numbers away, then the other updates,
    then creations. A rule that gives a number up and takes another first shrinks to what it keeps
    (or, keeping none, is deleted and created again)."""
    by_agent: dict[str, list[DispatchRule]] = {}
    deletes: list[RuleChange] = []
    for rule in seen:
        mark = livekit.mark_of(rule.spec.metadata)
        agent = mark.agent if mark is not None else None
        if agent is None or agent not in wanted:
            deletes.append(DeleteRule(rule.id, agent, "its agent answers no number of the provider"))
        else:
            by_agent.setdefault(agent, []).append(rule)
    shrinks: list[RuleChange] = []
    updates: list[RuleChange] = []
    creates: list[RuleChange] = []
    for agent, spec in wanted.items():
        keep, duplicates = keep_one(by_agent.get(agent, []), recorded.get(agent))
        deletes += [DeleteRule(r.id, agent, "a duplicate") for r in duplicates]
        if keep is None:
            creates.append(CreateRule(agent, spec))
            continue
        if _same_rule(keep, spec):
            continue
        kept = set(keep.spec.numbers) & set(spec.numbers)
        if set(spec.numbers) <= set(keep.spec.numbers):
            shrinks.append(UpdateRule(keep.id, agent, spec, keep.spec))
        elif kept == set(keep.spec.numbers):
            updates.append(UpdateRule(keep.id, agent, spec, keep.spec))
        elif kept:
            narrower = replace(spec, numbers=tuple(sorted(kept)))
            shrinks.append(UpdateRule(keep.id, agent, narrower, keep.spec))
            updates.append(UpdateRule(keep.id, agent, spec, narrower))
        else:
            deletes.append(DeleteRule(keep.id, agent, "its numbers all moved to other agents"))
            creates.append(CreateRule(agent, spec))
    return deletes + shrinks + updates + creates


def describe_trunk(change: TrunkChange) -> str:
    match change:
        case CreateInbound(spec):
            return f"created LiveKit inbound trunk for {len(spec.numbers)} numbers"
        case UpdateInbound(id_, spec, was):
            return f"updated LiveKit inbound trunk {id_}: {_numbers_moved(was.numbers, spec.numbers)}"
        case CreateOutbound(spec):
            return f"created LiveKit outbound trunk to {spec.address} as {spec.auth_username}"
        case UpdateOutbound(id_, spec, was):
            return f"updated LiveKit outbound trunk {id_}: {_outbound_moved(was, spec)}"
        case DeleteTrunk(id_, role, why):
            return f"deleted LiveKit {role} trunk {id_}: {why}"
    raise AssertionError(change)  # pragma: no cover


def describe_rule(change: RuleChange) -> str:
    match change:
        case CreateRule(agent, spec):
            return f"created dispatch rule for agent {agent} ({', '.join(spec.numbers)})"
        case UpdateRule(id_, agent, spec, was):
            return (
                f"updated dispatch rule {id_} of agent {agent}: {_numbers_moved(was.numbers, spec.numbers)}"
            )
        case DeleteRule(id_, agent, why):
            return f"deleted dispatch rule {id_}{f' of agent {agent}' if agent else ''}: {why}"
    raise AssertionError(change)  # pragma: no cover


def _numbers_moved(before: Sequence[str], after: Sequence[str]) -> str:
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    parts = [f"added {', '.join(added)}" if added else "", f"removed {', '.join(removed)}" if removed else ""]
    return "; ".join(p for p in parts if p) or "settings repaired"


def _outbound_moved(was: OutboundTrunkSpec, now: OutboundTrunkSpec) -> str:
    parts = []
    if was.auth_username != now.auth_username:
        parts.append(f"SIP username {was.auth_username or '(none)'} -> {now.auth_username}")
    elif was.auth_password != now.auth_password:
        parts.append(f"new SIP password for {now.auth_username}")
    if was.address != now.address:
        parts.append(f"address {was.address} -> {now.address}")
    moved = _numbers_moved(was.numbers, now.numbers)
    if moved != "settings repaired" or not parts:
        parts.append(moved)
    return "; ".join(parts)
