"""What a TwilioPhoneNumber's reconcile does with what it observed: attach the number to the
provider's trunk, leave it where it is, or say why not. Pure, in the same shape as the provider's
diff: the reconcile observes (phone_number/reconcile.py), this decides, the reconcile acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twilio_operator.api import conditions as c
from twilio_operator.api.ownership import ANY_PROVIDER_DOMAIN
from twilio_operator.api.regions import DEFAULT_PROCESSING
from twilio_operator.api.twilio_values import IncomingNumber, Trunk
from twilio_operator.phone_number.claims import Claimant, Contender, first_claimant, takeover_contest


@dataclass(frozen=True)
class Elsewhere:
    """The number's voice configuration in another processing region, as the provider's credentials
    see it: Twilio's numbers are the account's in every region, their voice configuration is each
    region's own (regional-migration-best-practices). `readable` False: the credentials cannot read
    that region (Twilio's credentials are per region), so nothing is known of it."""

    region: str
    readable: bool
    trunk_sid: str | None = None
    holder: Trunk | None = None  # the trunk there, read only when the spec allows a takeover


@dataclass(frozen=True)
class NumberSeen:
    """The number in the account (None: it has none such), the trunk it is on when that is another
    trunk and the spec allows a takeover (read only then), its inbound processing region (`route`,
    None: never set, which is us1) and its configuration in the other regions (read only before an
    attach, or when the route points away)."""

    found: IncomingNumber | None
    holder: Trunk | None = None
    route: str | None = None
    elsewhere: tuple[Elsewhere, ...] = ()

    @property
    def routed_to(self) -> str:
        return self.route or DEFAULT_PROCESSING


@dataclass(frozen=True)
class Wanted:
    """What the object and its provider ask for."""

    name: str
    namespace: str
    created: str
    allow_takeover: bool
    number: str  # the spec's number or SID
    account_sid: str
    trunk_sid: str
    region: str  # the provider's processing region
    previous_route: str | None = None  # the route before the operator changed it (status)


def needs_elsewhere(wanted: Wanted, found: IncomingNumber | None, route: str | None) -> bool:
    """Whether the other regions must be read: before the number is attached (when nothing in this
    region forbids it already), and whenever its calls are processed in another region."""
    if found is None:
        return False
    if (route or DEFAULT_PROCESSING) != wanted.region:
        return True
    return found.trunk_sid != wanted.trunk_sid and (found.trunk_sid is None or wanted.allow_takeover)


@dataclass(frozen=True)
class Attach:
    """Move the number onto the provider's trunk."""

    number_sid: str
    trunk_sid: str


@dataclass(frozen=True)
class Verdict:
    """How the reconcile ends: Ready or not, why, and the trunk the status says the number is on."""

    ready: bool
    reason: str
    message: str
    trunk_sid: str | None
    rivals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """What the reconcile does (attach, set the inbound route to a region) and how it ends."""

    attach: Attach | None
    route: str | None
    verdict: Verdict


def decide(
    wanted: Wanted, seen: NumberSeen, claimants: Sequence[Claimant], contenders: Sequence[Contender]
) -> Plan:
    """The attach and route to make, if any, and the verdict once they are made."""
    found = seen.found
    if found is None:
        why = f"{wanted.number} is not a phone number of Twilio account {wanted.account_sid}"
        return Plan(None, None, Verdict(False, c.NOT_FOUND, why, None))
    keys = (found.sid, found.phone_number)
    winner = first_claimant(wanted.name, wanted.created, keys, claimants)
    if winner is not None:
        why = f"{found.phone_number} is already imported by TwilioPhoneNumber {winner}"
        return Plan(None, None, Verdict(False, c.DUPLICATE, why, None))
    contest = takeover_contest(wanted.namespace, keys, contenders) if wanted.allow_takeover else []
    if contest:
        # Both sides stop here (each sees the other): neither moves the number again.
        message = (
            f"{found.phone_number} is also claimed with allowTakeover by TwilioPhoneNumber "
            f"{', '.join(contest)}: "
            "two objects that may take it over would move it between their trunks; it stays on "
            f"{found.trunk_sid or 'no trunk'}. Keep allowTakeover on one of them only"
        )
        on_ours = wanted.trunk_sid if found.trunk_sid == wanted.trunk_sid else None
        return Plan(None, None, Verdict(False, c.CONFLICT, message, on_ours, tuple(contest)))
    if found.trunk_sid == wanted.trunk_sid:
        return _on_our_trunk(wanted, found, seen)
    return _to_attach(wanted, found, seen)


def _on_our_trunk(wanted: Wanted, found: IncomingNumber, seen: NumberSeen) -> Plan:
    """Attached here: Ready while its calls are processed in this region. A route pointing away is
    set back unless the number is live there now (moved away by someone: a Conflict, like a number
    moved to another trunk of this region), or the region is unreadable and the route is not the one
    the operator replaced (a route change shows in reads only after minutes: that one is written
    again)."""
    on = f"{found.phone_number} is on trunk {wanted.trunk_sid}"
    routed = seen.routed_to
    if routed == wanted.region:
        return Plan(None, None, Verdict(True, c.ATTACHED, on, wanted.trunk_sid))
    there = next((e for e in seen.elsewhere if e.region == routed), None)
    problem = None
    if there is not None and there.readable and there.trunk_sid:
        problem = _takeover_problem(wanted.allow_takeover, f"{there.trunk_sid} in {routed}", there.holder)
    elif (there is None or not there.readable) and routed != (wanted.previous_route or DEFAULT_PROCESSING):
        problem = _blind_problem(wanted.allow_takeover, routed)
    if problem is not None:
        why = f"{on}, but its inbound calls are processed in {routed} (its inbound route): {problem}"
        return Plan(None, None, Verdict(False, c.CONFLICT, why, wanted.trunk_sid))
    verdict = Verdict(True, c.ATTACHED, f"{on} (inbound route moved back from {routed})", wanted.trunk_sid)
    return Plan(None, wanted.region, verdict)


def _to_attach(wanted: Wanted, found: IncomingNumber, seen: NumberSeen) -> Plan:
    """Not on our trunk: attach it, unless it is live on another trunk, in this region or in any other
    the credentials can read, or its calls are processed in a region they cannot read (the number may
    be live there: nothing shows otherwise)."""
    problems: list[str] = []
    if found.trunk_sid is not None:
        problem = _takeover_problem(wanted.allow_takeover, found.trunk_sid, seen.holder)
        if problem is not None:
            problems.append(f"is on trunk {problem}")
    for other in seen.elsewhere:
        if other.readable and other.trunk_sid:
            problem = _takeover_problem(
                wanted.allow_takeover, f"{other.trunk_sid} in {other.region}", other.holder
            )
            if problem is not None:
                problems.append(f"is on trunk {problem}")
    routed = seen.routed_to
    blind = next((e for e in seen.elsewhere if e.region == routed and not e.readable), None)
    if blind is not None and not wanted.allow_takeover:
        problems.append(f"has its inbound calls processed in {routed}: {_blind_problem(False, routed)}")
    if problems:
        why = f"{found.phone_number} " + "; it ".join(problems)
        return Plan(None, None, Verdict(False, c.CONFLICT, why, None))
    moved = [f"{found.trunk_sid}"] if found.trunk_sid else []
    moved += [f"{o.trunk_sid} in {o.region}" for o in seen.elsewhere if o.readable and o.trunk_sid]
    said = f" (moved from {', '.join(moved)})" if moved else ""
    attached = Verdict(
        True, c.ATTACHED, f"{found.phone_number} attached to trunk {wanted.trunk_sid}{said}", wanted.trunk_sid
    )
    route = wanted.region if routed != wanted.region else None
    return Plan(Attach(found.sid, wanted.trunk_sid), route, attached)


def _blind_problem(allow_takeover: bool, region: str) -> str | None:
    """Why a number whose calls are processed in a region the credentials cannot read is left alone."""
    if allow_takeover:
        return None
    return (
        f"these credentials cannot read {region} (Twilio's credentials are per region), so nothing "
        f"shows the number is not live on a trunk there; set spec.allowTakeover to move its calls"
    )


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
