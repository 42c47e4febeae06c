"""The end-to-end tiers are opt-in: they run only when the marker expression selects them.

`make e2e` runs `pytest tests/e2e -m e2e` (test_node.py: the local node, needs root);
`make e2e-kind` runs `pytest tests/e2e -m kind` (test_kind.py: kind, needs Docker and registries).
Any other run (`make test`, plain `pytest`) deselects both (pytest reports them as "deselected",
they are not skipped silently). When selected, the kind test skips only with the exact missing
prerequisite ("docker daemon not reachable", "kind not installed", "kubectl not installed"); the
node test fails when it is not root, because it was asked for explicitly.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

# The attribute of pytest's config under which test_node.py leaves what it measured (durations,
# sizes, what it found), printed after the run.
FIGURES_ATTRIBUTE = "e2e_figures"

OPT_IN_MARKERS = ("e2e", "kind")


def _selected(markexpr: str, marker: str) -> bool:
    return re.search(rf"(?<![\w]){marker}(?![\w])", markexpr) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.option.markexpr or ""
    deselected = [
        item
        for item in items
        if any(item.get_closest_marker(m) is not None and not _selected(markexpr, m) for m in OPT_IN_MARKERS)
    ]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the item, so a fixture can add diagnostics after a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    figures = getattr(terminalreporter.config, FIGURES_ATTRIBUTE, None)
    if figures:
        terminalreporter.section("e2e figures")
        terminalreporter.write_line(json.dumps(figures, indent=1))
