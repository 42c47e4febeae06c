"""The SIP credential and its Secret: the password reaches the Secret (pending) before Twilio, then is
marked applied; rotation adds a second credential next to the first and retires the first later.

The Secret is the only place a password lives (Twilio never returns one), so every step writes the
Secret first whenever a password is born, and deletes from Twilio before it forgets a password:

    rotate   Secret: new pair current (pending), old pair kept as previous   -> 1 credential in Twilio
             Twilio: create the new credential                               -> 2, both in the Secret
             Secret: new pair marked applied
    retire   (after the grace period) Twilio: delete the previous credential -> 1, Secret still has both
             Secret: previous pair removed

A crash between any two writes leaves one or two credentials of ours in Twilio, each of whose
password the Secret holds; the next reconcile carries on from what it reads. See docs/rotation.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from twilio_operator.api import conditions as c
from twilio_operator.api import credentials, names, templating
from twilio_operator.api.conditions import ConditionUpdate, rfc3339
from twilio_operator.api.durations import parse_duration
from twilio_operator.api.errors import ErrorKind, KubernetesError, TwilioError
from twilio_operator.api.models import SipCredentialsSpec, SipCredentialsStatus
from twilio_operator.api.ownership import sip_secret_problem
from twilio_operator.api.regions import Region
from twilio_operator.api.twilio_values import Credential, CredentialList, Trunk
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter

DEFAULT_GRACE = timedelta(hours=1)
# A floor, so that a tiny rotationInterval cannot make a loop of rotations against the Twilio account.
MIN_ROTATION_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Held:
    """What the SIP Secret holds (or will, once written): the pairs and the protocol's annotations."""

    username: str
    password: str = field(repr=False)
    state: str | None  # pending until Twilio has `password`, then applied
    previous: tuple[str, str] | None = field(default=None, repr=False)
    previous_expires: datetime | None = None
    request: str | None = None  # the rotate-sip-credentials value a rotation was started for
    previous_secret: str | None = None  # the Secret a rename moved the credentials from (see _hand_over)


class SecretRefused(Exception):
    """The SIP Secret's name is taken by a Secret this provider cannot prove is its own."""


async def ensure_sip_credential(
    provider: Provider, deps: Deps, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk, cl: CredentialList
) -> None:
    """Converge the SIP credential, its Secret and its rotation; record the rotation state in status."""
    io = _SecretIO(provider, deps, writer, sip_connection(provider.uid, trunk, provider.spec.region))
    held = _first_pair(provider, deps) if _first_time(provider, writer, cl) else None
    try:
        if held is not None and await io.write(held, only_if_absent=True):
            listed: list[Credential] = []  # the list is this reconcile's own
        else:
            held, listed = await _held_in_secret(provider, deps, writer, io, twilio, cl)
    except SecretRefused as refused:
        # Nothing is written to a Secret that is not ours, so no password exists for Twilio either.
        writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "False", c.SECRET_NOT_OWNED, str(refused)))
        return

    by_username = {cr.username: cr for cr in listed}
    held = await _ensure_current(provider, deps, io, twilio, cl.sid, held, by_username.get(held.username))
    also_held = await _held_by_previous_secret(provider, deps, held)
    await _delete_leftovers(provider, writer, twilio, cl.sid, held, listed, also_held)
    held = await _retire_previous(provider, writer, io, twilio, cl.sid, held, by_username, deps.clock())
    held = await _rotate_if_due(provider, deps, writer, io, twilio, cl.sid, held)

    # Recorded once the Secret is ours and written: a rename's origin is read from here (_hand_over).
    writer.set(
        sip_credentials=rotation_status(provider, held, deps.clock()),
        sip_credentials_secret_name=provider.sip_secret_name,
    )
    if io.problems:
        message = "; ".join(problem.message for problem in io.problems)
        writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "False", c.TEMPLATE_INVALID, message))
    else:
        message = f"SIP credentials are in Secret {provider.sip_secret_name}"
        writer.condition(ConditionUpdate(c.SIP_CREDENTIALS_STORED, "True", c.STORED, message))


# --------------------------------------------------------------------------- reading the Secret


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


