"""The operator's kopf indexes, their typed keys and values, and one typed view of all of them.

kopf keeps, for each key an index function returns, the values of every object that returned that
key, and hands each index to every handler as a keyword named after its id. `Indexes.of(kwargs)`
reads them with their types:

    providers (here): one handler, three kinds of keys
        ProviderRef(namespace, name)      -> the provider's metadata (without managedFields), spec
                                             and status (kopf's dicts, not copies: `held_body`)
        AccountRef(account SID)           -> Sibling: a provider of that account and its Ready reason
        SecretRef(namespace, Secret name) -> SecretUse: how a provider uses that Secret
    numbers_by_provider (phone_number.py)
        ProviderRef(namespace, provider)  -> NumberOnTrunk: a number object and the trunk it is on
    agent_entries (agent_table.py)
        ProviderRef(namespace, provider)  -> AgentEntry: a number's row of the agent table
    number_claims (phone_number.py)
        NamespaceClaims(namespace)        -> Claimant: one number object of the namespace
        NumberClaim(SID or E.164)         -> Contender: one number object asking for that number

Keys are frozen dataclasses, so keys of two kinds never compare equal (a provider and a Secret of
one name in one namespace). kopf runs each index handler of a resource on every event of every
object, each through its whole invocation machinery: with three provider indexes that was about
10 % of the operator's CPU in a burst of 1,000 creates (py-spy, docs/performance.md), hence one
provider index with three kinds of keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import kopf

from twilio_operator.api import names
from twilio_operator.api.agent_table import AgentEntry
from twilio_operator.api.conditions import ReadyState
from twilio_operator.api.models import GROUP, PROVIDER, VERSION
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.handlers.runtime import SHARD
from twilio_operator.phone_number.claims import Claimant, Contender
from twilio_operator.provider.sip_secret import expected_sip_connection

INDEX_ID = "providers"
CREDENTIALS: Literal["credentials"] = "credentials"
SIP: Literal["sip"] = "sip"
SecretRole = Literal["credentials", "sip"]
ProviderBody = dict[str, Any]  # metadata, spec and status


@dataclass(frozen=True, slots=True)
class ProviderRef:
    namespace: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class AccountRef:
    account_sid: str


@dataclass(frozen=True, slots=True)
class SecretRef:
    namespace: str | None
    name: str


@dataclass(frozen=True, slots=True)
class NamespaceClaims:
    namespace: str | None


@dataclass(frozen=True, slots=True)
class NumberClaim:
    number: str  # a number's SID or E.164 form


class Sibling(NamedTuple):
    """A provider of one Twilio account."""

    namespace: str | None
    name: str
    ready_reason: str | None


class SecretUse(NamedTuple):
    """How one provider uses a Secret."""

    provider: str
    uid: str
    role: SecretRole
    connection: tuple[tuple[str, str], ...]  # the SIP Secret's expected non-secret keys, sorted


class NumberOnTrunk(NamedTuple):
    """A TwilioPhoneNumber of a provider, and the trunk its status says it is on."""

    name: str
    trunk_sid: str | None


ProviderKey = ProviderRef | AccountRef | SecretRef
ProviderValue = ProviderBody | Sibling | SecretUse
ProviderIndex = kopf.Index[ProviderKey, ProviderValue]
NumbersByProvider = kopf.Index[ProviderRef, NumberOnTrunk]
AgentEntries = kopf.Index[ProviderRef, AgentEntry]
ClaimKey = NamespaceClaims | NumberClaim
NumberClaims = kopf.Index[ClaimKey, Claimant | Contender]
# handlers/emergency_address.py: ("name", ns, name) -> the object; ("provider" or "sid", ns, ...) -> names
EmergencyAddresses = kopf.Index[Any, Any]


@kopf.index(GROUP, VERSION, PROVIDER.plural, id=INDEX_ID, **SHARD)
async def providers(
    namespace: str | None,
    name: str,
    uid: str,
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    **_: Any,
) -> dict[ProviderKey, ProviderValue]:
    entries: dict[ProviderKey, ProviderValue] = {
        ProviderRef(namespace, name): held_body(body),
        AccountRef(str(spec.get("accountSid"))): Sibling(namespace, name, ReadyState.of(status).reason),
    }
    entries.update(_secret_uses(namespace, name, uid, spec, status))
    return entries


def held_body(body: kopf.Body) -> dict[str, Any]:
    """What an index keeps of an object: metadata, spec and status, the same dicts as kopf's body,
    without metadata.managedFields, which nothing here reads and which is large once parsed (every
    field each manager wrote, as nested dicts), for as long as the object exists."""
    meta = {k: v for k, v in (body.get("metadata") or {}).items() if k != "managedFields"}
    return {"metadata": meta, "spec": body.get("spec"), "status": body.get("status")}


def _secret_uses(
    namespace: str | None, name: str, uid: str, spec: kopf.Spec, status: kopf.Status
) -> dict[ProviderKey, ProviderValue]:
    sip = names.sip_secret_name(name, spec.get("sipCredentialsSecretName"))
    domain, trunk_sid = status.get("trunkDomainName"), status.get("trunkSid")
    # Before the trunk is known, only the username and password can be checked.
    expected = (
        expected_sip_connection(uid, domain, trunk_sid, ResolvedRegion.of(spec.get("region")))
        if domain and trunk_sid
        else {names.SIP_USERNAME: names.sip_username(uid)}
    )
    uses: dict[ProviderKey, ProviderValue] = {
        SecretRef(namespace, sip): SecretUse(name, uid, SIP, tuple(sorted(expected.items())))
    }
    credentials = (spec.get("credentialsSecretRef") or {}).get("name")
    if credentials:
        uses[SecretRef(namespace, credentials)] = SecretUse(name, uid, CREDENTIALS, ())
    return uses


@dataclass(frozen=True)
class Providers:
    """The providers index, by name, by Twilio account and by Secret (a live view)."""

    index: ProviderIndex

    @classmethod
    def of(cls, kwargs: dict[str, Any]) -> Providers:
        return cls(kwargs[INDEX_ID])

    def body(self, namespace: str | None, name: str | None) -> ProviderBody | None:
        """metadata, spec and status of the provider, or None if the operator does not know it."""
        found: Iterable[ProviderValue] = self.index.get(ProviderRef(namespace, name), [])
        return next((value for value in found if isinstance(value, dict)), None)

    def of_account(self, account_sid: str) -> list[Sibling]:
        return [v for v in self.index.get(AccountRef(account_sid), []) if isinstance(v, Sibling)]

    def of_secret(self, namespace: str | None, secret: str) -> list[SecretUse]:
        return [v for v in self.index.get(SecretRef(namespace, secret), []) if isinstance(v, SecretUse)]


@dataclass(frozen=True)
class Indexes:
    """Every index of the operator, typed; kopf passes each to every handler by its id."""

    providers: Providers
    numbers_by_provider: NumbersByProvider
    agent_entries: AgentEntries
    number_claims: NumberClaims
    emergency_addresses: EmergencyAddresses

    @classmethod
    def of(cls, kwargs: dict[str, Any]) -> Indexes:
        return cls(
            Providers.of(kwargs),
            kwargs["numbers_by_provider"],
            kwargs["agent_entries"],
            kwargs["number_claims"],
            kwargs["emergency_addresses"],
        )

    def numbers_of(self, namespace: str | None, provider: str | None) -> list[NumberOnTrunk]:
        return list(self.numbers_by_provider.get(ProviderRef(namespace, provider), []))

    def agent_entries_of(self, namespace: str | None, provider: str | None) -> list[AgentEntry]:
        return list(self.agent_entries.get(ProviderRef(namespace, provider), []))

    def claimants(self, namespace: str | None) -> list[Claimant]:
        """The number objects of the namespace (one number per namespace: the oldest wins)."""
        found: Iterable[Claimant | Contender] = self.number_claims.get(NamespaceClaims(namespace), [])
        return [v for v in found if isinstance(v, Claimant)]

    def contenders(self, number: str) -> list[Contender]:
        """The number objects of every namespace that ask for this number (its SID or E.164 form)."""
        return [v for v in self.number_claims.get(NumberClaim(number), []) if isinstance(v, Contender)]
