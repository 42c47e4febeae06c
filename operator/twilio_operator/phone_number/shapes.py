"""What the lifecycle steps of a number (purchase.py, emergency.py, release.py) read of the object and
write through, as protocols: phone_number/reconcile.py's PhoneNumber and NumberWriter fit them, and
the steps sit below the reconcile that calls them."""

from __future__ import annotations

from typing import Any, Protocol

from twilio_operator.api.models import TwilioPhoneNumberSpec, TwilioPhoneNumberStatus
from twilio_operator.api.objects import ObjectRef


class NumberObject(Protocol):
    """A TwilioPhoneNumber as a reconcile holds it."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def spec(self) -> TwilioPhoneNumberSpec: ...
    @property
    def status(self) -> TwilioPhoneNumberStatus: ...
    @property
    def ref(self) -> ObjectRef: ...


class StatusDraft(Protocol):
    """The status a reconcile will write at its end; `set` changes fields of it."""

    @property
    def status(self) -> TwilioPhoneNumberStatus: ...
    def set(self, **fields: Any) -> None: ...
