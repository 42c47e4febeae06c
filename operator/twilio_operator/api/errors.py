"""Failures, classified once, with messages that are safe to show anywhere.

The Twilio adapter turns every exception of the twilio library (and of the network
under it) into a `TwilioError`; the Kubernetes adapter turns the API server's refusals
into a `KubernetesError`; the LiveKit adapter turns livekit-api's into a `LiveKitError`.
Nothing else in the operator looks at a client library's
exception: `str()` of TwilioRestException carries the request URI and ANSI colours,
and a message built from arbitrary exception text could carry a secret.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

import pydantic


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"  # 429, 5xx, timeouts, connection errors: retry with backoff
    AUTH = "auth"  # 401/403, inactive account: wait for new credentials or a slow retry
    NOT_FOUND = "not_found"  # 404: the resource is gone
    REJECTED = "rejected"  # any other 4xx: permanent until the input changes


# Twilio codes that mean "these credentials cannot do this", whatever the HTTP status.
AUTH_CODES = frozenset({20003, 20005, 20403, 70051})
# Codes that mean the account itself is not usable.
ACCOUNT_INACTIVE_CODES = frozenset({20005, 20403})
PERMISSION_DENIED_CODE = 70051  # a Restricted API key without the permission the request needs


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

    @property
    def permission_denied(self) -> bool:
        """The credentials work but lack a permission (a Restricted API key)."""
        return self.code == PERMISSION_DENIED_CODE


class KubernetesError(Exception):
    """The API server refused or failed one of the operator's own requests.

    `message` is the server's own explanation (from its Status body), which names the field at fault
    for a 422; it never contains a request body, so no Secret value can reach it.
    """

    def __init__(self, operation: str, status: int | None, reason: str = "", message: str = "") -> None:
        self.operation = operation
        self.status = status
        self.reason = reason
        self.message = clean_detail(message, limit=500)
        super().__init__(self.describe())

    def describe(self) -> str:
        text = f"cannot {self.operation}: HTTP {self.status} {self.reason}".rstrip()
        return f"{text}: {self.message}" if self.message else text

    @property
    def transient(self) -> bool:
        """Worth retrying as it is: a conflict, throttling, a timeout or a server failure."""
        return self.status is None or self.status in (409, 429) or self.status >= 500

    @property
    def refusal(self) -> bool:
        """The server said no to this request (as opposed to failing to answer), so the object should
        say why. A 409 is one: the adapter settles the conflicts it expects (a create whose name is
        taken), and the operator's writes carry no resourceVersion to go stale, so a conflict that
        gets this far comes from something else, such as an admission webhook, and may well last
        (the one write that names a resourceVersion, the SIP Secret's "applied" mark, settles its
        own 409)."""
        return self.status == 409 or not self.transient


class LiveKitErrorKind(enum.Enum):
    UNREACHABLE = "unreachable"  # no LiveKit API answered at this URL: down, wrong host or port, not LiveKit
    TRANSIENT = "transient"  # LiveKit answered but failed (5xx, e.g. its Redis is down; throttled): retry
    AUTH = "auth"  # the API key or secret is wrong, or lacks the SIP admin grant: wait for a new Secret
    NOT_FOUND = "not_found"  # the trunk or dispatch rule does not exist (LiveKit's own not_found code)
    CONFLICT = "conflict"  # another trunk or rule already holds these numbers: permanent until one changes
    INVALID = "invalid"  # LiveKit refused the request as it is (e.g. an outbound trunk without numbers)


# LiveKit's SIP conflict messages (github.com/livekit/protocol sip/sip.go, v1.50.5 as in livekit-server
# v1.13.5). Both are twirp invalid_argument; the message is the only way to tell them from other
# refusals. IDs are printed with %q; a request's own object not stored yet is "<new>".
_TRUNK_CONFLICT = re.compile(r"^Conflicting inbound SIP Trunks: ")
_RULE_CONFLICT = re.compile(r"^Dispatch rule for the same trunk.* already exists in dispatch rule ")
_QUOTED_LIVEKIT_ID = re.compile(r'"((?:ST|SDR)_[A-Za-z0-9]+)"')
# Twirp codes (github.com/twitchtv/twirp errors.go) by what the operator should do about them.
_TWIRP_AUTH = frozenset({"unauthenticated", "permission_denied"})
_TWIRP_TRANSIENT = frozenset(
    {"canceled", "deadline_exceeded", "resource_exhausted", "aborted", "internal", "unavailable", "dataloss"}
)


class LiveKitError(Exception):
    """A failed LiveKit API call. `str()` is sanitised: operation, HTTP status, twirp code and LiveKit's
    own message with the API secret and any SIP password of the request redacted.

    `conflicting_id` names the other inbound trunk (ST_...) or dispatch rule (SDR_...) of a CONFLICT,
    when LiveKit's message names one other than the request's own object.
    """

    def __init__(
        self,
        operation: str,
        kind: LiveKitErrorKind,
        *,
        status: int | None = None,
        code: str | None = None,
        detail: str = "",
        conflicting_id: str | None = None,
    ) -> None:
        self.operation = operation
        self.kind = kind
        self.status = status
        self.code = code
        self.detail = detail
        self.conflicting_id = conflicting_id
        super().__init__(self.describe())

    def describe(self) -> str:
        code = "" if self.code in (None, "unknown") else self.code  # "unknown" says nothing to a reader
        answer = ", ".join(part for part in (f"HTTP {self.status}" if self.status else "", code) if part)
        text = f"cannot {self.operation}" + (f": {answer}" if answer else "")
        return f"{text}: {self.detail}" if self.detail else text


def classify_livekit(status: int | None, code: str | None, message: str) -> LiveKitErrorKind:
    """The one mapping from LiveKit's answer (HTTP status, twirp error code, message) to what the
    operator should do about it. `status` None means no answer arrived.

    NOT_FOUND only on LiveKit's own not_found code: a 404 from something that is not LiveKit's API
    (a wrong URL path, a proxy) must never read as "already deleted".
    """
    if status is None:
        return LiveKitErrorKind.UNREACHABLE
    if code in _TWIRP_AUTH or status in (401, 403):
        return LiveKitErrorKind.AUTH
    if code == "not_found":
        return LiveKitErrorKind.NOT_FOUND
    if code == "already_exists" or (
        code == "invalid_argument" and (_TRUNK_CONFLICT.match(message) or _RULE_CONFLICT.match(message))
    ):
        return LiveKitErrorKind.CONFLICT
    if code == "bad_route" or (code in (None, "", "unknown") and not message and status < 500):
        return LiveKitErrorKind.UNREACHABLE  # an HTTP server, but not LiveKit's API at this URL
    if code in _TWIRP_TRANSIENT or status == 429 or status >= 500:
        return LiveKitErrorKind.TRANSIENT
    return LiveKitErrorKind.INVALID


def conflicting_livekit_id(message: str, own_id: str | None = None) -> str | None:
    """The trunk or dispatch rule ID a LiveKit conflict message names, other than the request's own.

    LiveKit prints the pair in either order ("<new>" or the updated object's ID, and the other one),
    and a dispatch rule conflict may name the updated rule itself: then None.
    """
    for found in _QUOTED_LIVEKIT_ID.findall(message):
        if found != own_id:
            return str(found)
    return None


class NotFoundError(Exception):
    """The Kubernetes object a reconcile works on vanished under it (deleted meanwhile)."""


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


# ANSI escape sequences: CSI (colours, cursor moves) and OSC (titles, hyperlinks), then any lone ESC.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-~]?")


def clean_detail(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """A server's human message, without library prefixes, known secrets, escape sequences or
    control characters."""
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
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:limit]


def describe(error: BaseException) -> str:
    """The one way an error is put into words for a condition, an Event or a log line."""
    if isinstance(error, TwilioError | KubernetesError | LiveKitError):
        return error.describe()
    if isinstance(error, DeletionBlocked):
        return str(error)
    if isinstance(error, pydantic.ValidationError):
        return f"invalid object: {error.error_count()} errors"
    return f"unexpected {type(error).__name__}"
