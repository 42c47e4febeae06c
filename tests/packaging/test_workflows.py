"""The GitHub Actions workflows, checked statically (they cannot run here).

actionlint (`make lint-workflows`, part of `make lint`) checks syntax, expressions and
the inputs of known actions. These tests pin what actionlint cannot know: that the release
publishes what the chart and the docs promise, with least privilege and pinned actions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging_helpers import CHART, REPO

WORKFLOWS = REPO / ".github" / "workflows"
RELEASE = WORKFLOWS / "release.yaml"
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def step_using(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in steps(workflow) if s.get("uses", "").startswith(f"{action}@")]
    return step


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_actions_are_pinned_to_commits(path: Path) -> None:
    """Tags can be moved; a full commit SHA cannot. The comment says which release it is."""
    for line in path.read_text().splitlines():
        match = re.match(r"\s*(?:- )?uses: (.*)$", line)
        if match:
            assert PINNED.match(match.group(1)), f"{path.name}: `{match.group(1)}` is not pinned to a SHA"


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    workflow = load(path)
    top = workflow.get("permissions")
    assert top in ({}, {"contents": "read"}), f"{path.name}: top-level permissions {top!r}"
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", top)
        assert granted is not None, f"{path.name}: job {name} inherits the default token permissions"
        assert set(granted.values()) <= {"read", "write", "none"}
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"packages"}, f"{path.name}: job {name} may write {writes}"
    for step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, (
                "checkout keeps the token on disk"
            )


def test_untrusted_context_never_reaches_a_shell() -> None:
    """`${{ github.* }}` inside `run:` is a script-injection path; pass values through `env:`."""
    for path in sorted(WORKFLOWS.glob("*.yaml")):
        for step in steps(load(path)):
            assert "${{" not in step.get("run", ""), f"{path.name}: expression inside run: {step['run']}"


def test_ci_runs_the_project_entry_point() -> None:
    ci = load(WORKFLOWS / "ci.yaml")
    assert "pull_request" in ci["on"]
    assert [s["run"] for s in steps(ci) if "run" in s] == [".ci/run"]
    assert step_using(ci, "actions/setup-python")["with"]["python-version"] == "3.11"


def test_release_builds_the_multi_arch_image_with_attestations() -> None:
    release = load(RELEASE)
    assert release["on"] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}
    for action in ("docker/setup-qemu-action", "docker/setup-buildx-action", "docker/login-action"):
        step_using(release, action)
    build = step_using(release, "docker/build-push-action")["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["push"] is True and build["sbom"] is True
    assert build["provenance"] == "mode=max"
    assert step_using(release, "docker/login-action")["with"]["registry"] == "ghcr.io"


def test_release_publishes_where_the_chart_points() -> None:
    """The chart's default image is the one this workflow pushes, and the chart goes to OCI."""
    release = load(RELEASE)
    images = step_using(release, "docker/metadata-action")["with"]["images"]
    assert images == "ghcr.io/${{ github.repository_owner }}/twilio-operator"
    assert VALUES["image"]["repository"] == "ghcr.io/twilio-operator/twilio-operator"
    assert VALUES["image"]["tag"] == ""  # appVersion, which the release checks against the tag
    text = RELEASE.read_text()
    assert '"$HELM" push "dist/twilio-operator-$VERSION.tgz" "oci://ghcr.io/$owner/charts"' in text
    # The step that re-points a fork's chart edits this exact line of values.yaml.
    assert "\n  repository: ghcr.io/twilio-operator/twilio-operator\n" in (CHART / "values.yaml").read_text()
    assert release["jobs"]["chart"]["needs"] == ["version", "image"]


def test_release_version_check_reads_chart_yaml(tmp_path: Path) -> None:
    """Run the workflow's own check script against the real Chart.yaml: the current tag passes."""
    (check,) = [s for s in steps(load(RELEASE)) if s.get("id") == "check"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    output = tmp_path / "output"
    for tag, ok in ((f"v{chart['version']}", True), ("v9.9.9", False)):
        output.write_text("")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", check["run"]],
            cwd=REPO,
            env={"GITHUB_REF_NAME": tag, "GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert (result.returncode == 0) == ok, (tag, result.stdout, result.stderr)
        if ok:
            assert output.read_text() == f"version={chart['version']}\n"


def run_step(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_release_chart_steps_package_a_chart_for_the_owner(helm_bin: Path, tmp_path: Path) -> None:
    """Run the chart job's own scripts on a copy: re-point the image for a fork, lint, package."""
    jobs = load(RELEASE)["jobs"]["chart"]["steps"]
    repoint, package = (next(s for s in jobs if s.get("name", "").startswith(p)) for p in ("Point", "Lint"))
    shutil.copytree(CHART, tmp_path / "charts" / CHART.name)
    result = run_step(repoint["run"], tmp_path, OWNER="Some-Fork")
    assert result.returncode == 0, result.stderr
    values = yaml.safe_load((tmp_path / "charts" / CHART.name / "values.yaml").read_text())
    assert values["image"]["repository"] == "ghcr.io/some-fork/twilio-operator"
    result = run_step(package["run"], tmp_path, HELM=str(helm_bin), HOME=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    archive = tmp_path / "dist" / f"twilio-operator-{chart['version']}.tgz"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "twilio-operator/README.md" in names and "twilio-operator/values.schema.json" in names
    assert "twilio-operator/README.md.gotmpl" not in names
    assert {f"twilio-operator/crds/{p.name}" for p in (CHART / "crds").glob("*.yaml")} <= names
