"""What LiveKit should hold for a connection: a pure function of the spec, the provider, its imported
numbers and the SIP pair Twilio holds.

- The inbound trunk holds the imported numbers exactly as Twilio sends them (E.164); never none: a
  LiveKit inbound trunk without numbers accepts calls to any number.
- The outbound trunk dials the provider's termination URI with the SIP pair and may use every
  imported number as caller ID; never none (LiveKit refuses an outbound trunk without numbers).
- One dispatch rule per agent, on the inbound trunk, for that agent's numbers (agentRef.name, or
  spec.dispatch.defaultAgent for a number without one); never a rule without numbers (it would take
  every call of the trunk).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from twilio_operator.api import livekit
from twilio_operator.api.livekit_values import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec
from twilio_operator.livekit_connection.resource import Connection, Number, ProviderSide

NAME_PREFIX = "twilio-operator"
DEFAULT_ROOM_PREFIX = "call-"


@dataclass(frozen=True)
class SipPair:
    """The SIP credential LiveKit's outbound trunk authenticates with (the password never leaves a
    value: repr shows the username only)."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"SipPair(username={self.username!r})"


def agent_of(connection: Connection, number: Number) -> str | None:
    """The agent that answers a number: its agentRef, else the connection's default agent."""
    default = connection.spec.dispatch.default_agent if connection.spec.dispatch else None
    return number.agent or default


def inbound_trunk(connection: Connection, numbers: Collection[str]) -> InboundTrunkSpec | None:
    if not numbers:
        return None
    inbound = connection.spec.inbound
    return InboundTrunkSpec(
        name=f"{NAME_PREFIX} {connection.namespace}/{connection.name} inbound",
        numbers=tuple(sorted(numbers)),
        metadata=livekit.metadata(connection.uid, "inbound"),
        allowed_addresses=tuple(sorted(inbound.allowed_addresses)) if inbound else (),
        krisp_enabled=inbound.krisp_enabled if inbound else False,
        media_encryption=connection.media_encryption,
    )


def outbound_trunk(
    connection: Connection, provider: ProviderSide, numbers: Collection[str], pair: SipPair
) -> OutboundTrunkSpec | None:
    address = provider.termination_address
    if not numbers or address is None:
        return None
    outbound = connection.spec.outbound
    return OutboundTrunkSpec(
        name=f"{NAME_PREFIX} {connection.namespace}/{connection.name} outbound",
        address=address,
        numbers=tuple(sorted(numbers)),
        metadata=livekit.metadata(connection.uid, "outbound"),
        transport=connection.transport,
        destination_country=(outbound.destination_country or "") if outbound else "",
        auth_username=pair.username,
        auth_password=pair.password,
        media_encryption=connection.media_encryption,
    )


def numbers_by_agent(connection: Connection, numbers: Iterable[Number]) -> dict[str, tuple[str, ...]]:
    """agent -> its numbers (sorted); numbers without an agent are left out."""
    grouped: defaultdict[str, set[str]] = defaultdict(set)
    for number in numbers:
        agent = agent_of(connection, number)
        if agent is not None:
            grouped[agent].add(number.phone_number)
    return {agent: tuple(sorted(found)) for agent, found in sorted(grouped.items())}


def dispatch_rule(
    connection: Connection, agent: str, trunk_id: str, numbers: Collection[str]
) -> DispatchRuleSpec:
    dispatch = connection.spec.dispatch
    return DispatchRuleSpec(
        name=f"{NAME_PREFIX} {connection.namespace}/{connection.name} {agent}",
        trunk_ids=(trunk_id,),
        numbers=tuple(sorted(numbers)),
        room_prefix=dispatch.room_prefix if dispatch else DEFAULT_ROOM_PREFIX,
        agents=(agent,),
        metadata=livekit.metadata(connection.uid, "dispatch", agent),
    )
