"""The level-based reconcile of a LiveKitConnection, in the provider's shape: observe, diff, act, decide.

One function serves create, update, resume, the periodic resync (drift repair: LiveKit has no watch)
and every wake-up (the provider, its SIP Secret, its numbers, the API Secret changed):

1. observe: the provider (from the operator's index), the API Secret, the imported numbers and the
   SIP pair (Kubernetes), then every trunk and rule of the LiveKit project (observe.py);
2. diff and act, trunks first, then the rules on the inbound trunk (diff.py, act.py): what LiveKit
   holds becomes what wanted.py says, numbers another trunk or rule holds left out (Conflict);
3. decide the conditions once (readiness.py) and write the status: the trunk and rule IDs, the
   numbers of each, and the SIP username the outbound trunk uses (the provider keeps a rotated-out
   credential in Twilio while a connection's status still names it).

Nothing the provider owns is written here: the provider puts spec.sipUri on its trunk (it reads the
connections from the operator's index), the connection only reports whether it is there.
"""

from __future__ import annotations

import contextlib

from twilio_operator.api import conditions as c
from twilio_operator.api.conditions import ConditionUpdate
from twilio_operator.api.credentials import CredentialProblem
from twilio_operator.api.errors import KubernetesError, LiveKitError
from twilio_operator.api.models import (
    LiveKitNumberStatus,
    LiveKitOutboundStatus,
    LiveKitRuleStatus,
    LiveKitTrunkStatus,
)
from twilio_operator.api.sip import normalize_sip_url
from twilio_operator.livekit_connection import act, readiness
from twilio_operator.livekit_connection import diff as d
from twilio_operator.livekit_connection import wanted as w
from twilio_operator.livekit_connection.observe import (
    imported_numbers,
    observe_livekit,
    read_api_secret,
    sip_pair,
)
from twilio_operator.livekit_connection.resource import Connection, Number, Outcome, ProviderSide
from twilio_operator.livekit_connection.status import ConnectionWriter
from twilio_operator.ports.deps import Deps

MAX_NUMBERS_SHOWN = 1000  # status.numbers; the trunks hold every one


async def reconcile_connection(connection: Connection, provider: ProviderSide | None, deps: Deps) -> Outcome:
    """Converge LiveKit to the provider and its numbers; write status. Raises LiveKitError or
    KubernetesError to be retried; `provider` None: no TwilioProvider of that name (the index)."""
    writer = ConnectionWriter(connection, deps)
    try:
        return await _reconcile(connection, provider, deps, writer)
    except LiveKitError as error:
        await readiness.record(writer, readiness.LiveKitFailed(error))
        raise
    except KubernetesError as error:
        reason = c.KUBERNETES_REFUSED if error.refusal else c.KUBERNETES_UNAVAILABLE
        with contextlib.suppress(KubernetesError):  # the status write itself may be what fails
            await readiness.record(writer, readiness.Blocked(reason, str(error)))
        raise


async def _reconcile(
    connection: Connection, provider: ProviderSide | None, deps: Deps, writer: ConnectionWriter
) -> Outcome:
    problem = provider_problem(connection, provider)
    if problem is not None:
        return await _blocked(writer, *problem)
    assert provider is not None
    server = await read_api_secret(connection, deps)
    if isinstance(server, CredentialProblem):
        return await _blocked(writer, server.reason, server.message)
    if deps.livekit is None:
        raise RuntimeError("no LiveKit connector in Deps")
    port = deps.livekit.connect(server)
    numbers = await imported_numbers(connection, provider, deps)
    pair = await sip_pair(provider, deps, connection.namespace)
    seen = await observe_livekit(port, connection.uid)
    previous = c.find(connection.status.conditions, c.CONFLICT)
    work = act.Round(port, connection, writer, seen, previous.message if previous else "")
    holding = act.Holding.observed(seen, connection.status)
    phones = [n.phone_number for n in numbers]
    by_agent = w.numbers_by_agent(connection, numbers)
    try:
        await act.converge_inbound(work, phones, holding)
        outbound = (
            w.outbound_trunk(connection, provider, phones, pair) if isinstance(pair, w.SipPair) else None
        )
        await act.converge_outbound(work, outbound, holding, known=isinstance(pair, w.SipPair))
        inbound_id = holding.inbound.id if holding.inbound is not None else ""
        await act.converge_rules(work, inbound_id, by_agent if inbound_id else {}, holding)
    finally:
        _record_holding(connection, writer, holding, numbers)
    result = _synced(connection, provider, writer, holding, numbers, pair)
    await readiness.record(writer, result)
    ready = c.ReadyState.of(writer.status)
    return Outcome(
        ready=ready.is_true,
        reason=ready.reason or "",
        message=ready.message,
        conflict=bool(holding.conflicts),
        outbound_username=holding.outbound.spec.auth_username if holding.outbound else None,
    )


