"""docs/install.md's ArgoCD table, kept true against the status the reconcile really writes: the shipped
health.lua (run in real Lua, like tests/packaging) on the provider after each kind of outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lupa import lua51

from twilio_operator.api.errors import TwilioError

from .conftest import NAMESPACE, World

HEALTH = Path(__file__).resolve().parents[2] / "argocd/voip.twilio-operator.dev/TwilioProvider/health.lua"


def health(world: World) -> dict[str, Any]:
    written = world.kube.statuses[("twilioproviders", NAMESPACE, world.provider.name)]
    obj = {
        "metadata": {"name": world.provider.name, "generation": world.provider.generation},
        "status": written,
    }
    lua = lua51.LuaRuntime(unpack_returned_tuples=False)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    return dict(lua.execute(HEALTH.read_text()).items())


async def test_a_twilio_outage_is_progressing_not_degraded(world: World) -> None:
    assert (await world.reconcile()).ready
    assert health(world)["status"] == "Healthy"
    world.emulator.add_fault(r"/v1/Trunks", "error", method="GET", status=503, times=None)
    with pytest.raises(TwilioError):
        await world.reconcile()
    found = health(world)
    assert found["status"] == "Progressing" and found["message"].startswith("TwilioUnavailable"), found


async def test_an_outage_before_the_first_verification_is_progressing(world: World) -> None:
    world.emulator.add_fault(r"/v1/Trunks", "error", method="GET", status=429, code=20429, times=None)
    with pytest.raises(TwilioError):
        await world.reconcile()
    assert health(world)["status"] == "Progressing"


async def test_refused_credentials_are_degraded(world: World) -> None:
    world.kube.put_secret(NAMESPACE, "twilio-credentials", {"authToken": "0" * 32})
    with pytest.raises(TwilioError):
        await world.reconcile()
    assert health(world)["status"] == "Degraded"
