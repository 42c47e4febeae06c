"""Act: apply a connection's changes to LiveKit, trunks first (a rule needs the inbound trunk's ID),
each write followed by an Event. `Holding` is what LiveKit holds of ours as the round leaves it, also
when a request fails half-way, so that the status never claims more than LiveKit has.

Conflicts LiveKit finds that the observation did not (another trunk or rule made in between) come
back as `Conflict`s quoting LiveKit; the numbers they hold are left out and the write is made once
more without them. The first write of an inbound trunk or dispatch rule carries every number, even
those the observation saw held elsewhere: LiveKit's refusal is then its own words in the condition.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from twilio_operator.api import conditions as c
from twilio_operator.api import livekit
from twilio_operator.api.errors import LiveKitError, LiveKitErrorKind
from twilio_operator.api.livekit_values import (
    DispatchRule,
    DispatchRuleSpec,
    InboundTrunk,
    InboundTrunkSpec,
    OutboundTrunk,
    OutboundTrunkSpec,
)
from twilio_operator.api.models import LiveKitConnectionStatus
from twilio_operator.livekit_connection import diff as d
from twilio_operator.livekit_connection import wanted as w
from twilio_operator.livekit_connection.resource import Connection
from twilio_operator.livekit_connection.status import ConnectionWriter
from twilio_operator.ports.livekit.port import LiveKitPort


@dataclass
class Holding:
    """What LiveKit holds of the connection's, as far as this round knows."""

    inbound: InboundTrunk | None = None
    outbound: OutboundTrunk | None = None
    rules: dict[str, DispatchRule] = field(default_factory=dict)
    conflicts: list[d.Conflict] = field(default_factory=list)

    def excluded(self) -> frozenset[str]:
        return d.held_elsewhere(self.conflicts)

    @classmethod
    def observed(cls, seen: d.LiveKitSeen, status: LiveKitConnectionStatus) -> Holding:
        """What LiveKit holds before the round writes anything: a round that fails half-way records
        this for what it did not reach, never less (the provider keeps a rotated-out credential
        while the outbound trunk's username in the status names it)."""
        inbound, outbound = status.inbound_trunk, status.outbound_trunk
        recorded = {rule.agent: rule.id for rule in status.dispatch_rules}
        return cls(
            inbound=d.keep_one(seen.inbound, inbound.id if inbound else None)[0],
            outbound=d.keep_one(seen.outbound, outbound.id if outbound else None)[0],
            rules=_rules_by_agent(seen.rules, recorded),
        )


@dataclass(frozen=True)
class Round:
    """One reconcile's work in LiveKit: the port, the connection, and where Events go."""

    port: LiveKitPort
    connection: Connection
    writer: ConnectionWriter
    seen: d.LiveKitSeen
    previous_conflicts: str = ""  # the Conflict condition's message as the round found it


def is_conflict(error: LiveKitError) -> bool:
    return error.kind is LiveKitErrorKind.CONFLICT


# --------------------------------------------------------------------------- the inbound trunk


def needs_words(r: Round, conflicts: Sequence[d.Conflict]) -> bool:
    """Whether a conflict seen before asking LiveKit has no words of LiveKit yet (from this round or
    an earlier one): then the first create carries every number, and LiveKit's refusal says why."""
    return any(not k.said and d.quoted_before(k, r.previous_conflicts) is None for k in conflicts)


