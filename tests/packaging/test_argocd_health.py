"""The ArgoCD Lua health checks, executed by real Lua (lupa, Lua 5.1 like ArgoCD's gopher-lua).

ArgoCD puts the live object in the global `obj` and runs the script; the script
returns a table {status=..., message=...}. We do exactly that with the files in
argocd/, and check that argocd/argocd-cm.yaml carries the same scripts.

argocd/<group>/<Kind>/ has ArgoCD's own layout (resource_customizations/ upstream):
health.lua, health_test.yaml (`tests: [{healthStatus: {status, message}, inputPath}]`)
and testdata/*.yaml. Every case of every health_test.yaml runs here, compared exactly
(status and message) as upstream's `go test ./util/lua/` does, so the directories can be
proposed to argoproj/argo-cd as they are.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51
from packaging_helpers import REPO

from twilio_operator.api.conditions import NEEDS_A_PERSON

ARGOCD = REPO / "argocd"
GROUP = "voip.twilio-operator.dev"
KINDS = ("TwilioProvider", "TwilioPhoneNumber", "TwilioEmergencyAddress", "LiveKitConnection")
# Ready=False reasons that need a person, and reasons the operator retries.
TERMINAL_REASONS = tuple(sorted(NEEDS_A_PERSON))
TRANSIENT_REASONS = (
    "SecretNotFound",
    "WaitingForCredentials",
    "TwilioUnavailable",
    "ProviderNotReady",
    "Progressing",
)


def script(kind: str) -> str:
    path = ARGOCD / GROUP / kind / "health.lua"
    assert path.is_file(), f"missing ArgoCD health check {path}"
    return path.read_text()


def run_health(source: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Run a health script as ArgoCD does: a fresh Lua state, `obj` as a global, no os/io."""
    lua = lua51.LuaRuntime(unpack_returned_tuples=False)
    lua_globals = lua.globals()
    for unsafe in ("os", "io", "require", "dofile", "loadfile", "package"):
        lua_globals[unsafe] = None  # ArgoCD's sandbox does not offer them; the script must not need them
    lua_globals.obj = lua.table_from(obj, recursive=True)
    result = lua.execute(source)
    assert lua.eval("type")(result) == "table", f"the script returned {result!r}, not a table"
    out = dict(result.items())
    assert set(out) == {"status", "message"}, out
    assert out["status"] in {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
    assert isinstance(out["message"], str) and out["message"], out
    return out


def condition(status: str, reason: str, generation: int | None = 3, message: str = "") -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-11-28T10:00:00Z",
    }
    if generation is not None:
        cond["observedGeneration"] = generation
    return cond


def resource(
    kind: str,
    status: dict[str, Any] | None = None,
    generation: int = 3,
    deleting: bool = False,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "main", "namespace": "voice", "generation": generation}
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-28T11:00:00Z"
        metadata["finalizers"] = ["voip.twilio-operator.dev/finalizer"]
    obj: dict[str, Any] = {"apiVersion": f"{GROUP}/v1alpha1", "kind": kind, "metadata": metadata, "spec": {}}
    if status is not None:
        obj["status"] = status
    return obj


READY = condition("True", "Reconciled", message="Trunk TK0123 is ready")

