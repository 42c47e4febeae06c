"""kopf's index gate, without its N x N wake-ups.

kopf runs no handler before every index is complete. Each object a watch meets while the operator
is not fully indexed (its first listing, or while earlier objects wait for their index handler) gets
a toggle in one set, `operator_indexed`, and the worker of each indexed object waits until the whole
set is on. kopf's set (1.44 - 1.45, `kopf._cogs.aiokits.aiotoggles.ToggleSet`) wakes every waiter
whenever it adds or drops a toggle, although what the set says changes only at the last one. With N
objects met at once (an operator restarted over N providers, or N creates arriving faster than it
indexes them) that is about N x N wake-ups: 10,000 providers whose creates arrived within 19 s took
608 CPU-s instead of about 200 (docs/performance.md, "10,000 providers ...: kopf's index gate").

`install()` makes the set wake its waiters only when adding or dropping a toggle changes what the
set says. Nothing else waits on its condition: `ToggleSet.wait_for` waits for the set's state, and a
`Toggle`'s own `wait_for` for that toggle's state, which only `Toggle.turn_to` changes (and
`turn_to` still wakes every waiter). The set's contents and states are kopf's, untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from kopf._cogs.aiokits import aiotoggles

log = logging.getLogger(__name__)


async def _make_toggle(
    self: aiotoggles.ToggleSet, value: bool = False, /, *, name: str | None = None
) -> aiotoggles.Toggle:
    toggle = aiotoggles.Toggle(value, name=name, condition=self._condition)
    await _change(self, lambda toggles: toggles.add(toggle))
    return toggle


async def _drop_toggle(self: aiotoggles.ToggleSet, toggle: aiotoggles.Toggle) -> None:
    await _change(self, lambda toggles: toggles.discard(toggle))


async def _drop_toggles(self: aiotoggles.ToggleSet, toggles: Iterable[aiotoggles.Toggle]) -> None:
    await _change(self, lambda held: held.difference_update(toggles))


async def _change(self: aiotoggles.ToggleSet, change: Callable[[set[aiotoggles.Toggle]], None]) -> None:
    """Change the set's toggles; wake its waiters only if that changes what the set says."""
    async with self._condition:
        before = self.is_on()
        change(self._toggles)
        if self.is_on() != before:
            self._condition.notify_all()


def install() -> bool:
    """Replace the set's adding and dropping in this process; False (and a warning) when kopf's set
    is not the one this was written against: the operator then runs with kopf's own, slower gate."""
    toggle_set = aiotoggles.ToggleSet
    if getattr(toggle_set.make_toggle, "__module__", None) == __name__:
        return True
    probe = toggle_set(all)
    known = all(hasattr(toggle_set, m) for m in ("make_toggle", "drop_toggle", "drop_toggles", "is_on"))
    if not (known and hasattr(probe, "_condition") and isinstance(getattr(probe, "_toggles", None), set)):
        log.warning("kopf's ToggleSet is not the one expected: its index gate is left as it is")
        return False
    toggle_set.make_toggle = _make_toggle  # type: ignore[method-assign,assignment]
    toggle_set.drop_toggle = _drop_toggle  # type: ignore[method-assign]
    toggle_set.drop_toggles = _drop_toggles  # type: ignore[method-assign]
    return True
