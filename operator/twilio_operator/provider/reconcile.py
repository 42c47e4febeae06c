"""The level-based reconcile of a TwilioProvider, in crossplane-runtime's shape: observe, diff, act.

One function serves create, update, resume, the periodic verification and a change of the
credentials Secret:

1. observe: the credentials, the account (what verification checks), the number objects, then what
   the spec manages of the provider's trunk, lists and IP access control list (provider/observe.py);
2. diff: the changes that make Twilio match the spec, a pure function (provider/diff.py);
3. act: apply them (provider/act.py) and run the SIP credential's round (provider/sip_credential.py),
   or, under ObserveOnly, report the same changes in words;
4. decide the conditions once, from how it ended (provider/readiness.py), and write the status.

Every Twilio SID is recovered after a lost write by the UID-derived names; the SIP password reaches
its Secret before it reaches Twilio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from twilio_operator.api import conditions as c
from twilio_operator.api import names
from twilio_operator.api.credentials import CredentialProblem, TwilioCredentials, parse_credentials
from twilio_operator.api.errors import ErrorKind, KubernetesError, TwilioError
from twilio_operator.api.livekit import NO_LIVEKIT, LiveKitLinks
from twilio_operator.api.models import AvailableNumber
from twilio_operator.api.quotas import QuotaExceeded
from twilio_operator.api.sip import normalize_sip_url
from twilio_operator.api.times import rfc3339
from twilio_operator.api.twilio_values import Account, IpAccessControlList, NumberPage
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.kube.port import SecretData
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider import act, readiness
from twilio_operator.provider import diff as d
from twilio_operator.provider.adoption import adoption_problem
from twilio_operator.provider.agent_table import agent_table_condition
from twilio_operator.provider.observe import (
    number_objects,
    observe_account,
    observe_adoption,
    observe_twilio,
)
from twilio_operator.provider.protection import protect_credentials
from twilio_operator.provider.resource import Outcome, Provider
from twilio_operator.provider.rotation import seconds_until_next_step
from twilio_operator.provider.sip_credential import ensure_sip_credential
from twilio_operator.provider.status import StatusWriter, post_verification_events
from twilio_operator.provider.verification import (
    Check,
    NumberObjects,
    Observed,
    access_checks,
    first_blocking_error,
    ip_admission_check,
    numbers_check,
    verdict,
    verification_details,
)

CREDENTIALS_CHECK = "credentialsSecret"
PROVISIONING_CHECK = "provisioning"  # a write Twilio refused after the reads passed
ADOPTION_CHECK = "adoption"
MANAGED_CHECK = "managedResources"  # ObserveOnly: what Full would change


async def reconcile_provider(
    provider: Provider, deps: Deps, *, has_numbers: bool = True, livekit: LiveKitLinks = NO_LIVEKIT
) -> Outcome:
    """Converge Twilio and the SIP Secret to the spec; verify; write status. Raises TwilioError to retry.

    `has_numbers` False: no TwilioPhoneNumber names this provider (the operator's index says so, and
    a number is in the index long before it can be imported), so they are not listed. `livekit`: the
    LiveKitConnections that name this provider (the operator's index of them): their SIP URIs join
    the trunk's origination URIs, and a rotated-out SIP credential that one of their LiveKit outbound
    trunks still uses is not retired yet."""
    writer = StatusWriter(provider, deps)
    if provider.paused:
        return await _paused(writer)
    if c.is_true(provider.status.conditions, c.PAUSED):
        await readiness.record(writer, readiness.Resumed(), write=False)
    mode = d.wanted_transfer_mode(provider)
    writer.set(provider_type="twilio", region=provider.region.shown)
    if mode is not None:
        writer.set(supports_call_transfer=mode != names.transfer_mode(False), transfer_mode=mode)
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
            return await _converge(provider, deps, writer, twilio, protect, deleting, has_numbers, livekit)
        except TwilioError as error:
            await writer.unfold(c.PROGRESSING)  # what did get done before the failure
            await _record_twilio_failure(writer, error)
            raise
    except KubernetesError as error:
        await readiness.record(writer, readiness.KubernetesFailed(str(error), refusal=error.refusal))
        raise


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
        provider.region,
    )


# --------------------------------------------------------------------------- the ways it stops early


async def _paused(writer: StatusWriter) -> Outcome:
    """No Twilio call and no write but one: the Paused condition, when it is not there yet."""
    message = (
        f"reconciliation is paused by the annotation {names.PAUSED_ANNOTATION}=true: no Twilio call, "
        "no repair; remove the annotation to resume"
    )
    if not c.is_true(writer.status.conditions, c.PAUSED):
        await readiness.record(writer, readiness.Paused(message))
    return Outcome(ready=c.ReadyState.of(writer.status).is_true, blocked=True, message=message)


async def _blocked_on_credentials(writer: StatusWriter, problem: CredentialProblem) -> Outcome:
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
    await readiness.record(writer, readiness.CredentialsUnusable(problem.reason, problem.message))
    missing = problem.reason == c.SECRET_NOT_FOUND
    return Outcome(ready=False, blocked=True, message=problem.message, secret_missing=missing)


async def _record_twilio_failure(writer: StatusWriter, error: TwilioError) -> None:
    reason = c.twilio_failure_reason(error, quota=isinstance(error, QuotaExceeded))
    message = c.twilio_failure_message(error, reason)
    transient = error.kind is ErrorKind.TRANSIENT
    if transient and writer.status.last_verified_at:
        message += f"; the last verification ({writer.status.last_verified_at}) stands"
    if not transient:
        _fail_verification(writer, PROVISIONING_CHECK, message)
    failed = readiness.TwilioFailed(reason, message, auth=error.kind is ErrorKind.AUTH, transient=transient)
    await readiness.record(writer, failed)


def _fail_verification(writer: StatusWriter, check: str, message: str) -> None:
    """verificationStatus failed, with the failure as a detail unless this run's checks have one."""
    details = [d for d in writer.status.verification_details if d.check_name != check]
    if not any(d.status == "failed" for d in details):
        details += verification_details([Check(check, "failed", message)], writer.now)
    writer.set(verification_status="failed", verification_details=details)


async def _adoption_refused(writer: StatusWriter, problem: str) -> Outcome:
    """Nothing is created in place of a trunk that cannot be adopted; the spec must change."""
    _fail_verification(writer, ADOPTION_CHECK, problem)
    await readiness.record(writer, readiness.AdoptionRefused(problem))
    return Outcome(ready=False, blocked=True, message=problem)


# --------------------------------------------------------------------------- observe, diff, act


async def _converge(
    provider: Provider,
    deps: Deps,
    writer: StatusWriter,
    twilio: TwilioPort,
    protect: Awaitable[None],
    secret_deleting: bool,
    has_numbers: bool,
    livekit: LiveKitLinks,
) -> Outcome:
    # Observe. The number objects are read before Twilio: a count must never combine a Twilio read
    # that is older than the objects (a number attached in between would look detached). One attached
    # after the listing is counted when its own reconcile wakes this provider a moment later.
    objects = await number_objects(provider, deps) if has_numbers else NumberObjects([], [])
    observed, _ = await asyncio.gather(observe_account(twilio), protect)
    checks = _verify_access(provider, writer, observed, secret_deleting)
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    adopted_attached: tuple[str, ...] | None = None
    if provider.spec.trunk_sid or provider.spec.credential_list_sid:
        adoption = await observe_adoption(provider, deps, twilio, observed.trunks)
        problem = adoption_problem(
            provider, observed.trunks, observed.lists, adoption.others, adoption.attached
        )
        if problem is not None:
            return await _adoption_refused(writer, problem)
        adopted_attached = adoption.attached if provider.spec.trunk_sid else None
    seen = await observe_twilio(
        provider,
        twilio,
        observed.trunks,
        observed.lists,
        attached_to_adopted=adopted_attached,
        livekit=livekit,
    )
    # Diff, then report or act.
    uris = livekit.origination_uris()
    changes = d.diff(provider, seen, uris)
    if provider.spec.management_policy == "ObserveOnly":
        return await _observe_only(provider, writer, observed, seen, changes, checks)
    seen, changes = await _create(
        provider, writer, twilio, observed, seen, changes, adopted_attached, livekit
    )
    assert seen.trunk is not None and seen.credential_list is not None  # just found or created
    trunk, credential_list = seen.trunk, seen.credential_list
    acl = seen.ip_access.acl if seen.ip_access is not None and provider.spec.ip_access_control else None
    trunk_check = await _record_resources(provider, writer, seen)
    target = act.Target(trunk, credential_list, acl, frozenset(writer.created_now))
    await asyncio.gather(
        act.apply(provider, writer, twilio, target, changes),
        ensure_sip_credential(provider, deps, writer, twilio, trunk, credential_list, livekit),
    )
    writer.set(origination_uris=_applied_originations(provider, seen, uris))
    if provider.spec.ip_access_control is None and writer.status.ip_access_control_list_sid:
        writer.set(ip_access_control_list_sid=None)  # removed (or gone already)
    checks += [
        trunk_check,
        _attached_check(credential_list.sid, changes),
        *_ip_access_checks(provider, trunk.sid, acl, changes),
    ]
    return await _provisioned(provider, writer, observed, objects, checks, trunk.sid, credential_list.sid)


async def _create(
    provider: Provider,
    writer: StatusWriter,
    twilio: TwilioPort,
    observed: Observed,
    seen: d.TwilioSeen,
    changes: list[d.Change],
    adopted_attached: tuple[str, ...] | None,
    livekit: LiveKitLinks,
) -> tuple[d.TwilioSeen, list[d.Change]]:
    """The creations first; then what the new resources are (known to be empty) joins the snapshot,
    and the diff is made again: how a new trunk is set up depends on what Twilio created."""
    assert isinstance(observed.trunks, list) and isinstance(observed.lists, list)
    made = await act.create(provider, writer, twilio, changes, observed)
    writer.created_now |= made.sids
    if not (made.trunk or made.credential_list or made.ip_access_control_list):
        return seen, changes
    seen = await observe_twilio(
        provider,
        twilio,
        [*observed.trunks, *([made.trunk] if made.trunk else [])],
        [*observed.lists, *([made.credential_list] if made.credential_list else [])],
        attached_to_adopted=adopted_attached,
        created=frozenset(writer.created_now),
        acls=_acls_after(seen, made),
        livekit=livekit,
    )
    return seen, d.diff(provider, seen, livekit.origination_uris())


async def _provisioned(
    provider: Provider,
    writer: StatusWriter,
    observed: Observed,
    objects: NumberObjects,
    checks: list[Check],
    trunk_sid: str,
    list_sid: str,
) -> Outcome:
    """Verification's last check (the numbers on the trunk), the status, Ready, and the Events."""
    numbers = observed.numbers
    assert isinstance(numbers, NumberPage)
    imported = objects.imported
    detached = [n for n in imported if numbers.trunk_of.get(n.sid) != trunk_sid]
    checks = [*checks, numbers_check(imported, detached, numbers)]
    _set_verification(writer, checks, observed)
    writer.set(phone_number_count=len(imported) - len(detached), observed_generation=provider.generation)
    table = agent_table_condition(provider.name, provider.namespace, provider.spec, writer.status)
    if table is not None:
        writer.condition(table)
    message = f"trunk {trunk_sid} ready at {writer.status.termination_uri}"
    was_ready = c.ReadyState.of(provider.status).is_true
    await readiness.record(writer, readiness.Provisioned(trunk_sid, list_sid, message))
    ready = c.ReadyState.of(writer.status).is_true
    if not was_ready and ready:
        await writer.unfold(c.PROVISIONED, message)
    await post_verification_events(writer, provider.status.verification_status, checks)
    return Outcome(
        ready=ready,
        message=message,
        detached_numbers=tuple(n.name for n in detached),
        found_numbers=tuple(objects.now_in_account(numbers)),
        next_step_in=seconds_until_next_step(writer.status.sip_credentials, writer.now),
    )


def _verify_access(
    provider: Provider, writer: StatusWriter, observed: Observed, secret_deleting: bool
) -> list[Check]:
    """The access checks; raises the read error that blocks the rest (an outage keeps the last
    verdict, anything else fails verification)."""
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
    if blocking is not None and blocking.kind is ErrorKind.TRANSIENT:
        # An outage or rate limiting is no verdict on the credentials: the last verification stands
        # (lastVerifiedAt says how old it is) and Ready says that Twilio is unavailable.
        raise blocking
    inactive = isinstance(observed.account, Account) and observed.account.status != "active"
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
    readiness.decide_now(writer, readiness.CredentialsAccepted())
    # What the reads verified, in case a step below fails (it adds its failure to these).
    writer.set(
        verification_status=verdict(checks),
        verification_details=verification_details(checks, writer.now),
        last_verified_at=rfc3339(writer.now),
    )
    return checks


def _set_verification(writer: StatusWriter, checks: list[Check], observed: Observed) -> None:
    numbers = observed.numbers
    assert isinstance(numbers, NumberPage)
    writer.set(
        verification_status=verdict(checks),
        verification_details=verification_details(checks, writer.now),
        last_verified_at=rfc3339(writer.now),
        account_phone_number_count=numbers.total,
        available_numbers=[
            AvailableNumber(phone_number=n.phone_number, sid=n.sid, voice=n.voice, trunk_sid=n.trunk_sid)
            for n in numbers.numbers
        ],
    )


def _found_originations(seen: d.TwilioSeen) -> list[str] | None:
    """The trunk's origination URIs as found (ObserveOnly), when they were read."""
    return None if seen.originations is None else [o.sip_url for o in seen.originations]


def _applied_originations(provider: Provider, seen: d.TwilioSeen, uris: tuple[str, ...]) -> list[str] | None:
    """The trunk's origination URIs once the changes are applied (the connections read them here to
    see whether the trunk points at LiveKit); None when they are not managed."""
    if seen.originations is None:
        return None
    wanted = [u.sip_url for u in d.wanted_origination_uris(provider, uris)]
    if d.origination_exclusive(provider):
        return wanted
    known = {normalize_sip_url(u) for u in wanted}
    return wanted + [o.sip_url for o in seen.originations if normalize_sip_url(o.sip_url) not in known]


def _acls_after(seen: d.TwilioSeen, made: act.Created) -> list[IpAccessControlList] | None:
    if seen.ip_access is None:
        return None
    created = [made.ip_access_control_list] if made.ip_access_control_list is not None else []
    return [*created, *(a for a in seen.ip_access.lists if a not in created)]


async def _record_resources(provider: Provider, writer: StatusWriter, seen: d.TwilioSeen) -> Check:
    """The SIDs and URIs into status, written at once when they changed on a provider that has a
    status already (a recreated trunk's SID must not be lost); the trunk check."""
    trunk, credential_list = seen.trunk, seen.credential_list
    assert trunk is not None and credential_list is not None
    termination = names.termination_uri(trunk.domain_name, provider.region)
    if provider.status.termination_uri and provider.status.termination_uri != termination:
        await writer.event(
            "Warning",
            c.TERMINATION_URI_CHANGED,
            f"termination URI changed from {provider.status.termination_uri} to {termination}: update the "
            "outbound trunk of the voice platform",
        )
    acl = seen.ip_access.acl if seen.ip_access is not None and provider.spec.ip_access_control else None
    writer.set(
        trunk_sid=trunk.sid,
        trunk_domain_name=trunk.domain_name,
        termination_uri=termination,
        credential_list_sid=credential_list.sid,
    )
    if acl is not None:
        writer.set(ip_access_control_list_sid=acl.sid)
    message = f"trunk {trunk.sid} ({trunk.domain_name}) exists"
    if d.wanted_transfer_mode(provider) is None:
        # An adopted trunk keeps its owner's transfer mode unless spec.transferMode says otherwise:
        # the status says what Twilio has.
        writer.set(
            supports_call_transfer=trunk.transfer_mode != names.transfer_mode(False),
            transfer_mode=trunk.transfer_mode,
        )
        if trunk.transfer_mode != names.transfer_mode(provider.spec.supports_call_transfer):
            message += (
                f"; adopted, so its transfer mode {trunk.transfer_mode} is kept "
                "(spec.supportsCallTransfer applies only to a trunk the operator created; set "
                "spec.transferMode to change it)"
            )
    if writer.status != provider.status and provider.status.trunk_sid is not None:
        # Record what changed (a recreated trunk's SID, Paused=False) before the repairs. Not on a
        # provider's first provisioning: there the SIDs reach the status with this reconcile's own
        # write, after success or failure; a reconcile stopped before it is recovered by the
        # UID-derived names, and the SIP Secret records the trunk for a deletion that can no longer
        # list it (deletion.py). One status write per create, not two: each comes back to
        # every handler of the operator as a watch event.
        await writer.flush()
    return Check("trunk", "passed", message)


def _attached_check(list_sid: str, changes: list[d.Change]) -> Check:
    newly = any(isinstance(ch, d.AttachCredentialList) for ch in changes)
    return Check(
        "credentialListAttached",
        "passed",
        f"credential list {list_sid} {'attached' if newly else 'is attached'}",
    )


def _ip_access_checks(
    provider: Provider, trunk_sid: str, acl: IpAccessControlList | None, changes: list[d.Change]
) -> list[Check]:
    if provider.spec.ip_access_control is None or acl is None:
        return []
    entries = len(d.wanted_entries(provider.spec.ip_access_control))
    how = (
        "now attached to"
        if any(isinstance(ch, d.AttachIpAccessControlList) for ch in changes)
        else "attached to"
    )
    return [
        Check(
            "ipAccessControl",
            "passed",
            f"IP access control list {acl.sid} with {entries} entries is {how} trunk {trunk_sid}",
            (("entries", str(entries)),),
        ),
        ip_admission_check(
            provider.spec.ip_access_control.cidrs,
            [u.sip_url for u in provider.spec.origination_uris],
            provider.sip_secret_name,
        ),
    ]


async def _observe_only(
    provider: Provider,
    writer: StatusWriter,
    observed: Observed,
    seen: d.TwilioSeen,
    changes: list[d.Change],
    checks: list[Check],
) -> Outcome:
    """Report, write nothing to Twilio: the changes Full would make, in words, as a warning detail."""
    trunk, credential_list = seen.trunk, seen.credential_list
    writer.set(origination_uris=_found_originations(seen))
    found = d.describe(changes)
    if found:
        managed = Check(
            MANAGED_CHECK,
            "warning",
            f"observing only, {len(found)} differences from the spec: " + "; ".join(found),
            (("differences", str(len(found))),),
        )
    else:
        managed = Check(
            MANAGED_CHECK, "passed", f"observing: trunk {trunk.sid if trunk else ''} matches the spec"
        )
    checks = [*checks, managed]
    _set_verification(writer, checks, observed)
    writer.set(
        trunk_sid=trunk.sid if trunk else None,
        trunk_domain_name=trunk.domain_name if trunk else None,
        termination_uri=names.termination_uri(trunk.domain_name, provider.region) if trunk else None,
        credential_list_sid=credential_list.sid if credential_list else None,
        supports_call_transfer=trunk.transfer_mode != names.transfer_mode(False) if trunk else None,
        transfer_mode=trunk.transfer_mode if trunk else None,
        observed_generation=provider.generation,
    )
    message = f"observing only (managementPolicy ObserveOnly): {managed.message}"
    await readiness.record(writer, readiness.Observing(message))
    await post_verification_events(writer, provider.status.verification_status, checks)
    return Outcome(ready=True, message=message)
