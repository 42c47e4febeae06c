"""The level-based reconcile of a TwilioProvider: observe, decide, act; safe to repeat and to crash.

One function serves create, update, resume, the periodic verification and a
change of the credentials Secret. It reads what exists in Twilio and in the
cluster and converges it. Every Twilio SID is written to status as soon as it
is known; a lost write is recovered by finding the resource again by its
UID-derived name. The SIP password reaches its Secret before it reaches Twilio.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twilio_operator import conditions as c
from twilio_operator import metrics, plan
from twilio_operator.conditions import ConditionUpdate, merge_conditions, rfc3339
from twilio_operator.errors import ErrorKind, TwilioError
from twilio_operator.k8s_gateway import KubernetesPort, ObjectRef, SecretData
from twilio_operator.models import (
    AvailableNumber,
    Condition,
    OriginationUri,
    TwilioProviderSpec,
    TwilioProviderStatus,
    VerificationDetail,
    dump,
)
from twilio_operator.twilio_gateway import (
    Account,
    CredentialList,
    NumberPage,
    OriginationUrl,
    Trunk,
    TwilioConnector,
    TwilioCredentials,
    TwilioPort,
)

log = logging.getLogger(__name__)
PLURAL = "twilioproviders"
PHONE_NUMBERS_PLURAL = "twiliophonenumbers"
AVAILABLE_NUMBERS_SHOWN = 100
MAX_DOMAIN_ATTEMPTS = 5
USERNAME_TAKEN = 21623  # Twilio: "Username ... already exists in this list"
ALREADY_ATTACHED = 20409  # Twilio: "Credential list is already associated with this trunk"


@dataclass(frozen=True)
class Provider:
    """What a reconcile needs of a TwilioProvider object."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: TwilioProviderSpec
    status: TwilioProviderStatus
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("TwilioProvider", self.namespace, self.name, self.uid)

    @property
    def sip_secret_name(self) -> str:
        return plan.sip_secret_name(self.name, self.spec.sip_credentials_secret_name)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Provider:
        meta = body["metadata"]
        return cls(
            namespace=meta["namespace"],
            name=meta["name"],
            uid=meta["uid"],
            generation=int(meta.get("generation") or 0),
            spec=TwilioProviderSpec.model_validate(body.get("spec") or {}),
            status=TwilioProviderStatus.model_validate(body.get("status") or {}),
            annotations=dict(meta.get("annotations") or {}),
        )


@dataclass
class Deps:
    """The ports a reconcile works through, plus what it needs to be deterministic in tests."""

    twilio: TwilioConnector
    kube: KubernetesPort
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    new_password: Callable[[], str] = plan.generate_password


@dataclass(frozen=True)
class Outcome:
    """How a reconcile ended. `blocked` means waiting on the user (a Secret), not on Twilio."""

    ready: bool
    blocked: bool = False
    message: str = ""
    detached_numbers: tuple[str, ...] = ()  # TwilioPhoneNumber objects whose number left the trunk


class StatusWriter:
    """Accumulates status changes; writes them at once when a SID must not be lost."""

    def __init__(self, provider: Provider, deps: Deps) -> None:
        self._provider = provider
        self._deps = deps
        self.status = provider.status
        self.now = deps.clock()
        # While a provider is provisioned for the first time, the Normal events of each step are
        # folded into the one Provisioned event: one API write instead of five per new provider.
        self.folding = provider.status.trunk_sid is None
        self.folded: list[str] = []

    def set(self, **fields: Any) -> None:
        self.status = self.status.model_copy(update=fields)

    def condition(self, *updates: ConditionUpdate) -> None:
        merged = merge_conditions(self.status.conditions, updates, self._provider.generation, self.now)
        self.set(conditions=merged)

    async def flush(self) -> None:
        p = self._provider
        await self._deps.kube.patch_status(PLURAL, p.namespace, p.name, dump(self.status))
        metrics.STATES.record(p.uid, p.namespace, p.name, provider_health(self.status))

    async def event(self, type_: str, reason: str, message: str) -> None:
        if self.folding and type_ == "Normal":
            self.folded.append(message)
            return
        await self._deps.kube.post_event(self._provider.ref, type_, reason, message)

    async def unfold(self, reason: str, summary: str = "") -> None:
        """Post the folded steps: in `reason`'s event after `summary`, or each on its own if none."""
        folded, self.folded, self.folding = self.folded, [], False
        if summary:
            await self.event("Normal", reason, "; ".join([summary, *folded]))
            return
        for message in folded:
            await self.event("Normal", reason, message)


