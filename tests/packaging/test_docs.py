"""The user-facing documents agree with the repository and with the chart.

Each test pins one mistake a first-time user hit (issue 18): a reference to a file that
does not exist, a log format the chart does not use, a namespace nobody creates, Events
the operator no longer posts, a wrong reason for `--server-side`, a missing sizing note.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from packaging_helpers import CHART, REPO

README = REPO / "README.md"
INSTALL_DOC = REPO / "docs" / "install.md"
DOCS = [README, REPO / "SECURITY.md", *sorted((REPO / "docs").glob("*.md"))]
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())


def doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)


def commands(text: str) -> list[str]:
    """Shell lines of the document's code blocks, backslash continuations joined, comments dropped."""
    lines: list[str] = []
    for block in code_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        lines += [line.split(" #")[0].strip() for line in joined.splitlines() if line.strip()]
    return lines


# ---------------------------------------------------------------------------- references


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_referenced_files_exist(doc: Path) -> None:
    """Every `*.md`/path a document names exists (SECURITY.md once pointed at a DESIGN.md that does not)."""
    text = doc.read_text()
    names = set(re.findall(r"(?<![\w/.-])([\w./-]+\.md)\b", text))
    names |= {target for target in re.findall(r"\]\(([^)#\s]+)", text) if "://" not in target}
    missing = [
        name for name in sorted(names) if not (REPO / name).exists() and not (doc.parent / name).exists()
    ]
    assert not missing, f"{doc_id(doc)} names files that do not exist: {missing}"


# ---------------------------------------------------------------------------- logs


def test_log_format_default_agrees_with_the_chart() -> None:
    default = VALUES["logFormat"]
    assert default == "json", "the chart logs JSON for log collectors; update the docs if this changes"
    readme = README.read_text()
    assert f"`logFormat: {default}`" in readme, "README must state the chart's logFormat default"
    assert "human-readable by default" not in readme
    assert f"`{VALUES['logLevel']}` / `{default}`" in INSTALL_DOC.read_text()


# ---------------------------------------------------------------------------- namespaces

# Namespaces that exist before any step: deploy/install.yaml creates twilio-operator itself
# (checked below), and argocd is where ArgoCD runs.
PRE_EXISTING = {"argocd"}


@pytest.mark.parametrize("doc", [README, INSTALL_DOC], ids=doc_id)
def test_every_namespace_used_is_created_first(doc: Path) -> None:
    install = next(d for d in yaml.safe_load_all((REPO / "deploy" / "install.yaml").read_text()) if d)
    assert install["kind"] == "Namespace"
    created = set(PRE_EXISTING) | {install["metadata"]["name"]}
    for line in commands(doc.read_text()):
        created |= set(re.findall(r"kubectl create namespace ([a-z0-9-]+)", line))
        used = set(re.findall(r"(?:-n|--namespace)[ =]([a-z0-9][a-z0-9-]*)\b", line))
        if "--create-namespace" in line:
            created |= used
        assert used <= created, f"{doc_id(doc)}: `{line}` uses namespace {used - created} before it exists"


# ---------------------------------------------------------------------------- events

PER_STEP_EVENTS = ("TrunkCreated", "SipCredentialCreated")


def test_readme_shows_the_folded_provisioned_event() -> None:
    """First provisioning posts one Normal `Provisioned` Event listing every step, not one per step."""
    readme = README.read_text()
    events = readme[readme.index("Events:\n  Type") :].split("```")[0]
    rows = [line.split() for line in events.splitlines()[3:] if line.strip()]
    assert [row[:2] for row in rows] == [["Normal", "Provisioned"]], rows
    message = events[events.index("twilio-operator ") :]
    for step in ("created trunk", "created credential list", "created SIP credential", "attached"):
        assert step in message, f"the Provisioned message in README lacks `{step}`"
    bullet = readme[readme.index("- **Events**") :].split("\n- **")[0]
    for reason in PER_STEP_EVENTS:
        assert reason not in bullet, f"README lists {reason} as an Event; it is folded into Provisioned"
    assert "`Provisioned`" in bullet


# ---------------------------------------------------------------------------- server-side apply

