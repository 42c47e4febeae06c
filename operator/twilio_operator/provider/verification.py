"""Verification decided without I/O: each check's verdict from what was observed, and the overall status.

Everything here is a pure function of its arguments, so it is unit-tested with tables.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from twilio_operator.api.cidrs import parse_cidr
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.models import CheckStatus, VerificationDetail, VerificationStatus
from twilio_operator.api.times import rfc3339
from twilio_operator.api.twilio_values import Account, CredentialList, NumberPage, Trunk


@dataclass(frozen=True)
class Check:
    name: str
    status: CheckStatus
    message: str
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Observed:
    """One parallel read of the account: the four access checks' reads, and what they returned."""

    account: Account | TwilioError
    trunks: list[Trunk] | TwilioError
    lists: list[CredentialList] | TwilioError
    numbers: NumberPage | TwilioError


@dataclass(frozen=True)
class ImportedNumber:
    """A TwilioPhoneNumber that reports its number attached to this provider's trunk."""

    name: str
    sid: str
    phone_number: str


@dataclass(frozen=True)
class WaitingNumber:
    """A TwilioPhoneNumber that found no such number in the account (reason NotFound)."""

    name: str
    wanted: str  # its spec's E.164 number or SID


@dataclass(frozen=True)
class NumberObjects:
    imported: list[ImportedNumber]
    not_found: list[WaitingNumber]

    def now_in_account(self, page: NumberPage) -> list[str]:
        """Names of the NotFound objects whose number the account has now: worth a recheck."""
        return [n.name for n in self.not_found if n.wanted in page.phone_numbers or n.wanted in page.trunk_of]


def verdict(checks: Iterable[Check]) -> VerificationStatus:
    statuses = {check.status for check in checks} - {"skipped"}  # skipped: said in its detail
    if not statuses:
        return "pending"
    if "failed" in statuses:
        return "failed"
    if "warning" in statuses:
        return "warning"
    return "verified"


ACCOUNT_SKIPPED_STANDARD = (
    "a Standard API key cannot read the account; use a Main key or the Auth Token to verify account status"
)
ACCOUNT_SKIPPED_RESTRICTED = (
    "a Restricted API key cannot read the account; use a Main key or the Auth Token to verify account status"
)


def account_unreadable_by_key(observed: Observed) -> str | None:
    """Why the account check is skipped, or None. Twilio refuses the account fetch to Standard keys
    (401 / 20003) and Restricted keys (403 / 70051) although they can do everything else the operator
    needs (twilio.com/docs/iam/api-keys/key-resource-v1; twilio-python issue #259). The same refusal
    beside a successful trunk read can only be such a key: a wrong token or region fails every read."""
    account = observed.account
    if not isinstance(account, TwilioError) or account.kind is not ErrorKind.AUTH:
        return None
    if account.account_inactive or isinstance(observed.trunks, TwilioError):
        return None
    if account.permission_denied:
        return ACCOUNT_SKIPPED_RESTRICTED
    return ACCOUNT_SKIPPED_STANDARD if account.status == 401 else None


def access_checks(observed: Observed) -> list[Check]:
    """What the credentials can do: read the account (and is it active), trunks, lists, numbers."""
    checks: list[Check] = []
    account = observed.account
    skipped = account_unreadable_by_key(observed)
    if skipped is not None:
        checks.append(Check("accountActive", "skipped", skipped))
    elif isinstance(account, TwilioError):
        checks.append(Check("accountActive", "failed", str(account)))
    elif account.status != "active":
        checks.append(Check("accountActive", "failed", f"account is {account.status}"))
    else:
        checks.append(Check("accountActive", "passed", "account is active", (("type", account.type),)))
    for name, result, what in (
        ("sipTrunkingAccess", observed.trunks, "SIP trunks are readable"),
        ("credentialListAccess", observed.lists, "credential lists are readable"),
    ):
        checks.append(
            Check(name, "failed", str(result))
            if isinstance(result, TwilioError)
            else Check(name, "passed", what)
        )
    numbers = observed.numbers
    if isinstance(numbers, TwilioError):
        checks.append(Check("phoneNumbersAccess", "failed", str(numbers)))
    else:
        checks.append(
            Check(
                "phoneNumbersAccess",
                "passed",
                f"{numbers.total} incoming phone numbers",
                (("count", str(numbers.total)),),
            )
        )
    return checks


