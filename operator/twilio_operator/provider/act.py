"""Act: apply the changes provider/diff.py computed, in their order, and nothing else.

Creations come first (`create`): the trunk (named from the object's UID, with a new name after the
trunk was deleted in Twilio, since a deleted domain stays reserved), then the credential list and the
IP access control list (tagged with the UID, so that they are found again after a crash). The rest
(`apply`) changes what exists; independent changes run in parallel. Every write is idempotent: a
create whose answer was lost is found again, an attach refused because it is already there is
judged by listing again, never by an error code Twilio does not document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from twilio_operator.api import conditions as c
from twilio_operator.api import names, quotas
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.ownership import tagged_ours
from twilio_operator.api.twilio_values import Account, CredentialList, IpAccessControlList, Trunk
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider import diff as d
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter
from twilio_operator.provider.verification import Observed

T = TypeVar("T")
MAX_DOMAIN_ATTEMPTS = 5
DOMAIN_TAKEN = 21248  # Twilio's code for a trunk domain that exists (or is reserved)
# Catalogue 21245 "Trunk Validation Error" includes "Cannot create more than one Trunk with the same
# Termination URI": which of the two answers a second create of one account's domain in one region is
# not documented (the emulator answers 21248, strict mode 21245). Either is judged by listing.
DOMAIN_IN_USE = frozenset({DOMAIN_TAKEN, 21245})


@dataclass
class Created:
    """What `create` made (or found after a lost answer): the new resources and their SIDs."""

    trunk: Trunk | None = None
    credential_list: CredentialList | None = None
    ip_access_control_list: IpAccessControlList | None = None
    sids: set[str] = field(default_factory=set)


async def create(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, changes: list[d.Change], account: Observed
) -> Created:
    """The creations among `changes`. The trunk first: a trunk refused (a quota, most likely) must not
    leave a new credential list behind."""
    assert isinstance(account.trunks, list) and isinstance(account.lists, list)
    account_type = account.account.type if isinstance(account.account, Account) else None
    made = Created()
    kinds = {type(change) for change in changes}

    async def counted(create: Awaitable[T], quota: quotas.Quota, count: int) -> T:
        """A refused create that the account's count explains is QuotaExceeded (api/quotas.py)."""
        try:
            return await create
        except TwilioError as error:
            raise quotas.as_quota_error(
                error, quota, count, account_type, provider.spec.account_sid
            ) from None

    if d.CreateTrunk in kinds:
        made.trunk = await counted(
            _create_trunk(provider, writer, twilio, made), quotas.TRUNKS, len(account.trunks)
        )
    if d.CreateCredentialList in kinds:
        made.credential_list = await counted(
            _create_credential_list(provider, writer, twilio, made),
            quotas.CREDENTIAL_LISTS,
            len(account.lists),
        )
    if d.CreateIpAccessControlList in kinds:
        made.ip_access_control_list = await _create_ip_access_control_list(provider, writer, twilio, made)
    return made


async def _create_trunk(provider: Provider, writer: StatusWriter, twilio: TwilioPort, made: Created) -> Trunk:
    recreations = provider.status.trunk_recreations or 0
    if provider.status.trunk_sid:
        # We had a trunk and it is gone: someone deleted it in Twilio. Its domain stays reserved.
        recreations += 1
    for _ in range(MAX_DOMAIN_ATTEMPTS):
        domain = names.trunk_domain(provider.uid, recreations)
        found_after_lost_answer = False
        try:
            trunk = await twilio.create_trunk(
                names.trunk_friendly_name(provider.spec.display_name),
                domain,
                d.wanted_transfer_mode(provider) or names.transfer_mode(None),
            )
        except TwilioError as error:
            if error.code not in DOMAIN_IN_USE:
                raise
            # Taken: either our own create whose answer was lost, or a reserved domain of ours.
            existing = next((t for t in await twilio.list_trunks() if t.domain_name == domain), None)
            if existing is None:
                recreations += 1
                continue
            trunk, found_after_lost_answer = existing, True
        writer.set(trunk_recreations=recreations or None)
        if provider.status.trunk_sid:
            await writer.event(
                "Warning",
                c.TRUNK_RECREATED,
                f"trunk {provider.status.trunk_sid} was deleted in Twilio; "
                f"created {trunk.sid} ({trunk.domain_name})",
            )
        else:
            await writer.event("Normal", c.TRUNK_CREATED, f"created trunk {trunk.sid} ({trunk.domain_name})")
        if not found_after_lost_answer:
            made.sids.add(trunk.sid)
        return trunk
    raise TwilioError(
        "create SIP trunk", ErrorKind.REJECTED, code=DOMAIN_TAKEN, detail="every candidate domain is taken"
    )


