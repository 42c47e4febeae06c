"""TwilioPhoneNumber manifests for `twilio-operator numbers manifest`: pick numbers of an account and
render one object per number, to pipe into `kubectl apply -f -` (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from twilio_operator.api.models import PHONE_NUMBER


def object_name(provider: str, e164: str) -> str:
    """`<provider>-<digits>`, shortened to fit a name; the digits keep it unique per provider."""
    digits = re.sub(r"\D", "", e164)
    return f"{provider[: 253 - len(digits) - 1]}-{digits}"


def select(
    available: Iterable[str], *, everything: bool, pattern: str | None, wanted: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(the numbers chosen, the asked-for numbers the account does not have)."""
    numbers = list(dict.fromkeys(available))
    if everything:
        return numbers, []
    if pattern is not None:
        regex = re.compile(pattern)
        return [n for n in numbers if regex.search(n)], []
    present = set(numbers)
    return [n for n in wanted if n in present], [n for n in wanted if n not in present]


def manifests(provider: str, namespace: str | None, numbers: Iterable[str]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": PHONE_NUMBER.api_version,
            "kind": PHONE_NUMBER.kind,
            "metadata": {
                "name": object_name(provider, e164),
                **({"namespace": namespace} if namespace else {}),
            },
            "spec": {"providerRef": {"name": provider}, "phoneNumber": e164},
        }
        for e164 in numbers
    ]