async def _held_in_secret(
    provider: Provider,
    deps: Deps,
    writer: StatusWriter,
    io: _SecretIO,
    twilio: TwilioPort,
    cl: CredentialList,
) -> tuple[Held, list[Credential]]:
    """The pairs the SIP Secret holds, after replacing a lost password or re-rendering a stale Secret;
    and the list's credentials (none listed when this reconcile created the list)."""
    secret = await deps.kube.read_secret(provider.namespace, provider.sip_secret_name)
    _refuse_unless_ours(provider, provider.sip_secret_name, secret)
    io.observe(secret)
    held = _read_held(provider, secret)
    # Listed before a lost password is replaced (a read, so the Secret is still written before Twilio
    # is told): a credential of ours in Twilio proves that a password existed and was lost.
    listed = [] if cl.sid in writer.created_now else await twilio.list_credentials(cl.sid)
    if held is None:
        held = await _hand_over(provider, deps, writer, io, secret)
    if held is None:
        ours_in_twilio = any(names.is_sip_username_of(provider.uid, cr.username) for cr in listed)
        held = await _replace_lost_password(provider, deps, writer, io, secret, ours_in_twilio)
    elif not io.matches(secret, held):
        # The trunk moved (recreated after drift) or the template changed: same pairs, new rendering.
        await io.write(held)
    return held, listed


def _refuse_unless_ours(provider: Provider, name: str, secret: SecretData | None) -> None:
    if secret is None:
        return
    problem = sip_secret_problem(
        provider.name,
        provider.uid,
        provider.spec.credentials_secret_ref.name,
        name,
        secret.owner_uids,
        secret.labels,
        secret.annotations,
    )
    if problem is not None:
        raise SecretRefused(problem)


async def _hand_over(
    provider: Provider, deps: Deps, writer: StatusWriter, io: _SecretIO, secret: SecretData | None
) -> Held | None:
    """spec.sipCredentialsSecretName changed: the new Secret holds nothing yet, the old one (as the
    status recorded it, and ours) holds the current pair. The rename is a rotation: a new credential
    in the new Secret, the old one kept beside it as the previous pair for the grace period, the old
    Secret left untouched until then and deleted with the previous credential (docs/rotation.md).
    None when there is nothing to hand over."""
    old_name = provider.status.sip_credentials_secret_name
    if not old_name or old_name == provider.sip_secret_name:
        return None
    old = await deps.kube.read_secret(provider.namespace, old_name)
    current = _read_held(provider, old)
    if old is None or current is None or provider.uid not in old.owner_uids:
        return None
    now = deps.clock()
    held = replace(
        _next_pair(provider, deps, current, now),
        request=current.request,
        previous_secret=old_name,
    )
    if not await io.write(held, only_if_absent=secret is None):
        raise _appeared(provider)
    until = rfc3339(held.previous_expires or now)
    await writer.event(
        "Normal",
        c.SIP_SECRET_RENAMED,
        f"SIP credentials moved from Secret {old_name} to {provider.sip_secret_name} with a new credential "
        f"{held.username}; {old_name} and its credential {current.username} keep working until {until}, "
        "then both are deleted",
    )
    return held


def _appeared(provider: Provider) -> KubernetesError:
    """The SIP Secret was absent when read and exists when written: someone made it in between.
    Nothing was written to it; the retry reads it and decides whose it is."""
    return KubernetesError(
        "write Secret",
        409,
        "AlreadyExists",
        f"Secret {provider.sip_secret_name} was created by someone else meanwhile; looking again",
    )


async def _held_by_previous_secret(provider: Provider, deps: Deps, held: Held) -> set[str]:
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


def _read_held(provider: Provider, secret: SecretData | None) -> Held | None:
    """The Secret's pairs if the current one is intact (ours, fingerprint matches), else None."""
    if secret is None:
        return None
    current = credentials.current_sip_pair(provider.uid, secret.data, secret.annotations)
    if current is None:
        return None
    previous = credentials.previous_sip_pair(provider.uid, secret.data, secret.annotations)
    expires = _parse_time(secret.annotations.get(names.PREVIOUS_EXPIRES_AT)) if previous else None
    if previous == current or (previous is not None and expires is None):
        previous, expires = None, None
    return Held(
        username=current[0],
        password=current[1],
        state=secret.annotations.get(names.PASSWORD_STATE),
        previous=previous,
        previous_expires=expires,
        request=secret.annotations.get(names.ROTATION_REQUEST),
        previous_secret=secret.annotations.get(names.PREVIOUS_SECRET) if previous else None,
    )


