"""The level-based reconcile of a TwilioProvider: observe, decide, act; safe to repeat and to crash.

One function serves create, update, resume, the periodic verification and a
change of the credentials Secret. It reads what exists in Twilio and in the
cluster and converges it. Every Twilio SID is written to status as soon as it
is known; a lost write is recovered by finding the resource again by its
UID-derived name. The SIP password reaches its Secret before it reaches Twilio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.conditions import ConditionUpdate, rfc3339
from twilio_operator.api.credentials import CredentialProblem, TwilioCredentials, parse_credentials
from twilio_operator.api.errors import ErrorKind, KubernetesError, TwilioError
from twilio_operator.api.models import PROVIDER, AvailableNumber
from twilio_operator.api.quotas import QuotaExceeded
from twilio_operator.api.twilio_values import Account, NumberPage
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.adoption import adoption_problem
from twilio_operator.provider.agent_table import agent_table_condition
from twilio_operator.provider.ip_access import ensure_ip_access, find_or_create_ip_access_control_list
from twilio_operator.provider.observe import number_objects, observe
from twilio_operator.provider.observe_only import observe_differences
from twilio_operator.provider.protection import protect_credentials
from twilio_operator.provider.provision import (
    ensure_list_attached,
    ensure_origination_urls,
    ensure_trunk_and_list,
    ensure_trunk_settings,
    ensure_voice_region,
    find_credential_list,
    find_trunk,
)
from twilio_operator.provider.resource import Outcome, Provider
from twilio_operator.provider.sip_secret import ensure_sip_credential, seconds_until_next_step
from twilio_operator.provider.status import StatusWriter, post_verification_events
from twilio_operator.provider.trunk_settings import ensure_trunk_extra_settings
from twilio_operator.provider.verification import (
    Check,
    NumberObjects,
    Observed,
    access_checks,
    first_blocking_error,
    numbers_check,
    verdict,
    verification_details,
)

log = logging.getLogger(__name__)
CREDENTIALS_CHECK = "credentialsSecret"
PROVISIONING_CHECK = "provisioning"  # a write Twilio refused after the reads passed
ADOPTION_CHECK = "adoption"


async def reconcile_provider(provider: Provider, deps: Deps, *, has_numbers: bool = True) -> Outcome:
    """Converge Twilio and the SIP Secret to the spec; verify; write status. Raises TwilioError to retry.

    `has_numbers` False: no TwilioPhoneNumber names this provider (the operator's index says so, and
    a number is in the index long before it can be imported), so they are not listed."""
    writer = StatusWriter(provider, deps)
    if provider.paused:
        return await _paused(writer)
    if c.is_true(provider.status.conditions, c.PAUSED):
        writer.condition(ConditionUpdate(c.PAUSED, "False", c.RESUMED, "the paused annotation was removed"))
        await writer.event("Normal", c.RESUMED, "reconciliation resumed")
    writer.set(
        provider_type="twilio",
        region=provider.spec.region or "us1",
        supports_call_transfer=provider.spec.supports_call_transfer,
    )
    try:
        secret = await deps.kube.read_secret(provider.namespace, provider.spec.credentials_secret_ref.name)
        credentials = _parse_credentials(provider, secret)
        if isinstance(credentials, CredentialProblem):
            await protect_credentials(provider, deps, secret)
            return await _blocked_on_credentials(writer, credentials)
        twilio = deps.twilio.connect(credentials)
        deleting = bool(secret is not None and secret.deleting)
        # The Secret's protection is written beside the first Twilio reads, not before them.
        protect = protect_credentials(provider, deps, secret)
        try:
            return await _converge(provider, deps, writer, twilio, protect, deleting, has_numbers)
        except TwilioError as error:
            await writer.unfold(c.PROGRESSING)  # what did get done before the failure
            await _record_twilio_failure(writer, error)
            raise
    except KubernetesError as error:
        if error.refusal:
            await _record_kubernetes_refusal(writer, error)
        else:
            await _record_kubernetes_failure(writer, error)
        raise


async def _paused(writer: StatusWriter) -> Outcome:
    """No Twilio call and no write but one: the Paused condition, when it is not there yet."""
    message = (
        f"reconciliation is paused by the annotation {names.PAUSED_ANNOTATION}=true: no Twilio call, "
        "no repair; remove the annotation to resume"
    )
    if not c.is_true(writer.status.conditions, c.PAUSED):
        writer.condition(ConditionUpdate(c.PAUSED, "True", c.PAUSED, message))
        await writer.flush()
        await writer.event("Normal", c.PAUSED, message)
    return Outcome(ready=c.is_true(writer.status.conditions), blocked=True, message=message)


async def _adoption_refused(writer: StatusWriter, problem: str) -> Outcome:
    """Nothing is created in place of a trunk that cannot be adopted; the spec must change."""
    previous = c.find(writer.status.conditions, c.READY)
    writer.condition(ConditionUpdate(c.READY, "False", c.ADOPTION_REFUSED, problem))
    _fail_verification(writer, ADOPTION_CHECK, problem)
    await writer.flush()
    if previous is None or previous.reason != c.ADOPTION_REFUSED:
        await writer.event("Warning", c.ADOPTION_REFUSED, problem)
    return Outcome(ready=False, blocked=True, message=problem)


async def _observe_only(
    provider: Provider, writer: StatusWriter, twilio: TwilioPort, observed: Observed, checks: list[Check]
) -> Outcome:
    """Report, write nothing to Twilio: every difference from the spec becomes a warning detail."""
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    assert isinstance(observed.numbers, NumberPage)
    checks = [*checks, await observe_differences(provider, twilio, observed)]
    trunk = find_trunk(provider, observed.trunks)
    credential_list = find_credential_list(provider, observed.lists)
    numbers = observed.numbers
    writer.set(
        verification_status=verdict(checks),
        verification_details=verification_details(checks, writer.now),
        last_verified_at=rfc3339(writer.now),
        account_phone_number_count=numbers.total,
        available_numbers=[
            AvailableNumber(phone_number=n.phone_number, sid=n.sid, voice=n.voice, trunk_sid=n.trunk_sid)
            for n in numbers.numbers
        ],
        trunk_sid=trunk.sid if trunk else None,
        trunk_domain_name=trunk.domain_name if trunk else None,
        termination_uri=names.termination_uri(trunk.domain_name, provider.spec.region) if trunk else None,
        credential_list_sid=credential_list.sid if credential_list else None,
        supports_call_transfer=trunk.transfer_mode != names.transfer_mode(False) if trunk else None,
        observed_generation=provider.generation,
    )
    message = f"observing only (managementPolicy ObserveOnly): {checks[-1].message}"
    writer.condition(ConditionUpdate(c.READY, "True", c.OBSERVING, message))
    await writer.flush()
    await post_verification_events(writer, provider.status.verification_status, checks)
    return Outcome(ready=True, message=message)


async def read_credentials(provider: Provider, deps: Deps) -> TwilioCredentials | CredentialProblem:
    """The provider's Twilio credentials from its Secret, which is protected while the provider uses it."""
    secret = await deps.kube.read_secret(provider.namespace, provider.spec.credentials_secret_ref.name)
    await protect_credentials(provider, deps, secret)
    return _parse_credentials(provider, secret)