async def converge_inbound(r: Round, numbers: Collection[str], holding: Holding) -> None:
    """The inbound trunk holds `numbers` but those another inbound trunk holds (a Conflict)."""
    conflicts = d.trunk_conflicts(r.seen.other_inbound, numbers)
    holding.conflicts += conflicts
    recorded_trunk = r.connection.status.inbound_trunk
    keep, _ = d.keep_one(r.seen.inbound, recorded_trunk.id if recorded_trunk else None)
    holding.inbound = keep
    wanted = w.inbound_trunk(r.connection, set(numbers) - d.held_elsewhere(conflicts))
    changes = d.inbound_changes(r.seen.inbound, wanted, keep.id if keep else None)
    if keep is None and wanted is None and numbers and needs_words(r, conflicts):
        changes.append(d.CreateInbound(InboundTrunkSpec(name="", numbers=())))  # only to hear LiveKit
    for change in changes:
        match change:
            case d.DeleteTrunk(trunk_id, _, _):
                await r.port.delete_trunk(trunk_id)
                if keep is not None and trunk_id == keep.id:
                    holding.inbound = None
            case d.CreateInbound(_):
                holding.inbound = await _create_inbound(r, numbers, holding, probe=needs_words(r, conflicts))
                if holding.inbound is None:
                    continue
                change = d.CreateInbound(holding.inbound.spec)
            case d.UpdateInbound(trunk_id, spec, was):
                holding.inbound = await _update_inbound(r, trunk_id, spec, was, holding)
                if holding.inbound is None or holding.inbound.spec == was:
                    continue
                change = d.UpdateInbound(trunk_id, holding.inbound.spec, was)
        await r.writer.event("Normal", _trunk_reason(change), d.describe_trunk(change))


async def _create_inbound(
    r: Round, numbers: Collection[str], holding: Holding, *, probe: bool
) -> InboundTrunk | None:
    """Create the trunk with the numbers no other trunk holds; with `probe`, first with every number,
    so that LiveKit's own refusal names the other trunk."""
    full = w.inbound_trunk(r.connection, numbers)
    if probe and full is not None:
        try:
            return await r.port.create_inbound_trunk(full)
        except LiveKitError as error:
            if not is_conflict(error):
                raise
            await _quote_trunk_conflict(r, error, numbers, holding)
    rest = w.inbound_trunk(r.connection, set(numbers) - holding.excluded())
    if rest is None:
        return None
    try:
        return await r.port.create_inbound_trunk(rest)
    except LiveKitError as error:  # another trunk took a number in between
        if not is_conflict(error):
            raise
        await _quote_trunk_conflict(r, error, numbers, holding)
        return None


async def _quote_trunk_conflict(
    r: Round, error: LiveKitError, numbers: Collection[str], holding: Holding
) -> None:
    """Put LiveKit's words on the conflict with the trunk it named (looked up if the observation
    did not see it: made in between)."""
    named = error.conflicting_id
    known = {conflict.other_id: conflict for conflict in holding.conflicts}
    if named is not None and named not in known:
        found = await r.port.list_inbound_trunks(trunk_ids=[named])
        fresh = d.trunk_conflicts(found, numbers) or [d.Conflict("trunk", named, "", ())]
        holding.conflicts += fresh
        known.update({conflict.other_id: conflict for conflict in fresh})
    target = known.get(named or "")
    if target is None:  # LiveKit named nothing we can find: say what it said
        holding.conflicts.append(d.Conflict("trunk", named or "(unnamed)", "", (), str(error)))
        return
    index = holding.conflicts.index(target)
    holding.conflicts[index] = d.Conflict(
        target.kind, target.other_id, target.other_name, target.numbers, str(error)
    )


async def _update_inbound(
    r: Round, trunk_id: str, spec: InboundTrunkSpec, was: InboundTrunkSpec, holding: Holding
) -> InboundTrunk | None:
    """LiveKit does not check the numbers of an updated trunk against the other trunks, so the
    numbers this update adds are looked up first (ListSIPInboundTrunk by number)."""
    added = sorted(set(spec.numbers) - set(was.numbers))
    if added:
        others = [t for t in await r.port.list_inbound_trunks(numbers=added) if t.id != trunk_id]
        late = d.trunk_conflicts(others, added)
        if late:
            holding.conflicts += late
            narrowed = w.inbound_trunk(r.connection, set(spec.numbers) - d.held_elsewhere(late))
            if narrowed is None:
                await r.port.delete_trunk(trunk_id)
                return None
            spec = narrowed
    try:
        return await r.port.update_inbound_trunk(trunk_id, spec)
    except LiveKitError as error:
        if error.kind is not LiveKitErrorKind.NOT_FOUND:
            raise
    return await r.port.create_inbound_trunk(spec)  # deleted by hand in between


