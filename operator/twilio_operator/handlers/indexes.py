"""One kopf index of TwilioProviders, read three ways.

kopf runs each index handler of a resource on every event of every object, each through its whole
invocation machinery: with three provider indexes that was about 10 % of the operator's CPU in a
burst of 1,000 creates (py-spy, docs/performance.md). One handler fills three kinds of keys instead:

    ("name", namespace, name)            -> the provider's metadata, spec and status (the same dicts
                                            as kopf's body: no copy)
    ("account", account SID)             -> (namespace, name, the reason of its Ready condition)
    ("secret", namespace, Secret name)   -> how the provider uses that Secret (SecretUse)

`Providers` reads them; kopf hands the index to every handler as the keyword `providers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import kopf

from twilio_operator.api import names
from twilio_operator.api.conditions import ReadyState
from twilio_operator.api.models import GROUP, PROVIDER, VERSION
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.provider.sip_secret import expected_sip_connection
from twilio_operator.sharding import SHARD

INDEX_ID = "providers"
CREDENTIALS, SIP = "credentials", "sip"
# (provider name, provider uid, role, the SIP Secret's expected non-secret keys)
SecretUse = tuple[str, str, str, tuple[tuple[str, str], ...]]
Sibling = tuple[str, str, str | None]  # (namespace, name, Ready reason)


@kopf.index(GROUP, VERSION, PROVIDER.plural, id=INDEX_ID, **SHARD)
async def providers(
    namespace: str | None,
    name: str,
    uid: str,
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    **_: Any,
) -> dict[tuple[Any, ...], Any]:
    entries: dict[tuple[Any, ...], Any] = {
        ("name", namespace, name): {k: body.get(k) for k in ("metadata", "spec", "status")},
        ("account", str(spec.get("accountSid"))): (namespace, name, ReadyState.of(status).reason),
    }
    entries.update(_secret_uses(namespace, name, uid, spec, status))
    return entries


def _secret_uses(
    namespace: str | None, name: str, uid: str, spec: kopf.Spec, status: kopf.Status
) -> dict[tuple[Any, ...], SecretUse]:
    sip = names.sip_secret_name(name, spec.get("sipCredentialsSecretName"))
    domain, trunk_sid = status.get("trunkDomainName"), status.get("trunkSid")
    # Before the trunk is known, only the username and password can be checked.
    expected = (
        expected_sip_connection(uid, domain, trunk_sid, ResolvedRegion.of(spec.get("region")))
        if domain and trunk_sid
        else {names.SIP_USERNAME: names.sip_username(uid)}
    )
    uses: dict[tuple[Any, ...], SecretUse] = {
        ("secret", namespace, sip): (name, uid, SIP, tuple(sorted(expected.items())))
    }
    credentials = (spec.get("credentialsSecretRef") or {}).get("name")
    if credentials:
        uses[("secret", namespace, credentials)] = (name, uid, CREDENTIALS, ())
    return uses


@dataclass(frozen=True)
class Providers:
    """The providers index, by name, by Twilio account and by Secret (a live view)."""

    index: kopf.Index[tuple[Any, ...], Any]

    @classmethod
    def of(cls, kwargs: dict[str, Any]) -> Providers:
        return cls(kwargs[INDEX_ID])

    def body(self, namespace: str | None, name: str | None) -> dict[str, Any] | None:
        """metadata, spec and status of the provider, or None if the operator does not know it."""
        return next(iter(self._get(("name", namespace, name))), None)

    def of_account(self, account_sid: str) -> list[Sibling]:
        return list(self._get(("account", account_sid)))

    def of_secret(self, namespace: str | None, secret: str) -> list[SecretUse]:
        return list(self._get(("secret", namespace, secret)))

    def _get(self, key: tuple[Any, ...]) -> Iterable[Any]:
        return self.index.get(key, [])
