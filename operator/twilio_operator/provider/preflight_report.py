"""A read-only preflight of a Twilio account: the reads verification makes, as a table of
check, result, what it means and how to fix it (`twilio-operator check`).

It reuses `observe_account` (the same four parallel reads) and the verdicts of provider/verification.py,
adds the account quotas a create would hit, whether the account can buy numbers (spec.purchase: its
balance, a trial account's one number) and, given the spec's ipAccessControl, what it would require of
the platform, and writes nothing. Pure apart from `observe_account` and the balance read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twilio_operator.api import quotas
from twilio_operator.api.conditions import AUTH_HINT
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.twilio_values import Account, Balance
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.observe import observe_account
from twilio_operator.provider.verification import (
    ACCOUNT_SKIPPED_RESTRICTED,
    Check,
    Observed,
    access_checks,
    account_unreadable_by_key,
    first_blocking_error,
    ip_admission_check,
)


@dataclass(frozen=True)
class Row:
    check: str
    result: str  # passed | warning | failed | skipped | unknown
    meaning: str
    fix: str


_FIX_PASSED = "-"
_ACCESS_FIXES = {
    "sipTrunkingAccess": "allow the key to read and write SIP trunks (trunking)",
    "credentialListAccess": "allow the key to read and write SIP credential lists and credentials",
    "phoneNumbersAccess": "allow the key to read and update incoming phone numbers",
}


def _error_fix(error: TwilioError, check: str) -> str:
    if error.kind is ErrorKind.TRANSIENT:
        return "Twilio was unavailable or rate-limited: run the check again"
    if error.account_inactive:
        return "the account is suspended or closed: reactivate it in the Twilio Console"
    if error.permission_denied:
        return f"the Restricted API key lacks a permission: {_ACCESS_FIXES.get(check, 'grant it')}"
    if error.kind is ErrorKind.AUTH:
        return AUTH_HINT
    return "see the message; Twilio refused the read"


def _row(check: Check, observed: Observed) -> Row:
    source = {
        "accountActive": observed.account,
        "sipTrunkingAccess": observed.trunks,
        "credentialListAccess": observed.lists,
        "phoneNumbersAccess": observed.numbers,
    }.get(check.name)
    if check.status == "passed":
        fix = _FIX_PASSED
    elif check.status == "skipped":
        fix = "nothing needed to provision; use a Main key or the Auth Token to verify account status"
    elif isinstance(source, TwilioError):
        fix = _error_fix(source, check.name)
    elif isinstance(source, Account):
        fix = f"the account is {source.status}: reactivate it in the Twilio Console"
    else:
        fix = "see the message"
    return Row(check.name, check.status, check.message, fix)


def _quota_row(name: str, quota: quotas.Quota, count: int, account_type: str | None) -> Row:
    limit = quotas.limit_of(quota, account_type)
    if count >= limit:
        return Row(
            name,
            "failed",
            f"{count} {quota.what}; Twilio allows {limit} ({quotas.SOURCE}): a new provider would get "
            "QuotaExceeded",
            f"delete unused {quota.what} or ask Twilio to raise the limit",
        )
    return Row(name, "passed", f"{count} of {limit} {quota.what} used", _FIX_PASSED)


TRIAL_NUMBER_LIMIT = 1  # Twilio error 10002: "you may have tried to provision more than one number"


def purchase_row(observed: Observed, balance: Balance | TwilioError) -> Row:
    """Whether a TwilioPhoneNumber's spec.purchase could buy a number in this account. A warning, not
    a failure: a provider is provisioned either way (exit codes speak of provisioning)."""
    name = "numberPurchase"
    trial = isinstance(observed.account, Account) and observed.account.type == "Trial"
    held = observed.numbers.total if not isinstance(observed.numbers, TwilioError) else None
    if trial and held is not None and held >= TRIAL_NUMBER_LIMIT:
        return Row(
            name,
            "warning",
            f"a trial account holds {TRIAL_NUMBER_LIMIT} phone number and this one has {held}: spec.purchase "
            "would get TrialNumberLimit (Twilio error 10002)",
            "upgrade the account, or import its number with spec.phoneNumber",
        )
    if isinstance(balance, TwilioError):
        return Row(
            name, "skipped", f"the balance could not be read ({balance})", "allow the key to read the balance"
        )
    amount = f"{balance.amount:.2f} {balance.currency}"
    if balance.amount <= 0:
        return Row(
            name,
            "warning",
            f"the balance is {amount}: Twilio would refuse a purchase for lack of funds",
            "add funds to the account before using spec.purchase",
        )
    what = "one number (trial account)" if trial else "numbers"
    return Row(name, "passed", f"balance {amount}: the account can buy {what}", _FIX_PASSED)


async def _balance(twilio: TwilioPort) -> Balance | TwilioError:
    try:
        return await twilio.fetch_balance()
    except TwilioError as error:
        return error


def ip_admission_row(cidrs: Sequence[str], origination_uris: Sequence[str]) -> Row:
    """What spec.ipAccessControl with these entries would require of the platform (the verification
    detail ipAccessControlAdmission, before anything is applied)."""
    check = ip_admission_check(cidrs, origination_uris, "<name>-sip-credentials")
    return Row(
        check.name,
        check.status,
        check.message,
        "dial from one of the listed addresses with the SIP Secret's username and password, or add the "
        "platform's address (docs/ip-access-control.md)",
    )


async def preflight(
    twilio: TwilioPort, *, ip_access_control: Sequence[str] = (), origination_uris: Sequence[str] = ()
) -> list[Row]:
    """Every row, from reads only; with `ip_access_control`, what those entries would require."""
    observed = await observe_account(twilio)
    rows = [_row(check, observed) for check in access_checks(observed)]
    if ip_access_control:
        rows.append(ip_admission_row(ip_access_control, origination_uris))
    account_type = observed.account.type if isinstance(observed.account, Account) else None
    if isinstance(observed.trunks, list):
        rows.append(_quota_row("trunkQuota", quotas.TRUNKS, len(observed.trunks), account_type))
    if isinstance(observed.lists, list):
        rows.append(
            _quota_row("credentialListQuota", quotas.CREDENTIAL_LISTS, len(observed.lists), account_type)
        )
    if first_blocking_error(observed) is None:
        rows.append(purchase_row(observed, await _balance(twilio)))
    if account_unreadable_by_key(observed) == ACCOUNT_SKIPPED_RESTRICTED:
        rows.append(
            Row(
                "writePermissions",
                "unknown",
                "a Restricted API key's permissions cannot be read with the key itself, and this check "
                "writes nothing: whether it may create trunks, credential lists and credentials and "
                "update phone numbers was not checked",
                "grant the key write access to SIP trunking, credential lists and incoming phone "
                "numbers (or use a Standard key or the Auth Token), then create the TwilioProvider and "
                "watch its conditions",
            )
        )
    blocking = first_blocking_error(observed)
    inactive = isinstance(observed.account, Account) and observed.account.status != "active"
    if blocking is not None or inactive:
        # The operator stops at the first failed read: say so beside the rows.
        rows.append(
            Row(
                "provisioning",
                "failed",
                "a TwilioProvider with these credentials would not be provisioned",
                "fix the failed rows above",
            )
        )
    return rows


def would_fail(rows: list[Row]) -> bool:
    return any(row.result == "failed" for row in rows)


def unproven(rows: list[Row]) -> bool:
    """Some row could not be checked with reads alone."""
    return any(row.result == "unknown" for row in rows)


def render(rows: list[Row]) -> str:
    header = Row("CHECK", "RESULT", "MEANING", "HOW TO FIX")
    table = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in table) for f in ("check", "result", "meaning")]
    lines = [
        f"{r.check:<{widths[0]}}  {r.result:<{widths[1]}}  {r.meaning:<{widths[2]}}  {r.fix}".rstrip()
        for r in table
    ]
    return "\n".join(lines) + "\n"