def _parse_credentials(
    provider: Provider, secret: SecretData | None
) -> TwilioCredentials | CredentialProblem:
    return parse_credentials(
        provider.spec.credentials_secret_ref,
        provider.namespace,
        secret.data if secret else None,
        provider.spec.account_sid,
        provider.spec.region,
    )


async def _blocked_on_credentials(writer: StatusWriter, problem: CredentialProblem) -> Outcome:
    previous = c.find(writer.status.conditions, c.CREDENTIALS_VERIFIED)
    writer.condition(
        ConditionUpdate(c.CREDENTIALS_VERIFIED, "False", problem.reason, problem.message),
        ConditionUpdate(c.READY, "False", problem.reason, problem.message),
    )
    if writer.status.verification_status is None:
        writer.set(verification_status="pending")  # never verified
    else:
        # A verification from before the Secret broke must not keep saying "verified" beside a
        # Ready=False: the credentials the operator would verify with are unusable now.
        stale = [d for d in writer.status.verification_details if d.check_name != CREDENTIALS_CHECK]
        [problem_detail] = verification_details(
            [Check(CREDENTIALS_CHECK, "failed", problem.message)], writer.now
        )
        writer.set(verification_status="failed", verification_details=[problem_detail, *stale])
    await writer.flush()
    if previous is None or previous.reason != problem.reason:
        await writer.event("Warning", problem.reason, problem.message)
    missing = problem.reason == c.SECRET_NOT_FOUND
    return Outcome(ready=False, blocked=True, message=problem.message, secret_missing=missing)


