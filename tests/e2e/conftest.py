"""The kind end-to-end tier is opt-in: it runs only when the marker expression selects it.

`make e2e` runs `pytest tests/e2e -m e2e`. Any other run (`make test`, plain
`pytest`) deselects the e2e tests (pytest reports them as "deselected", they are
not skipped silently). When selected, a test skips only with the exact missing
prerequisite: "docker daemon not reachable", "kind not installed", "kubectl not
installed".
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "e2e" in (config.option.markexpr or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("e2e") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("e2e") is None]
