"""Taking a number off a trunk, and proving it by reading the number back.

Twilio offers three ways, and none works everywhere (docs/emulator.md, "Trunk vs voice application"):
- `VoiceApplicationSid=AP…` on the number: the spec says it deletes the number's trunk_sid, in every
  region. The operator sets only the application the number had before it was imported (recorded
  in the TwilioPhoneNumber's status): it gives the number back its own configuration, and never
  points a customer's number at an application the operator chose.
- `TrunkSid=""` on the number: the spec's pattern forbids the empty value, so Twilio may refuse it.
- `DELETE /v1/Trunks/{TK}/PhoneNumbers/{PN}`: not served in IE1 (Twilio's regional availability
  page); a 404 there says nothing about the number.

They are tried in that order and a refusal moves on to the next; whatever was answered, the detach
counts as done only when a read of the number shows it off the trunk. What is still attached after
all three is said by the caller (status and Events), never reported as detached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from twilio_operator.api import names
from twilio_operator.api.errors import ErrorKind, TwilioError
from twilio_operator.api.twilio_values import IncomingNumber
from twilio_operator.ports.twilio.port import TwilioPort


@dataclass(frozen=True)
class DetachResult:
    """The number as read back after the attempts (None: it left the account), and how it left."""

    number_sid: str
    trunk_sid: str
    number: IncomingNumber | None
    how: str | None = None

    @property
    def done(self) -> bool:
        return self.number is None or self.number.trunk_sid != self.trunk_sid


async def detach(
    twilio: TwilioPort, number_sid: str, trunk_sid: str, *, application_sid: str | None = None
) -> DetachResult:
    """Take the number off `trunk_sid` (this port's region) and read it back. `application_sid`: the
    voice application the number had before the operator attached it, given back to it first.
    Raises TwilioError for what a retry may fix (credentials, outages), unless the number reads back
    off the trunk after it; refusals are not errors."""
    attempts: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    if application_sid:
        attempts.append(
            (
                f"gave it back its voice application {application_sid}",
                lambda: twilio.set_number_voice_application(number_sid, application_sid),
            )
        )
    attempts.append(("cleared its TrunkSid", lambda: twilio.set_number_trunk(number_sid, None)))
    attempts.append(
        (
            "removed it through the trunk's PhoneNumbers subresource",
            lambda: twilio.remove_trunk_number(trunk_sid, number_sid),
        )
    )
    number: IncomingNumber | None = None
    for how, attempt in attempts:
        try:
            answered = await attempt()
        except TwilioError as error:
            if error.kind is ErrorKind.TRANSIENT:
                # A lost answer says nothing either way: the write may have been applied. Read back,
                # so that a number already off is counted (and named) now; a later run would not
                # find it on the trunk any more.
                number = await twilio.find_incoming_number(sid=number_sid, phone_number=None)
                if DetachResult(number_sid, trunk_sid, number).done:
                    return DetachResult(number_sid, trunk_sid, number, how)
                raise
            if error.kind not in (ErrorKind.REJECTED, ErrorKind.NOT_FOUND):
                raise
            continue  # refused here: the next way
        if answered is False:
            continue  # the subresource's 404: nothing proven either way
        number = await twilio.find_incoming_number(sid=number_sid, phone_number=None)
        result = DetachResult(number_sid, trunk_sid, number, how)
        if result.done:
            return result
    number = await twilio.find_incoming_number(sid=number_sid, phone_number=None)
    return DetachResult(number_sid, trunk_sid, number)


def still_attached(phone_numbers: list[str], trunk_sid: str, region: str) -> str:
    """What a user must know of numbers that no way took off the trunk, and what to do about them."""
    return (
        f"{', '.join(phone_numbers)} still on trunk {trunk_sid} (read back in {region}): Twilio refused "
        "TrunkSid=\"\" (outside its API's pattern) and the trunk's PhoneNumbers subresource (which it does "
        "not serve in every region, IE1 among them), and no voice application is known that the number "
        "had before it was imported. Take the number off the trunk by hand (in the Console, its voice "
        "configuration; or set its VoiceApplicationSid to an application of yours) and the deletion "
        f"goes on by itself, or annotate the object with {names.DELETION_POLICY_OVERRIDE}=Orphan to leave "
        "it there"
    )
