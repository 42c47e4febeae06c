"""What deleting a TwilioPhoneNumber does to its number in the Twilio account, once the number has
left the trunk (deletion.release_number): releasePolicy Retain keeps it (and says so); Release gives a
number this object bought back to Twilio, which nobody can undo.

Release is refused unless api/ownership.release_problem finds no reason: the object bought the number
(status and the purchase tag in Twilio agree), and nothing else uses it. A refused release keeps the
number and says why in a Warning Event; the object goes either way (nothing waits on a refusal).
The emergency address is unlinked first: Twilio refuses to release a number that has one
(terraform-provider-twilio#149), and an address used by no number can be deleted.
"""

from __future__ import annotations

from collections.abc import Collection

from twilio_operator.api import conditions as c
from twilio_operator.api.ownership import release_problem
from twilio_operator.phone_number.emergency import unlink_emergency_address
from twilio_operator.phone_number.shapes import NumberObject
from twilio_operator.ports.deps import Deps
from twilio_operator.ports.twilio.port import TwilioPort


def recorded_sid(number: NumberObject) -> str | None:
    """The number the object had: imported (status.sid) or bought (status.purchase.sid)."""
    bought = number.status.purchase.sid if number.status.purchase else None
    return number.status.sid or bought


async def settle_number(
    twilio: TwilioPort, number: NumberObject, deps: Deps, others: Collection[str], account_sid: str
) -> str:
    """Keep or release the number; returns what was done. `others`: namespace/name of the other
    TwilioPhoneNumbers that ask for the same number."""
    sid = recorded_sid(number)
    if sid is None:
        return "no number was recorded"
    found = await twilio.find_incoming_number(sid=sid, phone_number=None)
    if found is None:
        return f"{sid} is no longer in the account"
    e164 = found.phone_number
    if number.spec.release_policy != "Release":
        await unlink_emergency_address(twilio, number, found, deps, any_address=False)
        where = f"it stays on trunk {found.trunk_sid}" if found.trunk_sid else "it is off the trunk"
        again = (
            "a TwilioPhoneNumber of this namespace and name with spec.purchase finds it again"
            if number.spec.purchase is not None
            else "import it again with spec.phoneNumber"
        )
        await deps.kube.post_event(
            number.ref,
            "Normal",
            c.RETAINED,
            f"kept {e164} ({found.sid}) in Twilio account {account_sid} (releasePolicy Retain): {where}; "
            f"{again}",
        )
        return f"kept {e164} in the account"
    bought = number.status.purchase.sid if number.status.purchase else None
    problem = release_problem(
        number.namespace, number.name, number.spec.purchase is not None, bought, found, others
    )
    if problem is not None:
        await unlink_emergency_address(twilio, number, found, deps, any_address=False)
        await deps.kube.post_event(
            number.ref,
            "Warning",
            c.RELEASE_REFUSED,
            f"did not release {e164} ({found.sid}) although releasePolicy is Release: {problem}. The number "
            f"stays in Twilio account {account_sid}",
        )
        return f"kept {e164}: {problem}"
    await unlink_emergency_address(twilio, number, found, deps, any_address=True)
    await twilio.release_number(found.sid)
    await deps.kube.post_event(
        number.ref,
        "Normal",
        c.RELEASED,
        f"released {e164} ({found.sid}) from Twilio account {account_sid} (releasePolicy Release). This "
        "cannot be undone: the number is gone from the account and nobody can buy it back",
    )
    return f"released {e164}"
