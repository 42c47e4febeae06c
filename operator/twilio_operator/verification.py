"""Verification: the seed's access checks read in parallel, the imported-numbers check, and their events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from twilio_operator import conditions as c
from twilio_operator import plan
from twilio_operator.conditions import rfc3339
from twilio_operator.errors import ErrorKind, TwilioError
from twilio_operator.models import VerificationDetail
from twilio_operator.objects import PHONE_NUMBERS_PLURAL, Deps, Provider, StatusWriter
from twilio_operator.twilio_gateway import Account, CredentialList, NumberPage, Trunk, TwilioPort

AVAILABLE_NUMBERS_SHOWN = 100


@dataclass(frozen=True)
class Observed:
    """One parallel read of the account: the seed's four verification checks, and what they return."""

    account: Account | TwilioError
    trunks: list[Trunk] | TwilioError
    lists: list[CredentialList] | TwilioError
    numbers: NumberPage | TwilioError


async def observe(twilio: TwilioPort) -> Observed:
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


def access_checks(observed: Observed) -> list[plan.Check]:
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


def first_blocking_error(observed: Observed) -> TwilioError | None:
    """A transient error anywhere means "try again"; otherwise the first failure explains the rest."""
    errors = [
        r
        for r in (observed.account, observed.trunks, observed.lists, observed.numbers)
        if isinstance(r, TwilioError)
    ]
    transient = [e for e in errors if e.kind is ErrorKind.TRANSIENT]
    candidates = transient or errors
    return candidates[0] if candidates else None


def verification_details(checks: list[plan.Check], now: datetime) -> list[VerificationDetail]:
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


@dataclass(frozen=True)
class ImportedNumber:
    name: str
    sid: str
    phone_number: str


async def imported_numbers(provider: Provider, deps: Deps) -> list[ImportedNumber]:
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


def numbers_check(
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


async def post_verification_events(
    writer: StatusWriter, before: str | None, checks: list[plan.Check]
) -> None:
    """Events for the verification transitions a human cares about."""
    after = writer.status.verification_status
    if before == after:
        return
    if after == "warning":
        warnings = "; ".join(check.message for check in checks if check.status == "warning")
        await writer.event("Warning", c.VERIFICATION_WARNING, warnings)
    elif before in ("failed", "warning") and after == "verified":
        await writer.event("Normal", "VerificationRecovered", f"verification passed again (was {before})")
