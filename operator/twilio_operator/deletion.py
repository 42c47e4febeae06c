"""Deletion, the whole story: what the finalizers do before they let an object go.

A TwilioProvider (`finalize_provider`): with Delete, what the provider can prove is its own
(api/ownership.py) leaves Twilio (numbers detached first and named in an Event at once, then the
credential list and IP access control list unlinked, the trunk and the lists deleted; 404 counts as
done), then its SIP Secrets.
Orphan leaves Twilio alone and keeps the SIP Secret, the only copy of the password, by dropping our
owner reference from it. Then the credentials Secret's in-use protection is released, unless another
provider still uses it (provider/protection.py).

A TwilioPhoneNumber (`finalize_number`): its number leaves the provider's trunk (`release_number`,
only a trunk the provider owns); then it stays in the account, or, bought by the object with
releasePolicy Release, is released (phone_number/release.py).

The handlers (handlers/provider.py, handlers/phone_number.py) wait and retry around these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from typing import NoReturn, TypeVar

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.credentials import CredentialProblem
from twilio_operator.api.errors import DeletionBlocked, ErrorKind, TwilioError
from twilio_operator.api.models import PHONE_NUMBER, DeletionPolicy, TwilioPhoneNumberStatus
from twilio_operator.api.ownership import owns_credential_list, owns_trunk, tagged_ours
from twilio_operator.phone_number.detach import detach, still_attached
from twilio_operator.phone_number.reconcile import NumberWriter, PhoneNumber, ProviderView, connect
from twilio_operator.phone_number.release import recorded_sid, settle_number
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider import readiness
from twilio_operator.provider.observe import reads_ip_access
from twilio_operator.provider.protection import release_credentials
from twilio_operator.provider.reconcile import read_credentials
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter

T = TypeVar("T")


@dataclass(frozen=True)
class Teardown:
    policy: DeletionPolicy
    removed: tuple[str, ...]


def effective_policy(provider: Provider) -> DeletionPolicy:
    """Orphan when asked by annotation, and always for ObserveOnly (it never touches Twilio)."""
    override = provider.annotations.get(names.DELETION_POLICY_OVERRIDE)
    if override == "Orphan" or provider.spec.management_policy == "ObserveOnly":
        return "Orphan"
    return provider.spec.deletion_policy or "Delete"


def keeps_adopted(provider: Provider) -> bool:
    """Adopted resources are deleted only when deletionPolicy is Delete explicitly."""
    return provider.spec.deletion_policy != "Delete"


async def finalize_provider(provider: Provider, deps: Deps) -> Teardown:
    """Clean up by policy, then let the credentials Secret go if no other provider needs it."""
    teardown = await _clean_up(provider, deps)
    await release_credentials(provider, deps)
    return teardown


async def _clean_up(provider: Provider, deps: Deps) -> Teardown:
    policy = effective_policy(provider)
    if provider.paused and policy != "Orphan":
        message = (
            f"deletion waits: reconciliation is paused ({names.PAUSED_ANNOTATION}=true). Remove the "
            f"annotation to let the operator clean up Twilio, or annotate {names.DELETION_POLICY_OVERRIDE}="
            "Orphan to leave Twilio as it is"
        )
        paused = c.find(provider.status.conditions, c.PAUSED)
        if paused is None or paused.message != message:
            await readiness.record(StatusWriter(provider, deps), readiness.DeletionPaused(message))
        raise DeletionBlocked(message)
    status = provider.status
    recorded = [
        sid
        for sid in (status.trunk_sid, status.credential_list_sid, status.ip_access_control_list_sid)
        if sid
    ]
    if policy == "Orphan":
        kept = [
            name
            for name in await sip_secret_names(provider, deps)
            if await deps.kube.release_secret(provider.namespace, name, provider.uid)
        ]
        left = (
            f"left {' and '.join(recorded)} in Twilio"
            if recorded
            else "no Twilio resource was recorded for this provider, so none was left behind"
        )
        secrets = f"kept the SIP Secret {' and '.join(kept)}" if kept else "there was no SIP Secret to keep"
        await deps.kube.post_event(provider.ref, "Normal", c.ORPHANED, f"{left}; {secrets}")
        return Teardown(policy, ())
    writer = StatusWriter(provider, deps)
    credentials = await read_credentials(provider, deps)
    if isinstance(credentials, CredentialProblem):
        if not recorded and not await _trunk_in_sip_secret(provider, deps):
            return await _nothing_recorded(provider, deps, credentials.message)
        await _block(writer, credentials.message)
    twilio = deps.twilio.connect(credentials)
    try:
        removed = await _remove_twilio_resources(provider, deps, twilio)
    except NumbersStillAttached as stuck:
        await _block(writer, str(stuck), fix=None)
    except TwilioError as error:
        if error.kind is ErrorKind.TRANSIENT:
            raise
        if not recorded and error.kind is ErrorKind.AUTH and not await _trunk_in_sip_secret(provider, deps):
            return await _nothing_recorded(provider, deps, str(error))
        await _block(
            writer, str(error), fix=FIX_DEPENDENCIES if error.code in DEPENDENCY_CODES else FIX_CREDENTIALS
        )
    await _delete_sip_secrets(provider, deps)
    return Teardown(policy, tuple(removed))


async def _trunk_in_sip_secret(provider: Provider, deps: Deps) -> bool:
    """Whether the provider's SIP Secret names a trunk: the reconcile writes it right after the trunk
    and its credential list exist, before its status write, so a reconcile stopped in between (a
    crash, a refused status write) left the trunk recorded there if nowhere else."""
    secret = await deps.kube.read_secret(provider.namespace, provider.sip_secret_name)
    if secret is None or not names.is_sip_username_of(provider.uid, secret.text(names.SIP_USERNAME)):
        return False
    return bool(secret.text(names.SIP_TRUNK_SID))


async def _nothing_recorded(provider: Provider, deps: Deps, why: str) -> Teardown:
    """The provider never recorded a Twilio resource and its credentials cannot list any: there is
    nothing the operator knows of to delete, so the object goes at once instead of waiting."""
    await _delete_sip_secrets(provider, deps)
    await deps.kube.post_event(
        provider.ref,
        "Normal",
        c.DELETED,
        f"nothing to delete in Twilio: no trunk or credential list was ever recorded for this provider "
        f"({why})",
    )
    return Teardown(effective_policy(provider), ())


FIX_CREDENTIALS = "Fix the credentials Secret, or annotate"
# Twilio's "Dependencies Violation" codes (its error catalogue): a credential list (21241) or IP access
# control list (21236) still linked to a trunk, a trunk with dependencies (21247).
DEPENDENCY_CODES = frozenset({21241, 21236, 21247})
FIX_DEPENDENCIES = (
    "Twilio refuses while something still depends on it (the teardown removes every number, origination "
    "URL and link of the provider's own trunk first, so it was added meanwhile, or the list is linked to "
    "another trunk): remove that, and the deletion goes on by itself; or annotate"
)


async def _block(writer: StatusWriter, why: str, *, fix: str | None = FIX_CREDENTIALS) -> NoReturn:
    message = f"cannot delete the Twilio resources: {why}"
    if fix:
        message += (
            f". {fix} the object with {names.DELETION_POLICY_OVERRIDE}=Orphan to leave them in Twilio and "
            "let it go"
        )
    await readiness.record(writer, readiness.DeletionBlocked(message))
    raise DeletionBlocked(message)


async def sip_secret_names(provider: Provider, deps: Deps) -> list[str]:
    """The SIP Secret, and the one it was renamed from while that one's grace period runs."""
    found = {provider.sip_secret_name}
    if provider.status.sip_credentials_secret_name:
        found.add(provider.status.sip_credentials_secret_name)
    current = await deps.kube.read_secret(provider.namespace, provider.sip_secret_name)
    if current is not None and current.annotations.get(names.PREVIOUS_SECRET):
        found.add(current.annotations[names.PREVIOUS_SECRET])
    return sorted(found)