async def _record_kubernetes_refusal(writer: StatusWriter, error: KubernetesError) -> None:
    """The API server refused one of the operator's own writes (403, 409, 422, ...): say so, with the
    server's reason and field, in Ready and an Event; the handlers retry with a growing backoff."""
    previous = c.find(writer.status.conditions, c.READY)
    writer.condition(ConditionUpdate(c.READY, "False", c.KUBERNETES_REFUSED, str(error)))
    with contextlib.suppress(KubernetesError):  # the refused write may be the status itself
        await writer.flush()
    if previous is None or previous.reason != c.KUBERNETES_REFUSED or previous.message != str(error):
        await writer.event("Warning", c.KUBERNETES_REFUSED, str(error))


async def _record_kubernetes_failure(writer: StatusWriter, error: KubernetesError) -> None:
    """The API server failed one of the operator's requests (5xx, 429, no answer): like a Twilio
    outage, Ready says so (with what was created before the failure) and the handlers retry; an
    Event only when it ends a Ready provider's readiness. The API server may be failing altogether,
    so this write may fail too."""
    was_ready = c.is_true(writer.status.conditions)
    writer.condition(ConditionUpdate(c.READY, "False", c.KUBERNETES_UNAVAILABLE, str(error)))
    with contextlib.suppress(KubernetesError):
        await writer.flush()
        if was_ready:
            await writer.event("Warning", c.KUBERNETES_UNAVAILABLE, str(error))


async def _record_twilio_failure(writer: StatusWriter, error: TwilioError) -> None:
    reason = c.twilio_failure_reason(error, quota=isinstance(error, QuotaExceeded))
    message = c.twilio_failure_message(error, reason)
    if error.kind is ErrorKind.TRANSIENT and writer.status.last_verified_at:
        message += f"; the last verification ({writer.status.last_verified_at}) stands"
    if error.kind is not ErrorKind.TRANSIENT:
        _fail_verification(writer, PROVISIONING_CHECK, message)
    updates = [ConditionUpdate(c.READY, "False", reason, message)]
    if error.kind is ErrorKind.AUTH:
        updates.append(ConditionUpdate(c.CREDENTIALS_VERIFIED, "False", reason, message))
    was_ready = c.is_true(writer.status.conditions)
    writer.condition(*updates)
    await writer.flush()
    if error.kind is not ErrorKind.TRANSIENT or was_ready:
        await writer.event("Warning", reason, message)


def _fail_verification(writer: StatusWriter, check: str, message: str) -> None:
    """verificationStatus failed, with the failure as a detail unless this run's checks have one."""
    details = [d for d in writer.status.verification_details if d.check_name != check]
    if not any(d.status == "failed" for d in details):
        details.append(*verification_details([Check(check, "failed", message)], writer.now))
    writer.set(verification_status="failed", verification_details=details)


