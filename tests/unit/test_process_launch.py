"""How `twilio-operator run` starts kopf (process/launch.py): the options kopf gets, and the settings
handed to the handlers through kopf's memo, not through the environment."""

from __future__ import annotations

import os
from typing import Any

import kopf
import pytest

from twilio_operator.handlers.state import take_settings
from twilio_operator.process.launch import RunOptions, run_operator
from twilio_operator.process.standby import liveness_address
from twilio_operator.settings import Settings


@pytest.fixture
def kopf_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """What kopf.configure and kopf.run are called with (kopf itself is not started)."""
    calls: dict[str, dict[str, Any]] = {}
    monkeypatch.setattr(kopf, "configure", lambda **kwargs: calls.__setitem__("configure", kwargs))
    monkeypatch.setattr(kopf, "run", lambda **kwargs: calls.__setitem__("run", kwargs))
    return calls


def test_the_namespaces_reach_the_handlers_in_the_memo_not_the_environment(
    kopf_calls: dict[str, dict[str, Any]],
) -> None:
    before = dict(os.environ)
    options = RunOptions(namespaces=("voice", "sms-*"), liveness="http://127.0.0.1:8080/healthz")
    run_operator(options, Settings(metrics_port=0))
    assert dict(os.environ) == before
    run = kopf_calls["run"]
    assert (run["namespaces"], run["clusterwide"]) == (("voice", "sms-*"), False)
    assert run["liveness_endpoint"] == "http://127.0.0.1:8080/healthz"
    handed = take_settings(run["memo"])
    assert handed == Settings(metrics_port=0, watch_namespaces=("voice", "sms-*"))
    assert dict(run["memo"]) == {}  # taken: the OperatorState is the one thing left for it


def test_no_namespace_is_every_namespace(kopf_calls: dict[str, dict[str, Any]]) -> None:
    run_operator(RunOptions(), Settings(watch_namespaces=("from-the-environment",)))
    run = kopf_calls["run"]
    assert (run["namespaces"], run["clusterwide"], run["liveness_endpoint"]) == ((), True, None)
    handed = take_settings(run["memo"])
    assert handed is not None and handed.watch_namespaces == ()  # the command line decides


@pytest.mark.parametrize(
    ("options", "standalone", "peering"),
    [
        (RunOptions(), None, None),
        (RunOptions(standalone=True, peering="ignored"), True, None),
        (RunOptions(peering="voice-operators"), None, "voice-operators"),
    ],
)
def test_peering_or_standalone(
    kopf_calls: dict[str, dict[str, Any]], options: RunOptions, standalone: bool | None, peering: str | None
) -> None:
    run_operator(options, Settings())
    assert (kopf_calls["run"]["standalone"], kopf_calls["run"]["peering_name"]) == (standalone, peering)


@pytest.mark.parametrize(
    ("options", "level", "log_format", "verbose", "quiet", "kopf_format"),
    [
        (RunOptions(), "INFO", "text", False, False, kopf.LogFormat.FULL),
        (RunOptions(verbose=True), "INFO", "text", True, False, kopf.LogFormat.FULL),
        (RunOptions(), "DEBUG", "json", True, False, kopf.LogFormat.JSON),
        (RunOptions(quiet=True), "INFO", "text", False, True, kopf.LogFormat.FULL),
        (RunOptions(), "WARNING", "text", False, True, kopf.LogFormat.FULL),
        (RunOptions(quiet=True), "DEBUG", "text", True, False, kopf.LogFormat.FULL),
    ],
)
def test_logging_as_kopfs_command_line_would_set_it(
    kopf_calls: dict[str, dict[str, Any]],
    options: RunOptions,
    level: str,
    log_format: Any,
    verbose: bool,
    quiet: bool,
    kopf_format: kopf.LogFormat,
) -> None:
    run_operator(options, Settings(log_level=level, log_format=log_format))
    configured = kopf_calls["configure"]
    assert (configured["verbose"], configured["quiet"], configured["log_format"]) == (
        verbose,
        quiet,
        kopf_format,
    )


def test_a_lease_setting_it_cannot_use_stops_it_before_kopf(kopf_calls: dict[str, dict[str, Any]]) -> None:
    settings = Settings(
        leader_election=True, leader_election_namespace="ops", leader_election_renew_deadline=20
    )
    with pytest.raises(ValueError, match="LEASE_DURATION > "):
        run_operator(RunOptions(), settings)
    assert not kopf_calls


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://0.0.0.0:8080/healthz", ("0.0.0.0", 8080, "/healthz")),
        ("http://127.0.0.1:9999", ("127.0.0.1", 9999, "/")),
        ("http://localhost/healthz", None),  # no port: nothing to serve
        (None, None),
    ],
)
def test_the_standby_serves_the_liveness_endpoints_address(
    url: str | None, address: tuple[str, int, str] | None
) -> None:
    assert liveness_address(url) == address
