"""The chart passes its shard selector to the operator."""

from __future__ import annotations

from typing import Any


def env_of(docs: list[dict[str, Any]]) -> dict[str, str]:
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def test_shard_selector_becomes_the_env_var(render: Any) -> None:
    env = env_of(render({"shardSelector": {"tier": "gold", "shard": "a"}}))
    assert env["TWILIO_OPERATOR_SHARD_SELECTOR"] == "shard=a,tier=gold"


def test_no_shard_by_default(render: Any) -> None:
    assert "TWILIO_OPERATOR_SHARD_SELECTOR" not in env_of(render({}))
