"""The real-Twilio smoke tier is opt-in: `make smoke-twilio` runs `pytest tests/smoke -m smoke_twilio`.

Any other run (`make test`, plain `pytest`) deselects it. When selected without credentials in the
environment, it is skipped before anything starts, with the names of the missing variables.
"""

from __future__ import annotations

import os

import pytest

MARKER = "smoke_twilio"
ACCOUNT_ENV = "TWILIO_ACCOUNT_SID"
TOKEN_ENV = "TWILIO_AUTH_TOKEN"
KEY_ENVS = ("TWILIO_API_KEY", "TWILIO_API_SECRET")


def missing_credentials() -> str | None:
    if not os.environ.get(ACCOUNT_ENV):
        return f"{ACCOUNT_ENV} is not set"
    if os.environ.get(TOKEN_ENV) or all(os.environ.get(k) for k in KEY_ENVS):
        return None
    return f"neither {TOKEN_ENV} nor both of {' and '.join(KEY_ENVS)} are set"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.get_closest_marker(MARKER) is not None]
    if MARKER not in (config.option.markexpr or ""):
        if ours:
            config.hook.pytest_deselected(items=ours)
            items[:] = [item for item in items if item.get_closest_marker(MARKER) is None]
        return
    why = missing_credentials()
    if why is not None:
        skip = pytest.mark.skip(
            reason=f"smoke-twilio needs a real Twilio account: {why} (this run makes no Twilio call)"
        )
        for item in ours:
            item.add_marker(skip)