async def _replace_lost_password(
    provider: Provider,
    deps: Deps,
    writer: StatusWriter,
    io: _SecretIO,
    secret: SecretData | None,
    ours_in_twilio: bool,
) -> Held:
    """A Secret that is missing or was edited by hand gets a fresh password at once: Twilio cannot
    tell us the old one. The username stays the one consumers know, if it is still ours.

    It is a loss (Warning event) when the Secret exists, or when status or Twilio show that a
    password existed; the status alone is not enough, since a reconcile may run on a copy of the
    provider read before its first status was written."""
    in_secret = secret.text(names.SIP_USERNAME) if secret is not None else None
    recorded = provider.status.sip_credentials.username if provider.status.sip_credentials else None
    username = next(
        (u for u in (in_secret, recorded) if names.is_sip_username_of(provider.uid, u)),
        names.sip_username(provider.uid),
    )
    assert username is not None
    previous = None
    if secret is not None:  # a previous pair still intact keeps its grace period
        kept = _read_previous(provider, secret)
        if kept is not None and kept[0][0] != username:
            previous = kept
    held = replace(
        _first_pair(provider, deps),
        username=username,
        previous=previous[0] if previous else None,
        previous_expires=previous[1] if previous else None,
    )
    if not await io.write(held, only_if_absent=secret is None):
        raise _appeared(provider)
    recorded_secret = provider.status.sip_credentials_secret_name == provider.sip_secret_name
    if secret is not None or recorded_secret or ours_in_twilio:
        name = provider.sip_secret_name
        await writer.event(
            "Warning",
            c.SIP_CREDENTIAL_ROTATED,
            f"SIP credentials Secret {name} was deleted or edited; rotating the SIP password",
        )
    return held


def _read_previous(provider: Provider, secret: SecretData) -> tuple[tuple[str, str], datetime] | None:
    previous = credentials.previous_sip_pair(provider.uid, secret.data, secret.annotations)
    expires = _parse_time(secret.annotations.get(names.PREVIOUS_EXPIRES_AT))
    return (previous, expires) if previous is not None and expires is not None else None


# --------------------------------------------------------------------------- Twilio steps


async def _ensure_current(
    provider: Provider,
    deps: Deps,
    io: _SecretIO,
    twilio: TwilioPort,
    list_sid: str,
    held: Held,
    existing: Credential | None,
) -> Held:
    """Twilio holds the current pair: create it, or set its password while the Secret says pending."""
    if existing is None:
        try:
            existing = await twilio.create_credential(list_sid, held.username, held.password)
            await io.writer.event(
                "Normal", c.SIP_CREDENTIAL_CREATED, f"created SIP credential {held.username} in {list_sid}"
            )
        except TwilioError as error:
            # Created meanwhile by a concurrent reconcile (two operators running by mistake): take it over.
            # Judged by listing again, not by the code: Twilio documents none for a taken username.
            taken = error.kind is ErrorKind.REJECTED
            existing = {cr.username: cr for cr in await twilio.list_credentials(list_sid)}.get(held.username)
            if not taken or existing is None:
                raise
            await twilio.update_credential_password(list_sid, existing.sid, held.password)
    elif held.state == names.PENDING:
        await twilio.update_credential_password(list_sid, existing.sid, held.password)
    if held.state == names.PENDING:
        await _settle_password(provider, deps, io, twilio, list_sid, existing.sid, held)
        held = replace(held, state=names.APPLIED)
    return held


