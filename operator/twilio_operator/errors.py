"""Twilio failures, classified once, with messages that are safe to show anywhere.

The gateway turns every exception of the twilio library (and of the network
under it) into a `TwilioError`. Nothing else in the operator looks at
TwilioRestException: `str()` of it carries the request URI and ANSI colours,
and a message built from arbitrary exception text could carry a secret.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"  # 429, 5xx, timeouts, connection errors: retry with backoff
    AUTH = "auth"  # 401/403, inactive account: wait for new credentials or a slow retry
    NOT_FOUND = "not_found"  # 404: the resource is gone
    REJECTED = "rejected"  # any other 4xx: permanent until the input changes


# Twilio codes that mean "these credentials cannot do this", whatever the HTTP status.
AUTH_CODES = frozenset({20003, 20005, 20403, 70051})
# Codes that mean the account itself is not usable.
ACCOUNT_INACTIVE_CODES = frozenset({20005, 20403})


class TwilioError(Exception):
    """A failed Twilio call. `str()` is sanitised: operation, status, code and Twilio's own message."""

    def __init__(
        self,
        operation: str,
        kind: ErrorKind,
        *,
        status: int | None = None,
        code: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.operation = operation
        self.kind = kind
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [f"cannot {self.operation}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None and self.code != self.status:
            parts.append(f"Twilio error {self.code}")
        text = ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
        return f"{text}: {self.detail}" if self.detail else text

    @property
    def account_inactive(self) -> bool:
        return self.code in ACCOUNT_INACTIVE_CODES


class DeletionBlocked(Exception):
    """Twilio resources cannot be removed now; the message says why and how to let the object go."""


def classify(status: int | None, code: int | None) -> ErrorKind:
    """The one mapping from Twilio's answer to what the operator should do about it."""
    if code in AUTH_CODES or status in (401, 403):
        return ErrorKind.AUTH
    if status is None or status in (408, 409, 429) or status >= 500:
        return ErrorKind.TRANSIENT
    if status == 404:
        return ErrorKind.NOT_FOUND
    return ErrorKind.REJECTED


def clean_detail(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """Twilio's human message, without library prefixes, known secrets or control characters."""
    for prefix in (
        "Unable to create record: ",
        "Unable to update record: ",
        "Unable to fetch record: ",
        "Unable to delete record: ",
        "Unable to fetch page: ",
    ):
        text = text.removeprefix(prefix)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:limit]