def provider_health(status: TwilioProviderStatus) -> metrics.ObjectHealth:
    ready = c.find(status.conditions, c.READY)
    verified = status.verification_status in ("verified", "warning") and status.last_verified_at
    return metrics.ObjectHealth(
        kind="TwilioProvider",
        ready=ready is not None and ready.status == "True",
        verification_status=status.verification_status,
        last_verified=_unix(status.last_verified_at) if verified and status.last_verified_at else None,
    )


def _unix(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- entry point


async def reconcile_provider(provider: Provider, deps: Deps) -> Outcome:
    """Converge Twilio and the SIP Secret to the spec; verify; write status. Raises TwilioError to retry."""
    writer = StatusWriter(provider, deps)
    writer.set(
        provider_type="twilio",
        region=provider.spec.region or "us1",
        supports_call_transfer=provider.spec.supports_call_transfer,
        sip_credentials_secret_name=provider.sip_secret_name,
    )
    credentials = await _read_credentials(provider, deps)
    if isinstance(credentials, plan.CredentialProblem):
        return await _blocked_on_credentials(writer, credentials)
    twilio = deps.twilio.connect(credentials)
    try:
        return await _converge(provider, deps, writer, twilio, credentials)
    except TwilioError as error:
        await writer.unfold("Progressing")  # what did get done before the failure
        await _record_twilio_failure(writer, error)
        raise


async def _read_credentials(provider: Provider, deps: Deps) -> TwilioCredentials | plan.CredentialProblem:
    ref = provider.spec.credentials_secret_ref
    secret = await deps.kube.read_secret(provider.namespace, ref.name)
    return plan.parse_credentials(
        ref,
        provider.namespace,
        secret.data if secret else None,
        provider.spec.account_sid,
        provider.spec.region,
    )


async def _blocked_on_credentials(writer: StatusWriter, problem: plan.CredentialProblem) -> Outcome:
    previous = c.find(writer.status.conditions, c.CREDENTIALS_VERIFIED)
    writer.condition(
        ConditionUpdate(c.CREDENTIALS_VERIFIED, "False", problem.reason, problem.message),
        ConditionUpdate(c.READY, "False", problem.reason, problem.message),
    )
    if writer.status.verification_status is None:
        writer.set(verification_status="pending")
    await writer.flush()
    if previous is None or previous.reason != problem.reason:
        await writer.event("Warning", problem.reason, problem.message)
    return Outcome(ready=False, blocked=True, message=problem.message)


async def _record_twilio_failure(writer: StatusWriter, error: TwilioError) -> None:
    if error.kind is ErrorKind.AUTH:
        reason = c.ACCOUNT_INACTIVE if error.account_inactive else c.AUTH_FAILED
        stage = ConditionUpdate(c.CREDENTIALS_VERIFIED, "False", reason, str(error))
    elif error.kind is ErrorKind.TRANSIENT:
        reason = c.TWILIO_UNAVAILABLE
        stage = None
    else:
        reason = c.TWILIO_REJECTED
        stage = None
    updates = [ConditionUpdate(c.READY, "False", reason, str(error))]
    if stage is not None:
        updates.append(stage)
    was_ready = (ready := c.find(writer.status.conditions, c.READY)) is not None and ready.status == "True"
    writer.condition(*updates)
    await writer.flush()
    if error.kind is not ErrorKind.TRANSIENT or was_ready:
        await writer.event("Warning", reason, str(error))


# --------------------------------------------------------------------------- converge


@dataclass(frozen=True)
class Observed:
    """One parallel read of the account: the seed's four verification checks, and what they return."""

    account: Account | TwilioError
    trunks: list[Trunk] | TwilioError
    lists: list[CredentialList] | TwilioError
    numbers: NumberPage | TwilioError


async def _observe(twilio: TwilioPort) -> Observed:
    results = await asyncio.gather(
        twilio.fetch_account(),
        twilio.list_trunks(),
        twilio.list_credential_lists(),
        twilio.page_incoming_numbers(AVAILABLE_NUMBERS_SHOWN),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, TwilioError):
            raise result
    account, trunks, lists, numbers = results
    return Observed(account, trunks, lists, numbers)  # type: ignore[arg-type]


def _access_checks(observed: Observed) -> list[plan.Check]:
    checks: list[plan.Check] = []
    account = observed.account
    if isinstance(account, TwilioError):
        checks.append(plan.Check("accountActive", "failed", str(account)))
    elif account.status != "active":
        checks.append(plan.Check("accountActive", "failed", f"account is {account.status}"))
    else:
        checks.append(plan.Check("accountActive", "passed", "account is active", (("type", account.type),)))
    for name, result, what in (
        ("sipTrunkingAccess", observed.trunks, "SIP trunks are readable"),
        ("credentialListAccess", observed.lists, "credential lists are readable"),
    ):
        checks.append(
            plan.Check(name, "failed", str(result))
            if isinstance(result, TwilioError)
            else plan.Check(name, "passed", what)
        )
    numbers = observed.numbers
    if isinstance(numbers, TwilioError):
        checks.append(plan.Check("phoneNumbersAccess", "failed", str(numbers)))
    else:
        checks.append(
            plan.Check(
                "phoneNumbersAccess",
                "passed",
                f"{numbers.total} incoming phone numbers",
                (("count", str(numbers.total)),),
            )
        )
    return checks


def _first_blocking_error(observed: Observed) -> TwilioError | None:
    """A transient error anywhere means "try again"; otherwise the first failure explains the rest."""
    errors = [
        r
        for r in (observed.account, observed.trunks, observed.lists, observed.numbers)
        if isinstance(r, TwilioError)
    ]
    transient = [e for e in errors if e.kind is ErrorKind.TRANSIENT]
    candidates = transient or errors
    return candidates[0] if candidates else None


def _details(checks: list[plan.Check], now: datetime) -> list[VerificationDetail]:
    stamp = rfc3339(now)
    return [
        VerificationDetail(
            check_name=check.name,
            status=check.status,
            message=check.message,
            timestamp=stamp,
            details=dict(check.details),
        )
        for check in checks
    ]


async def _converge(
    provider: Provider, deps: Deps, writer: StatusWriter, twilio: TwilioPort, credentials: TwilioCredentials
) -> Outcome:
    observed = await _observe(twilio)
    checks = _access_checks(observed)
    blocking = _first_blocking_error(observed)
    inactive = isinstance(observed.account, Account) and observed.account.status != "active"
    if blocking is not None or inactive:
        writer.set(
            verification_status="failed",
            verification_details=_details(checks, writer.now),
            last_verified_at=rfc3339(writer.now),
        )
        if blocking is not None and blocking.kind is ErrorKind.TRANSIENT:
            raise blocking
        if blocking is None:
            assert isinstance(observed.account, Account)
            blocking = TwilioError(
                "use the Twilio account",
                ErrorKind.AUTH,
                code=20005,
                detail=f"account {observed.account.sid} is {observed.account.status}",
            )
        raise blocking
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    assert isinstance(observed.numbers, NumberPage)
    writer.condition(
        ConditionUpdate(c.CREDENTIALS_VERIFIED, "True", c.VERIFIED, "Twilio accepted the credentials")
    )

    trunk, credential_list = await _ensure_trunk_and_list(provider, writer, twilio, observed)
    domain = trunk.domain_name
    writer.set(
        trunk_sid=trunk.sid,
        trunk_domain_name=domain,
        termination_uri=plan.termination_uri(domain, provider.spec.region),
        credential_list_sid=credential_list.sid,
    )
    if writer.status != provider.status:
        await writer.flush()  # record SIDs at once: Twilio just told us something we must not lose

    # Independent convergence steps, in parallel.
    attached, _, _, _, _ = await asyncio.gather(
        _ensure_list_attached(writer, twilio, trunk, credential_list),
        _ensure_trunk_settings(provider, writer, twilio, trunk),
        _ensure_voice_region(provider, twilio, trunk),
        _ensure_origination_urls(provider, writer, twilio, trunk),
        _ensure_sip_credential(provider, deps, writer, twilio, trunk, credential_list),
    )
    numbers = observed.numbers
    imported = await _imported_numbers(provider, deps)
    detached = [n for n in imported if numbers.trunk_of.get(n.sid) != trunk.sid]
    checks += [
        plan.Check("trunk", "passed", f"trunk {trunk.sid} ({domain}) exists"),
        plan.Check("credentialListAttached", "passed", attached),
        _numbers_check(imported, detached, numbers),
    ]
    writer.set(
        verification_status=plan.verdict(checks),
        verification_details=_details(checks, writer.now),
        last_verified_at=rfc3339(writer.now),
        account_phone_number_count=numbers.total,
        phone_number_count=len(imported) - len(detached),
        available_numbers=[
            AvailableNumber(phone_number=n.phone_number, sid=n.sid, voice=n.voice, trunk_sid=n.trunk_sid)
            for n in numbers.numbers
        ],
        observed_generation=provider.generation,
    )
    was_ready = (ready := c.find(provider.status.conditions, c.READY)) is not None and ready.status == "True"
    message = f"trunk {trunk.sid} ready at {writer.status.termination_uri}"
    writer.condition(
        ConditionUpdate(
            c.TRUNK_PROVISIONED,
            "True",
            c.PROVISIONED,
            f"trunk {trunk.sid} with credential list {credential_list.sid}",
        ),
        ConditionUpdate(c.READY, "True", c.PROVISIONED, message),
    )
    await writer.flush()
    if not was_ready:
        await writer.unfold(c.PROVISIONED, message)
    await _verification_events(writer, provider.status.verification_status, checks)
    return Outcome(ready=True, message=message, detached_numbers=tuple(n.name for n in detached))


async def _verification_events(writer: StatusWriter, before: str | None, checks: list[plan.Check]) -> None:
    """Events for the verification transitions a human cares about."""
    after = writer.status.verification_status
    if before == after:
        return
    if after == "warning":
        warnings = "; ".join(check.message for check in checks if check.status == "warning")
        await writer.event("Warning", c.VERIFICATION_WARNING, warnings)
    elif before in ("failed", "warning") and after == "verified":
        await writer.event("Normal", "VerificationRecovered", f"verification passed again (was {before})")


# --------------------------------------------------------------------------- trunk and credential list


async def _ensure_trunk_and_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, observed: Observed
) -> tuple[Trunk, CredentialList]:
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    found_trunk = _find_trunk(provider, observed.trunks)
    found_list = _find_credential_list(provider, observed.lists)

    async def trunk() -> Trunk:
        return found_trunk or await _create_trunk(provider, writer, twilio)

    async def credential_list() -> CredentialList:
        return found_list or await _create_credential_list(provider, writer, twilio)

    return await asyncio.gather(trunk(), credential_list())


