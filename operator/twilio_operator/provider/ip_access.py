"""spec.ipAccessControl: an IP access control list of the operator's own, holding exactly the spec's
addresses and CIDR blocks, attached to the trunk beside the credential list.

The list is found again by the tag in its friendly name (as the credential list is), so a lost status
write or a crash is recovered. The credential list stays attached: IP access is an addition, which
keeps the SIP Secret's username and password working for platforms without a static address.

IP access control lists are read only when the spec asks for one or status recorded one: providers
without the field make no extra request. The one gap this leaves: a list created, its SID not yet in
status (the reconcile crashed in between), and the field removed before the next reconcile; that
list stays in the account, tagged with the provider's UID.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.cidrs import MAX_IP_ACCESS_ENTRIES, parse_cidr
from twilio_operator.api.models import IpAccessControl
from twilio_operator.api.twilio_values import IpAccessControlList, IpAddress, Trunk
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.provision import attach_once, keep_one_of_ours
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter
from twilio_operator.provider.verification import Check

CHECK = "ipAccessControl"
Entry = tuple[str, int]  # (network address, prefix length)


# --------------------------------------------------------------------------- pure


def wanted_entries(spec: IpAccessControl | None) -> frozenset[Entry]:
    """The spec's addresses as (network address, prefix) pairs: 203.0.113.5 and 203.0.113.5/32 are one."""
    if spec is None:
        return frozenset()
    return frozenset((str(n.network_address), n.prefixlen) for n in map(parse_cidr, spec.cidrs))


def entry_of(address: IpAddress) -> Entry:
    """Twilio's entry as a pair. A prefix of 0 is the schema's default, which Twilio documents as "the
    entire IP address is used": /32 (the CRD admits no prefix below /8, so 0 is never wanted)."""
    return address.ip_address, address.cidr_prefix_length or 32


def entry_text(entry: Entry) -> str:
    return f"{entry[0]}/{entry[1]}"


@dataclass(frozen=True)
class EntryPlan:
    add: tuple[Entry, ...]
    remove: tuple[IpAddress, ...]  # entries not in the spec, and repeats of one that is

    def empty(self) -> bool:
        return not self.add and not self.remove


def plan_entries(wanted: frozenset[Entry], existing: list[IpAddress]) -> EntryPlan:
    seen: set[Entry] = set()
    remove: list[IpAddress] = []
    for address in existing:
        entry = entry_of(address)
        if entry not in wanted or entry in seen:
            remove.append(address)
        seen.add(entry)
    add = sorted(wanted - seen, key=lambda e: (tuple(int(o) for o in e[0].split(".")), e[1]))
    return EntryPlan(tuple(add), tuple(remove))


def removes_first(plan: EntryPlan, existing: int) -> bool:
    """Adds go first, so that a changed CIDR never leaves a moment with neither entry; unless the
    adds would overflow Twilio's limit of entries per list."""
    return existing + len(plan.add) > MAX_IP_ACCESS_ENTRIES


def ours(provider: Provider, lists: list[IpAccessControlList]) -> list[IpAccessControlList]:
    return [a for a in lists if names.is_our_ip_access_control_list(a.friendly_name, provider.uid)]


def find_ip_access_control_list(
    provider: Provider, lists: list[IpAccessControlList]
) -> IpAccessControlList | None:
    """The provider's list, by the tag in its friendly name; the recorded SID is preferred among ours
    (a SID from status alone is not trusted: it could name someone else's list)."""
    mine = ours(provider, lists)
    recorded = [a for a in mine if a.sid == provider.status.ip_access_control_list_sid]
    return next(iter(recorded or mine), None)


def reads_ip_access(provider: Provider) -> bool:
    """Whether a reconcile or teardown looks at IP access control lists at all."""
    return provider.spec.ip_access_control is not None or bool(provider.status.ip_access_control_list_sid)


def entry_differences(wanted: frozenset[Entry], existing: list[IpAddress]) -> list[str]:
    """What a Full reconcile would change in the list's entries, in words (ObserveOnly)."""
    plan = plan_entries(wanted, existing)
    return [f"IP access control entry {entry_text(e)} is missing" for e in plan.add] + [
        f"IP access control entry {entry_text(entry_of(a))} is not in the spec" for a in plan.remove
    ]


# --------------------------------------------------------------------------- I/O