async def _delete_sip_secrets(provider: Provider, deps: Deps) -> None:
    """Each only if this provider owns it (its owner reference): never by its name alone."""
    for name in await sip_secret_names(provider, deps):
        await deps.kube.delete_owned_secret(provider.namespace, name, provider.uid)


class NumbersStillAttached(Exception):
    """A teardown that stopped at its first step: numbers that no way took off the trunk (read back).
    Nothing after them is removed: the trunk keeps serving those numbers' calls meanwhile."""


async def _remove_twilio_resources(provider: Provider, deps: Deps, twilio: TwilioPort) -> list[str]:
    """Empty and delete what is provably the provider's, in the one order that works whether Twilio
    cascades or refuses deletes with dependencies (21241, 21236, 21247): numbers, origination URLs,
    list and IP ACL links, the lists and IP ACLs, the trunk. Every step reads first and a 404 counts as
    done, so a teardown stopped anywhere (a crash, a refusal) starts again from the top."""
    trunks, lists = await asyncio.gather(twilio.list_trunks(), twilio.list_credential_lists())
    # Only what this provider can prove it created or adopted is deleted (api/ownership.py): a SID in
    # the spec or the status alone could name another's trunk (a refused adoption, a forged or stale
    # status).
    trunk_sids = {t.sid for t in trunks if owns_trunk(provider, t.sid, t.domain_name)}
    list_sids = {cl.sid for cl in lists if owns_credential_list(provider, cl.sid, cl.friendly_name)}
    # IP access control lists are looked at only when the provider asked for one or recorded one.
    acl_sids = (
        {a.sid for a in tagged_ours(provider, await twilio.list_ip_access_control_lists())}
        if reads_ip_access(provider)
        else set()
    )
    kept = await _keep_adopted(provider, twilio, trunk_sids, list_sids, acl_sids)
    removed: list[str] = []
    adopted_list = provider.spec.credential_list_sid
    if adopted_list and adopted_list in kept:
        removed += await _delete_own_credential(provider, twilio, adopted_list)
    detached = await _detach_numbers(provider, deps, twilio, trunk_sids)  # 1. numbers
    for trunk_sid in sorted(trunk_sids):
        await _empty_trunk(twilio, trunk_sid)  # 2. origination URLs, 3. list and IP ACL links
    for list_sid in sorted(list_sids):  # 4. the lists and IP ACLs
        if await twilio.delete_credential_list(list_sid):
            removed.append(list_sid)
    for acl_sid in sorted(acl_sids):
        if await twilio.delete_ip_access_control_list(acl_sid):
            removed.append(acl_sid)
    for trunk_sid in sorted(trunk_sids):  # 5. the trunk
        if await twilio.delete_trunk(trunk_sid):
            removed.append(trunk_sid)
    if removed or detached or kept:
        parts = [f"deleted {', '.join(removed)} in Twilio"] if removed else []
        if detached:
            parts.append(f"detached {', '.join(detached)} from the trunk (the numbers stay in the account)")
        if kept:
            parts.append(f"kept {', '.join(kept)}: {_why_kept(provider)}")
        await deps.kube.post_event(provider.ref, "Normal", c.DELETED, "; ".join(parts))
    return removed


