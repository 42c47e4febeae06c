"""kopf's index gate (process/index_gate.py): the set of "not indexed yet" toggles wakes its waiters
only when what it says changes, and every waiter still wakes when it should."""

from __future__ import annotations

import asyncio

import pytest
from kopf._cogs.aiokits.aiotoggles import ToggleSet

from twilio_operator.process import index_gate

OBJECTS = 500
WORKERS = 50


@pytest.fixture(autouse=True)
def installed() -> None:
    assert index_gate.install() is True  # the installed kopf is the one it was written for
    assert index_gate.install() is True  # and installing twice is harmless


def counting(toggles: ToggleSet) -> list[int]:
    """Count the set's notify_all calls (each one wakes every waiter)."""
    calls = [0]
    condition = toggles._condition
    notify_all = condition.notify_all

    def counted() -> None:
        calls[0] += 1
        notify_all()

    condition.notify_all = counted  # type: ignore[method-assign]
    return calls


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_objects_met_at_once_wake_the_waiters_once() -> None:
    """As at a restart over many objects: each gets a toggle, each indexed worker waits for all."""
    indexed = ToggleSet(all)
    notified = counting(indexed)
    toggles = [await indexed.make_toggle(name=f"object-{i}") for i in range(OBJECTS)]
    waiters = [asyncio.create_task(indexed.wait_for(True)) for _ in range(WORKERS)]
    for toggle in toggles[:-1]:
        await indexed.drop_toggle(toggle)
        await asyncio.sleep(0)
    await settle()
    assert not any(w.done() for w in waiters), "a worker ran before every object was indexed"
    await indexed.drop_toggle(toggles[-1])
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=5)
    # kopf's own set notifies at each of the 1,000 changes, waking all 50 waiters each time.
    assert notified[0] <= 2


async def test_a_set_that_turns_off_wakes_who_waits_for_off() -> None:
    indexed = ToggleSet(all)
    assert indexed.is_on()  # all() of nothing
    waiter = asyncio.create_task(indexed.wait_for(False))
    await settle()
    assert not waiter.done()
    toggle = await indexed.make_toggle(name="a new resource kind")
    await asyncio.wait_for(waiter, timeout=5)
    await indexed.drop_toggles([toggle])
    assert indexed.is_on()


async def test_a_toggle_turned_on_still_wakes_its_own_waiter() -> None:
    paused = ToggleSet(any)
    peer = await paused.make_toggle(False, name="a peer")
    own = asyncio.create_task(peer.wait_for(True))
    whole = asyncio.create_task(paused.wait_for(True))
    await settle()
    assert not own.done() and not whole.done()
    await peer.turn_to(True)
    await asyncio.wait_for(asyncio.gather(own, whole), timeout=5)


async def test_an_on_toggle_added_to_an_off_set_changes_nothing_and_wakes_nobody() -> None:
    indexed = ToggleSet(all)
    off = await indexed.make_toggle(name="listing")
    notified = counting(indexed)
    on = await indexed.make_toggle(True, name="indexed already")
    assert indexed.is_off() and notified[0] == 0
    await indexed.drop_toggle(on)
    assert notified[0] == 0
    await indexed.drop_toggle(off)
    assert indexed.is_on() and notified[0] == 1