def provider_problem(connection: Connection, provider: ProviderSide | None) -> tuple[str, str] | None:
    """Why the connection cannot be kept in sync with its provider now, or None."""
    name = connection.provider_name
    left = "LiveKit's trunks and rules are left as they are"
    if provider is None:
        return (
            c.PROVIDER_NOT_FOUND,
            f"TwilioProvider {name} does not exist in namespace {connection.namespace}: {left}; create it, "
            "or delete this LiveKitConnection to remove them",
        )
    if provider.deleting:
        return (
            c.PROVIDER_NOT_FOUND,
            f"TwilioProvider {name} is being deleted: {left}; delete this LiveKitConnection to remove them",
        )
    if not provider.status.trunk_sid or provider.termination_address is None:
        ready = c.ReadyState.of(provider.status)
        why = f" ({ready.reason}: {ready.message})" if ready.reason else ""
        return c.PROVIDER_NOT_READY, f"TwilioProvider {name} has no trunk yet{why}"
    return None


async def _blocked(writer: ConnectionWriter, reason: str, message: str) -> Outcome:
    await readiness.record(writer, readiness.Blocked(reason, message))
    return Outcome(ready=False, reason=reason, message=message)


# --------------------------------------------------------------------------- status and conditions


def _record_holding(
    connection: Connection, writer: ConnectionWriter, holding: act.Holding, numbers: list[Number]
) -> None:
    """What LiveKit holds of ours into status: also after a failed request (never more than it has)."""
    inbound, outbound = holding.inbound, holding.outbound
    rules = sorted(holding.rules.items())
    rule_of = {n: rule.id for _, rule in rules for n in rule.spec.numbers}
    writer.set(
        observed_generation=connection.generation,
        inbound_trunk=LiveKitTrunkStatus(id=inbound.id, numbers=sorted(inbound.spec.numbers))
        if inbound
        else None,
        outbound_trunk=LiveKitOutboundStatus(
            id=outbound.id,
            numbers=sorted(outbound.spec.numbers),
            address=outbound.spec.address,
            username=outbound.spec.auth_username or None,
        )
        if outbound
        else None,
        dispatch_rules=[
            LiveKitRuleStatus(agent=agent, id=rule.id, numbers=sorted(rule.spec.numbers))
            for agent, rule in rules
        ],
        numbers=[
            LiveKitNumberStatus(
                phone_number=n.phone_number,
                object=n.object,
                agent=w.agent_of(connection, n),
                dispatch_rule_id=rule_of.get(n.phone_number),
            )
            for n in numbers[:MAX_NUMBERS_SHOWN]
        ],
        number_count=len(inbound.spec.numbers) if inbound else 0,
    )


def _synced(
    connection: Connection,
    provider: ProviderSide,
    writer: ConnectionWriter,
    holding: act.Holding,
    numbers: list[Number],
    pair: w.SipPair | str,
) -> readiness.Synced:
    previous = c.find(connection.status.conditions, c.CONFLICT)
    said = {id(k): _quoted(k, previous.message if previous else "") for k in holding.conflicts}
    trunks = _trunks_condition(provider, holding, numbers, pair, said)
    dispatch = _dispatch_condition(connection, holding, numbers, said)
    origination = _origination_condition(connection, provider, writer)
    conflicts = tuple(said[id(k)] for k in holding.conflicts)
    summary = (
        f"{len(numbers)} numbers of TwilioProvider {provider.name} reach {len(holding.rules)} agents "
        "in LiveKit"
        if numbers
        else f"TwilioProvider {provider.name} has no imported number yet; LiveKit is ready for them"
    )
    return readiness.Synced(trunks, dispatch, origination, conflicts, summary)


