"""The difference between a TwilioProvider's spec and what Twilio has: one pure function, `diff`, that
both management policies use. Full applies the changes it returns (provider/act.py), in this order;
ObserveOnly reports the same list in words. So ObserveOnly says exactly what Full would change.

What the spec does not manage yields no change: an adopted trunk's friendly name and (without
spec.transferMode) transfer mode,
its origination URIs unless the spec lists some, trunk settings and recording the spec leaves unset,
IP access control unless the spec asks for it (or the status recorded a list to remove).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from twilio_operator.api import names
from twilio_operator.api.cidrs import MAX_IP_ACCESS_ENTRIES, parse_cidr
from twilio_operator.api.models import IpAccessControl, OriginationUri, TrunkRecording, TrunkSettings
from twilio_operator.api.sip import normalize_sip_url
from twilio_operator.api.twilio_values import (
    CredentialList,
    IpAccessControlList,
    IpAddress,
    OriginationUrl,
    Recording,
    Trunk,
)
from twilio_operator.provider.resource import Provider

Entry = tuple[str, int]  # an IP access control entry: (network address, prefix length)
# spec.trunk field -> the trunk value's attribute, which is also the twilio library's update keyword
TRUNK_SETTINGS = (
    "secure",
    "cnam_lookup_enabled",
    "transfer_caller_id",
    "disaster_recovery_url",
    "disaster_recovery_method",
)


# --------------------------------------------------------------------------- what was observed


@dataclass(frozen=True)
class IpAccessSeen:
    """The provider's IP access control lists (the one its status recorded first), the first one's
    entries, and the lists attached to the trunk. `lists` empty: none exists."""

    lists: tuple[IpAccessControlList, ...] = ()
    entries: tuple[IpAddress, ...] = ()
    attached: tuple[str, ...] = ()

    @property
    def acl(self) -> IpAccessControlList | None:
        return self.lists[0] if self.lists else None


@dataclass(frozen=True)
class TwilioSeen:
    """What Twilio has of the provider's resources. A trunk or list that does not exist has nothing
    attached, no origination URI and no entry. A field that is None was not read because the spec
    does not manage it."""

    trunk: Trunk | None
    credential_list: CredentialList | None
    attached_lists: tuple[str, ...] = ()
    originations: tuple[OriginationUrl, ...] | None = None
    recording: Recording | None = None  # read only when spec.trunk.recording is set
    voice_region: str | None = None  # read only for an ie1/au1 provider
    ip_access: IpAccessSeen | None = None  # read only when the spec or the status names a list


# --------------------------------------------------------------------------- the changes


@dataclass(frozen=True)
class CreateTrunk:
    def describe(self) -> str:
        return "no trunk of this provider exists (Full would create one)"


@dataclass(frozen=True)
class CreateCredentialList:
    def describe(self) -> str:
        return "no credential list of this provider exists (Full would create one)"


@dataclass(frozen=True)
class CreateIpAccessControlList:
    def describe(self) -> str:
        return "no IP access control list of this provider exists (Full would create one)"


@dataclass(frozen=True)
class RemoveIpAccessControlLists:
    """spec.ipAccessControl was removed: the provider's lists are detached and deleted."""

    lists: tuple[IpAccessControlList, ...]

    def describe(self) -> str:
        sids = ", ".join(a.sid for a in self.lists)
        return f"IP access control list {sids} is not in the spec (Full would delete it)"


@dataclass(frozen=True)
class UpdateTrunk:
    """Trunk fields to set: (attribute, value), the attribute also the library's update keyword."""

    fields: tuple[tuple[str, Any], ...]
    was: tuple[tuple[str, Any], ...]

    def describe(self) -> str:
        before = dict(self.was)
        parts = []
        for name, value in self.fields:
            if name == "friendly_name":
                parts.append(f"trunk friendly name is {before[name]!r}, spec says {value!r}")
            elif name == "transfer_mode":
                parts.append(f"trunk transfer mode is {before[name]}, spec wants {value}")
            else:
                parts.append(f"trunk {name} is {before[name]!r}, spec wants {value!r}")
        return "; ".join(parts)


@dataclass(frozen=True)
class SetRecording:
    mode: str
    trim: str | None
    was: str | None

    def describe(self) -> str:
        return f"trunk recording is {self.was or 'unknown'}, spec wants {self.mode}"


@dataclass(frozen=True)
class SetVoiceRegion:
    region: str
    was: str | None

    def describe(self) -> str:
        return f"the trunk's voice region is {self.was or 'us1'}, spec wants {self.region}"


@dataclass(frozen=True)
class AttachCredentialList:
    sid: str | None  # None: the list to be created

    def describe(self) -> str:
        return f"credential list {self.sid or '(new)'} is not attached to the trunk"