async def _settle_password(
    provider: Provider,
    deps: Deps,
    io: _SecretIO,
    twilio: TwilioPort,
    list_sid: str,
    credential_sid: str,
    held: Held,
) -> None:
    """Mark the Secret applied once Twilio holds the password that the Secret holds.

    A concurrent writer (a second operator by mistake) may have stored another password between our
    Secret write and our Twilio write; then Twilio gets the Secret's, so the last Secret write wins.
    When this reconcile wrote the password, the mark is made only if nobody wrote the Secret since
    (a precondition on our write's resourceVersion): no read is needed unless somebody did.
    """
    version = io.written_version(held.password)
    if version is not None and await deps.kube.annotate_secret(
        provider.namespace,
        provider.sip_secret_name,
        {names.PASSWORD_STATE: names.APPLIED},
        unchanged_since=version,
    ):
        return
    password = held.password
    for _ in range(3):
        secret = await deps.kube.read_secret(provider.namespace, provider.sip_secret_name)
        current = _read_held(provider, secret)
        if current is None or current.username != held.username or current.password == password:
            break
        password = current.password
        await twilio.update_credential_password(list_sid, credential_sid, password)
    await deps.kube.annotate_secret(
        provider.namespace, provider.sip_secret_name, {names.PASSWORD_STATE: names.APPLIED}
    )


async def _delete_leftovers(
    provider: Provider,
    writer: StatusWriter,
    twilio: TwilioPort,
    list_sid: str,
    held: Held,
    listed: list[Credential],
    also_held: set[str],
) -> None:
    """Credentials of ours that no Secret holds: nobody has their password; delete them, so that the
    list never creeps towards Twilio's 1,000 credentials. `also_held`: those in a renamed-from Secret."""
    keep = {held.username, *also_held} | ({held.previous[0]} if held.previous else set())
    for credential in listed:
        if credential.username in keep or not names.is_sip_username_of(provider.uid, credential.username):
            continue
        await twilio.delete_credential(list_sid, credential.sid)
        await writer.event(
            "Normal",
            c.SIP_CREDENTIAL_LEFTOVER_DELETED,
            f"deleted SIP credential {credential.username}: no Secret holds its password",
        )


async def _retire_previous(
    provider: Provider,
    writer: StatusWriter,
    io: _SecretIO,
    twilio: TwilioPort,
    list_sid: str,
    held: Held,
    by_username: dict[str, Credential],
    now: datetime,
    *,
    early: bool = False,
) -> Held:
    """After the grace period (or when a new rotation needs the slot), delete the previous credential:
    from Twilio first, then from the Secret, so no credential outlives the only copy of its password.
    A previous credential that is no longer in Twilio (deleted by hand) leaves the Secret at once."""
    if held.previous is None or held.previous_expires is None:
        return held
    gone = held.previous[0] not in by_username
    if not (early or gone or held.previous_expires <= now):
        return held
    username = held.previous[0]
    # A rename's origin goes with the credentials it held: the previous pair and its own previous one.
    retired = {username, *await _held_by_previous_secret(provider, io.deps, held)} - {held.username}
    for name in sorted(retired & set(by_username)):
        await twilio.delete_credential(list_sid, by_username[name].sid)
    if held.previous_secret is not None:
        await io.deps.kube.delete_owned_secret(provider.namespace, held.previous_secret, provider.uid)
    held = replace(held, previous=None, previous_expires=None, previous_secret=None)
    await io.write(held)
    why = "early, for a new rotation" if early else "its grace period ended"
    await writer.event(
        "Normal", c.SIP_CREDENTIAL_RETIRED, f"retired previous SIP credential {username} ({why})"
    )
    return held


async def _rotate_if_due(
    provider: Provider,
    deps: Deps,
    writer: StatusWriter,
    io: _SecretIO,
    twilio: TwilioPort,
    list_sid: str,
    held: Held,
) -> Held:
    """Start a rotation when one was asked for (annotation) or the interval is up."""
    now = deps.clock()
    request = _pending_request(provider, held)
    due_at = next_rotation_at(provider, held, now)
    if request is None and (due_at is None or due_at > now):
        return held
    if held.previous is not None:
        listed = {cr.username: cr for cr in await twilio.list_credentials(list_sid)}
        held = await _retire_previous(provider, writer, io, twilio, list_sid, held, listed, now, early=True)
    rotated = replace(_next_pair(provider, deps, held, now), request=request or held.request)
    username = rotated.username
    grace = grace_period(provider.spec.sip_credentials)
    await io.write(rotated)
    why = f"asked for by annotation ({request})" if request else "rotationInterval is up"
    await writer.event(
        "Normal",
        c.SIP_CREDENTIAL_ROTATING,
        f"rotating the SIP credential, {why}: "
        f"new username {username} is in Secret {provider.sip_secret_name}",
    )
    rotated = await _ensure_current(provider, deps, io, twilio, list_sid, rotated, None)
    await writer.event(
        "Normal",
        c.SIP_CREDENTIAL_ROTATED,
        f"SIP credential {username} is current; {held.username} keeps working until {rfc3339(now + grace)}",
    )
    return rotated


