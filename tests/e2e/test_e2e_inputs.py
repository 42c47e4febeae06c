"""What the e2e tests rely on, checked without a cluster in every run.

The kind test itself only runs where Docker and kind exist; these checks keep
its inputs from rotting in between.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_kind import EMULATOR_URL, IMAGE, REPO, helm_set_args, load_example

pytestmark = pytest.mark.timeout(1200)  # may build helm from source on a cold cache


def test_examples_have_a_provider_and_its_secret() -> None:
    example = load_example()
    assert re.fullmatch(r"AC[0-9a-f]{32}", example.account_sid), example.account_sid
    assert example.auth_token, "the example Secret has an empty auth token"
    assert [o["kind"] for o in example.objects] == ["Secret", "TwilioProvider"]
    assert all(o["metadata"]["namespace"] == "e2e-demo" for o in example.objects)


def test_emulator_manifest() -> None:
    docs = list(yaml.safe_load_all((Path(__file__).parent / "emulator.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Namespace", "Deployment", "Service"]
    (container,) = docs[1]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "IMAGE"  # replaced by the test
    assert container["command"][:2] == ["twilio-operator", "emulator"]
    port = int(container["command"][container["command"].index("--port") + 1])
    assert EMULATOR_URL.endswith(f".{docs[0]['metadata']['name']}.svc.cluster.local:{port}")
    assert docs[2]["spec"]["ports"][0]["port"] == port


def test_chart_accepts_the_e2e_values() -> None:
    helm = subprocess.run(
        ["bash", str(REPO / "hack" / "helm" / "build.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    result = subprocess.run(
        [
            helm,
            "template",
            "twilio-operator",
            str(REPO / "charts" / "twilio-operator"),
            *helm_set_args(IMAGE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    deployment = next(d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE and container["imagePullPolicy"] == "Never"
    assert {"name": "TWILIO_OPERATOR_TWILIO_BASE_URL", "value": EMULATOR_URL} in container["env"]


def collect(*options: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", *options, "--collect-only", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr  # 5: nothing collected
    return result.stdout


def test_make_e2e_collects_the_node_tests_only() -> None:
    """`make e2e` runs `pytest tests/e2e -m e2e`: the node tests, in file order, and not the kind test."""
    out = collect("-m", "e2e")
    node_tests = [line for line in out.splitlines() if line.startswith("tests/e2e/test_node.py::")]
    assert len(node_tests) == 15, out
    assert node_tests == sorted(node_tests), "the node tests must run in the order of their numbers"
    assert "test_kind.py" not in out


def test_make_e2e_kind_collects_the_kind_test_only() -> None:
    out = collect("-m", "kind")
    assert "test_kind.py::test_install_reconcile_delete_uninstall" in out, out
    assert "test_node.py" not in out


def test_a_plain_run_deselects_both_tiers() -> None:
    out = collect()
    assert "test_node.py::" not in out and "test_kind.py::" not in out, out


def test_make_e2e_kind_names_what_is_missing(tmp_path: Path) -> None:
    """Without Docker, kind and kubectl, the preflight lists each of them instead of a pytest error."""
    bare = tmp_path / "bin"
    bare.mkdir()
    result = subprocess.run(
        ["/bin/bash", str(REPO / "hack" / "e2e-preflight.sh")],
        env={"PATH": str(bare)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    for tool in ("docker: not installed", "kind: not installed", "kubectl: not installed"):
        assert tool in result.stderr, result.stderr


def test_make_e2e_kind_says_when_the_docker_daemon_is_unreachable(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool, script in (("docker", "exit 1"), ("kind", "exit 0"), ("kubectl", "exit 0")):
        path = bare / tool
        path.write_text(f"#!/bin/sh\n{script}\n")
        path.chmod(0o755)
    result = subprocess.run(
        ["/bin/bash", str(REPO / "hack" / "e2e-preflight.sh")],
        env={"PATH": f"{bare}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "no Docker daemon answers" in result.stderr, result.stderr
    assert "kind" not in result.stderr.split("missing:", 1)[1]