# --------------------------------------------------------------------------- the outbound trunk


async def converge_outbound(
    r: Round, wanted: OutboundTrunkSpec | None, holding: Holding, *, known: bool = True
) -> None:
    """The outbound trunk as `wanted` (None: no trunk). `known` False: no usable SIP pair, so the
    trunk stays as it is."""
    recorded = r.connection.status.outbound_trunk
    keep, _ = d.keep_one(r.seen.outbound, recorded.id if recorded else None)
    holding.outbound = keep
    changes = d.outbound_changes(r.seen.outbound, wanted, keep.id if keep else None, known=known)
    for change in changes:
        match change:
            case d.DeleteTrunk(trunk_id, _, _):
                await r.port.delete_trunk(trunk_id)
                if holding.outbound is not None and holding.outbound.id == trunk_id:
                    holding.outbound = None
            case d.CreateOutbound(spec):
                holding.outbound = await r.port.create_outbound_trunk(spec)
            case d.UpdateOutbound(trunk_id, spec, was):
                try:
                    holding.outbound = await r.port.update_outbound_trunk(trunk_id, spec)
                except LiveKitError as error:
                    if error.kind is not LiveKitErrorKind.NOT_FOUND:
                        raise
                    holding.outbound = await r.port.create_outbound_trunk(spec)
                if (was.auth_username, was.auth_password) != (spec.auth_username, spec.auth_password):
                    await r.writer.event(
                        "Normal",
                        c.LIVEKIT_CREDENTIAL_SWITCHED,
                        f"LiveKit outbound trunk {trunk_id} now authenticates to Twilio as "
                        f"{spec.auth_username}"
                        f" (was {was.auth_username or 'none'})",
                    )
        await r.writer.event("Normal", _trunk_reason(change), d.describe_trunk(change))


def _trunk_reason(change: d.TrunkChange) -> str:
    if isinstance(change, d.CreateInbound | d.CreateOutbound):
        return c.LIVEKIT_TRUNK_CREATED
    if isinstance(change, d.DeleteTrunk):
        return c.LIVEKIT_TRUNK_DELETED
    return c.LIVEKIT_TRUNK_UPDATED


# --------------------------------------------------------------------------- dispatch rules


async def converge_rules(
    r: Round, trunk_id: str, by_agent: dict[str, tuple[str, ...]], holding: Holding
) -> None:
    """One rule per agent on the inbound trunk, for the agent's numbers that are on the trunk and that
    no other rule on the trunk holds."""
    every = [n for numbers in by_agent.values() for n in numbers]
    others = d.rule_conflicts(r.seen.other_rules, trunk_id, every)
    holding.conflicts += others
    excluded = holding.excluded()
    on_trunk = {agent: set(numbers) - _trunk_excluded(holding) for agent, numbers in by_agent.items()}
    wanted: dict[str, DispatchRuleSpec] = {}
    for agent, numbers in by_agent.items():
        mine = set(numbers) - excluded
        if mine:
            wanted[agent] = w.dispatch_rule(r.connection, agent, trunk_id, mine)
    recorded = {rule.agent: rule.id for rule in r.connection.status.dispatch_rules}
    holding.rules = _rules_by_agent(r.seen.rules, recorded)
    changes = d.rule_changes(r.seen.rules, wanted, recorded)

    def probe(agent: str) -> bool:
        return needs_words(r, [k for k in others if set(k.numbers) & on_trunk[agent]])

    for agent in sorted(set(by_agent) - set(wanted) - set(holding.rules)):
        if on_trunk[agent] and probe(agent):  # every number held elsewhere: ask once, for LiveKit's words
            changes.append(
                d.CreateRule(agent, w.dispatch_rule(r.connection, agent, trunk_id, on_trunk[agent]))
            )
    for change in changes:
        match change:
            case d.DeleteRule(rule_id, gone, _):
                await r.port.delete_dispatch_rule(rule_id)
                held = holding.rules.get(gone or "")
                if gone is not None and held is not None and held.id == rule_id:
                    del holding.rules[gone]
                reason = c.DISPATCH_RULE_DELETED
            case d.CreateRule(agent, _) | d.UpdateRule(_, agent, _, _):
                full = w.dispatch_rule(r.connection, agent, trunk_id, on_trunk[agent])
                written = await _write_rule(r, change, full if probe(agent) else change.spec, holding)
                if written is None:
                    continue
                holding.rules[agent] = written
                reason = (
                    c.DISPATCH_RULE_CREATED if isinstance(change, d.CreateRule) else c.DISPATCH_RULE_UPDATED
                )
                change = _as_written(change, written.spec)
        await r.writer.event("Normal", reason, d.describe_rule(change))