def _next_pair(provider: Provider, deps: Deps, held: Held, now: datetime) -> Held:
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


# --------------------------------------------------------------------------- schedule and status


def grace_period(spec: SipCredentialsSpec | None) -> timedelta:
    return parse_duration(spec.grace_period) if spec is not None else DEFAULT_GRACE


def credential_created(provider: Provider, username: str, now: datetime) -> datetime:
    """When the current credential was created: from its username, else as recorded, else now."""
    stamp = names.sip_username_created(provider.uid, username)
    if stamp is not None:
        return datetime.fromtimestamp(stamp, now.tzinfo)
    recorded = provider.status.sip_credentials
    if recorded is not None and recorded.username == username and recorded.created_at:
        return _parse_time(recorded.created_at) or now
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


def rotation_status(provider: Provider, held: Held, now: datetime) -> SipCredentialsStatus:
    due = next_rotation_at(provider, held, now)
    return SipCredentialsStatus(
        username=held.username,
        created_at=rfc3339(credential_created(provider, held.username, now)),
        next_rotation_at=rfc3339(due) if due else None,
        previous_username=held.previous[0] if held.previous else None,
        previous_expires_at=rfc3339(held.previous_expires) if held.previous_expires else None,
        last_rotation_request=held.request,
    )


def seconds_until_next_step(status: SipCredentialsStatus | None, now: datetime) -> float | None:
    """Seconds until a rotation or a retirement is due (for the periodic loop), None if neither."""
    if status is None:
        return None
    moments = [_parse_time(t) for t in (status.next_rotation_at, status.previous_expires_at) if t]
    due = [(m - now).total_seconds() for m in moments if m is not None]
    return max(1.0, min(due)) if due else None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- writing the Secret


