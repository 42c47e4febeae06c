"""Fixtures for the packaging tests: the helm binary and chart rendering."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging_helpers import REPO, Render, template


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    """The helm CLI built from its Go module by hack/helm/build.sh (cached in .cache/helm/bin).

    The first build takes a few minutes; later sessions reuse the binary. A build
    failure fails the tests that need helm: packaging is not optional.
    """
    result = subprocess.run(
        ["bash", str(REPO / "hack" / "helm" / "build.sh")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"cannot build helm (hack/helm/build.sh):\n{result.stderr}", pytrace=False)
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.is_file(), f"hack/helm/build.sh printed {path}, which does not exist"
    return path


@pytest.fixture
def render(helm_bin: Path, tmp_path: Path) -> Render:
    """render(values, *extra_args) -> the objects `helm template` renders for those values.

    Release `twilio-operator` in namespace `ops`. Fails the test when helm fails.
    """

    def _render(values: dict[str, Any] | None = None, *extra: str) -> list[dict[str, Any]]:
        result = template(helm_bin, tmp_path, values, extra)
        assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render
