"""phone_number/decide.py as a table: what a TwilioPhoneNumber does with a number seen in every region
its credentials read and with its inbound route (issue 24, item 1). Each case says why."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from twilio_operator.api.twilio_values import IncomingNumber, Trunk
from twilio_operator.phone_number.decide import Elsewhere, NumberSeen, Wanted, decide, needs_elsewhere

OURS, US1_TRUNK, AU1_TRUNK = "TK" + "0" * 32, "TK" + "1" * 32, "TK" + "2" * 32
PROVIDERS_DOMAIN = "twp-" + "a" * 32 + ".pstn.twilio.com"


def number(trunk: str | None = None) -> IncomingNumber:
    return IncomingNumber("PN" + "9" * 32, "+15005550006", trunk)


def wanted(region: str = "ie1", *, takeover: bool = False, previous_route: str | None = None) -> Wanted:
    return Wanted(
        "line", "voice", "2026-01-01T00:00:00Z", takeover, "+15005550006", "AC1", OURS, region, previous_route
    )


def us1(
    trunk: str | None = None, *, readable: bool = True, domain: str = "by-hand.pstn.twilio.com"
) -> Elsewhere:
    holder = Trunk(trunk, domain, "", "disable-all") if trunk else None
    return Elsewhere("us1", readable, trunk, holder)


def au1(trunk: str | None = None, *, readable: bool = True) -> Elsewhere:
    return Elsewhere("au1", readable, trunk)


@dataclass(frozen=True)
class Case:
    wanted: Wanted
    seen: NumberSeen
    reason: str
    attach: bool
    route: str | None
    says: str = ""


CASES = {
    "not in the account": Case(wanted(), NumberSeen(None), "NotFound", False, None),
    "live on a us1 trunk: Conflict naming region and trunk": Case(
        wanted(),
        NumberSeen(number(), elsewhere=(us1(US1_TRUNK), au1())),
        "Conflict",
        False,
        None,
        f"{US1_TRUNK} in us1",
    ),
    "allowTakeover moves it off a hand-made us1 trunk, and its calls with it": Case(
        wanted(takeover=True),
        NumberSeen(number(), elsewhere=(us1(US1_TRUNK), au1())),
        "Attached",
        True,
        "ie1",
        f"moved from {US1_TRUNK} in us1",
    ),
    "never off another provider's trunk, even with allowTakeover": Case(
        wanted(takeover=True),
        NumberSeen(number(), elsewhere=(us1(US1_TRUNK, domain=PROVIDERS_DOMAIN), au1())),
        "Conflict",
        False,
        None,
        "another TwilioProvider",
    ),
    "calls processed in an unreadable region: nothing proves it free": Case(
        wanted(),
        NumberSeen(number(), elsewhere=(us1(readable=False), au1(readable=False))),
        "Conflict",
        False,
        None,
        "cannot read us1",
    ),
    "unreadable, with allowTakeover: attached and routed": Case(
        wanted(takeover=True),
        NumberSeen(number(), elsewhere=(us1(readable=False), au1(readable=False))),
        "Attached",
        True,
        "ie1",
    ),
    "routed here already: other regions unreadable do not matter": Case(
        wanted(),
        NumberSeen(number(), route="ie1", elsewhere=(us1(readable=False), au1(readable=False))),
        "Attached",
        True,
        None,
    ),
    "attached, route pointing to a region without a trunk: set back": Case(
        wanted(previous_route="us1"),
        NumberSeen(number(OURS), route="au1", elsewhere=(us1(), au1())),
        "Attached",
        False,
        "ie1",
        "moved back from au1",
    ),
    "attached, route still shows the one replaced (unreadable): written again": Case(
        wanted(previous_route="us1"),
        NumberSeen(number(OURS), route=None, elsewhere=(us1(readable=False), au1(readable=False))),
        "Attached",
        False,
        "ie1",
    ),
    "attached, route moved to another unreadable region: moved away": Case(
        wanted(previous_route="us1"),
        NumberSeen(number(OURS), route="au1", elsewhere=(us1(readable=False), au1(readable=False))),
        "Conflict",
        False,
        None,
        "cannot read au1",
    ),
    "attached, but live on a trunk where its calls now go: moved away": Case(
        wanted(previous_route="us1"),
        NumberSeen(number(OURS), route="au1", elsewhere=(us1(), au1(AU1_TRUNK))),
        "Conflict",
        False,
        None,
        f"{AU1_TRUNK} in au1",
    ),
    "a us1 provider takes back a route left in ie1 without a trunk": Case(
        wanted("us1"),
        NumberSeen(number(), route="ie1", elsewhere=(Elsewhere("ie1", True), au1())),
        "Attached",
        True,
        "us1",
    ),
    "a us1 provider, route never set: nothing to route": Case(
        wanted("us1"), NumberSeen(number(), elsewhere=(Elsewhere("ie1", True), au1())), "Attached", True, None
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_decide(name: str) -> None:
    case = CASES[name]
    plan = decide(case.wanted, case.seen, [], [])
    assert plan.verdict.reason == case.reason, plan.verdict.message
    assert (plan.attach is not None) == case.attach
    assert plan.route == case.route
    assert case.says in plan.verdict.message


@pytest.mark.parametrize(
    ("found", "route", "takeover", "needed"),
    [
        (None, None, False, False),  # nothing to attach
        (number(), None, False, True),  # before an attach (ie1 provider, route us1)
        (number(OURS), "ie1", False, False),  # attached and routed here: no look elsewhere
        (number(OURS), "us1", False, True),  # its calls go elsewhere
        (number(US1_TRUNK), "ie1", False, False),  # on another trunk here: a Conflict already
        (number(US1_TRUNK), "ie1", True, True),  # ... unless allowTakeover
    ],
)
def test_the_other_regions_are_read_only_when_needed(
    found: IncomingNumber | None, route: str | None, takeover: bool, needed: bool
) -> None:
    assert needs_elsewhere(wanted(takeover=takeover), found, route) is needed
