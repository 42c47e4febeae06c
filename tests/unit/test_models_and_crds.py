"""The models are the single source of the CRDs; the committed CRDs must match them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from twilio_operator import crdgen
from twilio_operator.api.durations import parse_duration
from twilio_operator.api.models import TwilioProviderSpec

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("directory", [REPO / "crds", REPO / crdgen.CHART_CRD_DIR])
def test_committed_crds_match_the_models(directory: Path) -> None:
    expected = crdgen.rendered_crds()
    for name, text in expected.items():
        path = directory / name
        assert path.is_file(), f"{path} missing: run `make crds`"
        assert path.read_text() == text, f"{path} is stale: run `make crds`"
    extra = {p.name for p in directory.glob("*.yaml")} - set(expected)
    assert not extra, f"unexpected CRD files in {directory}: {extra}"


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return []
    found = [(path, node)]
    for name, sub in (node.get("properties") or {}).items():
        found += walk(sub, f"{path}.{name}")
    if "items" in node:
        found += walk(node["items"], f"{path}[]")
    return found


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda k: k.kind)
def test_schema_is_structural_and_described(kind: crdgen.Kind) -> None:
    crd = yaml.safe_load(crdgen.render(crdgen.build_crd(kind)))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    text = yaml.safe_dump(schema)
    for banned in ("$ref", "anyOf", "$defs", "title", "additionalProperties: false", "nullable"):
        assert banned not in text
    for path, node in walk(schema["properties"]["spec"], "spec") + walk(
        schema["properties"]["status"], "status"
    ):
        assert node.get("description"), f"{path} has no description (kubectl explain shows it)"
        assert "type" in node, f"{path} has no type"


def test_provider_crd_names_and_columns() -> None:
    crd = crdgen.build_crd(crdgen.KINDS[0])
    names = crd["spec"]["names"]
    assert names["shortNames"] == ["twp"] and names["categories"] == ["twilio"]
    columns = [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:5] == ["Ready", "Verification", "Trunk", "Numbers", "Region"] and columns[-1] == "Age"


def test_spec_defaults() -> None:
    spec = TwilioProviderSpec.model_validate(
        {"displayName": "x", "accountSid": "AC" + "0" * 32, "credentialsSecretRef": {"name": "s"}}
    )
    assert spec.deletion_policy is None and spec.verification_interval == "1h"
    assert spec.credentials_secret_ref.auth_token_key == "authToken" and spec.region is None


@pytest.mark.parametrize(("text", "seconds"), [("1h", 3600), ("90s", 90), ("1h30m", 5400), ("2m", 120)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1d", "h", "1.5h", "-1m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
