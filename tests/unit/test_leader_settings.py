"""Leader election settings: what the TWILIO_OPERATOR_LEADER_ELECTION* variables give, and the Lease
name of each shard."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from twilio_operator.ports.kube.leader import ElectionSettings
from twilio_operator.process.election import election_settings
from twilio_operator.settings import Settings
from twilio_operator.sharding import lease_name, parse_selector

ON = {"TWILIO_OPERATOR_LEADER_ELECTION": "true", "TWILIO_OPERATOR_LEADER_ELECTION_NAMESPACE": "ops"}


def settings_from_env(environ: Mapping[str, str]) -> ElectionSettings | None:
    """The election settings of a process started with `environ` (outside a pod: no namespace file)."""
    return election_settings(Settings.from_environ(environ), namespace_file=Path("/nonexistent"))


@pytest.mark.parametrize("raw", [None, "", "false", "0", "no"])
def test_off_unless_asked(raw: str | None) -> None:
    env = {} if raw is None else {"TWILIO_OPERATOR_LEADER_ELECTION": raw}
    assert settings_from_env(env) is None


def test_defaults() -> None:
    settings = settings_from_env({**ON, "POD_NAME": "twilio-operator-7d9f-abcde"})
    assert settings is not None
    assert (settings.lease_name, settings.namespace) == ("twilio-operator", "ops")
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (10, 7.0, 1.0)
    # The pod's name plus a suffix of its own: a restarted pod is a new candidate.
    assert re.fullmatch(r"twilio-operator-7d9f-abcde_[0-9a-f]{8}", settings.identity)
    assert settings_from_env({**ON, "POD_NAME": "x"}) != settings_from_env({**ON, "POD_NAME": "x"})


def test_lease_name_namespace_and_durations_from_env() -> None:
    settings = settings_from_env(
        {
            "TWILIO_OPERATOR_LEADER_ELECTION": "true",
            "POD_NAMESPACE": "from-downward-api",
            "TWILIO_OPERATOR_LEADER_ELECTION_LEASE_NAME": "voice",
            "TWILIO_OPERATOR_LEADER_ELECTION_LEASE_DURATION": "30",
            "TWILIO_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE": "20",
            "TWILIO_OPERATOR_LEADER_ELECTION_RETRY_PERIOD": "4",
            "TWILIO_OPERATOR_SHARD_SELECTOR": "shard=b",
        }
    )
    assert settings is not None
    assert (settings.lease_name, settings.namespace) == ("voice-shard.b", "from-downward-api")
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (30, 20.0, 4.0)


def test_explicit_namespace_wins_over_the_pod_namespace() -> None:
    settings = settings_from_env({**ON, "POD_NAMESPACE": "other"})
    assert settings is not None and settings.namespace == "ops"


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"),
    [(7, 7.0, 1.0), (5, 7.0, 1.0), (10, 1.1, 1.0), (10, 7.0, 0.5), (10, 7.0, 6.0)],
)
def test_the_elector_rules_are_checked_with_the_variable_names(
    duration: int, deadline: float, retry: float
) -> None:
    with pytest.raises(ValueError, match="TWILIO_OPERATOR_LEADER_ELECTION_LEASE_DURATION > "):
        ElectionSettings("l", "ns", "me", duration, deadline, retry)


def test_a_number_is_required() -> None:
    with pytest.raises(ValueError, match="RETRY_PERIOD: 'soon' is not a number"):
        settings_from_env({**ON, "TWILIO_OPERATOR_LEADER_ELECTION_RETRY_PERIOD": "soon"})


@pytest.mark.parametrize(
    ("selector", "name"),
    [
        ("", "twilio-operator"),
        ("shard=a", "twilio-operator-shard.a"),
        ("example.com/shard=b,tier=gold", "twilio-operator-shard.b-tier.gold"),
        ("shard=A", None),  # uppercase is no DNS name: a digest
        ("shard=a_b", None),
        ("shard=" + "x" * 60, None),
    ],
)
def test_each_shard_has_its_own_lease(selector: str, name: str | None) -> None:
    got = lease_name("twilio-operator", parse_selector(selector))
    if name is not None:
        assert got == name
    else:
        assert re.fullmatch(r"twilio-operator-[0-9a-f]{16}", got)
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", got) and len(got) <= 253