async def _keep_adopted(
    provider: Provider, twilio: TwilioPort, trunk_sids: set[str], list_sids: set[str], acl_sids: set[str]
) -> list[str]:
    """An adopted trunk or list stays unless deletionPolicy is Delete explicitly (and the adoption was
    recorded): what the operator added to a kept trunk goes (its own lists' links); the SIDs kept are
    taken out of the sets to delete."""
    kept: list[str] = []
    adopted_trunk, adopted_list = provider.spec.trunk_sid, provider.spec.credential_list_sid
    if adopted_trunk and (keeps_adopted(provider) or adopted_trunk not in trunk_sids):
        trunk_sids.discard(adopted_trunk)
        kept.append(adopted_trunk)
        if list_sids:
            on_adopted = await _unless_gone(twilio.list_trunk_credential_lists(adopted_trunk))
            for list_sid in sorted(list_sids & set(on_adopted) - {adopted_list}):
                await twilio.detach_credential_list(adopted_trunk, list_sid)
        if acl_sids:
            attached = await _unless_gone(twilio.list_trunk_ip_access_control_lists(adopted_trunk))
            for acl_sid in sorted(acl_sids & set(attached)):
                await twilio.detach_ip_access_control_list(adopted_trunk, acl_sid)
    if adopted_list and (keeps_adopted(provider) or adopted_list not in list_sids):
        list_sids.discard(adopted_list)
        kept.append(adopted_list)
    return kept


