"""The alerts and the dashboard only use metrics the operator really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.registry import REGISTRY

from twilio_operator import metrics

REPO = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b(twilio_operator_[a-z_]+|process_[a-z_]+)\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def exported_names() -> set[str]:
    assert metrics.STATES is not None  # importing the module registers the collectors
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def used_in(texts: list[str]) -> set[str]:
    return {m for text in texts for m in METRIC.findall(text)}


def test_alerts_reference_exported_metrics(render: Any) -> None:
    docs = render({"metrics": {"prometheusRule": {"enabled": True}}})
    [rule] = [d for d in docs if d["kind"] == "PrometheusRule"]
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]} >= {
        "TwilioProviderNotReady",
        "TwilioProviderVerificationFailed",
        "TwilioApiErrors",
    }
    exported = exported_names()
    for name in used_in(exprs):
        assert name in exported or base(name) in exported, f"alert uses unknown metric {name}"


def test_prometheus_rule_rendered_when_asked_even_without_the_api(render: Any) -> None:
    """Like the ServiceMonitor: never silently nothing; NOTES.txt warns when the API is not seen."""
    docs = render({"metrics": {"prometheusRule": {"enabled": True}}})
    assert [d["kind"] for d in docs if d["kind"] == "PrometheusRule"] == ["PrometheusRule"]
    assert not [d for d in render({}) if d["kind"] == "PrometheusRule"]


def test_dashboard_references_exported_metrics() -> None:
    dashboard = json.loads((REPO / "docs" / "grafana" / "twilio-operator.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    exported = exported_names()
    for name in used_in(exprs):
        assert name in exported or base(name) in exported, f"dashboard uses unknown metric {name}"
