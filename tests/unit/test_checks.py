"""provider/verification.py: which account refusals are a key type's limit (skipped) and which block."""

from __future__ import annotations

import pytest

from twilio_operator.api.errors import ErrorKind, TwilioError, classify
from twilio_operator.api.twilio_values import Account, NumberPage
from twilio_operator.provider.verification import (
    Check,
    Observed,
    access_checks,
    account_unreadable_by_key,
    first_blocking_error,
    verdict,
)

PAGE = NumberPage(numbers=(), total=0, trunk_of={}, phone_numbers=frozenset())


def refused(status: int, code: int) -> TwilioError:
    return TwilioError("fetch the Twilio account", classify(status, code), status=status, code=code)


@pytest.mark.parametrize(
    ("account", "trunks", "skipped", "blocking"),
    [
        (Account("AC1", "active", "x", "Full"), [], False, None),
        (refused(401, 20003), [], True, None),  # Standard key
        (refused(403, 70051), [], True, None),  # Restricted key
        (refused(401, 20003), refused(401, 20003), False, 20003),  # a wrong token fails every read
        (refused(401, 20005), [], False, 20005),  # inactive, not a key limit
        (refused(503, 20503), [], False, 20503),
    ],
)
def test_account_refusal(account: object, trunks: object, skipped: bool, blocking: int | None) -> None:
    observed = Observed(account, trunks, [], PAGE)  # type: ignore[arg-type]
    assert (account_unreadable_by_key(observed) is not None) is skipped
    [first, *_] = access_checks(observed)
    assert (first.status == "skipped") is skipped
    error = first_blocking_error(observed)
    assert (error.code if error else None) == blocking


def test_skipped_checks_do_not_change_the_verdict() -> None:
    assert verdict([Check("a", "skipped", ""), Check("b", "passed", "")]) == "verified"
    assert verdict([Check("a", "skipped", ""), Check("b", "warning", "")]) == "warning"
    assert ErrorKind.AUTH is classify(403, 70051)
