"""The SIP credentials Secret: what it holds (`Held`), whether the provider may write it, how it is
read and written in one API call, and the one step that makes Twilio hold its current pair.

The Secret is the only place a password lives (Twilio never returns one), so every step writes the
Secret first whenever a password is born, and deletes from Twilio before it forgets a password
(provider/rotation.py, provider/sip_credential.py). See docs/rotation.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from twilio_operator.api import conditions as c
from twilio_operator.api import credentials, names, templating
from twilio_operator.api.errors import ErrorKind, KubernetesError, TwilioError
from twilio_operator.api.livekit import LiveKitLinks
from twilio_operator.api.ownership import sip_secret_problem
from twilio_operator.api.regions import ResolvedRegion
from twilio_operator.api.times import parse_rfc3339, rfc3339
from twilio_operator.api.twilio_values import Credential, Trunk
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.status import StatusWriter


@dataclass(frozen=True)
class Held:
    """What the SIP Secret holds (or will, once written): the pairs and the protocol's annotations."""

    username: str
    password: str = field(repr=False)
    state: str | None  # pending until Twilio has `password`, then applied
    previous: tuple[str, str] | None = field(default=None, repr=False)
    previous_expires: datetime | None = None
    request: str | None = None  # the rotate-sip-credentials value a rotation was started for
    previous_secret: str | None = None  # the Secret a rename moved the credentials from (rotation.py)


class SecretRefused(Exception):
    """The SIP Secret's name is taken by a Secret this provider cannot prove is its own."""


@dataclass
class SipRound:
    """One reconcile's work on the SIP credential: the provider, its ports, the credential list, and
    the Secret's writer. Passed to every step instead of their seven parameters."""

    provider: Provider
    deps: Deps
    writer: StatusWriter
    twilio: TwilioPort
    list_sid: str
    secret: SecretWriter
    livekit: LiveKitLinks = field(default_factory=LiveKitLinks)
    # The LiveKitConnections that hold back the previous credential's retirement (rotation.py).
    kept_for: tuple[str, ...] = ()

    @property
    def now(self) -> datetime:
        return self.writer.now


# --------------------------------------------------------------------------- reading the Secret


def refuse_unless_ours(provider: Provider, name: str, secret: SecretData | None) -> None:
    """Raise SecretRefused when `secret` exists and is not the provider's to write (api/ownership.py)."""
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


def read_held(provider: Provider, secret: SecretData | None) -> Held | None:
    """The Secret's pairs if the current one is intact (ours, fingerprint matches), else None."""
    if secret is None:
        return None
    current = credentials.current_sip_pair(provider.uid, secret.data, secret.annotations)
    if current is None:
        return None
    previous = credentials.previous_sip_pair(provider.uid, secret.data, secret.annotations)
    expires = parse_rfc3339(secret.annotations.get(names.PREVIOUS_EXPIRES_AT)) if previous else None
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


def read_previous(provider: Provider, secret: SecretData) -> tuple[tuple[str, str], datetime] | None:
    previous = credentials.previous_sip_pair(provider.uid, secret.data, secret.annotations)
    expires = parse_rfc3339(secret.annotations.get(names.PREVIOUS_EXPIRES_AT))
    return (previous, expires) if previous is not None and expires is not None else None


def appeared(provider: Provider) -> KubernetesError:
    """The SIP Secret was absent when read and exists when written: someone made it in between.
    Nothing was written to it; the retry reads it and decides whose it is."""
    return KubernetesError(
        "write Secret",
        409,
        "AlreadyExists",
        f"Secret {provider.sip_secret_name} was created by someone else meanwhile; looking again",
    )


# --------------------------------------------------------------------------- Twilio holds the current pair


async def ensure_current(r: SipRound, held: Held, existing: Credential | None) -> Held:
    """Twilio holds the current pair: create it, or set its password while the Secret says pending."""
    twilio, list_sid = r.twilio, r.list_sid
    if existing is None:
        try:
            existing = await twilio.create_credential(list_sid, held.username, held.password)
            await r.writer.event(
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
        await _settle_password(r, existing.sid, held)
        held = replace(held, state=names.APPLIED)
    return held


async def _settle_password(r: SipRound, credential_sid: str, held: Held) -> None:
    """Mark the Secret applied once Twilio holds the password that the Secret holds.

    A concurrent writer (a second operator by mistake) may have stored another password between our
    Secret write and our Twilio write; then Twilio gets the Secret's, so the last Secret write wins.
    When this reconcile wrote the password, the mark is made only if nobody wrote the Secret since
    (a precondition on our write's resourceVersion): no read is needed unless somebody did.
    """
    provider, kube = r.provider, r.deps.kube
    version = r.secret.written_version(held.password)
    applied = {names.PASSWORD_STATE: names.APPLIED}
    if version is not None and await kube.annotate_secret(
        provider.namespace, provider.sip_secret_name, applied, unchanged_since=version
    ):
        return
    password = held.password
    for _ in range(3):
        current = read_held(provider, await kube.read_secret(provider.namespace, provider.sip_secret_name))
        if current is None or current.username != held.username or current.password == password:
            break
        password = current.password
        await r.twilio.update_credential_password(r.list_sid, credential_sid, password)
    await kube.annotate_secret(provider.namespace, provider.sip_secret_name, applied)


# --------------------------------------------------------------------------- writing the Secret


class SecretWriter:
    """Writes a `Held` as the whole Secret: connection keys, both pairs, rendered template keys and
    the protocol's annotations, in one API call."""

    def __init__(self, provider: Provider, deps: Deps, connection: dict[str, str]) -> None:
        self.provider, self.deps, self.connection = provider, deps, connection
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
            "region": self.provider.region.shown,
            names.SIP_PREVIOUS_USERNAME: held.previous[0] if held.previous else "",
            names.SIP_PREVIOUS_PASSWORD: held.previous[1] if held.previous else "",
        }
        rendered, self.problems = templating.render_all(template.data, variables)
        return rendered, dict(template.labels), dict(template.annotations)

    def _desired(self, held: Held) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
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
        return {**data, **rendered}, labels, annotations

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
        """Whether the Secret already holds what `write(held)` would write: intact by the one rule
        the Secret watch applies too (credentials.sip_secret_intact), and rendered as the spec says."""
        if secret is None:
            return False
        if not credentials.sip_secret_intact(
            self.provider.uid, secret.data, secret.annotations, self.connection
        ):
            return False
        data, _, annotations = self._desired(held)
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
        data, labels, annotations = self._desired(held)
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


def sip_connection(uid: str, trunk: Trunk, region: ResolvedRegion) -> dict[str, str]:
    """The non-secret keys of the SIP Secret: where a voice platform dials with username and password."""
    return expected_sip_connection(uid, trunk.domain_name, trunk.sid, region)


def expected_sip_connection(uid: str, domain: str, trunk_sid: str, region: ResolvedRegion) -> dict[str, str]:
    return {
        names.SIP_DOMAIN: domain,
        names.SIP_TERMINATION_URI: names.termination_uri(domain, region),
        names.SIP_TRUNK_SID: trunk_sid,
    }
