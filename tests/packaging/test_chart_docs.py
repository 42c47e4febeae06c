"""charts/twilio-operator/README.md is what `make chart-docs` (helm-docs) renders from values.yaml."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging_helpers import CHART, REPO

# The first run may build helm-docs from source (about a minute on a cold Go cache).
pytestmark = pytest.mark.timeout(1200)

README = CHART / "README.md"


def test_chart_readme_is_up_to_date(tmp_path: Path) -> None:
    """Regenerate into a copy of the chart and compare: a stale README fails with the command to run."""
    assert README.is_file(), "charts/twilio-operator/README.md is missing: run `make chart-docs`"
    copy = tmp_path / "charts" / CHART.name
    shutil.copytree(CHART, copy)
    result = subprocess.run(
        ["bash", str(REPO / "hack" / "chart-docs.sh"), str(copy.parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"hack/chart-docs.sh failed:\n{result.stderr}"
    assert (copy / "README.md").read_text() == README.read_text(), (
        "charts/twilio-operator/README.md is stale (values.yaml or README.md.gotmpl changed): "
        "run `make chart-docs`"
    )


def test_every_value_is_described() -> None:
    """Each row of the values table has a description: values.yaml keeps its `# --` comments."""
    rows = [
        line
        for line in README.read_text().splitlines()
        if re.match(r"\| [a-zA-Z]", line) and not line.startswith("| Key |")
    ]
    assert rows, "no values table in the chart README"
    undocumented = [row.split(" | ")[0].strip("| ") for row in rows if row.rstrip().endswith("|  |")]
    assert not undocumented, f"values without a `# --` comment: {undocumented}"
    documented = {row.split(" | ")[0].strip("| ") for row in rows}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) == {key.split(".")[0] for key in documented}, "a top-level value is missing"


def test_template_is_not_packaged() -> None:
    assert "README.md.gotmpl" in (CHART / ".helmignore").read_text().splitlines()