async def _empty_trunk(twilio: TwilioPort, trunk_sid: str) -> None:
    """Everything still on a trunk that is about to be deleted: its origination URLs, then every
    credential list and IP access control list linked to it (also ones linked by hand: Twilio may
    refuse to delete a trunk that has any). Unlinking deletes no list."""
    originations, lists, acls = await asyncio.gather(
        _unless_gone(twilio.list_origination_urls(trunk_sid)),
        _unless_gone(twilio.list_trunk_credential_lists(trunk_sid)),
        _unless_gone(twilio.list_trunk_ip_access_control_lists(trunk_sid)),
    )
    for origination in originations:
        await twilio.delete_origination_url(trunk_sid, origination.sid)
    for list_sid in sorted(lists):
        await twilio.detach_credential_list(trunk_sid, list_sid)
    for acl_sid in sorted(acls):
        await twilio.detach_ip_access_control_list(trunk_sid, acl_sid)


def _why_kept(provider: Provider) -> str:
    if keeps_adopted(provider):
        return "adopted, and deletionPolicy is not Delete"
    return (
        "the adoption was never completed (AdoptionRefused, or stopped before the status recorded it), so "
        "nothing proves it is this provider's to delete"
    )


async def _unless_gone(listing: Awaitable[list[T]]) -> list[T]:
    """What a listing of a trunk's attachments says, or nothing when the trunk is gone."""
    try:
        return await listing
    except TwilioError as error:
        if error.kind is not ErrorKind.NOT_FOUND:
            raise
        return []


async def _delete_own_credential(provider: Provider, twilio: TwilioPort, list_sid: str) -> list[str]:
    """The provider's credentials in an adopted list: the first one and any rotated one."""
    try:
        credentials = await twilio.list_credentials(list_sid)
    except TwilioError as error:
        if error.kind is not ErrorKind.NOT_FOUND:
            raise
        return []
    return [
        cr.sid
        for cr in credentials
        if names.is_sip_username_of(provider.uid, cr.username)
        and await twilio.delete_credential(list_sid, cr.sid)
    ]


async def _detach_numbers(
    provider: Provider, deps: Deps, twilio: TwilioPort, trunk_sids: set[str]
) -> list[str]:
    """Every number on the trunks leaves them first, also ones no TwilioPhoneNumber attached (by hand,
    by another tool): Twilio may refuse to delete a trunk that has numbers. None is ever released.
    A number imported by a TwilioPhoneNumber gets back its voice application and inbound route.
    Returns the numbers detached, as read back; raises NumbersStillAttached for any still on."""
    if not trunk_sids:
        return []
    tracked: dict[str, TwilioPhoneNumberStatus] = {}
    for obj in await deps.kube.list_objects(PHONE_NUMBER, provider.namespace):
        seen = TwilioPhoneNumberStatus.model_validate(obj.get("status") or {})
        if (obj.get("spec") or {}).get("providerRef", {}).get("name") == provider.name and seen.sid:
            tracked[seen.sid] = seen
    detached: list[str] = []
    still: dict[str, list[str]] = {}
    for trunk_sid in sorted(trunk_sids):
        off_this_trunk: list[str] = []
        for number in await twilio.list_trunk_numbers(trunk_sid):
            status = tracked.get(number.sid)
            application = status.previous_voice_application_sid if status else None
            result = await detach(twilio, number.sid, trunk_sid, application_sid=application)
            if not result.done:
                still.setdefault(trunk_sid, []).append(number.phone_number)
                continue
            if status is None:
                off_this_trunk.append(f"{number.phone_number} (attached outside the operator)")
                continue
            off_this_trunk.append(number.phone_number)
            previous = status.previous_voice_region
            if previous and previous != provider.region.processing:
                await twilio.update_number_voice_region(number.phone_number, previous)
        if off_this_trunk:
            # Said at once: a later step may stop this teardown (a refusal, a crash), and the run that
            # completes it finds these numbers already off the trunk, so only this Event names them.
            await deps.kube.post_event(
                provider.ref,
                "Normal",
                c.DETACHED,
                f"detached {', '.join(off_this_trunk)} from {trunk_sid} before deleting it (the numbers "
                "stay in the account)",
            )
            detached += off_this_trunk
    if still:
        stuck = "; ".join(
            still_attached(numbers, trunk, provider.region.processing) for trunk, numbers in still.items()
        )
        done = f"detached {', '.join(detached)}; " if detached else ""
        raise NumbersStillAttached(f"{done}{stuck}")
    return detached


