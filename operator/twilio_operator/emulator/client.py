"""EmulatorAdmin: a small synchronous client for the admin API (stdlib only), for tests, benchmarks
and demos. Every method maps to one endpoint documented in docs/emulator.md."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote


class EmulatorAdminError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"emulator admin call failed: HTTP {status}: {body}")
        self.status = status
        self.body = body


class EmulatorAdmin:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - base_url is the local emulator
            f"{self.base_url}/_emulator{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise EmulatorAdminError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(text) if text else None

    # --- accounts --------------------------------------------------------------------------------
    def create_account(
        self,
        *,
        sid: str | None = None,
        auth_token: str | None = None,
        friendly_name: str | None = None,
        status: str | None = None,
        type: str | None = None,
        api_keys: list[dict[str, Any]] | None = None,
        incoming_phone_numbers: list[dict[str, Any]] | None = None,
        region: str | None = None,
        regions: dict[str, dict[str, Any]] | None = None,
        suspension_mode: str | None = None,
        concurrency_limit: int | None = None,
        quotas: dict[str, int] | None = None,
        balance: str | float | None = None,
    ) -> dict[str, Any]:
        """Returns the account with sid, auth_token, api_keys [{sid, secret, type, permissions}] and
        numbers [{sid, ...}] of its home `region` (us1 unless given), and `regions` {name: the same}.
        api_keys entries: {sid?, secret?, type?: main (default)|standard|restricted (us1 only),
        permissions?}. regions: more processing regions, {name: {auth_token?, api_keys?,
        incoming_phone_numbers?}}. Numbers are the account's in every region; a number spec's
        voice_url/voice_application_sid/trunk_sid are its voice settings in the region it is listed
        under, "voice": {region: {...}} sets any region's. balance: the opening balance (USD)."""
        spec = {
            "sid": sid,
            "auth_token": auth_token,
            "friendly_name": friendly_name,
            "status": status,
            "type": type,
            "api_keys": api_keys,
            "incoming_phone_numbers": incoming_phone_numbers,
            "region": region,
            "regions": regions,
            "suspension_mode": suspension_mode,
            "concurrency_limit": concurrency_limit,
            "quotas": quotas,
            "balance": balance,
        }
        result: dict[str, Any] = self._call(
            "POST", "/accounts", {k: v for k, v in spec.items() if v is not None}
        )
        return result

    def patch_account(
        self,
        sid: str,
        *,
        status: str | None = None,
        type: str | None = None,
        auth_token: str | None = None,
        region: str | None = None,
        suspension_mode: str | None = None,
        concurrency_limit: int | None = None,
        quotas: dict[str, int] | None = None,
        balance: str | float | None = None,
    ) -> dict[str, Any]:
        """auth_token rotates the token of `region` (default: the home region). concurrency_limit
        0 means unlimited; use clear_concurrency_limit() to fall back to the global setting.
        suspension_mode: forbidden (default, 403/20403) | reject (401/20005) | readable."""
        given = {
            "status": status,
            "type": type,
            "auth_token": auth_token,
            "region": region,
            "suspension_mode": suspension_mode,
            "concurrency_limit": concurrency_limit,
            "quotas": quotas,
            "balance": balance,
        }
        spec = {k: v for k, v in given.items() if v is not None}
        result: dict[str, Any] = self._call("PATCH", f"/accounts/{quote(sid)}", spec)
        return result

    def get_account(self, sid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/accounts/{quote(sid)}")
        return result

    def clear_concurrency_limit(self, sid: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"/accounts/{quote(sid)}", {"concurrency_limit": None})
        return result

    def add_region(
        self,
        sid: str,
        region: str,
        *,
        auth_token: str | None = None,
        api_keys: list[dict[str, Any]] | None = None,
        incoming_phone_numbers: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Credentials (and numbers) of the account in another processing region; returns
        {region, auth_token, api_keys, incoming_phone_numbers}."""
        given = {
            "auth_token": auth_token,
            "api_keys": api_keys,
            "incoming_phone_numbers": incoming_phone_numbers,
        }
        spec = {k: v for k, v in given.items() if v is not None}
        result: dict[str, Any] = self._call("POST", f"/accounts/{quote(sid)}/regions/{quote(region)}", spec)
        return result

    def add_api_key(
        self,
        sid: str,
        *,
        type: str = "main",
        permissions: list[str] | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """A new key {sid, secret, type, permissions, region}; permissions only for restricted keys."""
        spec: dict[str, Any] = {"type": type}
        if permissions is not None:
            spec["permissions"] = permissions
        if region is not None:
            spec["region"] = region
        result: dict[str, Any] = self._call("POST", f"/accounts/{quote(sid)}/api_keys", spec)
        return result

    def add_numbers(
        self,
        sid: str,
        *,
        count: int | None = None,
        numbers: list[dict[str, Any]] | None = None,
        region: str | None = None,
    ) -> list[dict[str, Any]]:
        spec: dict[str, Any] = {"numbers": numbers} if numbers is not None else {"count": count}
        if region is not None:
            spec["region"] = region
        result = self._call("POST", f"/accounts/{quote(sid)}/incoming_phone_numbers", spec)
        added: list[dict[str, Any]] = result["incoming_phone_numbers"]
        return added

    def numbers(self, sid: str) -> list[dict[str, Any]]:
        """The account's numbers, each with `voice` {region: {trunk_sid, voice_url,
        voice_application_sid}} and `voice_region` (its inbound route, None when never set)."""
        result: list[dict[str, Any]] = self._call("GET", f"/accounts/{quote(sid)}/incoming_phone_numbers")[
            "incoming_phone_numbers"
        ]
        return result

    def patch_number(self, sid: str, number: str, **changes: Any) -> dict[str, Any]:
        """`number`: PN sid or E.164. changes: friendly_name, voice={region: {trunk_sid?, voice_url?,
        voice_application_sid?}}, voice_region=region|None (the inbound route), address_sid,
        emergency_address_sid (None unlinks)."""
        result: dict[str, Any] = self._call(
            "PATCH", f"/accounts/{quote(sid)}/incoming_phone_numbers/{quote(number)}", changes
        )
        return result

    # --- numbers for sale, addresses -------------------------------------------------------------
    def add_available_numbers(
        self, numbers: list[dict[str, Any]] | None = None, *, count: int | None = None, **spec: Any
    ) -> list[dict[str, Any]]:
        """Twilio's inventory. numbers: [{phone_number, iso_country?, type?, capabilities?,
        address_requirements?, bundle_required?, price?, locality?, region?, postal_code?, beta?}], or
        count=N with the same fields plus area_code or prefix (numbers generated)."""
        body: dict[str, Any] = (
            {"numbers": numbers} if numbers is not None else {"count": 1 if count is None else count, **spec}
        )
        added: list[dict[str, Any]] = self._call("POST", "/available_phone_numbers", body)[
            "available_phone_numbers"
        ]
        return added

    def available_numbers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", "/available_phone_numbers")["available_phone_numbers"]
        return found

    def clear_available_numbers(self) -> None:
        self._call("DELETE", "/available_phone_numbers")

    def add_address_rule(
        self,
        street_contains: str,
        action: str = "reject",
        *,
        corrected: dict[str, str] | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Addresses whose street contains the text are refused (21628), or corrected (21629 with
        AutoCorrectAddress=false)."""
        body: dict[str, Any] = {"street_contains": street_contains, "action": action}
        if corrected is not None:
            body["corrected"] = corrected
        if message is not None:
            body["message"] = message
        result: dict[str, Any] = self._call("POST", "/address_rules", body)
        return result

    def clear_address_rules(self) -> None:
        self._call("DELETE", "/address_rules")

    def patch_address(
        self, sid: str, address_sid: str, *, validated: bool | None = None, verified: bool | None = None
    ) -> dict[str, Any]:
        given = {"validated": validated, "verified": verified}
        result: dict[str, Any] = self._call(
            "PATCH",
            f"/accounts/{quote(sid)}/addresses/{quote(address_sid)}",
            {k: v for k, v in given.items() if v is not None},
        )
        return result

    # --- request log -----------------------------------------------------------------------------
    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._call("GET", f"/requests?since={int(since)}")["requests"]
        return entries

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    # --- faults and config -----------------------------------------------------------------------
    def add_fault(
        self,
        path: str,
        action: str = "error",
        *,
        method: str = "*",
        status: int | None = None,
        code: int | None = None,
        retry_after: int | None = None,
        delay_ms: float | None = None,
        hang_seconds: float | None = None,
        times: int | None = 1,
        probability: float | None = None,
    ) -> str:
        """Script a fault; `path` is a regex matched with re.fullmatch. times=None: unlimited."""
        spec: dict[str, Any] = {"method": method, "path": path, "action": action, "times": times}
        optional = {
            "status": status,
            "code": code,
            "retry_after": retry_after,
            "delay_ms": delay_ms,
            "hang_seconds": hang_seconds,
            "probability": probability,
        }
        spec.update({k: v for k, v in optional.items() if v is not None})
        fault_id: str = self._call("POST", "/faults", spec)["id"]
        return fault_id

    def faults(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return rules

    def delete_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{quote(fault_id)}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def configure(
        self,
        *,
        latency_ms: float | None = None,
        fault_rate: float | None = None,
        rate_limit: dict[str, int] | None = None,
        concurrency_limit: int | None = None,
        strict: bool | None = None,
    ) -> dict[str, Any]:
        """concurrency_limit: requests in flight per account above it get 429/20429 (0: off); an
        account's own limit wins. strict: undocumented cases answer 400 with an unexpected code."""
        spec = {
            "latency_ms": latency_ms,
            "fault_rate": fault_rate,
            "rate_limit": rate_limit,
            "concurrency_limit": concurrency_limit,
            "strict": strict,
        }
        result: dict[str, Any] = self._call(
            "POST", "/config", {k: v for k, v in spec.items() if v is not None}
        )
        return result

    # --- inspection ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def sip_auth(self, domain_name: str, username: str, password: str, region: str | None = None) -> bool:
        return bool(self.sip_auth_detail(domain_name, username, password, region)["ok"])

    def sip_auth_detail(
        self, domain_name: str, username: str, password: str, region: str | None = None
    ) -> dict[str, Any]:
        body = {"domain_name": domain_name, "username": username, "password": password}
        result: dict[str, Any] = self._call(
            "POST", "/sip-auth", {**body, **({"region": region} if region else {})}
        )
        return result

    def ip_auth(self, domain_name: str, source_ip: str, region: str | None = None) -> bool:
        """Would the trunk accept a SIP request from `source_ip` by its IP access control lists."""
        body = {"domain_name": domain_name, "source_ip": source_ip, **({"region": region} if region else {})}
        result = self._call("POST", "/ip-auth", body)
        return bool(result["ok"])

    def call_auth(
        self,
        domain_name: str,
        *,
        source_ip: str | None = None,
        username: str | None = None,
        password: str | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Would a call to the trunk be admitted from `source_ip` with these credentials: {ok, reason,
        mode (either|both), ip: {ok, reason}|None, credentials: {ok, reason}|None}; None: not attached."""
        given = {
            "domain_name": domain_name,
            "source_ip": source_ip,
            "username": username,
            "password": password,
            "region": region,
        }
        result: dict[str, Any] = self._call(
            "POST", "/call-auth", {k: v for k, v in given.items() if v is not None}
        )
        return result

    def contract_violations(self) -> list[dict[str, Any]]:
        violations: list[dict[str, Any]] = self._call("GET", "/contract-violations")["violations"]
        return violations

    def contract_checking(self) -> bool:
        return bool(self._call("GET", "/contract-violations")["enabled"])

    def reset(self) -> None:
        self._call("POST", "/reset")

    def healthz(self) -> bool:
        try:
            return bool(self._call("GET", "/healthz")["ok"])
        except (OSError, EmulatorAdminError):
            return False
