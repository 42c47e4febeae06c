"""What a TwilioProvider may delete, overwrite or take ownership of: only what it can prove it created
or successfully adopted. A name or a SID in a spec is never proof on its own.

The proofs, each of which survives a crash of the operator:
- a trunk: its domain is derived from the provider's UID (domains are unique across Twilio), or it is
  the adopted `spec.trunkSid` and the status records it (status.trunkSid is written only after the
  adoption was accepted);
- a credential list or IP access control list: the provider's tag in its friendly name, or the
  adopted `spec.credentialListSid` recorded in status the same way;
- the SIP Secret: our owner reference on it, or (an Orphan-deleted provider's Secret, kept by design)
  our label and the annotation naming a provider of this name, with no owner left.
- a number a TwilioPhoneNumber bought (spec.purchase): its status records the SID and the number's
  friendly name carries the object's purchase tag (`release_problem`).
Pure: the reads happen elsewhere, and every rule takes plain values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Protocol, TypeVar

from twilio_operator.api import names
from twilio_operator.api.models import TwilioProviderSpec, TwilioProviderStatus
from twilio_operator.api.twilio_values import CredentialList, IncomingNumber, IpAccessControlList, Trunk

# The labels of the Secrets the operator writes (its SIP Secrets), also what it watches them by.
SIP_SECRET_LABELS = {"app.kubernetes.io/managed-by": "twilio-operator"}
ANY_PROVIDER_DOMAIN = re.compile(r"^twp-[0-9a-f]{32}(?:-r[0-9]+)?" + re.escape(names.DOMAIN_SUFFIX) + "$")
_ANY_PROVIDER_TAG = re.compile(r"\((twp-[0-9a-f]{32})\)")


class ProviderRecord(Protocol):
    """What the rules read of a provider (a reconcile's Provider, a number's view of it)."""

    @property
    def uid(self) -> str: ...
    @property
    def spec(self) -> TwilioProviderSpec: ...
    @property
    def status(self) -> TwilioProviderStatus: ...
    @property
    def adopted_from(self) -> str | None:
        """The UID named by the adopt-from annotation (an Orphan-deleted provider's), if any."""
        ...


def another_providers_domain(provider: ProviderRecord, domain: str) -> bool:
    """A domain the operator derived from another TwilioProvider's UID (not counting the one the
    adopt-from annotation names: its provider was deleted and left the trunk behind)."""
    if not ANY_PROVIDER_DOMAIN.match(domain) or names.domain_recreation(provider.uid, domain) is not None:
        return False
    return provider.adopted_from is None or names.domain_recreation(provider.adopted_from, domain) is None


def provider_tag(friendly_name: str) -> str | None:
    """The `twp-<uid>` tag the operator puts into the friendly names of its lists, if any."""
    match = _ANY_PROVIDER_TAG.search(friendly_name)
    return match.group(1) if match else None


def adoption_recorded(provider: ProviderRecord) -> tuple[str | None, str | None]:
    """The adopted trunk and credential list whose adoption the status records: (trunk, list)."""
    spec, status = provider.spec, provider.status
    trunk = spec.trunk_sid if spec.trunk_sid and status.trunk_sid == spec.trunk_sid else None
    listed = (
        spec.credential_list_sid
        if spec.credential_list_sid and status.credential_list_sid == spec.credential_list_sid
        else None
    )
    return trunk, listed


def owns_trunk(provider: ProviderRecord, sid: str, domain: str) -> bool:
    """Created by this provider (its UID-derived domain) or adopted by it (recorded in status)."""
    if names.domain_recreation(provider.uid, domain) is not None:
        return True
    adopted, _ = adoption_recorded(provider)
    return sid == adopted and not another_providers_domain(provider, domain)


def owns_credential_list(provider: ProviderRecord, sid: str, friendly_name: str) -> bool:
    if names.is_our_credential_list(friendly_name, provider.uid):
        return True
    _, adopted = adoption_recorded(provider)
    return sid == adopted


def sip_secret_problem(
    provider_name: str,
    provider_uid: str,
    credentials_secret: str,
    secret_name: str,
    owner_uids: Collection[str],
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
) -> str | None:
    """Why the provider may not write the existing Secret `secret_name` as its SIP Secret, or None:
    it is ours (our owner reference), or left by an Orphan-deleted provider of the same name."""
    if provider_uid in owner_uids:
        return None
    made_by_us = all(labels.get(k) == v for k, v in SIP_SECRET_LABELS.items())
    made_for = annotations.get(names.SIP_SECRET_OF)
    if secret_name == credentials_secret:
        why = "is this TwilioProvider's credentials Secret (spec.credentialsSecretRef)"
    elif owner_uids:
        why = "is owned by another object"
    elif not made_by_us:
        why = "was not created by twilio-operator"
    elif made_for == provider_name or (
        made_for is None and secret_name == names.sip_secret_name(provider_name, None)
    ):
        return None  # left by an Orphan-deleted provider of this name: handed over (docs/install.md)
    else:
        why = f"holds the SIP credentials of TwilioProvider {made_for or '(unknown)'}"
    return (
        f"Secret {secret_name} {why}: nothing was written to it. Choose another "
        "spec.sipCredentialsSecretName, or delete that Secret to let the operator create it"
    )


# --------------------------------------------------------------------------- finding ours in Twilio


class HasSidAndName(Protocol):
    @property
    def sid(self) -> str: ...
    @property
    def friendly_name(self) -> str: ...


Tagged = TypeVar("Tagged", bound=HasSidAndName)


def find_trunk(provider: ProviderRecord, trunks: Iterable[Trunk]) -> Trunk | None:
    """The adopted trunk by spec.trunkSid, else by our UID-derived domain (the newest recreation
    wins). status.trunkSid is not trusted on its own: status can be written by anyone with status
    access, or come back stale from a backup."""
    if provider.spec.trunk_sid:
        return next((t for t in trunks if t.sid == provider.spec.trunk_sid), None)
    ours = [(names.domain_recreation(provider.uid, t.domain_name), t) for t in trunks]
    candidates = sorted(((n, t) for n, t in ours if n is not None), key=lambda pair: pair[0])
    return candidates[-1][1] if candidates else None


def tagged_ours(provider: ProviderRecord, listed: Iterable[Tagged]) -> list[Tagged]:
    """The lists (credential lists, IP access control lists) that carry the provider's tag."""
    return [item for item in listed if names.is_our_credential_list(item.friendly_name, provider.uid)]


def find_credential_list(provider: ProviderRecord, lists: Iterable[CredentialList]) -> CredentialList | None:
    """The adopted list by spec.credentialListSid, else by the tag in its friendly name; the recorded
    SID is preferred only among ours."""
    if provider.spec.credential_list_sid:
        return next((cl for cl in lists if cl.sid == provider.spec.credential_list_sid), None)
    ours = tagged_ours(provider, lists)
    recorded = [cl for cl in ours if cl.sid == provider.status.credential_list_sid]
    return next(iter(recorded or ours), None)


def find_ip_access_control_lists(
    provider: ProviderRecord, lists: Iterable[IpAccessControlList]
) -> tuple[IpAccessControlList, ...]:
    """The provider's IP access control lists, the one its status recorded first (a SID from status
    alone is not trusted: it could name someone else's list)."""
    ours = tagged_ours(provider, lists)
    recorded = provider.status.ip_access_control_list_sid
    return tuple(sorted(ours, key=lambda a: a.sid != recorded))


# ------------------------------------------------------------------ numbers a TwilioPhoneNumber bought


def release_problem(
    namespace: str,
    name: str,
    bought: bool,
    recorded_sid: str | None,
    number: IncomingNumber,
    others: Collection[str],
) -> str | None:
    """Why deleting this object may not release `number` from the account, or None when it may.

    Only a number this object bought is released, proven twice, each proof surviving a crash: its
    status records the SID (written right after the purchase, or when the number was found again by
    its tag), and the number's friendly name in Twilio still carries the object's purchase tag (set
    by the purchase request itself, where no status writer reaches). Never while something else uses
    it: another TwilioPhoneNumber, or a trunk (the object's own trunk was left before this is asked).
    """
    if not bought:
        return "it was imported, not bought by this object (no spec.purchase): it is never released"
    if recorded_sid != number.sid:
        return f"status.purchase does not record {number.sid} as bought by this object"
    if not names.is_purchased_by(number.friendly_name, namespace, name):
        return (
            f"its friendly name {number.friendly_name!r} no longer carries this object's purchase tag "
            f"({names.number_tag(namespace, name)})"
        )
    if others:
        return f"TwilioPhoneNumber {', '.join(sorted(others))} uses it too"
    if number.trunk_sid:
        return f"it is on trunk {number.trunk_sid}, which another provider or tool manages"
    return None