async def find_or_create_ip_access_control_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort
) -> IpAccessControlList | None:
    """The provider's list when the spec asks for one (created if missing), else None. Two creators
    at once (two operators by mistake) each keep the lowest SID and delete the others."""
    if provider.spec.ip_access_control is None:
        return None
    found = find_ip_access_control_list(provider, await twilio.list_ip_access_control_lists())
    if found is not None:
        return found
    created = await twilio.create_ip_access_control_list(
        names.ip_access_control_list_name(provider.spec.display_name, provider.uid)
    )
    writer.created_now.add(created.sid)
    await writer.event("Normal", c.IP_ACCESS_CONTROL_UPDATED, f"created IP access control list {created.sid}")
    mine = ours(provider, await twilio.list_ip_access_control_lists())
    return await keep_one_of_ours(writer, created, mine, twilio.delete_ip_access_control_list)


async def ensure_ip_access(
    provider: Provider,
    writer: StatusWriter,
    twilio: TwilioPort,
    trunk: Trunk,
    acl: IpAccessControlList | None,
) -> Check | None:
    """Converge the list's entries and its attachment; or, with the field removed, detach and delete
    the provider's list. Returns the verification detail (None when the feature is not used)."""
    if acl is None:
        if provider.status.ip_access_control_list_sid:
            await _remove(provider, writer, twilio, trunk)
        return None
    wanted = wanted_entries(provider.spec.ip_access_control)
    existing = [] if acl.sid in writer.created_now else await twilio.list_ip_addresses(acl.sid)
    plan = plan_entries(wanted, existing)
    if not plan.empty():
        await _apply(provider, twilio, acl, plan, removes_first(plan, len(existing)))
        changes = [f"+{entry_text(e)}" for e in plan.add] + [
            f"-{entry_text(entry_of(a))}" for a in plan.remove
        ]
        await writer.event(
            "Normal",
            c.IP_ACCESS_CONTROL_UPDATED,
            f"IP access control list {acl.sid}: {', '.join(changes)}",
        )
    attached = await _ensure_attached(writer, twilio, trunk, acl)
    return Check(
        CHECK,
        "passed",
        f"IP access control list {acl.sid} with {len(wanted)} entries is {attached} trunk {trunk.sid}",
        (("entries", str(len(wanted))),),
    )


async def _apply(
    provider: Provider, twilio: TwilioPort, acl: IpAccessControlList, plan: EntryPlan, remove_first: bool
) -> None:
    name = names.tagged_name(provider.spec.display_name, provider.uid)

    async def add() -> None:
        await asyncio.gather(
            *(twilio.create_ip_address(acl.sid, name, ip, prefix) for ip, prefix in plan.add)
        )

    async def remove() -> None:
        await asyncio.gather(*(twilio.delete_ip_address(acl.sid, a.sid) for a in plan.remove))

    for step in (remove, add) if remove_first else (add, remove):
        await step()


async def _ensure_attached(
    writer: StatusWriter, twilio: TwilioPort, trunk: Trunk, acl: IpAccessControlList
) -> str:
    newly = await attach_once(
        acl.sid,
        lambda: twilio.list_trunk_ip_access_control_lists(trunk.sid),
        lambda: twilio.attach_ip_access_control_list(trunk.sid, acl.sid),
        known_detached=trunk.sid in writer.created_now or acl.sid in writer.created_now,
    )
    if not newly:
        return "attached to"
    await writer.event(
        "Normal",
        c.IP_ACCESS_CONTROL_UPDATED,
        f"attached IP access control list {acl.sid} to trunk {trunk.sid}",
    )
    return "now attached to"


async def _remove(provider: Provider, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk) -> None:
    """spec.ipAccessControl was removed: the provider's lists leave the trunk and the account."""
    mine = ours(provider, await twilio.list_ip_access_control_lists())
    if mine:
        attached = set(await twilio.list_trunk_ip_access_control_lists(trunk.sid))
        for acl in mine:
            if acl.sid in attached:
                await twilio.detach_ip_access_control_list(trunk.sid, acl.sid)
            await twilio.delete_ip_access_control_list(acl.sid)
        await writer.event(
            "Normal",
            c.IP_ACCESS_CONTROL_REMOVED,
            f"spec.ipAccessControl was removed: detached and deleted IP access control list "
            f"{', '.join(a.sid for a in mine)}",
        )
    writer.set(ip_access_control_list_sid=None)