async def _create_credential_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, made: Created
) -> CredentialList:
    created = await twilio.create_credential_list(
        names.credential_list_name(provider.spec.display_name, provider.uid)
    )
    await writer.event("Normal", c.CREDENTIAL_LIST_CREATED, f"created credential list {created.sid}")
    made.sids.add(created.sid)
    ours = tagged_ours(provider, await twilio.list_credential_lists())
    return await keep_one_of_ours(made, created, ours, twilio.delete_credential_list)


async def _create_ip_access_control_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, made: Created
) -> IpAccessControlList:
    created = await twilio.create_ip_access_control_list(
        names.ip_access_control_list_name(provider.spec.display_name, provider.uid)
    )
    made.sids.add(created.sid)
    await writer.event("Normal", c.IP_ACCESS_CONTROL_UPDATED, f"created IP access control list {created.sid}")
    ours = tagged_ours(provider, await twilio.list_ip_access_control_lists())
    return await keep_one_of_ours(made, created, ours, twilio.delete_ip_access_control_list)


class _HasSid(Protocol):
    @property
    def sid(self) -> str: ...


Listed = TypeVar("Listed", bound=_HasSid)


async def keep_one_of_ours(
    made: Created, created: Listed, ours: list[Listed], delete: Callable[[str], Awaitable[object]]
) -> Listed:
    """Two reconciles that create at once (two operators by mistake) can each make a list: lists have
    no unique name. Every creator keeps the same one (the lowest SID of `ours`, the lists carrying the
    provider's tag, read after the create) and deletes the others."""
    if len(ours) <= 1:
        return created
    keep = min(ours, key=lambda listed: listed.sid)
    for extra in ours:
        if extra.sid != keep.sid:
            await delete(extra.sid)
            made.sids.discard(extra.sid)
    return keep


# --------------------------------------------------------------------------- changes of what exists


@dataclass(frozen=True)
class Target:
    """The resources the changes refer to (existing or just created)."""

    trunk: Trunk
    credential_list: CredentialList
    ip_access_control_list: IpAccessControlList | None
    created: frozenset[str]


async def apply(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, target: Target, changes: list[d.Change]
) -> None:
    """Apply the changes of what exists. Groups of independent changes run in parallel; the order
    within a group is the diff's (IP access entries: adds before removes, unless Twilio's limit
    needs room first)."""
    by_kind: dict[type, list[d.Change]] = {}
    for change in changes:
        by_kind.setdefault(type(change), []).append(change)
    entries = [ch for ch in changes if isinstance(ch, d.AddIpEntry | d.RemoveIpEntry)]
    await asyncio.gather(
        _trunk_fields(provider, writer, twilio, target, by_kind),
        _attach_credential_list(writer, twilio, target, by_kind),
        _originations(provider, writer, twilio, target, changes),
        _ip_access(provider, writer, twilio, target, entries, by_kind),
        _remove_ip_access(provider, writer, twilio, target, by_kind),
    )


async def _trunk_fields(
    provider: Provider,
    writer: StatusWriter,
    twilio: TwilioPort,
    target: Target,
    by_kind: dict[type, list[d.Change]],
) -> None:
    trunk = target.trunk
    for change in by_kind.get(d.UpdateTrunk, []):
        assert isinstance(change, d.UpdateTrunk)
        fields = dict(change.fields)
        name, mode = fields.pop("friendly_name", None), fields.pop("transfer_mode", None)
        if name is not None or mode is not None:
            await twilio.update_trunk(trunk.sid, friendly_name=name, transfer_mode=mode)
        if fields:
            await twilio.update_trunk_settings(trunk.sid, fields)
        await writer.event(
            "Normal", c.TRUNK_UPDATED, f"set {', '.join(sorted(dict(change.fields)))} of trunk {trunk.sid}"
        )
    for change in by_kind.get(d.SetRecording, []):
        assert isinstance(change, d.SetRecording)
        await twilio.update_recording(trunk.sid, change.mode, change.trim)
        await writer.event("Normal", c.TRUNK_UPDATED, f"set recording of trunk {trunk.sid} to {change.mode}")
    for change in by_kind.get(d.SetVoiceRegion, []):
        assert isinstance(change, d.SetVoiceRegion)
        await twilio.update_voice_region(trunk.domain_name, change.region)


async def _attach_credential_list(
    writer: StatusWriter, twilio: TwilioPort, target: Target, by_kind: dict[type, list[d.Change]]
) -> None:
    if not by_kind.get(d.AttachCredentialList):
        return
    trunk, listed = target.trunk, target.credential_list
    await _attach_to_trunk(
        writer,
        target,
        listed.sid,
        lambda: twilio.list_trunk_credential_lists(trunk.sid),
        lambda: twilio.attach_credential_list(trunk.sid, listed.sid),
        (c.CREDENTIAL_LIST_ATTACHED, "credential list"),
    )


