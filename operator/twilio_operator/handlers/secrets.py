"""kopf glue for Secrets: a change of a provider's credentials Secret, or a SIP Secret that was
deleted or edited, wakes that provider's daemon at once (no polling)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import kopf

from twilio_operator.api import names
from twilio_operator.api.credentials import sip_secret_intact
from twilio_operator.api.errors import KubernetesError
from twilio_operator.api.models import GROUP, PROVIDER, VERSION
from twilio_operator.handlers.state import ObjectKey, state_of
from twilio_operator.provider.sip_secret import expected_sip_connection
from twilio_operator.sharding import SHARD

CREDENTIALS, SIP = "credentials", "sip"
# (provider name, provider uid, role, the SIP Secret's expected non-secret keys)
SecretUse = tuple[str, str, str, tuple[tuple[str, str], ...]]


@kopf.index(GROUP, VERSION, PROVIDER.plural, id="providers_by_secret", **SHARD)
async def providers_by_secret(
    namespace: str | None, name: str, uid: str, spec: kopf.Spec, status: kopf.Status, **_: Any
) -> dict[tuple[str | None, str], SecretUse]:
    """(namespace, Secret name) -> how a provider uses that Secret."""
    sip = names.sip_secret_name(name, spec.get("sipCredentialsSecretName"))
    domain, trunk_sid = status.get("trunkDomainName"), status.get("trunkSid")
    # Before the trunk is known, only the username and password can be checked.
    expected = (
        expected_sip_connection(uid, domain, trunk_sid, spec.get("region"))
        if domain and trunk_sid
        else {names.SIP_USERNAME: names.sip_username(uid)}
    )
    connection = tuple(sorted(expected.items()))
    index: dict[tuple[str | None, str], SecretUse] = {(namespace, sip): (name, uid, SIP, connection)}
    credentials = (spec.get("credentialsSecretRef") or {}).get("name")
    if credentials:
        index[(namespace, credentials)] = (name, uid, CREDENTIALS, ())
    return index


@kopf.on.event("", "v1", "secrets", id="secret_changed")
async def secret_changed(
    type: str | None,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    if type is None or namespace is None:  # the initial listing: resume handlers reconcile everything
        return
    state = state_of(memo)
    providers_by_secret: kopf.Index[tuple[str | None, str], SecretUse] = kwargs["providers_by_secret"]
    uses = list(providers_by_secret.get((namespace, name), []))
    meta = body.get("metadata", {})
    finalizer = state.deps.in_use_finalizer
    deleting_unused = meta.get("deletionTimestamp") and not any(role == CREDENTIALS for _, _, role, _ in uses)
    if deleting_unused and finalizer in (meta.get("finalizers") or []):
        # Protected once, referenced by no provider now (its reference changed, or it is gone).
        try:
            await state.deps.kube.unprotect_secret(namespace, name, finalizer)
        except KubernetesError as error:
            logger.warning("cannot release Secret %s/%s: %s", namespace, name, error)
    for provider_name, uid, role, connection in uses:
        if role == SIP and type != "DELETED" and _intact(body, uid, connection):
            continue  # our own write; nothing to repair
        state.wake(ObjectKey.provider(namespace, provider_name))


def _intact(body: kopf.Body, uid: str, connection: tuple[tuple[str, str], ...]) -> bool:
    try:
        data = {k: base64.b64decode(v) for k, v in (body.get("data") or {}).items()}
    except (binascii.Error, ValueError):
        return False
    annotations = body.get("metadata", {}).get("annotations") or {}
    return sip_secret_intact(uid, data, annotations, dict(connection))