def first_blocking_error(observed: Observed) -> TwilioError | None:
    """A transient error anywhere means "try again"; otherwise the first failure explains the rest."""
    account = None if account_unreadable_by_key(observed) else observed.account
    errors = [
        r for r in (account, observed.trunks, observed.lists, observed.numbers) if isinstance(r, TwilioError)
    ]
    transient = [e for e in errors if e.kind is ErrorKind.TRANSIENT]
    candidates = transient or errors
    return candidates[0] if candidates else None


def numbers_check(imported: list[ImportedNumber], detached: list[ImportedNumber], page: NumberPage) -> Check:
    """Numbers imported through TwilioPhoneNumber objects must still be on the trunk."""
    if not detached:
        return Check("phoneNumbersOnTrunk", "passed", f"{len(imported)} imported numbers are on the trunk")
    listed = ", ".join(f"{n.phone_number or n.sid}" for n in detached[:10])
    gone = [n for n in detached if n.sid not in page.trunk_of]
    return Check(
        "phoneNumbersOnTrunk",
        "warning",
        f"{len(detached)} imported numbers are no longer on the trunk: {listed}; each TwilioPhoneNumber "
        "re-attaches its number or reports why it cannot",
        (("detached", str(len(detached))), ("missingFromAccount", str(len(gone)))),
    )


def verification_details(checks: list[Check], now: datetime) -> list[VerificationDetail]:
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


# --------------------------------------------------------------------------- IP access control admission

IP_ADMISSION_CHECK = "ipAccessControlAdmission"


def sip_host(url: str) -> str:
    """The host of a SIP URI (sip:user@host:port;params -> host)."""
    _, _, rest = url.strip().partition(":")
    address = rest.partition(";")[0].rpartition("@")[2]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def ip_admission_check(cidrs: Iterable[str], origination_urls: Iterable[str], sip_secret: str) -> Check:
    """What an IP access control list on the trunk now requires of the platform that dials out through
    it. Twilio admits a call only from an address in the list; reports say that with the credential
    list also attached it requires both (unconfirmed: the operator is written to be right either way).
    The operator cannot see which platform uses the SIP Secret, so this is a warning that says what is
    required; an origination URI on an IP address outside the list (the platform that receives the
    trunk's calls, which usually also dials out) is named as a lockout."""
    networks = [parse_cidr(c) for c in cidrs]
    listed = ", ".join(str(n) if n.prefixlen < 32 else str(n.network_address) for n in networks)
    outside = []
    for url in origination_urls:
        host = sip_host(url)
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            continue  # a DNS name: its addresses are not known here
        if not any(address in n for n in networks):
            outside.append(host)
    required = (
        f"outbound calls through this trunk are admitted only from {listed}, and (where Twilio requires "
        f"both checks, as reports say; unconfirmed) only with the username and password of Secret "
        f"{sip_secret}"
    )
    if outside:
        message = (
            f"{', '.join(sorted(set(outside)))} receives this trunk's calls (originationUris) but is not in "
            f"ipAccessControl: calls it sends are refused. Now {required}"
        )
    else:
        message = (
            f"{required[0].upper()}{required[1:]}. The operator cannot see which platform uses that Secret: "
            "make sure it dials from one of these addresses and sends those credentials, else its calls "
            "stop (docs/ip-access-control.md)"
        )
    return Check(IP_ADMISSION_CHECK, "warning", message, (("cidrs", listed),))
