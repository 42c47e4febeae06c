"""The SIP credential: its password reaches the Secret (pending) before Twilio, then is marked applied."""

from __future__ import annotations

from twilio_operator.api import conditions as c
from twilio_operator.api import credentials, names
from twilio_operator.api.conditions import ConditionUpdate
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.regions import Region
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.ports.twilio.values import CredentialList, Trunk
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter

USERNAME_TAKEN = 21623  # what the emulator answers for a taken username; undocumented, so not relied on


async def ensure_sip_credential(
    provider: Provider, deps: Deps, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk, cl: CredentialList
) -> None:
    """The password goes to the Secret first, marked pending, then to Twilio, then marked applied.

    A crash anywhere leaves either a pending Secret (Twilio is told again, idempotently) or an
    applied one. A Secret that is missing or was edited by hand gets a fresh password: Twilio
    cannot tell us the old one.
    """
    name = provider.sip_secret_name
    username = names.sip_username(provider.uid)
    connection = sip_connection(provider.uid, trunk, provider.spec.region)
    secret = await deps.kube.read_secret(provider.namespace, name)
    password = _intact_password(provider, secret, username)
    if secret is None or password is None:
        password = deps.new_password()
        annotations = {
            names.PASSWORD_STATE: names.PENDING,
            names.PASSWORD_FINGERPRINT: credentials.password_fingerprint(provider.uid, password),
        }
        await deps.kube.write_secret(
            provider.namespace, name, {**connection, names.SIP_PASSWORD: password}, annotations, provider.ref
        )
        if secret is not None or provider.status.sip_credentials_secret_name == name:
            await writer.event(
                "Warning",
                c.SIP_CREDENTIAL_ROTATED,
                f"SIP credentials Secret {name} was deleted or edited; rotating the SIP password",
            )
        state: str | None = names.PENDING
    else:
        state = secret.annotations.get(names.PASSWORD_STATE)
        if any(secret.text(key) != value for key, value in connection.items()):
            # The trunk moved (recreated after drift): keep the password, update where to dial.
            await deps.kube.write_secret(
                provider.namespace,
                name,
                {**connection, names.SIP_PASSWORD: password},
                secret.annotations,
                provider.ref,
            )
    existing = (
        None
        if cl.sid in writer.created_now  # a list created just now holds no credential yet
        else {cr.username: cr for cr in await twilio.list_credentials(cl.sid)}.get(username)
    )
    if existing is None:
        try:
            existing = await twilio.create_credential(cl.sid, username, password)
            await writer.event(
                "Normal", c.SIP_CREDENTIAL_CREATED, f"created SIP credential {username} in {cl.sid}"
            )
        except TwilioError as error:
            # Created meanwhile by a concurrent reconcile (two operators running by mistake): take it over.
            # Judged by listing again, not by the code: Twilio documents none for a taken username.
            taken = error.kind is ErrorKind.REJECTED
            existing = {cr.username: cr for cr in await twilio.list_credentials(cl.sid)}.get(username)
            if not taken or existing is None:
                raise
            await twilio.update_credential_password(cl.sid, existing.sid, password)
    elif state == names.PENDING:
        await twilio.update_credential_password(cl.sid, existing.sid, password)
    if state == names.PENDING:
        await _settle_password(provider, deps, twilio, cl.sid, existing.sid, password)
    message = f"SIP credentials are in Secret {name}"
    writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "True", c.STORED, message))


async def _settle_password(
    provider: Provider, deps: Deps, twilio: TwilioPort, list_sid: str, credential_sid: str, password: str
) -> None:
    """Mark the Secret applied once Twilio holds the password that the Secret holds.

    A concurrent writer (a second operator by mistake) may have stored another password between our
    Secret write and our Twilio write; then Twilio gets the Secret's, so the last Secret write wins.
    """
    name, username = provider.sip_secret_name, names.sip_username(provider.uid)
    for _ in range(3):
        current = _intact_password(provider, await deps.kube.read_secret(provider.namespace, name), username)
        if current is None or current == password:
            break
        password = current
        await twilio.update_credential_password(list_sid, credential_sid, password)
    await deps.kube.annotate_secret(provider.namespace, name, {names.PASSWORD_STATE: names.APPLIED})


def _intact_password(provider: Provider, secret: SecretData | None, username: str) -> str | None:
    """The Secret's password if it is still the one we generated (fingerprint matches), else None."""
    if secret is None:
        return None
    return credentials.intact_sip_password(provider.uid, secret.data, secret.annotations, username)


def sip_connection(uid: str, trunk: Trunk, region: Region | None) -> dict[str, str]:
    """The non-secret keys of the SIP Secret: what a voice platform dials with the password."""
    return expected_sip_connection(uid, trunk.domain_name, trunk.sid, region)


def expected_sip_connection(uid: str, domain: str, trunk_sid: str, region: Region | None) -> dict[str, str]:
    return {
        names.SIP_USERNAME: names.sip_username(uid),
        names.SIP_DOMAIN: domain,
        names.SIP_TERMINATION_URI: names.termination_uri(domain, region),
        names.SIP_TRUNK_SID: trunk_sid,
    }