# (id, status, generation, deleting, expected health, text the message must contain)
CASES: list[tuple[str, dict[str, Any] | None, int, bool, str, str]] = [
    ("no-status", None, 1, False, "Progressing", "Waiting for the operator"),
    ("empty-status", {}, 1, False, "Progressing", "generation 1"),
    ("ready-current", {"observedGeneration": 3, "conditions": [READY]}, 3, False, "Healthy", "TK0123"),
    (
        "ready-current-via-status-observedGeneration",
        {"observedGeneration": 3, "conditions": [condition("True", "Reconciled", generation=None)]},
        3,
        False,
        "Healthy",
        "Ready",
    ),
    (
        "ready-but-spec-changed",
        {"observedGeneration": 3, "conditions": [READY]},
        4,
        False,
        "Progressing",
        "4",
    ),
    (
        "condition-generation-wins-over-status",
        {"observedGeneration": 4, "conditions": [READY]},
        4,
        False,
        "Progressing",
        "generation 4",
    ),
    (
        "ready-missing",
        {"observedGeneration": 3, "conditions": [{**READY, "type": "TrunkProvisioned"}]},
        3,
        False,
        "Progressing",
        "Ready condition",
    ),
    (
        "transient-failure",
        {
            "observedGeneration": 3,
            "conditions": [condition("False", "TwilioUnavailable", message="HTTP 503")],
        },
        3,
        False,
        "Progressing",
        "TwilioUnavailable: HTTP 503",
    ),
    (
        "unknown-even-with-terminal-reason",
        {"observedGeneration": 3, "conditions": [condition("Unknown", "AdoptionRefused")]},
        3,
        False,
        "Progressing",
        "AdoptionRefused",
    ),
    (
        "terminal-but-stale",
        {"observedGeneration": 2, "conditions": [condition("False", "AdoptionRefused", generation=2)]},
        3,
        False,
        "Progressing",
        "generation 3",
    ),
    ("deleting", {"observedGeneration": 3, "conditions": [READY]}, 3, True, "Progressing", "Deleting"),
    ("deleting-no-status", None, 3, True, "Progressing", "Deleting"),
    (
        "deleting-blocked",
        {
            "observedGeneration": 3,
            "conditions": [condition("False", "DeletionBlocked", message="trunk in use")],
        },
        4,
        True,
        "Degraded",
        "DeletionBlocked: trunk in use",
    ),
    (
        "deleting-with-terminal-reason",
        {"observedGeneration": 3, "conditions": [condition("False", "AdoptionRefused")]},
        3,
        True,
        "Progressing",
        "Deleting",
    ),
    *[
        (
            f"terminal-{reason}",
            {"observedGeneration": 3, "conditions": [condition("False", reason, message="fix me")]},
            3,
            False,
            "Degraded",
            f"{reason}: fix me",
        )
        for reason in TERMINAL_REASONS
    ],
    *[
        (
            f"transient-{reason}",
            {"observedGeneration": 3, "conditions": [condition("False", reason, message="retrying")]},
            3,
            False,
            "Progressing",
            f"{reason}: retrying",
        )
        for reason in TRANSIENT_REASONS
    ],
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "generation", "deleting", "expected", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_health(
    kind: str, status: dict[str, Any] | None, generation: int, deleting: bool, expected: str, fragment: str
) -> None:
    health = run_health(script(kind), resource(kind, status, generation, deleting))
    assert health["status"] == expected, health
    assert fragment in health["message"], health


@pytest.mark.parametrize(
    ("verification", "expected"),
    [("failed", "Degraded"), ("warning", "Healthy"), ("verified", "Healthy"), ("pending", "Healthy")],
)
def test_provider_verification_status(verification: str, expected: str) -> None:
    status = {"observedGeneration": 3, "verificationStatus": verification, "conditions": [READY]}
    health = run_health(script("TwilioProvider"), resource("TwilioProvider", status))
    assert health["status"] == expected, health


def test_provider_verification_failed_while_ready_unknown() -> None:
    status = {
        "observedGeneration": 3,
        "verificationStatus": "failed",
        "conditions": [condition("Unknown", "Verifying", message="account suspended")],
    }
    health = run_health(script("TwilioProvider"), resource("TwilioProvider", status))
    assert health == {"status": "Degraded", "message": "Twilio verification failed: account suspended"}


# ---------------------------------------------------------------------------- ArgoCD's own test format


class _KubeYamlLoader(yaml.SafeLoader):
    """YAML as ArgoCD reads it (sigs.k8s.io/yaml, via JSON): timestamps stay strings."""


_KubeYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_kube_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_KubeYamlLoader)  # a SafeLoader subclass


def health_check_dirs() -> list[Path]:
    return sorted(path.parent for path in ARGOCD.glob("*/*/health.lua"))


def upstream_cases() -> list[tuple[str, Path, dict[str, Any]]]:
    """(id, input file, expected {status, message}) for every case of every health_test.yaml."""
    cases = []
    for directory in health_check_dirs():
        test_file = directory / "health_test.yaml"
        if not test_file.is_file():
            continue  # test_every_check_has_upstream_tests reports it
        for test in load_kube_yaml(test_file)["tests"]:
            case_id = f"{directory.name}/{test['inputPath']}"
            cases.append((case_id, directory / test["inputPath"], test["healthStatus"]))
    return cases


