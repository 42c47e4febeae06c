"""Raw-HTTP helpers for tests that must send what the twilio library never would."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from fixtures.emulator import TwilioAccount


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def raw(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> RawResponse:
    request = urllib.request.Request(base_url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return RawResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return RawResponse(exc.code, dict(exc.headers), exc.read())


def account_auth(account: TwilioAccount) -> dict[str, str]:
    return basic(account.sid, account.auth_token)


def assert_twilio_error(response: RawResponse, status: int, code: int | None = None) -> dict[str, Any]:
    assert response.status == status, response.body
    payload: dict[str, Any] = response.json()
    assert set(payload) >= {"code", "message", "more_info", "status"}, payload
    assert payload["status"] == status
    if code is not None:
        assert payload["code"] == code, payload
    return payload