# --------------------------------------------------------------------------- a TwilioPhoneNumber


async def release_number(number: PhoneNumber, provider: ProviderView | None, deps: Deps) -> str:
    """Detach the number from the provider's trunk if this object attached it; never release it. Done
    only when a read of the number shows it off the trunk: otherwise the status and a Warning Event
    say what is still attached, and DeletionBlocked keeps the finalizer."""
    if provider is None or not number.status.sid or number.status.trunk_sid is None:
        return "nothing to detach"
    twilio = await connect(number, provider, deps)
    if twilio is None:
        raise TwilioError(
            "detach phone number",
            ErrorKind.AUTH,
            detail=f"the credentials of TwilioProvider {provider.name} are not usable",
        )
    found = await twilio.find_incoming_number(sid=number.status.sid, phone_number=None)
    if found is None or found.trunk_sid != number.status.trunk_sid:
        return "the number is no longer on the trunk"
    # The trunk SID came from status, which anyone with status access can write: detach only from
    # a trunk the provider can prove is its own (created or adopted by it).
    trunks = {t.sid: t for t in await twilio.list_trunks()}
    trunk = trunks.get(found.trunk_sid or "")
    if trunk is None or not owns_trunk(provider, trunk.sid, trunk.domain_name):
        return (
            f"left {found.phone_number} on {found.trunk_sid}: not a trunk of TwilioProvider {provider.name}"
        )
    result = await detach(
        twilio, found.sid, trunk.sid, application_sid=number.status.previous_voice_application_sid
    )
    if not result.done:
        message = (
            f"cannot detach: {still_attached([found.phone_number], trunk.sid, provider.region.processing)}"
        )
        await NumberWriter(number, deps).finish(False, c.DELETION_BLOCKED, message)
        raise DeletionBlocked(message)
    previous, ours = number.status.previous_voice_region, provider.region.processing
    if previous is not None and previous != ours:
        await twilio.update_number_voice_region(found.phone_number, previous)
    how = f" ({result.how})" if result.how else ""
    await deps.kube.post_event(
        number.ref, "Normal", c.DETACHED, f"detached {found.phone_number} from {trunk.sid}{how}"
    )
    return f"detached {found.phone_number}"


# --------------------------------------------------------------------------- a number's fate in the account


async def finalize_number(
    number: PhoneNumber, provider: ProviderView | None, deps: Deps, others: Collection[str] = ()
) -> str:
    """Detach the number (`release_number`), then keep it in the account or, for a number this object
    bought with releasePolicy Release, release it (phone_number/release.py). `others`: the other
    TwilioPhoneNumbers asking for the same number."""
    detached = await release_number(number, provider, deps)
    if recorded_sid(number) is None:
        return detached
    if provider is None:
        await deps.kube.post_event(
            number.ref,
            "Warning" if number.spec.release_policy == "Release" else "Normal",
            c.RETAINED,
            f"left {number.status.phone_number or recorded_sid(number)} in the Twilio account as it is: "
            f"TwilioProvider {number.spec.provider_ref.name} is gone, so its account cannot be reached",
        )
        return f"{detached}; the provider is gone"
    twilio = await connect(number, provider, deps)
    if twilio is None:
        raise TwilioError(
            "settle phone number",
            ErrorKind.AUTH,
            detail=f"the credentials of TwilioProvider {provider.name} are not usable",
        )
    settled = await settle_number(twilio, number, deps, others, provider.spec.account_sid)
    return f"{detached}; {settled}"
