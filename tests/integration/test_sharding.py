"""Two operators with disjoint label shards on one namespace: each handles only its own objects."""

from __future__ import annotations

import re

from fixtures.emulator import TwilioAccount
from fixtures.kube import PROVIDERS, create, get, provider_spec, wait_ready
from fixtures.operator_process import StartOperator
from twilio_operator.testing.controlplane import ControlPlane


def handled(log: str, namespace: str) -> set[str]:
    """Objects an operator's log says it handled (kopf prefixes object lines with [namespace/name])."""
    return set(re.findall(rf"\[{re.escape(namespace)}/([a-z0-9-]+)\]", log))


def test_disjoint_shards_never_touch_each_others_objects(
    crds: ControlPlane,
    namespace: str,
    twilio_account: TwilioAccount,
    credentials: str,
    start_operator: StartOperator,
) -> None:
    shard_a = start_operator(TWILIO_OPERATOR_SHARD_SELECTOR="shard=a")
    shard_b = start_operator(TWILIO_OPERATOR_SHARD_SELECTOR="shard=b")
    names = {"a": [f"a-{i}" for i in range(3)], "b": [f"b-{i}" for i in range(3)]}
    for shard, members in names.items():
        for name in members:
            create(crds, PROVIDERS, namespace, name, provider_spec(twilio_account), labels={"shard": shard})
    for name in names["a"] + names["b"]:
        wait_ready(crds, PROVIDERS, namespace, name)
    providers = set(names["a"] + names["b"])  # (Secret events are seen by both; they only wake their own)
    assert handled(shard_a.log(), namespace) & providers == set(names["a"])
    assert handled(shard_b.log(), namespace) & providers == set(names["b"])
    # Each shard keeps its own finalizer on its own objects; neither strips the other's.
    for shard, members in names.items():
        for name in members:
            finalizers = get(crds, PROVIDERS, namespace, name)["metadata"].get("finalizers", [])
            assert finalizers == [f"voip.twilio-operator.dev/finalizer-shard.{shard}"], (name, finalizers)
