"""One reconcile's round of the SIP credential: the Secret holds a pair Twilio knows, no credential of
ours is left that no Secret holds, and the rotation steps that are due are taken (rotation.py).

The password reaches the Secret (pending) before Twilio, then is marked applied. A Secret that is
missing or edited by hand gets a fresh password at once (Twilio cannot tell the old one).
"""

from __future__ import annotations

from dataclasses import replace

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.conditions import ConditionUpdate
from twilio_operator.api.livekit import NO_LIVEKIT, LiveKitLinks
from twilio_operator.api.twilio_values import Credential, CredentialList, Trunk
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider import rotation
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.sip_secret import (
    Held,
    SecretRefused,
    SecretWriter,
    SipRound,
    appeared,
    ensure_current,
    read_held,
    read_previous,
    refuse_unless_ours,
    sip_connection,
)
from twilio_operator.provider.status import StatusWriter


async def ensure_sip_credential(
    provider: Provider,
    deps: Deps,
    writer: StatusWriter,
    twilio: TwilioPort,
    trunk: Trunk,
    cl: CredentialList,
    livekit: LiveKitLinks = NO_LIVEKIT,
) -> None:
    """Converge the SIP credential, its Secret and its rotation; record the rotation state in status.
    `livekit`: the provider's LiveKitConnections (a previous pair one of them uses is kept)."""
    io = SecretWriter(provider, deps, sip_connection(provider.uid, trunk, provider.region))
    r = SipRound(provider, deps, writer, twilio, cl.sid, io, livekit)
    held = _first_pair(provider, deps) if _first_time(provider, writer, cl) else None
    try:
        if held is not None and await io.write(held, only_if_absent=True):
            listed: list[Credential] = []  # the list is this reconcile's own
        else:
            held, listed = await _held_in_secret(r, cl)
    except SecretRefused as refused:
        # Nothing is written to a Secret that is not ours, so no password exists for Twilio either.
        writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "False", c.SECRET_NOT_OWNED, str(refused)))
        return

    by_username = {cr.username: cr for cr in listed}
    held = await ensure_current(r, held, by_username.get(held.username))
    also_held = await rotation.held_by_previous_secret(provider, deps, held)
    await _delete_leftovers(r, held, listed, also_held)
    held = await rotation.retire_previous(r, held, by_username, deps.clock())
    held = await rotation.rotate_if_due(r, held)

    # Recorded once the Secret is ours and written: a rename's origin is read from here (hand_over).
    writer.set(
        sip_credentials=rotation.rotation_status(provider, held, deps.clock(), r.kept_for),
        sip_credentials_secret_name=provider.sip_secret_name,
    )
    if io.problems:
        message = "; ".join(problem.message for problem in io.problems)
        writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "False", c.TEMPLATE_INVALID, message))
    else:
        message = f"SIP credentials are in Secret {provider.sip_secret_name}"
        if r.kept_for and held.previous:
            message += (
                f"; the previous credential {held.previous[0]} is kept: the LiveKit outbound trunk of "
                f"LiveKitConnection {', '.join(r.kept_for)} still uses it"
            )
        writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "True", c.STORED, message))


def _first_time(provider: Provider, writer: StatusWriter, cl: CredentialList) -> bool:
    """A provider's first password: this reconcile created the credential list (so no credential and
    no password of ours exist anywhere) and the status records none. The SIP Secret is then created
    without reading it first; one that exists after all (made by hand, left by an earlier provider
    of the same name) is read and handled as below."""
    return cl.sid in writer.created_now and provider.status.sip_credentials is None


def _first_pair(provider: Provider, deps: Deps) -> Held:
    return Held(
        username=names.sip_username(provider.uid),
        password=deps.new_password(),
        state=names.PENDING,
        request=provider.annotations.get(names.ROTATE_SIP_CREDENTIALS),  # a new password answers it
    )


async def _held_in_secret(r: SipRound, cl: CredentialList) -> tuple[Held, list[Credential]]:
    """The pairs the SIP Secret holds, after replacing a lost password or re-rendering a stale Secret;
    and the list's credentials (none listed when this reconcile created the list)."""
    provider = r.provider
    secret = await r.deps.kube.read_secret(provider.namespace, provider.sip_secret_name)
    refuse_unless_ours(provider, provider.sip_secret_name, secret)
    r.secret.observe(secret)
    held = read_held(provider, secret)
    # Listed before a lost password is replaced (a read, so the Secret is still written before Twilio
    # is told): a credential of ours in Twilio proves that a password existed and was lost.
    listed = [] if cl.sid in r.writer.created_now else await r.twilio.list_credentials(cl.sid)
    if held is None:
        held = await rotation.hand_over(r, secret)
    if held is None:
        ours_in_twilio = any(names.is_sip_username_of(provider.uid, cr.username) for cr in listed)
        held = await _replace_lost_password(r, secret, ours_in_twilio)
    elif not r.secret.matches(secret, held):
        # The trunk moved (recreated after drift) or the template changed: same pairs, new rendering.
        await r.secret.write(held)
    return held, listed


async def _replace_lost_password(r: SipRound, secret: SecretData | None, ours_in_twilio: bool) -> Held:
    """A Secret that is missing or was edited by hand gets a fresh password at once: Twilio cannot
    tell us the old one. The username stays the one consumers know, if it is still ours.

    It is a loss (Warning event) when the Secret exists, or when status or Twilio show that a
    password existed; the status alone is not enough, since a reconcile may run on a copy of the
    provider read before its first status was written."""
    provider = r.provider
    in_secret = secret.text(names.SIP_USERNAME) if secret is not None else None
    recorded = provider.status.sip_credentials.username if provider.status.sip_credentials else None
    username = next(
        (u for u in (in_secret, recorded) if names.is_sip_username_of(provider.uid, u)),
        names.sip_username(provider.uid),
    )
    assert username is not None
    kept = read_previous(provider, secret) if secret is not None else None
    previous = kept if kept is not None and kept[0][0] != username else None  # keeps its grace period
    held = replace(
        _first_pair(provider, r.deps),
        username=username,
        previous=previous[0] if previous else None,
        previous_expires=previous[1] if previous else None,
    )
    if not await r.secret.write(held, only_if_absent=secret is None):
        raise appeared(provider)
    recorded_secret = provider.status.sip_credentials_secret_name == provider.sip_secret_name
    if secret is not None or recorded_secret or ours_in_twilio:
        await r.writer.event(
            "Warning",
            c.SIP_CREDENTIAL_ROTATED,
            f"SIP credentials Secret {provider.sip_secret_name} was deleted or edited; "
            "rotating the SIP password",
        )
    return held


async def _delete_leftovers(r: SipRound, held: Held, listed: list[Credential], also_held: set[str]) -> None:
    """Credentials of ours that no Secret holds: nobody has their password; delete them, so that the
    list never creeps towards Twilio's 1,000 credentials. `also_held`: those in a renamed-from Secret."""
    keep = {held.username, *also_held} | ({held.previous[0]} if held.previous else set())
    for credential in listed:
        if credential.username in keep or not names.is_sip_username_of(r.provider.uid, credential.username):
            continue
        await r.twilio.delete_credential(r.list_sid, credential.sid)
        await r.writer.event(
            "Normal",
            c.SIP_CREDENTIAL_LEFTOVER_DELETED,
            f"deleted SIP credential {credential.username}: no Secret holds its password",
        )
