"""Twilio's per-account quotas, and how a refused create is recognised as one.

Documented limits (twilio.com/docs/sip-trunking/scale-and-limits; the credential-list resource page):
100 trunks and 100 credential lists per account, 1,000 credentials per list; trial accounts get
1 trunk. A refusal with one of Twilio's quota codes (21244, 21239, 21242, 21237, 21255: its error
catalogue) is QuotaExceeded already (ports/twilio/adapter.py). This is the fallback for a refusal
without one (a trial's limits, an undocumented answer): a create refused (4xx, other than a
documented meaning such as 21248) while the account already holds as many as the quota allows is
the quota.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio_operator.api.errors import ErrorKind, TwilioError

SOURCE = "twilio.com/docs/sip-trunking/scale-and-limits"


@dataclass(frozen=True)
class Quota:
    what: str  # plural noun: "SIP trunks"
    full: int
    trial: int


TRUNKS = Quota("SIP trunks", 100, 1)
CREDENTIAL_LISTS = Quota("credential lists", 100, 100)


class QuotaExceeded(TwilioError):
    """A create refused because the account holds as many as its quota allows."""


def limit_of(quota: Quota, account_type: str | None) -> int:
    return quota.trial if (account_type or "").lower() == "trial" else quota.full


def as_quota_error(
    error: TwilioError, quota: Quota, count: int, account_type: str | None, account_sid: str
) -> TwilioError:
    """`error` (a refused create) as QuotaExceeded when the count explains it, else unchanged."""
    if error.kind is not ErrorKind.REJECTED:
        return error
    limit = limit_of(quota, account_type)
    if count < limit:
        return error
    kind = "trial account" if limit == quota.trial and quota.trial != quota.full else "account"
    return QuotaExceeded(
        error.operation,
        ErrorKind.REJECTED,
        status=error.status,
        code=error.code,
        detail=(
            f"quota reached: {kind} {account_sid} has {count} {quota.what} in this region and Twilio "
            f"allows {limit} ({SOURCE}); delete unused {quota.what} or ask Twilio to raise the limit"
        ),
    )
