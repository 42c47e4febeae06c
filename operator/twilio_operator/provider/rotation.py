"""SIP credential rotation: a new credential next to the current one, both working for the grace
period, then the old one retired. On a schedule (spec.sipCredentials.rotationInterval), on demand
(the rotate-sip-credentials annotation), and when spec.sipCredentialsSecretName is renamed (the new
Secret gets the new credential; the old Secret and what it holds stay for the grace period).

    rotate   Secret: new pair current (pending), old pair kept as previous   -> 1 credential in Twilio
             Twilio: create the new credential                               -> 2, both in the Secret
             Secret: new pair marked applied
    retire   (after the grace period) Twilio: delete the previous credential -> 1, Secret still has both
             Secret: previous pair removed

A LiveKitConnection's outbound trunk switches to the new pair on its own (it watches the Secret); the
retirement (and a next rotation, which would retire the previous pair early) waits while any
connection's trunk still uses the previous username, however long that takes: the old credential is
kept alive rather than cutting LiveKit off (status.sipCredentials.previousKeptFor says so).

A crash between any two writes leaves one or two credentials of ours in Twilio, each of whose
password a Secret holds; the next reconcile carries on from what it reads. See docs/rotation.md.
The schedule functions at the end are pure; the handlers read them to wake a provider when a step
is due.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api import credentials, names
from twilio_operator.api.durations import parse_duration
from twilio_operator.api.models import SipCredentialsSpec, SipCredentialsStatus
from twilio_operator.api.times import parse_rfc3339, rfc3339
from twilio_operator.api.twilio_values import Credential
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.sip_secret import Held, SipRound, appeared, ensure_current, read_held

DEFAULT_GRACE = timedelta(hours=1)
# A floor, so that a tiny rotationInterval cannot make a loop of rotations against the Twilio account.
MIN_ROTATION_INTERVAL = timedelta(hours=1)


async def rotate_if_due(r: SipRound, held: Held) -> Held:
    """Start a rotation when one was asked for (annotation) or the interval is up."""
    provider, now = r.provider, r.deps.clock()
    request = _pending_request(provider, held)
    due_at = next_rotation_at(provider, held, now)
    if request is None and (due_at is None or due_at > now):
        return held
    if held.previous is not None and await _kept_for_livekit(r, held, held.previous[0], "the next rotation"):
        return held  # the request stays pending: it is handled once LiveKit has switched
    if held.previous is not None:
        listed = {cr.username: cr for cr in await r.twilio.list_credentials(r.list_sid)}
        held = await retire_previous(r, held, listed, now, early=True)
    rotated = replace(next_pair(provider, r.deps, held, now), request=request or held.request)
    grace = grace_period(provider.spec.sip_credentials)
    await r.secret.write(rotated)
    why = f"asked for by annotation ({request})" if request else "rotationInterval is up"
    await r.writer.event(
        "Normal",
        c.SIP_CREDENTIAL_ROTATING,
        f"rotating the SIP credential, {why}: "
        f"new username {rotated.username} is in Secret {provider.sip_secret_name}",
    )
    rotated = await ensure_current(r, rotated, None)
    await r.writer.event(
        "Normal",
        c.SIP_CREDENTIAL_ROTATED,
        f"SIP credential {rotated.username} is current; "
        f"{held.username} keeps working until {rfc3339(now + grace)}",
    )
    return rotated


async def retire_previous(
    r: SipRound, held: Held, by_username: dict[str, Credential], now: datetime, *, early: bool = False
) -> Held:
    """After the grace period (or when a new rotation needs the slot), delete the previous credential:
    from Twilio first, then from the Secret, so no credential outlives the only copy of its password.
    A previous credential that is no longer in Twilio (deleted by hand) leaves the Secret at once.
    After a rename, the old Secret goes too, with every credential it held."""
    if held.previous is None or held.previous_expires is None:
        return held
    gone = held.previous[0] not in by_username
    if not (early or gone or held.previous_expires <= now):
        return held
    if not gone and await _kept_for_livekit(r, held, held.previous[0], "its retirement"):
        return held
    provider = r.provider
    username = held.previous[0]
    retired = {username, *await held_by_previous_secret(provider, r.deps, held)} - {held.username}
    for name in sorted(retired & set(by_username)):
        await r.twilio.delete_credential(r.list_sid, by_username[name].sid)
    if held.previous_secret is not None:
        await r.deps.kube.delete_owned_secret(provider.namespace, held.previous_secret, provider.uid)
    held = replace(held, previous=None, previous_expires=None, previous_secret=None)
    await r.secret.write(held)
    why = "early, for a new rotation" if early else "its grace period ended"
    await r.writer.event(
        "Normal", c.SIP_CREDENTIAL_RETIRED, f"retired previous SIP credential {username} ({why})"
    )
    return held


async def _kept_for_livekit(r: SipRound, held: Held, username: str, what: str) -> bool:
    """Whether a LiveKitConnection's outbound trunk still uses the previous credential: then it stays
    in Twilio, `r.kept_for` names the connections, and a Warning Event says so when the wait starts."""
    users = r.livekit.using(username)
    if not users:
        return False
    r.kept_for = users
    recorded = r.provider.status.sip_credentials
    if recorded is None or not recorded.previous_kept_for:
        who = ", ".join(users)
        await r.writer.event(
            "Warning",
            c.SIP_RETIREMENT_WAITING,
            f"previous SIP credential {username} is kept ({what} waits): the LiveKit outbound trunk of "
            f"LiveKitConnection {who} still uses it; it goes once the connection has switched to "
            f"{held.username} (see the connection's status)",
        )
    return True


async def hand_over(r: SipRound, secret: SecretData | None) -> Held | None:
    """spec.sipCredentialsSecretName changed: the new Secret holds nothing yet, the old one (as the
    status recorded it, and ours) holds the current pair. The rename is a rotation: a new credential
    in the new Secret, the old one kept beside it as the previous pair for the grace period, the old
    Secret left untouched until then and deleted with the previous credential. None when there is
    nothing to hand over."""
    provider, deps = r.provider, r.deps
    old_name = provider.status.sip_credentials_secret_name
    if not old_name or old_name == provider.sip_secret_name:
        return None
    old = await deps.kube.read_secret(provider.namespace, old_name)
    current = read_held(provider, old)
    if old is None or current is None or provider.uid not in old.owner_uids:
        return None
    now = deps.clock()
    held = replace(next_pair(provider, deps, current, now), request=current.request, previous_secret=old_name)
    if not await r.secret.write(held, only_if_absent=secret is None):
        raise appeared(provider)
    until = rfc3339(held.previous_expires or now)
    await r.writer.event(
        "Normal",
        c.SIP_SECRET_RENAMED,
        f"SIP credentials moved from Secret {old_name} to {provider.sip_secret_name} with a new credential "
        f"{held.username}; {old_name} and its credential {current.username} keep working until {until}, "
        "then both are deleted",
    )
    return held


async def held_by_previous_secret(provider: Provider, deps: Deps, held: Held) -> set[str]:
    """The usernames the Secret of a rename's origin still holds during the grace period: they keep
    working until it is deleted, so they are not leftovers."""
    if held.previous_secret is None or held.previous is None:
        return set()
    old = await deps.kube.read_secret(provider.namespace, held.previous_secret)
    if old is None or provider.uid not in old.owner_uids:
        return set()
    pairs = (
        credentials.current_sip_pair(provider.uid, old.data, old.annotations),
        credentials.previous_sip_pair(provider.uid, old.data, old.annotations),
    )
    return {pair[0] for pair in pairs if pair is not None}


def next_pair(provider: Provider, deps: Deps, held: Held, now: datetime) -> Held:
    """A rotation's new current pair (pending), with `held`'s current pair kept as the previous one
    for the grace period."""
    created = int(now.timestamp())
    username = names.rotated_sip_username(provider.uid, created)
    while username == held.username:  # two rotations within one second
        created += 1
        username = names.rotated_sip_username(provider.uid, created)
    return Held(
        username=username,
        password=deps.new_password(),
        state=names.PENDING,
        previous=(held.username, held.password),
        previous_expires=now + grace_period(provider.spec.sip_credentials),
    )


# --------------------------------------------------------------------------- the schedule (pure)


def grace_period(spec: SipCredentialsSpec | None) -> timedelta:
    return parse_duration(spec.grace_period) if spec is not None else DEFAULT_GRACE


def credential_created(provider: Provider, username: str, now: datetime) -> datetime:
    """When the current credential was created: from its username, else as recorded, else now."""
    stamp = names.sip_username_created(provider.uid, username)
    if stamp is not None:
        return datetime.fromtimestamp(stamp, now.tzinfo)
    recorded = provider.status.sip_credentials
    if recorded is not None and recorded.username == username and recorded.created_at:
        return parse_rfc3339(recorded.created_at) or now
    return now


def next_rotation_at(provider: Provider, held: Held, now: datetime) -> datetime | None:
    spec = provider.spec.sip_credentials
    if spec is None or spec.rotation_interval is None:
        return None
    interval = max(parse_duration(spec.rotation_interval), MIN_ROTATION_INTERVAL)
    # Never overlap two grace periods: the next rotation waits for the previous pair to retire.
    return max(credential_created(provider, held.username, now) + interval, held.previous_expires or now)


def _pending_request(provider: Provider, held: Held) -> str | None:
    value = provider.annotations.get(names.ROTATE_SIP_CREDENTIALS)
    recorded = provider.status.sip_credentials
    handled = {held.request, recorded.last_rotation_request if recorded else None}
    return value if value and value not in handled else None


def rotation_requested(annotations: Mapping[str, str] | None, status: Mapping[str, Any]) -> bool:
    """Whether a TwilioProvider body asks for a rotation not handled yet (for the watch handler)."""
    value = (annotations or {}).get(names.ROTATE_SIP_CREDENTIALS)
    return bool(value) and value != (status.get("sipCredentials") or {}).get("lastRotationRequest")


def rotation_status(
    provider: Provider, held: Held, now: datetime, kept_for: tuple[str, ...] = ()
) -> SipCredentialsStatus:
    due = next_rotation_at(provider, held, now)
    return SipCredentialsStatus(
        username=held.username,
        created_at=rfc3339(credential_created(provider, held.username, now)),
        next_rotation_at=rfc3339(due) if due else None,
        previous_username=held.previous[0] if held.previous else None,
        previous_expires_at=rfc3339(held.previous_expires) if held.previous_expires else None,
        last_rotation_request=held.request,
        previous_kept_for=list(kept_for) if kept_for and held.previous else None,
    )


def seconds_until_next_step(status: SipCredentialsStatus | None, now: datetime) -> float | None:
    """Seconds until a rotation or a retirement is due (for the periodic loop), None if neither or if
    both wait for a LiveKitConnection (whose switch wakes the provider)."""
    if status is None or status.previous_kept_for:
        return None
    moments = [parse_rfc3339(t) for t in (status.next_rotation_at, status.previous_expires_at) if t]
    due = [(m - now).total_seconds() for m in moments if m is not None]
    return max(1.0, min(due)) if due else None
