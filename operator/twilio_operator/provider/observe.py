"""Observe: everything a TwilioProvider reconcile decides on, read before it decides, with no write.

The account in one parallel round trip (what verification checks), the TwilioPhoneNumber objects
that imported numbers through this provider, and then, in a second parallel round trip, what the
spec manages of the provider's own trunk, lists and IP access control list (`TwilioSeen`, which
provider/diff.py compares with the spec). Only what the spec manages is read: a provider without
spec.ipAccessControl never lists IP access control lists, a trunk without originationUris in its
spec (and no recorded trunk) is not asked for its origination URLs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from twilio_operator.api import conditions as c
from twilio_operator.api.errors import TwilioError
from twilio_operator.api.livekit import NO_LIVEKIT, LiveKitLinks
from twilio_operator.api.models import PHONE_NUMBER, PROVIDER
from twilio_operator.api.ownership import find_credential_list, find_ip_access_control_lists, find_trunk
from twilio_operator.api.twilio_values import CredentialList, IpAccessControlList, Trunk
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.diff import IpAccessSeen, TwilioSeen
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.verification import ImportedNumber, NumberObjects, Observed, WaitingNumber

AVAILABLE_NUMBERS_SHOWN = 100
T = TypeVar("T")


async def observe_account(twilio: TwilioPort) -> Observed:
    """The four reads verification checks, in parallel; each one's result or its TwilioError."""
    account, trunks, lists, numbers = await asyncio.gather(
        twilio.fetch_account(),
        twilio.list_trunks(),
        twilio.list_credential_lists(),
        twilio.page_incoming_numbers(AVAILABLE_NUMBERS_SHOWN),
        return_exceptions=True,
    )
    return Observed(_twilio_only(account), _twilio_only(trunks), _twilio_only(lists), _twilio_only(numbers))


def _twilio_only(result: T | BaseException) -> T | TwilioError:
    """A read's result or its TwilioError; any other exception is a bug and propagates."""
    if isinstance(result, BaseException) and not isinstance(result, TwilioError):
        raise result
    return result


async def number_objects(provider: Provider, deps: Deps) -> NumberObjects:
    """This provider's TwilioPhoneNumber objects: those that attached their number to its trunk, and
    those waiting for a number the account did not have (reason NotFound)."""
    objects = await deps.kube.list_objects(PHONE_NUMBER, provider.namespace)
    imported, not_found = [], []
    for obj in objects:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if obj["metadata"].get("deletionTimestamp"):
            continue  # being detached right now
        if (spec.get("providerRef") or {}).get("name") != provider.name:
            continue
        if status.get("sid") and status.get("trunkSid"):
            imported.append(
                ImportedNumber(obj["metadata"]["name"], status["sid"], status.get("phoneNumber", ""))
            )
        elif c.ReadyState.of(status).reason == c.NOT_FOUND:
            wanted = spec.get("phoneNumberSid") or spec.get("phoneNumber") or ""
            not_found.append(WaitingNumber(obj["metadata"]["name"], wanted))
    return NumberObjects(imported, not_found)


@dataclass(frozen=True)
class AdoptionSeen:
    """What the adoption rules read: the namespace's providers and the lists on the trunk to adopt."""

    others: list[dict[str, Any]]
    attached: tuple[str, ...]


async def observe_adoption(
    provider: Provider, deps: Deps, twilio: TwilioPort, trunks: list[Trunk]
) -> AdoptionSeen:
    adopted = provider.spec.trunk_sid
    exists = adopted in {t.sid for t in trunks}
    others, attached = await asyncio.gather(
        deps.kube.list_objects(PROVIDER, provider.namespace),
        twilio.list_trunk_credential_lists(adopted) if adopted and exists else _nothing(),
    )
    return AdoptionSeen(others, tuple(attached))


def manages_originations(provider: Provider, livekit: LiveKitLinks = NO_LIVEKIT) -> bool:
    """An adopted trunk's origination URIs are managed only when the spec lists some or a
    LiveKitConnection wants its SIP URI there; the operator's own trunk's once its status recorded
    it (before that, a trunk found after a crash has none the spec does not list, unless someone
    added them within seconds of its creation)."""
    if provider.spec.origination_uris or livekit.connections:
        return True
    return not provider.adopts_trunk and provider.status.trunk_sid is not None


def reads_ip_access(provider: Provider) -> bool:
    """Whether a reconcile or teardown looks at IP access control lists at all."""
    return provider.spec.ip_access_control is not None or bool(provider.status.ip_access_control_list_sid)


async def observe_twilio(
    provider: Provider,
    twilio: TwilioPort,
    trunks: list[Trunk],
    lists: list[CredentialList],
    *,
    attached_to_adopted: tuple[str, ...] | None = None,
    created: frozenset[str] = frozenset(),
    acls: list[IpAccessControlList] | None = None,
    livekit: LiveKitLinks = NO_LIVEKIT,
) -> TwilioSeen:
    """What the spec manages of the provider's resources. `created`: SIDs this reconcile created,
    known to be empty (nothing is read of them). `acls`: the account's IP access control lists, when
    already read."""
    trunk = find_trunk(provider, trunks)
    credential_list = find_credential_list(provider, lists)
    if reads_ip_access(provider) and acls is None:
        acls = await twilio.list_ip_access_control_lists()
    ours = find_ip_access_control_lists(provider, acls or [])
    acl = ours[0] if ours else None
    if trunk is None:
        return TwilioSeen(
            None, credential_list, ip_access=IpAccessSeen(ours) if reads_ip_access(provider) else None
        )
    new_trunk = trunk.sid in created
    wants_recording = provider.spec.trunk is not None and provider.spec.trunk.recording is not None
    reads: dict[str, Awaitable[Any]] = {}
    if attached_to_adopted is None and not new_trunk:
        reads["attached_lists"] = twilio.list_trunk_credential_lists(trunk.sid)
    if manages_originations(provider, livekit) and not new_trunk:
        reads["originations"] = twilio.list_origination_urls(trunk.sid)
    if wants_recording:
        reads["recording"] = twilio.fetch_recording(trunk.sid)
    if provider.region.client is not None:
        reads["voice_region"] = twilio.fetch_voice_region(trunk.domain_name)
    if acl is not None and acl.sid not in created and provider.spec.ip_access_control is not None:
        reads["entries"] = twilio.list_ip_addresses(acl.sid)
    if acl is not None and not new_trunk and acl.sid not in created:
        reads["attached_acls"] = twilio.list_trunk_ip_access_control_lists(trunk.sid)
    done = dict(zip(reads, await asyncio.gather(*reads.values()), strict=True))
    seen = TwilioSeen(
        trunk,
        credential_list,
        attached_lists=tuple(done.get("attached_lists", attached_to_adopted or ())),
        originations=tuple(done.get("originations", ())) if manages_originations(provider, livekit) else None,
        recording=done.get("recording"),
        voice_region=done.get("voice_region"),
    )
    if not reads_ip_access(provider):
        return seen
    return replace(
        seen,
        ip_access=IpAccessSeen(ours, tuple(done.get("entries", ())), tuple(done.get("attached_acls", ()))),
    )


async def _nothing() -> list[str]:
    return []
