"""The operator's kopf indexes read through their typed view: each kind of key finds only its own
values, even where a provider, a Secret and a number share one name."""

from __future__ import annotations

from typing import Any

from twilio_operator.handlers.indexes import CREDENTIALS, SIP, Indexes, NumberOnTrunk, SecretUse, Sibling
from twilio_operator.phone_number.claims import Claimant, Contender

from .kopf_indexes import kopf_indexes

ACCOUNT = "AC" + "0" * 32
TRUNK = "TK" + "1" * 32


def provider(name: str, uid: str, credentials: str, reason: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "voice", "name": name, "uid": uid},
        "spec": {"displayName": "Acme", "accountSid": ACCOUNT, "credentialsSecretRef": {"name": credentials}},
        "status": {"trunkSid": TRUNK, "conditions": [{"type": "Ready", "status": "False", "reason": reason}]},
    }


NUMBER = {
    "metadata": {
        "namespace": "voice",
        "name": "acme",
        "uid": "number-uid",
        "creationTimestamp": "2024-01-01",
    },
    "spec": {"providerRef": {"name": "acme"}, "phoneNumber": "+15005550006"},
    "status": {"trunkSid": TRUNK},
}


async def test_every_kind_of_key_finds_only_its_own_values() -> None:
    # Provider "acme" reads the Secret "acme"; provider "other" shares the account; number "acme".
    kwargs = await kopf_indexes(
        [provider("acme", "uid-1", "acme", "Verified"), provider("other", "uid-2", "creds", "AuthFailed")],
        [NUMBER],
    )
    indexes = Indexes.of(kwargs)
    found = indexes.providers.body("voice", "acme")
    assert found is not None and found["metadata"]["uid"] == "uid-1"
    assert indexes.providers.body("voice", "missing") is None
    assert indexes.providers.of_secret("voice", "acme") == [SecretUse("acme", "uid-1", CREDENTIALS, ())]
    sip_uses = indexes.providers.of_secret("voice", "acme-sip-credentials")
    assert [(use.provider, use.role) for use in sip_uses] == [("acme", SIP)]
    assert sorted(indexes.providers.of_account(ACCOUNT)) == [
        Sibling("voice", "acme", "Verified"),
        Sibling("voice", "other", "AuthFailed"),
    ]
    assert indexes.numbers_of("voice", "acme") == [NumberOnTrunk("acme", TRUNK)]
    assert indexes.numbers_of("voice", "other") == []
    assert indexes.agent_entries_of("voice", "acme") == []  # no agentRef, not Ready
    (claimant,) = indexes.claimants("voice")
    assert isinstance(claimant, Claimant) and claimant.name == "acme"
    (contender,) = indexes.contenders("+15005550006")
    assert isinstance(contender, Contender) and (contender.namespace, contender.name) == ("voice", "acme")
    assert indexes.claimants("elsewhere") == [] and indexes.contenders("+15005550007") == []


async def test_a_provider_is_held_without_its_managed_fields() -> None:
    """The index keeps a provider for its whole life: everything the operator reads, not the
    managedFields the API server adds to every object (nested dicts of every field written)."""
    body = provider("acme", "uid-1", "acme", "Verified")
    body["metadata"]["managedFields"] = [
        {"manager": "twilio-operator", "operation": "Update", "fieldsV1": {"f:status": {"f:trunkSid": {}}}}
    ]
    body["metadata"]["finalizers"] = ["voip.twilio-operator.dev/finalizer"]
    body["metadata"]["resourceVersion"] = "42"
    kwargs = await kopf_indexes([body], [])
    found = Indexes.of(kwargs).providers.body("voice", "acme")
    assert found is not None
    assert "managedFields" not in found["metadata"]
    kept = {k: v for k, v in body["metadata"].items() if k != "managedFields"}
    assert found == {"metadata": kept, "spec": body["spec"], "status": body["status"]}
