"""Provisioning: the trunk (found by SID or UID-derived domain, else created), the credential list,
their attachment, the trunk's settings, voice region and origination URLs. Only what differs is written."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from twilio_operator.api import conditions as c
from twilio_operator.api import names, quotas
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import OriginationUri
from twilio_operator.api.regions import client_region
from twilio_operator.api.sip import normalize_sip_url
from twilio_operator.api.twilio_values import Account, CredentialList, OriginationUrl, Trunk
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter
from twilio_operator.provider.verification import Observed

MAX_DOMAIN_ATTEMPTS = 5


async def ensure_trunk_and_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, observed: Observed
) -> tuple[Trunk, CredentialList]:
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    account_type = observed.account.type if isinstance(observed.account, Account) else None
    # The trunk first, then the list: a trunk refused (a quota, most likely) must not leave a new
    # credential list behind.
    trunk = find_trunk(provider, observed.trunks)
    if trunk is None:
        try:
            trunk = await _create_trunk(provider, writer, twilio)
        except TwilioError as error:
            raise quotas.as_quota_error(
                error, quotas.TRUNKS, len(observed.trunks), account_type, provider.spec.account_sid
            ) from None
    credential_list = find_credential_list(provider, observed.lists)
    if credential_list is None:
        try:
            credential_list = await _create_credential_list(provider, writer, twilio)
        except TwilioError as error:
            raise quotas.as_quota_error(
                error, quotas.CREDENTIAL_LISTS, len(observed.lists), account_type, provider.spec.account_sid
            ) from None
        credential_list = await _one_list_of_ours(provider, writer, twilio, credential_list)
    return trunk, credential_list


async def _one_list_of_ours(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, created: CredentialList
) -> CredentialList:
    if provider.spec.credential_list_sid:
        return created
    ours = [
        cl
        for cl in await twilio.list_credential_lists()
        if names.is_our_credential_list(cl.friendly_name, provider.uid)
    ]
    return await keep_one_of_ours(writer, created, ours, twilio.delete_credential_list)


class _HasSid(Protocol):
    @property
    def sid(self) -> str: ...


Listed = TypeVar("Listed", bound=_HasSid)


async def keep_one_of_ours(
    writer: StatusWriter, created: Listed, ours: list[Listed], delete: Callable[[str], Awaitable[object]]
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
            writer.created_now.discard(extra.sid)
    return keep


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


def find_trunk(provider: Provider, trunks: list[Trunk]) -> Trunk | None:
    """The adopted trunk by spec.trunkSid, else by our UID-derived domain (the newest recreation
    wins). status.trunkSid is not trusted on its own: status can be written by anyone with status
    access, or come back stale from a backup."""
    if provider.spec.trunk_sid:
        return next((t for t in trunks if t.sid == provider.spec.trunk_sid), None)
    ours = [(names.domain_recreation(provider.uid, t.domain_name), t) for t in trunks]
    candidates = sorted(((n, t) for n, t in ours if n is not None), key=lambda pair: pair[0])
    return candidates[-1][1] if candidates else None


def find_credential_list(provider: Provider, lists: list[CredentialList]) -> CredentialList | None:
    """The adopted list by spec.credentialListSid, else by the tag in its friendly name; the recorded
    SID is preferred only among ours."""
    if provider.spec.credential_list_sid:
        return next((cl for cl in lists if cl.sid == provider.spec.credential_list_sid), None)
    ours = [cl for cl in lists if names.is_our_credential_list(cl.friendly_name, provider.uid)]
    recorded = [cl for cl in ours if cl.sid == provider.status.credential_list_sid]
    return next(iter(recorded or ours), None)


async def _create_trunk(provider: Provider, writer: StatusWriter, twilio: TwilioPort) -> Trunk:
    recreations = provider.status.trunk_recreations or 0
    if provider.status.trunk_sid:
        # We had a trunk and it is gone: someone deleted it in Twilio. Its domain stays reserved.
        recreations += 1
    for _ in range(MAX_DOMAIN_ATTEMPTS):
        domain = names.trunk_domain(provider.uid, recreations)
        existing_adopted: Trunk | None = None
        try:
            trunk = await twilio.create_trunk(
                names.trunk_friendly_name(provider.spec.display_name),
                domain,
                names.transfer_mode(provider.spec.supports_call_transfer),
            )
        except TwilioError as error:
            if error.code != 21248:
                raise
            # Taken: either our own create whose answer was lost, or a reserved domain of ours.
            existing = next((t for t in await twilio.list_trunks() if t.domain_name == domain), None)
            if existing is not None:
                trunk = existing_adopted = existing
            else:
                recreations += 1
                continue
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
        if existing_adopted is None:
            writer.created_now.add(trunk.sid)
        return trunk
    raise TwilioError(
        "create SIP trunk", ErrorKind.REJECTED, code=21248, detail="every candidate domain is taken"
    )


async def _create_credential_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort
) -> CredentialList:
    credential_list = await twilio.create_credential_list(
        names.credential_list_name(provider.spec.display_name, provider.uid)
    )
    await writer.event("Normal", c.CREDENTIAL_LIST_CREATED, f"created credential list {credential_list.sid}")
    writer.created_now.add(credential_list.sid)
    return credential_list


async def ensure_list_attached(
    writer: StatusWriter, twilio: TwilioPort, trunk: Trunk, cl: CredentialList
) -> str:
    newly = await attach_once(
        cl.sid,
        lambda: twilio.list_trunk_credential_lists(trunk.sid),
        lambda: twilio.attach_credential_list(trunk.sid, cl.sid),
        known_detached=trunk.sid in writer.created_now,
    )
    if not newly:
        return f"credential list {cl.sid} is attached"
    await writer.event(
        "Normal", c.CREDENTIAL_LIST_ATTACHED, f"attached credential list {cl.sid} to trunk {trunk.sid}"
    )
    return f"credential list {cl.sid} attached"


async def ensure_trunk_settings(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk
) -> None:
    """Only write what differs: friendly name and transfer mode (never on an adopted trunk: its owner
    set them, and the spec's defaults would overwrite them)."""
    if provider.adopts_trunk:
        return
    name = names.trunk_friendly_name(provider.spec.display_name)
    mode = names.transfer_mode(provider.spec.supports_call_transfer)
    changes = {
        "friendly_name": name if trunk.friendly_name != name else None,
        "transfer_mode": mode if trunk.transfer_mode != mode else None,
    }
    if not any(changes.values()):
        return
    await twilio.update_trunk(trunk.sid, **changes)
    fields = ", ".join(k for k, v in changes.items() if v)
    await writer.event("Normal", c.TRUNK_UPDATED, f"set {fields} of trunk {trunk.sid}")


async def ensure_voice_region(provider: Provider, twilio: TwilioPort, trunk: Trunk) -> None:
    region = client_region(provider.spec.region)
    if region is None:
        return
    if await twilio.fetch_voice_region(trunk.domain_name) != region:
        await twilio.update_voice_region(trunk.domain_name, region)


async def ensure_origination_urls(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk
) -> None:
    """Make the trunk's origination URLs exactly the spec's, matched by SIP URL. An adopted trunk's
    URLs are managed only when the spec lists some."""
    if provider.adopts_trunk and not provider.spec.origination_uris:
        return
    # Matched by normal form (api/sip.py): a server that rewrites the URL must not cause a loop.
    wanted = {normalize_sip_url(u.sip_url): u for u in provider.spec.origination_uris}
    listed = (wanted or provider.status.trunk_sid) and trunk.sid not in writer.created_now
    existing = await twilio.list_origination_urls(trunk.sid) if listed else []
    by_url = {normalize_sip_url(o.sip_url): o for o in existing}
    work: list[Awaitable[Any]] = []
    for key, spec in wanted.items():
        current = by_url.get(key)
        if current is None:
            work.append(twilio.create_origination_url(trunk.sid, wanted_origination(provider, spec, "")))
            continue
        # Keep the server's own spelling of the URL: only a real difference is written.
        desired = replace(wanted_origination(provider, spec, current.sid), sip_url=current.sip_url)
        if current != desired:
            work.append(twilio.update_origination_url(trunk.sid, desired))
    work += [
        twilio.delete_origination_url(trunk.sid, o.sid) for key, o in by_url.items() if key not in wanted
    ]
    if work:
        await asyncio.gather(*work)
        if wanted:
            await writer.event(
                "Normal", c.ORIGINATION_UPDATED, f"synced {len(wanted)} origination URIs of trunk {trunk.sid}"
            )
        else:
            await writer.event(
                "Warning",
                c.ORIGINATION_UPDATED,
                f"removed every origination URI of trunk {trunk.sid} (spec.originationUris is empty): "
                "inbound calls to its numbers no longer reach any endpoint",
            )


def wanted_origination(provider: Provider, spec: OriginationUri, sid: str) -> OriginationUrl:
    return OriginationUrl(
        sid=sid,
        sip_url=spec.sip_url,
        priority=spec.priority,
        weight=spec.weight,
        enabled=spec.enabled,
        friendly_name=names.tagged_name(provider.spec.display_name, provider.uid),
    )