def _trunk_excluded(holding: Holding) -> frozenset[str]:
    return d.held_elsewhere(k for k in holding.conflicts if k.kind == "trunk")


def _rules_by_agent(rules: Sequence[DispatchRule], recorded: dict[str, str]) -> dict[str, DispatchRule]:
    found: dict[str, list[DispatchRule]] = {}
    for rule in rules:
        mark = livekit.mark_of(rule.spec.metadata)
        if mark is not None and mark.agent is not None:
            found.setdefault(mark.agent, []).append(rule)
    kept = {agent: d.keep_one(group, recorded.get(agent))[0] for agent, group in found.items()}
    return {agent: rule for agent, rule in kept.items() if rule is not None}


async def _write_rule(
    r: Round, change: d.CreateRule | d.UpdateRule, full: DispatchRuleSpec, holding: Holding
) -> DispatchRule | None:
    """Create or update; first with every number (`full`) when that differs and the write adds
    numbers (LiveKit then says in its own words why some are held elsewhere), then without them."""
    adds = isinstance(change, d.CreateRule) or not set(change.spec.numbers) <= set(change.was.numbers)
    attempts = [full, change.spec] if adds and full.numbers != change.spec.numbers else [change.spec]
    for spec in attempts:
        try:
            if isinstance(change, d.CreateRule):
                return await r.port.create_dispatch_rule(spec)
            try:
                return await r.port.update_dispatch_rule(change.id, spec)
            except LiveKitError as error:
                if error.kind is not LiveKitErrorKind.NOT_FOUND:
                    raise
                return await r.port.create_dispatch_rule(spec)  # deleted by hand in between
        except LiveKitError as error:
            if not is_conflict(error):
                raise
            await _quote_rule_conflict(r, error, spec, holding)
    return None


async def _quote_rule_conflict(
    r: Round, error: LiveKitError, spec: DispatchRuleSpec, holding: Holding
) -> None:
    """Put LiveKit's words on the conflict with the rule it named. LiveKit may name our own rule (an
    update is checked against every rule of the trunk, itself included): the other rule is then the
    one that holds the numbers, looked up on the trunk (it may have been made in between)."""
    named = error.conflicting_id
    ours = {rule.id for rule in r.seen.rules}
    others = list(r.seen.other_rules)
    if named is None or named in ours or named not in {rule.id for rule in others}:
        listed = await r.port.list_dispatch_rules(trunk_ids=list(spec.trunk_ids))
        others = [
            rule for rule in listed if not livekit.owned_by(r.connection.uid, rule.spec.metadata, "dispatch")
        ]
    found = [
        conflict
        for trunk_id in spec.trunk_ids
        for conflict in d.rule_conflicts(others, trunk_id, spec.numbers)
        if named in (None, conflict.other_id) or named in ours
    ] or [d.Conflict("rule", named or "(unnamed)", "", ())]
    for conflict in found:
        quoted = d.Conflict("rule", conflict.other_id, conflict.other_name, conflict.numbers, str(error))
        same = [k for k in holding.conflicts if k.kind == "rule" and k.other_id == conflict.other_id]
        holding.conflicts = [k for k in holding.conflicts if k not in same] + [quoted]


def _as_written(change: d.CreateRule | d.UpdateRule, spec: DispatchRuleSpec) -> d.RuleChange:
    if isinstance(change, d.CreateRule):
        return d.CreateRule(change.agent, spec)
    return d.UpdateRule(change.id, change.agent, spec, change.was)
