"""Latency, random 5xx, 429 bursts and scripted faults. Deterministic for a given seed."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

from twilio_operator.emulator import behaviour
from twilio_operator.emulator.errors import invalid

ACTIONS = frozenset({"error", "delay", "commit_then_error", "commit_then_hang", "rate_limit"})
_NOT_GIVEN = object()


@dataclass
class FaultRule:
    id: str
    method: str
    path: re.Pattern[str]
    action: str
    status: int
    code: int
    retry_after: int | None
    delay_ms: float
    hang_seconds: float
    remaining: int | None  # None: unlimited
    probability: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path.pattern,
            "action": self.action,
            "status": self.status,
            "code": self.code,
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
            "hang_seconds": self.hang_seconds,
            "remaining": self.remaining,
            "probability": self.probability,
        }


@dataclass
class RateLimit:
    """429 bursts: after every `burst_every_n` answered requests, the next `burst_length` get 429."""

    burst_every_n: int = 0  # 0: off
    burst_length: int = 1
    retry_after: int = behaviour.RETRY_AFTER_DEFAULT


def _default_status(action: str) -> int:
    return {"rate_limit": 429, "commit_then_error": 500}.get(action, 500)


def _default_code(status: int) -> int:
    return {
        429: behaviour.CODE_TOO_MANY_REQUESTS,
        503: behaviour.CODE_SERVICE_UNAVAILABLE,
        404: behaviour.CODE_NOT_FOUND,
        401: behaviour.CODE_AUTH_FAILED,
    }.get(status, behaviour.CODE_INTERNAL if status >= 500 else behaviour.CODE_INVALID_PARAMETER)


def _number(spec: dict[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(f"{key} must be a non-negative number")
    return float(value)


class Faults:
    def __init__(self, latency_ms: float = 0.0, fault_rate: float = 0.0, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not security
        self._ids = itertools.count(1)
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.rate_limit = RateLimit()
        self.rules: list[FaultRule] = []
        self._counter = 0
        # Twilio's 429 (20429) is a concurrency limit: requests in flight per account above it are refused.
        self.concurrency_limit = 0  # 0: off; an account's own limit (admin API) wins over this one
        self._in_flight: dict[str, int] = {}
        self.strict = behaviour.STRICT_DEFAULT

    def reset(self) -> None:
        self.rules.clear()
        self.rate_limit = RateLimit()
        self._counter = 0
        self.concurrency_limit = 0

    def in_flight(self, account_sid: str) -> int:
        return self._in_flight.get(account_sid, 0)

    def enter(self, account_sid: str, account_limit: int | None = None) -> bool:
        """Count a request in flight for the account; False (not counted) when over the limit."""
        limit = self.concurrency_limit if account_limit is None else account_limit
        current = self._in_flight.get(account_sid, 0)
        if limit and current >= limit:
            return False
        self._in_flight[account_sid] = current + 1
        return True

    def leave(self, account_sid: str) -> None:
        left = self._in_flight.get(account_sid, 1) - 1
        if left > 0:
            self._in_flight[account_sid] = left
        else:
            self._in_flight.pop(account_sid, None)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        action = spec.get("action")
        if action not in ACTIONS:
            raise invalid(f"action must be one of {', '.join(sorted(ACTIONS))}")
        method = str(spec.get("method") or "*").upper()
        try:
            path = re.compile(str(spec["path"]))
        except (KeyError, re.error) as exc:
            raise invalid(f"path must be a regular expression: {exc}") from None
        status = int(_number(spec, "status", _default_status(action)))
        if not 400 <= status <= 599:
            raise invalid("status must be a 4xx or 5xx")
        times = spec.get("times", _NOT_GIVEN)
        remaining = behaviour.FAULT_DEFAULT_TIMES if times is _NOT_GIVEN else times
        if remaining is not None and (not isinstance(remaining, int) or remaining < 1):
            raise invalid("times must be a positive integer or null (unlimited)")
        probability = spec.get("probability")
        if probability is not None and not 0 <= _number(spec, "probability", 1.0) <= 1:
            raise invalid("probability must be between 0 and 1")
        retry_after = spec.get("retry_after")
        if retry_after is None and action == "rate_limit":
            retry_after = behaviour.RETRY_AFTER_DEFAULT
        rule = FaultRule(
            id=f"f{next(self._ids)}",
            method=method,
            path=path,
            action=action,
            status=status,
            code=int(_number(spec, "code", _default_code(status))),
            retry_after=None if retry_after is None else int(retry_after),
            delay_ms=_number(spec, "delay_ms", 0.0),
            hang_seconds=_number(spec, "hang_seconds", behaviour.HANG_SECONDS_DEFAULT),
            remaining=remaining,
            probability=None if probability is None else float(probability),
        )
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def match(self, method: str, path: str) -> FaultRule | None:
        """The first live rule for this request; consumes one of its `times`."""
        for rule in self.rules:
            if rule.remaining == 0 or rule.method not in ("*", method) or not rule.path.fullmatch(path):
                continue
            if rule.probability is not None and self._rng.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule
        return None

    def rate_limited(self) -> int | None:
        """Retry-After seconds if this request falls in a 429 burst, else None."""
        limit = self.rate_limit
        if limit.burst_every_n <= 0:
            return None
        position = self._counter % (limit.burst_every_n + limit.burst_length)
        self._counter += 1
        return limit.retry_after if position >= limit.burst_every_n else None

    def random_failure(self) -> int | None:
        if self.fault_rate > 0 and self._rng.random() < self.fault_rate:
            return self._rng.choice(behaviour.RANDOM_FAULT_STATUSES)
        return None

    def configure(self, spec: dict[str, Any]) -> None:
        latency = _number(spec, "latency_ms", self.latency_ms)
        rate = _number(spec, "fault_rate", self.fault_rate)
        if rate > 1:
            raise invalid("fault_rate must be between 0 and 1")
        limit = spec.get("rate_limit")
        if limit is not None:
            if not isinstance(limit, dict):
                raise invalid("rate_limit must be an object")
            self.rate_limit = RateLimit(
                burst_every_n=int(_number(limit, "burst_every_n", 0)),
                burst_length=max(1, int(_number(limit, "burst_length", 1))),
                retry_after=int(_number(limit, "retry_after", behaviour.RETRY_AFTER_DEFAULT)),
            )
            self._counter = 0
        limit_value = int(_number(spec, "concurrency_limit", self.concurrency_limit))
        if limit_value < 0:
            raise invalid("concurrency_limit must be >= 0 (0: off)")
        strict = spec.get("strict", self.strict)
        if not isinstance(strict, bool):
            raise invalid("strict must be true or false")
        self.concurrency_limit = limit_value
        self.latency_ms, self.fault_rate, self.strict = latency, rate, strict

    def config_json(self) -> dict[str, Any]:
        limit = self.rate_limit
        return {
            "latency_ms": self.latency_ms,
            "fault_rate": self.fault_rate,
            "rate_limit": {
                "burst_every_n": limit.burst_every_n,
                "burst_length": limit.burst_length,
                "retry_after": limit.retry_after,
            },
            "concurrency_limit": self.concurrency_limit,
            "strict": self.strict,
        }
