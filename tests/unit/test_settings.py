"""The settings object: every variable read once, typed, with today's meaning of a malformed value;
the one table of docs/install.md generated from it; no module outside the entry points reads the
environment itself."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import twilio_operator
from twilio_operator.settings import Settings, env_name, markdown_table, read_setting, variable

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(twilio_operator.__file__).parent
FIELDS = [f.name for f in dataclasses.fields(Settings)]


def render_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_settings_table", REPO / "hack" / "render_settings_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nothing_set_is_every_default() -> None:
    assert Settings.from_environ({}) == Settings()
    assert Settings.from_environ({name: "" for name in map(env_name, FIELDS)}) == Settings()


def test_every_field_has_one_variable_of_its_own() -> None:
    names = [env_name(field) for field in FIELDS]
    assert len(names) == len(set(names)) == len(FIELDS)
    assert all(variable(field).description for field in FIELDS)


@pytest.mark.parametrize(
    ("field", "raw", "value"),
    [
        ("twilio_base_url", "http://127.0.0.1:8099", "http://127.0.0.1:8099"),
        ("log_level", "debug", "DEBUG"),
        ("log_format", "JSON", "json"),
        ("log_format", "xml", "text"),
        ("metrics_port", "0", 0),
        ("shard_selector", "tier=gold,shard=a", (("shard", "a"), ("tier", "gold"))),
        ("watch_namespaces", "voice,sms", ("voice", "sms")),
        ("max_concurrency_per_account", "3", 3),
        ("max_concurrent_reconciles", "200", 200),
        ("auth_retry_seconds", "0.5", 0.5),
        ("number_recheck_seconds", "0", 0.0),
        (
            "liveness_stall_seconds",
            "-5",
            -5.0,
        ),  # taken as it is, as before: the horizon is at least 2 intervals
        ("verification_interval_scale", "0.033", 0.033),
        ("leader_election", "On", True),
        ("leader_election", "nope", False),
        ("leader_election_lease_duration", "15.9", 15),
        ("leader_election_retry_period", "2", 2.0),
        ("pod_name", "twilio-operator-7d9f-abcde", "twilio-operator-7d9f-abcde"),
    ],
)
def test_a_value_is_read_as_its_type(field: str, raw: str, value: Any) -> None:
    assert read_setting(field, {env_name(field): raw}) == value
    assert getattr(Settings.from_environ({env_name(field): raw}), field) == value


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("auth_retry_seconds", "soon"),
        ("auth_retry_seconds", "-1"),
        ("refused_retry_seconds", "a minute"),
        ("number_recheck_seconds", "-600"),
        ("min_wake_spacing_seconds", "2s"),
        ("liveness_stall_seconds", "soon"),
        ("verification_interval_scale", "0"),
        ("verification_interval_scale", "fast"),
    ],
)
def test_a_malformed_delay_means_its_default(field: str, raw: str) -> None:
    assert getattr(Settings.from_environ({env_name(field): raw}), field) == getattr(Settings(), field)


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("metrics_port", "90a0", "TWILIO_OPERATOR_METRICS_PORT: '90a0' is not an integer"),
        ("max_concurrency_per_account", "many", "'many' is not an integer"),
        ("max_concurrent_reconciles", "1.5", "'1.5' is not an integer"),
        ("shard_selector", "shard!=a", "TWILIO_OPERATOR_SHARD_SELECTOR: 'shard!=a' is not a label equality"),
        ("leader_election_lease_duration", "inf", "LEASE_DURATION: 'inf' is not a number of seconds"),
        ("leader_election_renew_deadline", "soon", "RENEW_DEADLINE: 'soon' is not a number of seconds"),
    ],
)
def test_a_malformed_bound_port_selector_or_lease_setting_is_refused(
    field: str, raw: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_environ({env_name(field): raw})


def test_the_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().metrics_port = 1  # type: ignore[misc]


def test_the_table_of_settings_in_the_install_guide_is_generated_from_them() -> None:
    document = (REPO / "docs" / "install.md").read_text()
    assert render_script().splice(document, markdown_table()) == document, (
        "docs/install.md's table of settings is stale: run `make settings-docs`"
    )
    for field in FIELDS:
        assert f"| `{env_name(field)}` |" in document


def test_the_table_names_what_a_malformed_value_does() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in markdown_table().splitlines()[2:]}
    assert set(rows) == {env_name(field) for field in FIELDS}
    assert "| refused at start |" in rows["TWILIO_OPERATOR_METRICS_PORT"]
    assert "| the default |" in rows["TWILIO_OPERATOR_AUTH_RETRY_SECONDS"]


# Where the environment may be read: the settings module itself, the entry points that build the
# settings (the CLIs, kopf's startup handler, the import-time shard filter), and the emulator and
# the test harness, which are not the operator.
READERS = {
    "settings.py",
    "cli.py",
    "check_cli.py",
    "numbers_cli.py",
    "handlers/settings.py",
    "handlers/runtime.py",
}
NOT_THE_OPERATOR = ("emulator/", "testing/")


def environment_reads(path: Path) -> list[int]:
    """Lines of `path` that use os.environ or os.getenv (a comment does not count)."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv", "putenv", "unsetenv")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


def test_no_module_but_the_entry_points_reads_the_environment() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in READERS
        and not str(path.relative_to(PACKAGE)).startswith(NOT_THE_OPERATOR)
        for line in environment_reads(path)
    }
    assert not found, f"read the environment through twilio_operator/settings.py instead: {sorted(found)}"