def _quoted(conflict: d.Conflict, previous: str) -> str:
    """A conflict's message; LiveKit's words from an earlier round are kept while the same conflict
    stands (LiveKit is asked again only when a write needs it)."""
    if conflict.said:
        return conflict.describe()
    return d.quoted_before(conflict, previous) or conflict.describe()


def _trunks_condition(
    provider: ProviderSide,
    holding: act.Holding,
    numbers: list[Number],
    pair: w.SipPair | str,
    said: dict[int, str],
) -> ConditionUpdate:
    if not numbers:
        return ConditionUpdate(
            c.TRUNKS_IN_SYNC,
            "True",
            c.NO_NUMBERS,
            f"TwilioProvider {provider.name} has no imported number: LiveKit holds no trunk for it "
            "(an inbound trunk without numbers would take calls to any number)",
        )
    trunk_conflicts = [said[id(k)] for k in holding.conflicts if k.kind == "trunk"]
    if trunk_conflicts:
        return ConditionUpdate(c.TRUNKS_IN_SYNC, "False", c.CONFLICT, "\n".join(trunk_conflicts))
    if isinstance(pair, str):
        return ConditionUpdate(
            c.TRUNKS_IN_SYNC, "False", c.SIP_CREDENTIALS_PENDING, f"the outbound trunk waits: {pair}"
        )
    inbound, outbound = holding.inbound, holding.outbound
    if inbound is None or outbound is None:  # LiveKit took a write, then lost the trunk: the next round
        return ConditionUpdate(c.TRUNKS_IN_SYNC, "False", c.PROGRESSING, "a trunk is missing in LiveKit")
    return ConditionUpdate(
        c.TRUNKS_IN_SYNC,
        "True",
        c.IN_SYNC,
        f"inbound trunk {inbound.id} holds {len(inbound.spec.numbers)} numbers; outbound trunk {outbound.id} "
        f"dials {outbound.spec.address} as {outbound.spec.auth_username}",
    )


def _dispatch_condition(
    connection: Connection, holding: act.Holding, numbers: list[Number], said: dict[int, str]
) -> ConditionUpdate:
    rule_conflicts = [said[id(k)] for k in holding.conflicts if k.kind == "rule"]
    if rule_conflicts:
        return ConditionUpdate(c.DISPATCH_IN_SYNC, "False", c.CONFLICT, "\n".join(rule_conflicts))
    if not numbers:
        return ConditionUpdate(c.DISPATCH_IN_SYNC, "True", c.NO_NUMBERS, "no number, no dispatch rule")
    without = sorted(n.phone_number for n in numbers if w.agent_of(connection, n) is None)
    message = f"{len(holding.rules)} dispatch rules, one per agent"
    if without:
        message += (
            f"; {', '.join(without)} name no agent (no agentRef, no spec.dispatch.defaultAgent): LiveKit "
            "rejects their calls"
        )
    return ConditionUpdate(c.DISPATCH_IN_SYNC, "True", c.IN_SYNC, message)


def _origination_condition(
    connection: Connection, provider: ProviderSide, writer: ConnectionWriter
) -> ConditionUpdate:
    uri = connection.spec.sip_uri
    there = provider.status.origination_uris or []
    trunk = provider.status.trunk_sid
    if normalize_sip_url(uri) in {normalize_sip_url(u) for u in there}:
        writer.set(origination_uri=uri)
        return ConditionUpdate(
            c.ORIGINATION_IN_SYNC, "True", c.IN_SYNC, f"Twilio trunk {trunk} sends inbound calls to {uri}"
        )
    writer.set(origination_uri=None)
    if provider.spec.management_policy == "ObserveOnly":
        why = "it is ObserveOnly: add this URI to the trunk's origination URIs yourself"
    else:
        why = "it adds it on its next reconcile"
    return ConditionUpdate(
        c.ORIGINATION_IN_SYNC,
        "False",
        c.ORIGINATION_PENDING,
        f"Twilio trunk {trunk} of TwilioProvider {provider.name} does not send inbound calls to {uri} "
        f"yet ({why}); its origination URIs: {', '.join(there) or 'none'}",
    )