async def _attach_to_trunk(
    writer: StatusWriter,
    target: Target,
    sid: str,
    attached: Callable[[], Awaitable[list[str]]],
    attach: Callable[[], Awaitable[object]],
    said: tuple[str, str],
) -> None:
    """Attach a list (credential or IP access control) to the trunk once, and say so when it was
    attached now: (the Event's reason, what the list is)."""
    known_detached = target.trunk.sid in target.created or sid in target.created
    if await attach_once(sid, attached, attach, known_detached=known_detached):
        await writer.event("Normal", said[0], f"attached {said[1]} {sid} to trunk {target.trunk.sid}")


async def attach_once(
    sid: str,
    attached: Callable[[], Awaitable[list[str]]],
    attach: Callable[[], Awaitable[object]],
    *,
    known_detached: bool,
) -> bool:
    """Attach `sid` to a trunk unless `attached()` lists it; True if this call attached it. An attach
    refused because a concurrent reconcile attached it meanwhile is judged by listing again, not by
    the code: Twilio documents none for "already attached". `known_detached`: the trunk or the list
    was created by this reconcile, so there is nothing to list first."""
    if not known_detached and sid in await attached():
        return False
    try:
        await attach()
    except TwilioError as error:
        if error.kind is not ErrorKind.REJECTED or sid not in await attached():
            raise
        return False
    return True


async def _originations(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, target: Target, changes: list[d.Change]
) -> None:
    trunk = target.trunk
    work: list[Awaitable[Any]] = []
    for change in changes:
        if isinstance(change, d.CreateOriginationUrl):
            work.append(twilio.create_origination_url(trunk.sid, change.url))
        elif isinstance(change, d.UpdateOriginationUrl):
            work.append(twilio.update_origination_url(trunk.sid, change.url))
        elif isinstance(change, d.DeleteOriginationUrl):
            work.append(twilio.delete_origination_url(trunk.sid, change.sid))
    if not work:
        return
    await asyncio.gather(*work)
    wanted = len(provider.spec.origination_uris)
    if wanted:
        await writer.event(
            "Normal", c.ORIGINATION_UPDATED, f"synced {wanted} origination URIs of trunk {trunk.sid}"
        )
    else:
        await writer.event(
            "Warning",
            c.ORIGINATION_UPDATED,
            f"removed every origination URI of trunk {trunk.sid} (spec.originationUris is empty): "
            "inbound calls to its numbers no longer reach any endpoint",
        )


async def _ip_access(
    provider: Provider,
    writer: StatusWriter,
    twilio: TwilioPort,
    target: Target,
    entries: Sequence[d.Change],
    by_kind: dict[type, list[d.Change]],
) -> None:
    acl = target.ip_access_control_list
    if acl is None:
        return
    if entries:
        name = names.tagged_name(provider.spec.display_name, provider.uid)
        adds = [ch for ch in entries if isinstance(ch, d.AddIpEntry)]
        removes = [ch for ch in entries if isinstance(ch, d.RemoveIpEntry)]

        async def add() -> None:
            await asyncio.gather(
                *(
                    twilio.create_ip_address(acl.sid, name, ip, prefix)
                    for ip, prefix in (a.entry for a in adds)
                )
            )

        async def remove() -> None:
            await asyncio.gather(*(twilio.delete_ip_address(acl.sid, r.address.sid) for r in removes))

        first_is_remove = isinstance(entries[0], d.RemoveIpEntry)
        for step in (remove, add) if first_is_remove else (add, remove):
            await step()
        said = [f"+{d.entry_text(a.entry)}" for a in adds] + [
            f"-{d.entry_text(d.entry_of(r.address))}" for r in removes
        ]
        await writer.event(
            "Normal", c.IP_ACCESS_CONTROL_UPDATED, f"IP access control list {acl.sid}: {', '.join(said)}"
        )
    if by_kind.get(d.AttachIpAccessControlList):
        trunk = target.trunk
        await _attach_to_trunk(
            writer,
            target,
            acl.sid,
            lambda: twilio.list_trunk_ip_access_control_lists(trunk.sid),
            lambda: twilio.attach_ip_access_control_list(trunk.sid, acl.sid),
            (c.IP_ACCESS_CONTROL_UPDATED, "IP access control list"),
        )


async def _remove_ip_access(
    provider: Provider,
    writer: StatusWriter,
    twilio: TwilioPort,
    target: Target,
    by_kind: dict[type, list[d.Change]],
) -> None:
    """spec.ipAccessControl was removed: the provider's lists leave the trunk and the account."""
    for change in by_kind.get(d.RemoveIpAccessControlLists, []):
        assert isinstance(change, d.RemoveIpAccessControlLists)
        attached = set(await twilio.list_trunk_ip_access_control_lists(target.trunk.sid))
        for acl in change.lists:
            if acl.sid in attached:
                await twilio.detach_ip_access_control_list(target.trunk.sid, acl.sid)
            await twilio.delete_ip_access_control_list(acl.sid)
        await writer.event(
            "Normal",
            c.IP_ACCESS_CONTROL_REMOVED,
            "spec.ipAccessControl was removed: detached and deleted IP access control list "
            f"{', '.join(a.sid for a in change.lists)}",
        )