def _find_trunk(provider: Provider, trunks: list[Trunk]) -> Trunk | None:
    """By recorded SID, else by our domain (the newest recreation wins)."""
    by_sid = {t.sid: t for t in trunks}
    if provider.status.trunk_sid in by_sid:
        return by_sid[provider.status.trunk_sid]
    ours = [(plan.domain_recreation(provider.uid, t.domain_name), t) for t in trunks]
    candidates = sorted(((n, t) for n, t in ours if n is not None), key=lambda pair: pair[0])
    return candidates[-1][1] if candidates else None


def _find_credential_list(provider: Provider, lists: list[CredentialList]) -> CredentialList | None:
    for credential_list in lists:
        if credential_list.sid == provider.status.credential_list_sid:
            return credential_list
    return next((cl for cl in lists if plan.is_our_credential_list(cl.friendly_name, provider.uid)), None)


async def _create_trunk(provider: Provider, writer: StatusWriter, twilio: TwilioPort) -> Trunk:
    recreations = provider.status.trunk_recreations or 0
    if provider.status.trunk_sid:
        # We had a trunk and it is gone: someone deleted it in Twilio. Its domain stays reserved.
        recreations += 1
    for _ in range(MAX_DOMAIN_ATTEMPTS):
        domain = plan.trunk_domain(provider.uid, recreations)
        try:
            trunk = await twilio.create_trunk(
                plan.trunk_friendly_name(provider.spec.display_name),
                domain,
                plan.transfer_mode(provider.spec.supports_call_transfer),
            )
        except TwilioError as error:
            if error.code != 21248:
                raise
            # Taken: either our own create whose answer was lost, or a reserved domain of ours.
            existing = next((t for t in await twilio.list_trunks() if t.domain_name == domain), None)
            if existing is not None:
                trunk = existing
            else:
                recreations += 1
                continue
        writer.set(trunk_recreations=recreations or None)
        if provider.status.trunk_sid:
            await writer.event(
                "Warning",
                "TrunkRecreated",
                f"trunk {provider.status.trunk_sid} was deleted in Twilio; "
                f"created {trunk.sid} ({trunk.domain_name})",
            )
        else:
            await writer.event("Normal", "TrunkCreated", f"created trunk {trunk.sid} ({trunk.domain_name})")
        return trunk
    raise TwilioError(
        "create SIP trunk", ErrorKind.REJECTED, code=21248, detail="every candidate domain is taken"
    )


