"""What a TwilioPhoneNumber's reconcile does with what it observed: attach the number to the
provider's trunk, leave it where it is, or say why not. Pure, in the same shape as the provider's
diff: the reconcile observes (phone_number/reconcile.py), this decides, the reconcile acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twilio_operator.api import conditions as c
from twilio_operator.api.ownership import ANY_PROVIDER_DOMAIN
from twilio_operator.api.twilio_values import IncomingNumber, Trunk
from twilio_operator.phone_number.claims import Claimant, Contender, first_claimant, takeover_contest


@dataclass(frozen=True)
class NumberSeen:
    """The number in the account (None: it has none such), and the trunk it is on when that is another
    trunk and the spec allows a takeover (read only then)."""

    found: IncomingNumber | None
    holder: Trunk | None = None


@dataclass(frozen=True)
class Attach:
    """Move the number onto the provider's trunk."""

    number_sid: str
    trunk_sid: str
    moved_from: str | None


@dataclass(frozen=True)
class Verdict:
    """How the reconcile ends: Ready or not, why, and the trunk the status says the number is on."""

    ready: bool
    reason: str
    message: str
    trunk_sid: str | None
    rivals: tuple[str, ...] = ()


def decide(
    name: str,
    namespace: str,
    created: str,
    allow_takeover: bool,
    wanted: str,
    account_sid: str,
    trunk_sid: str,
    seen: NumberSeen,
    claimants: Sequence[Claimant],
    contenders: Sequence[Contender],
) -> tuple[Attach | None, Verdict]:
    """(the attach to make, if any; the verdict once it is made)."""
    found = seen.found
    if found is None:
        return None, Verdict(
            False, c.NOT_FOUND, f"{wanted} is not a phone number of Twilio account {account_sid}", None
        )
    keys = (found.sid, found.phone_number)
    winner = first_claimant(name, created, keys, claimants)
    if winner is not None:
        return None, Verdict(
            False,
            c.DUPLICATE,
            f"{found.phone_number} is already imported by TwilioPhoneNumber {winner}",
            None,
        )
    contest = takeover_contest(namespace, keys, contenders) if allow_takeover else []
    if contest:
        # Both sides stop here (each sees the other): neither moves the number again.
        message = (
            f"{found.phone_number} is also claimed with allowTakeover by TwilioPhoneNumber "
            f"{', '.join(contest)}: "
            "two objects that may take it over would move it between their trunks; it stays on "
            f"{found.trunk_sid or 'no trunk'}. Keep allowTakeover on one of them only"
        )
        on_ours = trunk_sid if found.trunk_sid == trunk_sid else None
        return None, Verdict(False, c.CONFLICT, message, on_ours, tuple(contest))
    if found.trunk_sid == trunk_sid:
        return None, Verdict(True, c.ATTACHED, f"{found.phone_number} is on trunk {trunk_sid}", trunk_sid)
    if found.trunk_sid is not None:
        problem = _takeover_problem(allow_takeover, found.trunk_sid, seen.holder)
        if problem is not None:
            return None, Verdict(False, c.CONFLICT, f"{found.phone_number} is on trunk {problem}", None)
    moved = f" (moved from {found.trunk_sid})" if found.trunk_sid else ""
    attached = Verdict(
        True, c.ATTACHED, f"{found.phone_number} attached to trunk {trunk_sid}{moved}", trunk_sid
    )
    return Attach(found.sid, trunk_sid, found.trunk_sid), attached


def _takeover_problem(allow_takeover: bool, on: str, holder: Trunk | None) -> str | None:
    """Why the number may not be moved off trunk `on`, or None. allowTakeover moves it only off a trunk
    that no TwilioProvider manages: off another provider's trunk, the two objects (in other namespaces,
    shards or clusters, where neither may see the other) would take it back from each other forever.
    That number moves when its TwilioPhoneNumber there is deleted, which detaches it."""
    if not allow_takeover:
        return f"{on}, not this provider's; set spec.allowTakeover to move it"
    if holder is not None and ANY_PROVIDER_DOMAIN.match(holder.domain_name):
        return (
            f"{on} ({holder.domain_name}) of another TwilioProvider: allowTakeover does not move a number "
            "off another provider's trunk; delete the TwilioPhoneNumber that imported it there, which "
            "detaches it"
        )
    return None