SIZE_CLAIMS = re.compile(r"CRDs are large|the large CRDs|avoids the\s+size limit", re.IGNORECASE)


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_server_side_apply_is_not_justified_by_crd_size(doc: Path) -> None:
    assert not SIZE_CLAIMS.search(doc.read_text()), f"{doc_id(doc)} says the CRDs are too large"


def test_crds_are_far_below_the_annotation_limit() -> None:
    """docs/install.md says size is not the reason for --server-side; keep that true."""
    for crd in sorted((REPO / "crds").glob("*.yaml")):
        assert crd.stat().st_size < 128 * 1024, f"{crd.name} grew: revisit docs/install.md (--server-side)"
    assert "field ownership" in INSTALL_DOC.read_text()


# ---------------------------------------------------------------------------- sizing


def sizing_section() -> str:
    text = INSTALL_DOC.read_text()
    assert "## Sizing" in text
    return text[text.index("## Sizing") :].split("\n## ")[0]


def test_install_doc_has_the_secret_watch_sizing_section() -> None:
    section = sizing_section()
    for fact in ("label selector", "1,000", "100 KiB", "620 MB", "237 MB", "SecretNotFound", "every 2 s"):
        assert fact in section, f"the sizing section lacks `{fact}`"
    assert "planned" not in section, "the label-selected watch is built: say what it does"
    assert "`get`, `list` and `watch`" in section
    limit = VALUES["resources"]["limits"]["memory"]
    assert f"default {limit}" in section, "the sizing section must name the chart's memory limit"


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    raise AssertionError(f"write the chart's memory limit in Ki, Mi or Gi, not {quantity!r}")


def promised_scale() -> int:
    """The number of TwilioProviders the sizing table of docs/install.md says the defaults cover."""
    match = re.search(r"chart's defaults cover (\d[\d,]*) TwilioProviders", sizing_section())
    assert match, "the sizing section must say which scale the chart's defaults cover"
    return int(match[1].replace(",", ""))


def benchmark_peaks() -> list[tuple[str, str, int, float]]:
    """(file, figure, providers, peak MiB) of every run of our operator in bench/results/ (bench
    figures in "MB" are VmHWM kB / 1024, i.e. MiB). Runs with a kopf settings overlay are experiments
    with settings the chart does not deploy, so they are left out."""
    peaks: list[tuple[str, str, int, float]] = []
    for path in sorted((REPO / "bench" / "results").glob("*.json")):
        report = json.loads(path.read_text())
        if (report.get("setup") or {}).get("kopf_settings_overlay"):
            continue
        if "c_scale" in report:
            scale = report["c_scale"]
            peaks.append((path.name, "c: providers at once", scale["providers"], scale["peak_rss_mb"]))
        for run in ("without", "with"):
            if run in (report.get("h_unrelated_secrets") or {}):
                peak = report["h_unrelated_secrets"][run]["peak_rss_mb"]
                peaks.append((path.name, f"h: no providers, unrelated Secrets {run}", 0, peak))
    return peaks


def test_no_benchmark_peak_exceeds_the_charts_memory_limit_at_the_promised_scale() -> None:
    """A result file in bench/results/ whose operator peaked above the chart's default memory limit,
    at or below the scale the docs promise, means the default gets the operator OOM-killed there:
    raise the limit (and the sizing table) or bring the peak down."""
    limit = mebibytes(VALUES["resources"]["limits"]["memory"])
    scale = promised_scale()
    peaks = [p for p in benchmark_peaks() if p[2] <= scale]
    assert any(p[2] == scale for p in peaks), f"no benchmark result at the promised scale of {scale}"
    over = [p for p in peaks if p[3] > limit]
    assert not over, f"peaks above the chart's {limit:g}Mi limit: {over}"


# ---------------------------------------------------------------------------- the image


def test_readme_and_notes_say_how_to_build_and_set_the_image() -> None:
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    readme = README.read_text()
    for text in (readme, notes):
        assert "make image IMAGE=" in text and "docker push" in text
        assert "--set image.repository=" in text and "--set image.tag=" in text
    assert VALUES["image"]["repository"] in readme