def test_every_check_has_upstream_tests() -> None:
    """ArgoCD refuses a health.lua without health_test.yaml; every testdata file is used, no path escapes."""
    directories = health_check_dirs()
    assert {d.name for d in directories} == set(KINDS)
    for directory in directories:
        test_file = directory / "health_test.yaml"
        assert test_file.is_file(), f"{directory} has health.lua but no health_test.yaml"
        document = load_kube_yaml(test_file)
        assert set(document) == {"tests"}, f"{test_file}: only a `tests` list is ArgoCD's format"
        paths = []
        for test in document["tests"]:
            assert set(test) == {"healthStatus", "inputPath"}, test
            assert set(test["healthStatus"]) <= {"status", "message"}, test
            assert test["inputPath"].startswith("testdata/") and ".." not in test["inputPath"], test
            paths.append(test["inputPath"])
        assert len(paths) == len(set(paths)), f"{test_file} lists an input twice"
        on_disk = {f"testdata/{p.name}" for p in (directory / "testdata").glob("*")}
        assert on_disk == set(paths), f"{directory}/testdata and {test_file} disagree"
        statuses = {test["healthStatus"]["status"] for test in document["tests"]}
        assert {"Healthy", "Progressing", "Degraded"} <= statuses, f"{test_file} misses a health state"


UPSTREAM_CASES = upstream_cases()


@pytest.mark.parametrize(
    ("input_path", "expected"),
    [case[1:] for case in UPSTREAM_CASES],
    ids=[case[0] for case in UPSTREAM_CASES],
)
def test_upstream_case(input_path: Path, expected: dict[str, Any]) -> None:
    obj = load_kube_yaml(input_path)
    directory = input_path.parent.parent
    assert obj["apiVersion"].split("/")[0] == directory.parent.name, "testdata of another group"
    assert obj["kind"] == directory.name, "testdata of another kind"
    health = run_health((directory / "health.lua").read_text(), obj)
    # Upstream compares the whole HealthStatus: an omitted message means an empty one.
    assert health == {"status": expected["status"], "message": expected.get("message", "")}


# ---------------------------------------------------------------------------- argocd-cm.yaml


def load_renderer() -> Any:
    spec = importlib.util.spec_from_file_location("render_argocd_cm", REPO / "hack" / "render_argocd_cm.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_argocd_cm_is_up_to_date() -> None:
    renderer = load_renderer()
    current = (ARGOCD / "argocd-cm.yaml").read_text()
    assert current == renderer.render(renderer.health_checks(ARGOCD)), (
        "argocd/argocd-cm.yaml is stale: run `make argocd-cm`"
    )


def test_argocd_cm_carries_every_script() -> None:
    config_map = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert (config_map["kind"], config_map["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert set(config_map["data"]) == {f"resource.customizations.health.{GROUP}_{kind}" for kind in KINDS}
    for kind in KINDS:
        source = config_map["data"][f"resource.customizations.health.{GROUP}_{kind}"]
        assert source == script(kind)
        status = {"observedGeneration": 3, "conditions": [READY]}
        assert run_health(source, resource(kind, status))["status"] == "Healthy"


def test_docs_name_the_argocd_keys() -> None:
    docs = (REPO / "docs" / "install.md").read_text()
    for kind in KINDS:
        assert f"resource.customizations.health.{GROUP}_{kind}" in docs
    assert "argocd/argocd-cm.yaml" in docs


@pytest.mark.parametrize("kind", KINDS)
def test_the_lua_table_of_terminal_reasons_is_the_operators(kind: str) -> None:
    """A reason added to NEEDS_A_PERSON must reach ArgoCD too (or it would wait on it forever)."""
    table = re.search(r"local terminal_reasons = \{(.*?)\n\}", script(kind), re.S)
    assert table is not None
    assert set(re.findall(r"^\s*(\w+) = true,$", table.group(1), re.M)) == NEEDS_A_PERSON