async def _create_credential_list(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort
) -> CredentialList:
    credential_list = await twilio.create_credential_list(
        plan.credential_list_name(provider.spec.display_name, provider.uid)
    )
    await writer.event("Normal", "CredentialListCreated", f"created credential list {credential_list.sid}")
    return credential_list


async def _ensure_list_attached(
    writer: StatusWriter, twilio: TwilioPort, trunk: Trunk, cl: CredentialList
) -> str:
    if cl.sid in await twilio.list_trunk_credential_lists(trunk.sid):
        return f"credential list {cl.sid} is attached"
    try:
        await twilio.attach_credential_list(trunk.sid, cl.sid)
    except TwilioError as error:
        if error.code != ALREADY_ATTACHED:
            raise
        return f"credential list {cl.sid} is attached"  # by a concurrent reconcile meanwhile
    await writer.event(
        "Normal", "CredentialListAttached", f"attached credential list {cl.sid} to trunk {trunk.sid}"
    )
    return f"credential list {cl.sid} attached"


async def _ensure_trunk_settings(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk
) -> None:
    """Only write what differs: friendly name and transfer mode."""
    name = plan.trunk_friendly_name(provider.spec.display_name)
    mode = plan.transfer_mode(provider.spec.supports_call_transfer)
    changes = {
        "friendly_name": name if trunk.friendly_name != name else None,
        "transfer_mode": mode if trunk.transfer_mode != mode else None,
    }
    if not any(changes.values()):
        return
    await twilio.update_trunk(trunk.sid, **changes)
    fields = ", ".join(k for k, v in changes.items() if v)
    await writer.event("Normal", "TrunkUpdated", f"set {fields} of trunk {trunk.sid}")


