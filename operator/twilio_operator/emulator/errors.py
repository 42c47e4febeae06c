"""Twilio-shaped error responses: {code, message, more_info, status}."""

from __future__ import annotations

from typing import Any

from twilio_operator.emulator import behaviour


class TwilioError(Exception):
    """Raised anywhere in a handler; the app turns it into a Twilio-shaped JSON error."""

    def __init__(self, status: int, code: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": behaviour.MORE_INFO_URL.format(code=code),
        "status": status,
    }


def not_found(what: str = "The requested resource") -> TwilioError:
    return TwilioError(404, behaviour.CODE_NOT_FOUND, f"{what} was not found")


def invalid(message: str, code: int = behaviour.CODE_INVALID_PARAMETER) -> TwilioError:
    return TwilioError(400, code, message)


def auth_failed() -> TwilioError:
    return TwilioError(401, behaviour.CODE_AUTH_FAILED, "Authentication Error - invalid username")
