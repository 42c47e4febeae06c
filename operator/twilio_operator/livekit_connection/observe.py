"""Observe: everything a connection's reconcile decides on, read before it decides, with no write
(the API Secret's in-use protection aside, as for the provider's credentials Secret).

From Kubernetes: the LiveKit API key and secret, the provider's imported numbers (its Ready
TwilioPhoneNumbers) and the SIP pair from the provider's SIP Secret. From LiveKit: every inbound
trunk, outbound trunk and dispatch rule, in one parallel round trip, split into ours and the others
(livekit_connection/diff.py).
"""

from __future__ import annotations

import asyncio

from twilio_operator.api import conditions as c
from twilio_operator.api import credentials, names
from twilio_operator.api.credentials import CredentialProblem, data_digest
from twilio_operator.api.livekit_values import LiveKitServer
from twilio_operator.api.models import LIVEKIT_CONNECTION, PHONE_NUMBER, PROVIDER
from twilio_operator.livekit_connection.diff import LiveKitSeen, partition
from twilio_operator.livekit_connection.resource import Connection, Number, ProviderSide
from twilio_operator.livekit_connection.wanted import SipPair
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.livekit.port import LiveKitPort

# The label the operator's Secret watch selects by (handlers/secrets.py), as on a provider's
# credentials Secret: changes of the API Secret then wake the connection at once.
PROTECTED_LABELS = {names.CREDENTIALS_LABEL: "in-use"}


# --------------------------------------------------------------------------- the LiveKit API Secret


async def read_api_secret(connection: Connection, deps: Deps) -> LiveKitServer | CredentialProblem:
    """The server URL with the key and secret from the connection's Secret, which is protected (our
    finalizer) while the connection exists: its deletion needs them to remove the LiveKit objects."""
    ref = connection.spec.api_secret_ref
    secret = await deps.kube.read_secret(connection.namespace, ref.name)
    await protect_api_secret(connection, deps, secret)
    where = f"Secret {connection.namespace}/{ref.name}"
    if secret is None:
        return CredentialProblem(c.SECRET_NOT_FOUND, f"{where} not found")
    values = []
    for key in (ref.api_key_key, ref.api_secret_key):
        if key not in secret.data:
            return CredentialProblem(c.SECRET_KEY_MISSING, f"{where} has no key {key}")
        text = secret.text(key)
        if text is None or not text.strip():
            return CredentialProblem(c.SECRET_INVALID, f"key {key} of {where} is empty or not UTF-8 text")
        values.append(text.strip())
    return LiveKitServer(url=connection.spec.url, api_key=values[0], api_secret=values[1])


async def protect_api_secret(connection: Connection, deps: Deps, secret: SecretData | None) -> None:
    if secret is None or secret.deleting:
        return
    name = connection.spec.api_secret_ref.name
    digest = data_digest(f"{connection.namespace}/{name}", secret.data)
    labelled = all(secret.labels.get(k) == v for k, v in PROTECTED_LABELS.items())
    current = secret.annotations.get(names.CREDENTIALS_DIGEST) == digest
    if deps.in_use_finalizer in secret.finalizers and labelled and current:
        return
    await deps.kube.protect_secret(
        connection.namespace,
        name,
        deps.in_use_finalizer,
        PROTECTED_LABELS,
        {names.CREDENTIALS_DIGEST: digest},
    )


async def release_api_secret(connection: Connection, deps: Deps) -> None:
    """Drop the in-use protection unless another connection, or a provider (as its credentials
    Secret), of the namespace still references the Secret."""
    name = connection.spec.api_secret_ref.name
    for other in await deps.kube.list_objects(LIVEKIT_CONNECTION, connection.namespace):
        uses = ((other.get("spec") or {}).get("apiSecretRef") or {}).get("name") == name
        if uses and other["metadata"].get("uid") != connection.uid:
            return
    for provider in await deps.kube.list_objects(PROVIDER, connection.namespace):
        if ((provider.get("spec") or {}).get("credentialsSecretRef") or {}).get("name") == name:
            return
    await deps.kube.unprotect_secret(connection.namespace, name, deps.in_use_finalizer)


# --------------------------------------------------------------------------- the provider's side


async def imported_numbers(connection: Connection, provider: ProviderSide, deps: Deps) -> list[Number]:
    """The provider's numbers on its trunk: TwilioPhoneNumbers naming it that are Ready on the trunk
    its status records, and not being deleted (a detached number leaves LiveKit at once)."""
    found: dict[str, Number] = {}
    for obj in await deps.kube.list_objects(PHONE_NUMBER, connection.namespace):
        spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
        if (spec.get("providerRef") or {}).get("name") != provider.name or meta.get("deletionTimestamp"):
            continue
        number, trunk = status.get("phoneNumber"), status.get("trunkSid")
        if not number or trunk != provider.status.trunk_sid or not c.ReadyState.of(status).is_true:
            continue
        agent = (spec.get("agentRef") or {}).get("name") or None
        found.setdefault(number, Number(number, meta["name"], agent))  # one object per number wins
    return sorted(found.values())


async def sip_pair(provider: ProviderSide, deps: Deps, namespace: str) -> SipPair | str:
    """The SIP pair Twilio holds, from the provider's SIP Secret, or why there is none.

    The current pair once it is applied (Twilio has it); while a rotation's new pair is still pending,
    the previous one (Twilio has that for sure); a pending pair without a previous one (the first, or
    a lost password being replaced) is the only one there is."""
    secret = await deps.kube.read_secret(namespace, provider.sip_secret_name)
    where = f"the SIP Secret {provider.sip_secret_name} of TwilioProvider {provider.name}"
    if secret is None:
        return f"{where} does not exist yet"
    if provider.uid not in secret.owner_uids:
        return f"{where} is not the provider's (no owner reference to it)"
    current = credentials.current_sip_pair(provider.uid, secret.data, secret.annotations)
    if current is None:
        return f"{where} holds no intact SIP credential (the provider repairs it)"
    previous = credentials.previous_sip_pair(provider.uid, secret.data, secret.annotations)
    pending = secret.annotations.get(names.PASSWORD_STATE) != names.APPLIED
    username, password = previous if pending and previous is not None else current
    return SipPair(username, password)


# --------------------------------------------------------------------------- LiveKit


async def observe_livekit(port: LiveKitPort, uid: str) -> LiveKitSeen:
    """Every trunk and rule of the project (three requests in parallel), ours and the others."""
    inbound, outbound, rules = await asyncio.gather(
        port.list_inbound_trunks(), port.list_outbound_trunks(), port.list_dispatch_rules()
    )
    return partition(uid, inbound, outbound, rules)