@dataclass(frozen=True)
class CreateOriginationUrl:
    url: OriginationUrl

    def describe(self) -> str:
        return f"origination URI {self.url.sip_url} is missing"


@dataclass(frozen=True)
class UpdateOriginationUrl:
    url: OriginationUrl  # with the trunk's own spelling of the SIP URL

    def describe(self) -> str:
        return f"origination URI {self.url.sip_url} has other priority, weight or enabled"


@dataclass(frozen=True)
class DeleteOriginationUrl:
    sid: str
    sip_url: str

    def describe(self) -> str:
        return f"origination URI {self.sip_url} is not in the spec"


@dataclass(frozen=True)
class AddIpEntry:
    entry: Entry

    def describe(self) -> str:
        return f"IP access control entry {entry_text(self.entry)} is missing"


@dataclass(frozen=True)
class RemoveIpEntry:
    address: IpAddress

    def describe(self) -> str:
        return f"IP access control entry {entry_text(entry_of(self.address))} is not in the spec"


@dataclass(frozen=True)
class AttachIpAccessControlList:
    sid: str | None  # None: the list to be created

    def describe(self) -> str:
        return f"IP access control list {self.sid or '(new)'} is not attached to the trunk"


Change = (
    CreateTrunk
    | CreateCredentialList
    | CreateIpAccessControlList
    | RemoveIpAccessControlLists
    | UpdateTrunk
    | SetRecording
    | SetVoiceRegion
    | AttachCredentialList
    | CreateOriginationUrl
    | UpdateOriginationUrl
    | DeleteOriginationUrl
    | AddIpEntry
    | RemoveIpEntry
    | AttachIpAccessControlList
)


# --------------------------------------------------------------------------- the diff


def diff(provider: Provider, seen: TwilioSeen, livekit_uris: Sequence[str] = ()) -> list[Change]:
    """Every change that makes Twilio match the spec, in the order Full applies them.

    Without a trunk the creations are all there is to say: how a new trunk is set up depends on
    what Twilio creates, so Full creates first and diffs again (with the new resources, which it
    knows to be empty); ObserveOnly reports the creation. `livekit_uris`: the SIP URIs of the
    provider's LiveKitConnections, wanted as origination URIs beside the spec's."""
    spec = provider.spec
    changes: list[Change] = []
    trunk, credential_list, ip_access = seen.trunk, seen.credential_list, seen.ip_access
    if trunk is None:
        changes.append(CreateTrunk())
    if credential_list is None:
        changes.append(CreateCredentialList())
    if spec.ip_access_control is not None and ip_access is not None and ip_access.acl is None:
        changes.append(CreateIpAccessControlList())
    if spec.ip_access_control is None and ip_access is not None and ip_access.lists:
        changes.append(RemoveIpAccessControlLists(ip_access.lists))
    if trunk is None:
        return changes
    changes += _trunk_changes(provider, trunk, seen)
    if credential_list is None or credential_list.sid not in seen.attached_lists:
        changes.append(AttachCredentialList(credential_list.sid if credential_list else None))
    changes += _origination_changes(provider, seen.originations, livekit_uris)
    if spec.ip_access_control is not None and ip_access is not None:
        changes += _ip_access_changes(spec.ip_access_control, ip_access)
    return changes


def describe(changes: Sequence[Change]) -> list[str]:
    return [change.describe() for change in changes]


def _trunk_changes(provider: Provider, trunk: Trunk, seen: TwilioSeen) -> list[Change]:
    spec = provider.spec
    wanted: dict[str, Any] = {}
    if not provider.adopts_trunk:  # an adopted trunk keeps its owner's name
        wanted["friendly_name"] = names.trunk_friendly_name(spec.display_name)
    mode = wanted_transfer_mode(provider)
    if mode is not None:
        wanted["transfer_mode"] = mode
    wanted.update(_stated_settings(spec.trunk))
    fields = tuple((k, v) for k, v in wanted.items() if getattr(trunk, k) != v)
    changes: list[Change] = []
    if fields:
        changes.append(UpdateTrunk(fields, tuple((k, getattr(trunk, k)) for k, _ in fields)))
    recording = spec.trunk.recording if spec.trunk is not None else None
    if recording is not None and _recording_differs(recording, seen.recording):
        was = seen.recording.mode if seen.recording else None
        changes.append(SetRecording(recording.mode, recording.trim, was))
    region = provider.region.client
    if region is not None and seen.voice_region != region:
        changes.append(SetVoiceRegion(region, seen.voice_region))
    return changes