class _SecretIO:
    """Writes a `Held` as the whole Secret: connection keys, both pairs, rendered template keys and
    the protocol's annotations, in one API call."""

    def __init__(
        self, provider: Provider, deps: Deps, writer: StatusWriter, connection: dict[str, str]
    ) -> None:
        self.provider, self.deps, self.writer, self.connection = provider, deps, writer, connection
        self.problems: list[templating.TemplateProblem] = []
        self._previous_template_keys: set[str] | None = None
        self._last_write: tuple[str, str] | None = None  # (resourceVersion, password) of our last write

    def written_version(self, password: str) -> str | None:
        """The resourceVersion of this reconcile's last write of the Secret, if it wrote `password`."""
        if self._last_write is None or self._last_write[1] != password:
            return None
        return self._last_write[0]

    def _template(self, held: Held) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """(rendered data, labels, annotations) of the spec's template."""
        spec = self.provider.spec.sip_credentials
        template = spec.template if spec is not None else None
        if template is None:
            self.problems = []
            return {}, {}, {}
        variables = {
            **self.connection,
            names.SIP_USERNAME: held.username,
            names.SIP_PASSWORD: held.password,
            "region": self.provider.spec.region or "us1",
            names.SIP_PREVIOUS_USERNAME: held.previous[0] if held.previous else "",
            names.SIP_PREVIOUS_PASSWORD: held.previous[1] if held.previous else "",
        }
        rendered, self.problems = templating.render_all(template.data, variables)
        return rendered, dict(template.labels), dict(template.annotations)

    def _desired(self, held: Held) -> tuple[dict[str, str], dict[str, str], dict[str, str], set[str]]:
        rendered, labels, extra_annotations = self._template(held)
        data = {**self.connection, names.SIP_USERNAME: held.username, names.SIP_PASSWORD: held.password}
        annotations = {
            **extra_annotations,
            names.PASSWORD_FINGERPRINT: credentials.password_fingerprint(self.provider.uid, held.password),
            names.TEMPLATE_KEYS: ",".join(sorted({*rendered, *(p.key for p in self.problems)})),
        }
        if held.state is not None:
            annotations[names.PASSWORD_STATE] = held.state
        if held.request is not None:
            annotations[names.ROTATION_REQUEST] = held.request
        if held.previous is not None and held.previous_expires is not None:
            data[names.SIP_PREVIOUS_USERNAME], data[names.SIP_PREVIOUS_PASSWORD] = held.previous
            annotations[names.PREVIOUS_FINGERPRINT] = credentials.password_fingerprint(
                self.provider.uid, held.previous[1]
            )
            annotations[names.PREVIOUS_EXPIRES_AT] = rfc3339(held.previous_expires)
            if held.previous_secret is not None:
                annotations[names.PREVIOUS_SECRET] = held.previous_secret
        failed = {p.key for p in self.problems}  # a key that fails keeps what it had
        return {**data, **rendered}, labels, annotations, failed

    def observe(self, secret: SecretData | None) -> None:
        """Remember which template keys the Secret had, so that keys dropped from the template go."""
        raw = secret.annotations.get(names.TEMPLATE_KEYS) if secret is not None else None
        self._previous_template_keys = {k for k in (raw or "").split(",") if k}

    def _stale_keys(self) -> set[str]:
        spec = self.provider.spec.sip_credentials
        wanted = set(spec.template.data) if spec is not None and spec.template is not None else set()
        before = self._previous_template_keys or set()
        return {k for k in before - wanted if k not in names.STANDARD_SIP_KEYS}

    def matches(self, secret: SecretData | None, held: Held) -> bool:
        """Whether the Secret already holds what `write(held)` would write."""
        if secret is None:
            return False
        data, _, annotations, _ = self._desired(held)
        previous_left = held.previous is None and secret.data.get(names.SIP_PREVIOUS_USERNAME) is not None
        return (
            not self._stale_keys()
            and not previous_left
            and all(secret.text(k) == v for k, v in data.items())
            and all(secret.annotations.get(k) == v for k, v in annotations.items())
        )

    async def write(self, held: Held, *, only_if_absent: bool = False) -> bool:
        """Write the Secret; with `only_if_absent`, only create it: False if it exists already."""
        p = self.provider
        data, labels, annotations, _ = self._desired(held)
        remove_keys = self._stale_keys()
        remove_annotations: set[str] = set()
        if held.previous is None:
            remove_keys |= {names.SIP_PREVIOUS_USERNAME, names.SIP_PREVIOUS_PASSWORD}
            remove_annotations |= {names.PREVIOUS_FINGERPRINT, names.PREVIOUS_EXPIRES_AT}
        if held.previous_secret is None:
            remove_annotations.add(names.PREVIOUS_SECRET)
        version = await self.deps.kube.write_secret(
            p.namespace,
            p.sip_secret_name,
            data,
            {**annotations, names.SIP_SECRET_OF: p.name},
            p.ref,
            labels=labels,
            remove_keys=remove_keys,
            remove_annotations=remove_annotations,
            only_if_absent=only_if_absent,
        )
        if version is None:
            return False
        self._previous_template_keys = {k for k in annotations[names.TEMPLATE_KEYS].split(",") if k}
        self._last_write = (version, held.password)
        return True


# --------------------------------------------------------------------------- connection keys


def sip_connection(uid: str, trunk: Trunk, region: Region | None) -> dict[str, str]:
    """The non-secret keys of the SIP Secret: where a voice platform dials with username and password."""
    return expected_sip_connection(uid, trunk.domain_name, trunk.sid, region)


def expected_sip_connection(uid: str, domain: str, trunk_sid: str, region: Region | None) -> dict[str, str]:
    return {
        names.SIP_DOMAIN: domain,
        names.SIP_TERMINATION_URI: names.termination_uri(domain, region),
        names.SIP_TRUNK_SID: trunk_sid,
    }
