"""What a TwilioProvider reconcile reads before it decides: the account, in one parallel round trip,
and the TwilioPhoneNumber objects that imported numbers through this provider."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from twilio_operator.api import conditions as c
from twilio_operator.api.errors import TwilioError
from twilio_operator.api.models import PHONE_NUMBER
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort
from twilio_operator.provider.resource import Provider
from twilio_operator.provider.verification import ImportedNumber, NumberObjects, Observed, WaitingNumber

AVAILABLE_NUMBERS_SHOWN = 100
T = TypeVar("T")


async def observe(twilio: TwilioPort) -> Observed:
    account, trunks, lists, numbers = await asyncio.gather(
        twilio.fetch_account(),
        twilio.list_trunks(),
        twilio.list_credential_lists(),
        twilio.page_incoming_numbers(AVAILABLE_NUMBERS_SHOWN),
        return_exceptions=True,
    )
    return Observed(_twilio_only(account), _twilio_only(trunks), _twilio_only(lists), _twilio_only(numbers))


def _twilio_only(result: T | BaseException) -> T | TwilioError:
    """A read's result or its TwilioError; any other exception is a bug and propagates."""
    if isinstance(result, BaseException) and not isinstance(result, TwilioError):
        raise result
    return result


async def number_objects(provider: Provider, deps: Deps) -> NumberObjects:
    """This provider's TwilioPhoneNumber objects: those that attached their number to its trunk, and
    those waiting for a number the account did not have (reason NotFound)."""
    objects = await deps.kube.list_objects(PHONE_NUMBER, provider.namespace)
    imported, not_found = [], []
    for obj in objects:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if obj["metadata"].get("deletionTimestamp"):
            continue  # being detached right now
        if (spec.get("providerRef") or {}).get("name") != provider.name:
            continue
        if status.get("sid") and status.get("trunkSid"):
            imported.append(
                ImportedNumber(obj["metadata"]["name"], status["sid"], status.get("phoneNumber", ""))
            )
        elif any(
            cond.get("type") == c.READY and cond.get("reason") == c.NOT_FOUND
            for cond in status.get("conditions") or []
        ):
            wanted = spec.get("phoneNumberSid") or spec.get("phoneNumber") or ""
            not_found.append(WaitingNumber(obj["metadata"]["name"], wanted))
    return NumberObjects(imported, not_found)
