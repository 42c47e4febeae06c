"""Helpers shared by the packaging tests: paths, running helm, rendering the chart."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "twilio-operator"

Render = Callable[..., list[dict[str, Any]]]


def run_helm(helm_bin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm_bin), *args], capture_output=True, text=True, check=False, cwd=REPO)


def template(
    helm_bin: Path, tmp_path: Path, values: dict[str, Any] | None, extra: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart as release twilio-operator in namespace ops."""
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values or {}))
    return run_helm(
        helm_bin,
        "template",
        "twilio-operator",
        str(CHART),
        "--namespace",
        "ops",
        "-f",
        str(values_file),
        *extra,
    )