def wanted_transfer_mode(provider: Provider) -> str | None:
    """The transfer mode the spec asks for; None: not managed. An explicit transferMode applies to any
    trunk; supportsCallTransfer (and its absence) only to a trunk the operator created: on an adopted
    trunk, a boolean that is false by default cannot tell "disable it" from "I did not say"."""
    spec = provider.spec
    if spec.transfer_mode is not None:
        return spec.transfer_mode
    if provider.adopts_trunk:
        return None
    return names.transfer_mode(spec.supports_call_transfer)


def _stated_settings(wanted: TrunkSettings | None) -> dict[str, Any]:
    """The spec.trunk fields that are set (unset ones leave Twilio's value alone)."""
    if wanted is None:
        return {}
    return {name: getattr(wanted, name) for name in TRUNK_SETTINGS if getattr(wanted, name) is not None}


def _recording_differs(wanted: TrunkRecording, current: Recording | None) -> bool:
    if current is None:
        return True
    return wanted.mode != current.mode or (wanted.trim is not None and wanted.trim != current.trim)


def wanted_origination_uris(provider: Provider, livekit_uris: Sequence[str] = ()) -> list[OriginationUri]:
    """spec.originationUris, then each LiveKit SIP URI that the spec does not list already (by normal
    form), with the default priority and weight: a URI in both counts once, as the spec gives it."""
    wanted = list(provider.spec.origination_uris)
    listed = {normalize_sip_url(u.sip_url) for u in wanted}
    for url in livekit_uris:
        if normalize_sip_url(url) not in listed:
            listed.add(normalize_sip_url(url))
            wanted.append(OriginationUri(sip_url=url))
    return wanted


def origination_exclusive(provider: Provider) -> bool:
    """Whether the trunk's origination URIs are made exactly the wanted ones (others deleted). An
    adopted trunk whose spec lists none keeps its owner's: LiveKit's URIs are only added to it."""
    return bool(provider.spec.origination_uris) or not provider.adopts_trunk


def _origination_changes(
    provider: Provider, existing: tuple[OriginationUrl, ...] | None, livekit_uris: Sequence[str]
) -> list[Change]:
    """The trunk's origination URLs made exactly the wanted ones (spec and LiveKit), matched by normal
    form (api/sip.py): a server that rewrites a URL must not cause a loop. None: not managed (an
    adopted trunk whose spec lists none and no LiveKitConnection, or a first provisioning without
    any)."""
    if existing is None:
        return []
    wanted = {normalize_sip_url(u.sip_url): u for u in wanted_origination_uris(provider, livekit_uris)}
    by_url = {normalize_sip_url(o.sip_url): o for o in existing}
    changes: list[Change] = []
    for key, uri in wanted.items():
        current = by_url.get(key)
        if current is None:
            changes.append(CreateOriginationUrl(wanted_origination(provider, uri, "")))
            continue
        # Keep the server's own spelling of the URL: only a real difference is written.
        desired = replace(wanted_origination(provider, uri, current.sid), sip_url=current.sip_url)
        if current != desired:
            changes.append(UpdateOriginationUrl(desired))
    if origination_exclusive(provider):
        changes += [DeleteOriginationUrl(o.sid, o.sip_url) for key, o in by_url.items() if key not in wanted]
    return changes


def wanted_origination(provider: Provider, spec: OriginationUri, sid: str) -> OriginationUrl:
    return OriginationUrl(
        sid=sid,
        sip_url=spec.sip_url,
        priority=spec.priority,
        weight=spec.weight,
        enabled=spec.enabled,
        friendly_name=names.tagged_name(provider.spec.display_name, provider.uid),
    )


# --------------------------------------------------------------------------- IP access control


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


def plan_ip_entries(wanted: frozenset[Entry], existing: Sequence[IpAddress]) -> list[Change]:
    """The list's entries made exactly `wanted`: removes for entries not wanted and repeats, adds for
    the missing ones (in numeric order). Adds go first, so that a changed CIDR never leaves a moment
    with neither entry; unless the adds would overflow Twilio's limit of entries per list."""
    kept: set[Entry] = set()
    removes: list[Change] = []
    for address in existing:
        entry = entry_of(address)
        if entry not in wanted or entry in kept:
            removes.append(RemoveIpEntry(address))
        kept.add(entry)
    missing = sorted(wanted - kept, key=lambda e: (tuple(int(o) for o in e[0].split(".")), e[1]))
    adds: list[Change] = [AddIpEntry(e) for e in missing]
    return removes + adds if len(existing) + len(adds) > MAX_IP_ACCESS_ENTRIES else adds + removes


def _ip_access_changes(spec: IpAccessControl, seen: IpAccessSeen) -> list[Change]:
    acl = seen.acl
    changes = plan_ip_entries(wanted_entries(spec), seen.entries if acl is not None else ())
    if acl is None or acl.sid not in seen.attached:
        changes.append(AttachIpAccessControlList(acl.sid if acl else None))
    return changes
