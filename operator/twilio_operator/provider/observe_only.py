"""managementPolicy ObserveOnly: read what the provider would manage and report how it differs from
the spec, with no Twilio write (and no SIP Secret, since its password would have to reach Twilio).

The differences are pure (`differences`); the reads are the ones a Full reconcile makes anyway.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from twilio_operator.api import names
from twilio_operator.api.regions import client_region
from twilio_operator.api.twilio_values import (
    CredentialList,
    IpAccessControlList,
    IpAddress,
    OriginationUrl,
    Recording,
    Trunk,
)
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.ip_access import (
    entry_differences,
    find_ip_access_control_list,
    reads_ip_access,
    wanted_entries,
)
from twilio_operator.provider.provision import find_credential_list, find_trunk, wanted_origination
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.trunk_settings import recording_drift, trunk_drift
from twilio_operator.provider.verification import Check, Observed

CHECK = "managedResources"


def differences(
    provider: Provider,
    trunk: Trunk | None,
    credential_list: CredentialList | None,
    attached: list[str],
    originations: list[OriginationUrl],
    recording: Recording | None,
    voice_region: str | None,
    ip_access: IpAccessObserved | None = None,
) -> list[str]:
    """What a Full reconcile would change, in words (empty: Twilio already matches the spec)."""
    spec = provider.spec
    found: list[str] = []
    if trunk is None:
        found.append("no trunk of this provider exists (Full would create one)")
    if credential_list is None:
        found.append("no credential list of this provider exists (Full would create one)")
    if ip_access is not None:
        found += ip_access_differences(provider, trunk, ip_access)
    if trunk is None:
        return found
    if trunk.friendly_name != names.trunk_friendly_name(spec.display_name):
        found.append(f"trunk friendly name is {trunk.friendly_name!r}, spec says {spec.display_name!r}")
    mode = names.transfer_mode(spec.supports_call_transfer)
    if trunk.transfer_mode != mode:
        found.append(f"trunk transfer mode is {trunk.transfer_mode}, spec wants {mode}")
    for field, value in sorted(trunk_drift(spec.trunk, trunk).items()):
        found.append(f"trunk {field} is {getattr(trunk, field)!r}, spec wants {value!r}")
    wanted_recording = spec.trunk.recording if spec.trunk is not None else None
    if wanted_recording is not None and recording_drift(wanted_recording, recording):
        now = recording.mode if recording is not None else "unknown"
        found.append(f"trunk recording is {now}, spec wants {wanted_recording.mode}")
    if credential_list is not None and credential_list.sid not in attached:
        found.append(f"credential list {credential_list.sid} is not attached to trunk {trunk.sid}")
    by_url = {o.sip_url: o for o in originations}
    for uri in spec.origination_uris:
        current = by_url.get(uri.sip_url)
        if current is None:
            found.append(f"origination URI {uri.sip_url} is missing")
        elif current != wanted_origination(provider, uri, current.sid):
            found.append(f"origination URI {uri.sip_url} has other priority, weight or enabled")
    found += [
        f"origination URI {url} is not in the spec"
        for url in by_url
        if url not in {u.sip_url for u in spec.origination_uris}
    ]
    region = client_region(spec.region)
    if region is not None and voice_region != region:
        found.append(f"the trunk's voice region is {voice_region or 'us1'}, spec wants {region}")
    return found


@dataclass(frozen=True)
class IpAccessObserved:
    """The provider's IP access control list (if any), its entries, and the trunk's attached lists."""

    acl: IpAccessControlList | None
    entries: list[IpAddress]
    attached: list[str]


def ip_access_differences(provider: Provider, trunk: Trunk | None, seen: IpAccessObserved) -> list[str]:
    wanted = provider.spec.ip_access_control
    if wanted is None:
        if seen.acl is None:
            return []
        return [f"IP access control list {seen.acl.sid} is not in the spec (Full would delete it)"]
    if seen.acl is None:
        return ["no IP access control list of this provider exists (Full would create one)"]
    found = entry_differences(wanted_entries(wanted), seen.entries)
    if trunk is not None and seen.acl.sid not in seen.attached:
        found.append(f"IP access control list {seen.acl.sid} is not attached to trunk {trunk.sid}")
    return found


async def observe_ip_access(
    provider: Provider, twilio: TwilioPort, trunk: Trunk | None
) -> IpAccessObserved | None:
    if not reads_ip_access(provider):
        return None
    acl = find_ip_access_control_list(provider, await twilio.list_ip_access_control_lists())
    if acl is None:
        return IpAccessObserved(None, [], [])
    entries, attached = await asyncio.gather(
        twilio.list_ip_addresses(acl.sid),
        twilio.list_trunk_ip_access_control_lists(trunk.sid) if trunk is not None else _no_sids(),
    )
    return IpAccessObserved(acl, entries, attached)


async def _no_sids() -> list[str]:
    return []


async def observe_differences(provider: Provider, twilio: TwilioPort, observed: Observed) -> Check:
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    trunk = find_trunk(provider, observed.trunks)
    credential_list = find_credential_list(provider, observed.lists)
    attached: list[str] = []
    originations: list[OriginationUrl] = []
    recording: Recording | None = None
    voice_region: str | None = None
    if trunk is not None:
        wants_recording = provider.spec.trunk is not None and provider.spec.trunk.recording is not None
        attached, originations, recording, voice_region = await asyncio.gather(
            twilio.list_trunk_credential_lists(trunk.sid),
            twilio.list_origination_urls(trunk.sid),
            twilio.fetch_recording(trunk.sid) if wants_recording else _none_recording(),
            twilio.fetch_voice_region(trunk.domain_name)
            if client_region(provider.spec.region)
            else _none_region(),
        )
    ip_access = await observe_ip_access(provider, twilio, trunk)
    found = differences(
        provider, trunk, credential_list, attached, originations, recording, voice_region, ip_access
    )
    if not found:
        return Check(CHECK, "passed", f"observing: trunk {trunk.sid if trunk else ''} matches the spec")
    return Check(
        CHECK,
        "warning",
        f"observing only, {len(found)} differences from the spec: " + "; ".join(found),
        (("differences", str(len(found))),),
    )


async def _none_recording() -> Recording | None:
    return None


async def _none_region() -> str | None:
    return None