async def _ensure_voice_region(provider: Provider, twilio: TwilioPort, trunk: Trunk) -> None:
    region = plan.client_region(provider.spec.region)
    if region is None:
        return
    if await twilio.fetch_voice_region(trunk.domain_name) != region:
        await twilio.update_voice_region(trunk.domain_name, region)


async def _ensure_origination_urls(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, trunk: Trunk
) -> None:
    """Make the trunk's origination URLs exactly the spec's, matched by SIP URL."""
    wanted = {u.sip_url: u for u in provider.spec.origination_uris}
    existing = await twilio.list_origination_urls(trunk.sid) if wanted or provider.status.trunk_sid else []
    by_url = {o.sip_url: o for o in existing}
    work: list[Awaitable[Any]] = []
    for sip_url, spec in wanted.items():
        desired = _origination(provider, spec, by_url[sip_url].sid if sip_url in by_url else "")
        current = by_url.get(sip_url)
        if current is None:
            work.append(twilio.create_origination_url(trunk.sid, desired))
        elif current != desired:
            work.append(twilio.update_origination_url(trunk.sid, desired))
    work += [
        twilio.delete_origination_url(trunk.sid, o.sid) for url, o in by_url.items() if url not in wanted
    ]
    if work:
        await asyncio.gather(*work)
        await writer.event(
            "Normal", "OriginationUpdated", f"synced {len(wanted)} origination URIs of trunk {trunk.sid}"
        )


