"""Adopting an existing trunk (spec.trunkSid) and credential list (spec.credentialListSid): whether the
adoption may go ahead, decided purely from what Twilio and the namespace show."""

from __future__ import annotations

import re
from typing import Any

from twilio_operator.api import names
from twilio_operator.ports.twilio.values import CredentialList, Trunk
from twilio_operator.provider.resource import Provider

_ANY_PROVIDER_DOMAIN = re.compile(r"^twp-[0-9a-f]{32}(?:-r[0-9]+)?" + re.escape(names.DOMAIN_SUFFIX) + "$")


def adoption_problem(
    provider: Provider, trunks: list[Trunk], lists: list[CredentialList], others: list[dict[str, Any]]
) -> str | None:
    """Why the adoption cannot go ahead, or None. `others` are the namespace's TwilioProvider bodies."""
    spec = provider.spec
    account = spec.account_sid
    if spec.trunk_sid:
        trunk = next((t for t in trunks if t.sid == spec.trunk_sid), None)
        if trunk is None:
            return f"trunk {spec.trunk_sid} is not a trunk of account {account} in this processing region"
        if (
            _ANY_PROVIDER_DOMAIN.match(trunk.domain_name)
            and names.domain_recreation(provider.uid, trunk.domain_name) is None
        ):
            return f"trunk {spec.trunk_sid} ({trunk.domain_name}) is managed by another TwilioProvider"
        rival = _older_adopter(provider, others)
        if rival is not None:
            return f"trunk {spec.trunk_sid} is already adopted by TwilioProvider {rival}"
    if spec.credential_list_sid and not any(cl.sid == spec.credential_list_sid for cl in lists):
        return f"credential list {spec.credential_list_sid} is not a credential list of account {account}"
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