async def _attached_lists(twilio: TwilioPort, trunk_sid: str | None) -> list[str]:
    """The credential lists on a trunk to adopt (another provider's mark), none without one."""
    return await twilio.list_trunk_credential_lists(trunk_sid) if trunk_sid else []


async def _converge(
    provider: Provider,
    deps: Deps,
    writer: StatusWriter,
    twilio: TwilioPort,
    protect: Awaitable[None],
    secret_deleting: bool,
    has_numbers: bool,
) -> Outcome:
    # The number objects are read before Twilio: a count must never combine a Twilio read that is
    # older than the objects (a number attached in between would look detached). One attached after
    # the listing is counted when its own reconcile wakes this provider a moment later.
    objects = await number_objects(provider, deps) if has_numbers else NumberObjects([], [])
    observed, _ = await asyncio.gather(observe(twilio), protect)
    checks = access_checks(observed)
    if secret_deleting:
        ref = provider.spec.credentials_secret_ref.name
        checks.append(
            Check(
                CREDENTIALS_CHECK,
                "warning",
                f"Secret {provider.namespace}/{ref} is being deleted; its in-use finalizer keeps it while "
                "this TwilioProvider references it (delete the provider, or point it at another Secret)",
            )
        )
    blocking = first_blocking_error(observed)
    inactive = isinstance(observed.account, Account) and observed.account.status != "active"
    if blocking is not None and blocking.kind is ErrorKind.TRANSIENT:
        # An outage or rate limiting is no verdict on the credentials: the last verification stands
        # (lastVerifiedAt says how old it is) and Ready says that Twilio is unavailable.
        raise blocking
    if blocking is not None or inactive:
        writer.set(
            verification_status="failed",
            verification_details=verification_details(checks, writer.now),
            last_verified_at=rfc3339(writer.now),
        )
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
    # What the reads verified, in case a step below fails (it adds its failure to these).
    writer.set(
        verification_status=verdict(checks),
        verification_details=verification_details(checks, writer.now),
        last_verified_at=rfc3339(writer.now),
    )
    if provider.spec.trunk_sid or provider.spec.credential_list_sid:
        adopted = provider.spec.trunk_sid
        others, attached = await asyncio.gather(
            deps.kube.list_objects(PROVIDER, provider.namespace),
            _attached_lists(twilio, adopted if adopted in {t.sid for t in observed.trunks} else None),
        )
        problem = adoption_problem(provider, observed.trunks, observed.lists, others, attached)
        if problem is not None:
            return await _adoption_refused(writer, problem)
    if provider.spec.management_policy == "ObserveOnly":
        return await _observe_only(provider, writer, twilio, observed, checks)

    trunk, credential_list = await ensure_trunk_and_list(provider, writer, twilio, observed)
    ip_acl = await find_or_create_ip_access_control_list(provider, writer, twilio)
    domain = trunk.domain_name
    termination = names.termination_uri(domain, provider.spec.region)
    if provider.status.termination_uri and provider.status.termination_uri != termination:
        await writer.event(
            "Warning",
            c.TERMINATION_URI_CHANGED,
            f"termination URI changed from {provider.status.termination_uri} to {termination}: update the "
            "outbound trunk of the voice platform",
        )
    writer.set(
        trunk_sid=trunk.sid,
        trunk_domain_name=domain,
        termination_uri=termination,
        credential_list_sid=credential_list.sid,
        **({"ip_access_control_list_sid": ip_acl.sid} if ip_acl is not None else {}),
    )
    trunk_check = f"trunk {trunk.sid} ({domain}) exists"
    if provider.adopts_trunk:
        # An adopted trunk keeps its owner's transfer mode: the status says what Twilio has.
        writer.set(supports_call_transfer=trunk.transfer_mode != names.transfer_mode(False))
        if trunk.transfer_mode != names.transfer_mode(provider.spec.supports_call_transfer):
            trunk_check += (
                f"; adopted, so its transfer mode {trunk.transfer_mode} is kept "
                "(spec.supportsCallTransfer applies only to a trunk the operator created)"
            )
    if writer.status != provider.status and provider.status.trunk_sid is not None:
        # Record what changed (a recreated trunk's SID, Paused=False) before the repairs below.
        # Not on a provider's first provisioning: there the SIDs reach the status with this
        # reconcile's own write, after success or failure; a reconcile stopped before it is recovered
        # by the UID-derived names, and the SIP Secret written below records the trunk for a deletion
        # that can no longer list it (provider/teardown.py). One status write per create, not two:
        # each comes back to every handler of the operator as a watch event.
        await writer.flush()

    # Independent convergence steps, in parallel.
    attached, ip_access, *_ = await asyncio.gather(
        ensure_list_attached(writer, twilio, trunk, credential_list),
        ensure_ip_access(provider, writer, twilio, trunk, ip_acl),
        ensure_trunk_settings(provider, writer, twilio, trunk),
        ensure_trunk_extra_settings(provider, writer, twilio, trunk),
        ensure_voice_region(provider, twilio, trunk),
        ensure_origination_urls(provider, writer, twilio, trunk),
        ensure_sip_credential(provider, deps, writer, twilio, trunk, credential_list),
    )
    # More than six awaitables: gather's result is typed as a list of the union.
    assert isinstance(attached, str) and (ip_access is None or isinstance(ip_access, Check))
    numbers = observed.numbers
    imported = objects.imported
    detached = [n for n in imported if numbers.trunk_of.get(n.sid) != trunk.sid]
    checks += [
        Check("trunk", "passed", trunk_check),
        Check("credentialListAttached", "passed", attached),
        *([ip_access] if ip_access is not None else []),
        numbers_check(imported, detached, numbers),
    ]
    writer.set(
        verification_status=verdict(checks),
        verification_details=verification_details(checks, writer.now),
        last_verified_at=rfc3339(writer.now),
        account_phone_number_count=numbers.total,
        phone_number_count=len(imported) - len(detached),
        available_numbers=[
            AvailableNumber(phone_number=n.phone_number, sid=n.sid, voice=n.voice, trunk_sid=n.trunk_sid)
            for n in numbers.numbers
        ],
        observed_generation=provider.generation,
    )
    was_ready = c.is_true(provider.status.conditions)
    message = f"trunk {trunk.sid} ready at {writer.status.termination_uri}"
    table = agent_table_condition(provider.name, provider.namespace, provider.spec, writer.status)
    if table is not None:
        writer.condition(table)
    # A template of the SIP Secret or of the agent table that does not render keeps Ready False (the
    # conditions are kept in stage order, so the SIP Secret's is named first).
    gating = (c.SIP_CREDENTIALS_STORED, c.AGENT_TABLE_RENDERED)
    broken = next((k for k in writer.status.conditions if k.type in gating and k.status != "True"), None)
    ready = broken is None
    writer.condition(
        ConditionUpdate(
            c.TRUNK_PROVISIONED,
            "True",
            c.PROVISIONED,
            f"trunk {trunk.sid} with credential list {credential_list.sid}",
        ),
        ConditionUpdate(c.READY, "True", c.PROVISIONED, message)
        if broken is None
        else ConditionUpdate(c.READY, "False", broken.reason, broken.message),
    )
    await writer.flush()
    if not was_ready and ready:
        await writer.unfold(c.PROVISIONED, message)
    if broken is not None and (was_ready or provider.status.trunk_sid is None):
        await writer.event("Warning", broken.reason, broken.message)
    await post_verification_events(writer, provider.status.verification_status, checks)
    return Outcome(
        ready=ready,
        message=message,
        detached_numbers=tuple(n.name for n in detached),
        found_numbers=tuple(objects.now_in_account(numbers)),
        next_step_in=seconds_until_next_step(writer.status.sip_credentials, writer.now),
    )
