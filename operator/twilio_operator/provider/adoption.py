"""Adopting an existing trunk (spec.trunkSid) and credential list (spec.credentialListSid): whether the
adoption may go ahead, decided purely from what Twilio and the namespace show."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from twilio_operator.api import names
from twilio_operator.api.ownership import another_providers_domain, provider_tag
from twilio_operator.api.twilio_values import CredentialList, Trunk
from twilio_operator.provider.resource import Provider


def adoption_problem(
    provider: Provider,
    trunks: list[Trunk],
    lists: list[CredentialList],
    others: list[dict[str, Any]],
    attached: Collection[str] = (),
) -> str | None:
    """Why the adoption cannot go ahead, or None. `others` are the namespace's TwilioProvider bodies;
    `attached` the SIDs of the credential lists attached to the trunk to adopt."""
    spec = provider.spec
    account = spec.account_sid
    if spec.trunk_sid:
        trunk = next((t for t in trunks if t.sid == spec.trunk_sid), None)
        if trunk is None:
            return f"trunk {spec.trunk_sid} is not a trunk of account {account} in this processing region"
        if another_providers_domain(provider, trunk.domain_name):
            return (
                f"trunk {spec.trunk_sid} ({trunk.domain_name}) is managed by another TwilioProvider. If that "
                "provider was deleted with deletionPolicy Orphan, annotate this one "
                f"{names.ADOPT_FROM}=<its UID> to adopt the trunk it left (docs/migrating.md)"
            )
        previous = provider.adopted_from
        if previous is not None and any(o["metadata"].get("uid") == previous for o in others):
            return f"{names.ADOPT_FROM} names TwilioProvider {previous}, which still exists in this namespace"
        rival = _older_adopter(provider, others)
        if rival is not None:
            return f"trunk {spec.trunk_sid} is already adopted by TwilioProvider {rival}"
        foreign = _foreign_list_attached(provider, lists, others, attached)
        if foreign is not None:
            return (
                f"trunk {spec.trunk_sid} is already adopted by another TwilioProvider (in another namespace "
                f"or cluster): its credential list {foreign.sid} ({foreign.friendly_name}) is attached"
            )
    if spec.credential_list_sid and not any(cl.sid == spec.credential_list_sid for cl in lists):
        return f"credential list {spec.credential_list_sid} is not a credential list of account {account}"
    return None


def _foreign_list_attached(
    provider: Provider, lists: list[CredentialList], others: list[dict[str, Any]], attached: Collection[str]
) -> CredentialList | None:
    """A credential list of another TwilioProvider on the trunk: the operator's mark of an adoption
    that the namespace's objects cannot show (another namespace, shard or cluster). The namespace's
    own providers are left to `_older_adopter`, so that two of them never refuse each other."""
    neighbours = {names.object_tag(str(o["metadata"].get("uid") or "")) for o in others}
    allowed = {names.object_tag(u) for u in (provider.uid, provider.adopted_from) if u}
    for credential_list in lists:
        tag = provider_tag(credential_list.friendly_name)
        if credential_list.sid in attached and tag is not None and tag not in allowed | neighbours:
            return credential_list
    return None


def _older_adopter(provider: Provider, others: list[dict[str, Any]]) -> str | None:
    """Another provider of the namespace adopting the same trunk and created earlier (name breaks ties)."""
    mine = (provider.created, provider.name)
    rivals = [
        (str(o["metadata"].get("creationTimestamp") or ""), o["metadata"]["name"])
        for o in others
        if o["metadata"].get("uid") != provider.uid
        and (o.get("spec") or {}).get("trunkSid") == provider.spec.trunk_sid
        and not o["metadata"].get("deletionTimestamp")
    ]
    older = [r for r in rivals if r < mine]
    return min(older)[1] if older else None
