"""The SIP credential: its password reaches the Secret (pending) before Twilio, then is marked applied."""

from __future__ import annotations

from twilio_operator import conditions as c
from twilio_operator import plan
from twilio_operator.conditions import ConditionUpdate
from twilio_operator.errors import TwilioError
from twilio_operator.k8s_gateway import SecretData
from twilio_operator.objects import Deps, Provider, StatusWriter
from twilio_operator.twilio_gateway import CredentialList, Trunk, TwilioPort

USERNAME_TAKEN = 21623  # Twilio: "Username ... already exists in this list"


async def ensure_sip_credential(
    provider: Provider, deps: Deps, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk, cl: CredentialList
) -> None:
    """The password goes to the Secret first, marked pending, then to Twilio, then marked applied.

    A crash anywhere leaves either a pending Secret (Twilio is told again, idempotently) or an
    applied one. A Secret that is missing or was edited by hand gets a fresh password: Twilio
    cannot tell us the old one.
    """
    name = provider.sip_secret_name
    username = plan.sip_username(provider.uid)
    connection = {
        plan.SIP_USERNAME: username,
        plan.SIP_DOMAIN: trunk.domain_name,
        plan.SIP_TERMINATION_URI: plan.termination_uri(trunk.domain_name, provider.spec.region),
        plan.SIP_TRUNK_SID: trunk.sid,
    }
    secret = await deps.kube.read_secret(provider.namespace, name)
    password = _intact_password(provider, secret, username)
    if secret is None or password is None:
        password = deps.new_password()
        annotations = {
            plan.PASSWORD_STATE: plan.PENDING,
            plan.PASSWORD_FINGERPRINT: plan.password_fingerprint(provider.uid, password),
        }
        await deps.kube.write_secret(
            provider.namespace, name, {**connection, plan.SIP_PASSWORD: password}, annotations, provider.ref
        )
        if secret is not None or provider.status.sip_credentials_secret_name == name:
            await writer.event(
                "Warning",
                "SipCredentialRotated",
                f"SIP credentials Secret {name} was deleted or edited; rotating the SIP password",
            )
        state: str | None = plan.PENDING
    else:
        state = secret.annotations.get(plan.PASSWORD_STATE)
        if any(secret.text(key) != value for key, value in connection.items()):
            # The trunk moved (recreated after drift): keep the password, update where to dial.
            await deps.kube.write_secret(
                provider.namespace,
                name,
                {**connection, plan.SIP_PASSWORD: password},
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
                "Normal", "SipCredentialCreated", f"created SIP credential {username} in {cl.sid}"
            )
        except TwilioError as error:
            # Created meanwhile by a concurrent reconcile (two operators running by mistake): take it over.
            taken = error.code == USERNAME_TAKEN
            existing = {cr.username: cr for cr in await twilio.list_credentials(cl.sid)}.get(username)
            if not taken or existing is None:
                raise
            await twilio.update_credential_password(cl.sid, existing.sid, password)
    elif state == plan.PENDING:
        await twilio.update_credential_password(cl.sid, existing.sid, password)
    if state == plan.PENDING:
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
    name, username = provider.sip_secret_name, plan.sip_username(provider.uid)
    for _ in range(3):
        current = _intact_password(provider, await deps.kube.read_secret(provider.namespace, name), username)
        if current is None or current == password:
            break
        password = current
        await twilio.update_credential_password(list_sid, credential_sid, password)
    await deps.kube.annotate_secret(provider.namespace, name, {plan.PASSWORD_STATE: plan.APPLIED})


def _intact_password(provider: Provider, secret: SecretData | None, username: str) -> str | None:
    """The Secret's password if it is still the one we generated (fingerprint matches), else None."""
    if secret is None or secret.text(plan.SIP_USERNAME) != username:
        return None
    password = secret.text(plan.SIP_PASSWORD)
    if password is None or secret.annotations.get(plan.PASSWORD_FINGERPRINT) != plan.password_fingerprint(
        provider.uid, password
    ):
        return None
    return password