def _origination(provider: Provider, spec: OriginationUri, sid: str) -> OriginationUrl:
    return OriginationUrl(
        sid=sid,
        sip_url=spec.sip_url,
        priority=spec.priority,
        weight=spec.weight,
        enabled=spec.enabled,
        friendly_name=plan.tagged_name(provider.spec.display_name, provider.uid),
    )


# --------------------------------------------------------------------------- SIP credential


async def _ensure_sip_credential(
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
    existing = {cr.username: cr for cr in await twilio.list_credentials(cl.sid)}.get(username)
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


@dataclass(frozen=True)
class ImportedNumber:
    name: str
    sid: str
    phone_number: str


async def _imported_numbers(provider: Provider, deps: Deps) -> list[ImportedNumber]:
    """TwilioPhoneNumber objects that attached their number to this provider's trunk."""
    objects = await deps.kube.list_objects(PHONE_NUMBERS_PLURAL, provider.namespace)
    imported = []
    for obj in objects:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if obj["metadata"].get("deletionTimestamp"):
            continue  # being detached right now
        if (
            (spec.get("providerRef") or {}).get("name") == provider.name
            and status.get("sid")
            and status.get("trunkSid")
        ):
            imported.append(
                ImportedNumber(obj["metadata"]["name"], status["sid"], status.get("phoneNumber", ""))
            )
    return imported


def _numbers_check(
    imported: list[ImportedNumber], detached: list[ImportedNumber], page: NumberPage
) -> plan.Check:
    """The original product's fourth check: imported numbers must still be on the trunk."""
    if not detached:
        return plan.Check(
            "phoneNumbersOnTrunk", "passed", f"{len(imported)} imported numbers are on the trunk"
        )
    listed = ", ".join(f"{n.phone_number or n.sid}" for n in detached[:10])
    gone = [n for n in detached if n.sid not in page.trunk_of]
    return plan.Check(
        "phoneNumbersOnTrunk",
        "warning",
        f"{len(detached)} imported numbers are no longer on the trunk: {listed}; re-attaching",
        (("detached", str(len(detached))), ("missingFromAccount", str(len(gone)))),
    )


def ready_condition(status: TwilioProviderStatus) -> Condition | None:
    return c.find(status.conditions, c.READY)
