"""The shard selector: what TWILIO_OPERATOR_SHARD_SELECTOR accepts and refuses."""

from __future__ import annotations

import pytest

from twilio_operator.sharding import finalizer_name, parse_selector


@pytest.mark.parametrize(
    ("raw", "selector"),
    [
        (None, {}),
        ("", {}),
        ("shard=a", {"shard": "a"}),
        (" shard = a , tier=gold ", {"shard": "a", "tier": "gold"}),
        ("example.com/shard=b", {"example.com/shard": "b"}),
        ("shard=", {"shard": ""}),
    ],
)
def test_parse_selector(raw: str | None, selector: dict[str, str]) -> None:
    assert parse_selector(raw) == selector


@pytest.mark.parametrize("raw", ["shard", "shard!=a", "=a", "sh ard=a", "shard=a b", "shard=" + "x" * 64])
def test_parse_selector_refuses_what_is_not_a_label_equality(raw: str) -> None:
    with pytest.raises(ValueError, match="is not a label equality"):
        parse_selector(raw)


@pytest.mark.parametrize(
    ("selector", "name"),
    [
        ({}, "g.dev/finalizer"),
        ({"shard": "a"}, "g.dev/finalizer-shard.a"),
        ({"example.com/shard": "b", "tier": "gold"}, "g.dev/finalizer-shard.b-tier.gold"),
    ],
)
def test_each_shard_has_its_own_finalizer(selector: dict[str, str], name: str) -> None:
    assert finalizer_name("g.dev", selector) == name


def test_long_selectors_get_a_digest_finalizer() -> None:
    name = finalizer_name("g.dev", {"a" * 30: "b" * 30})
    assert name.startswith("g.dev/finalizer-") and len(name.split("/")[1]) == len("finalizer-") + 16
