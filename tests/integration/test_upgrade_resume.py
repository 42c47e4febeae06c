"""An operator upgraded across the package restructure resumes its objects without work.

kopf keeps each handler's progress in annotations keyed by the handler id, and the last handled
spec in another. The operator from before the move (the last commit with the flat package) creates
a provider and imports a number; the operator of this checkout then starts on the same objects. It
must run no create handler again and make no Twilio call: the ids stayed what they were.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from fixtures.kube import NUMBERS, PROVIDERS, REPO, apply_crds, create, events, get, wait_for, wait_ready
from fixtures.operator_process import MakeReadyProvider, StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

# The last commit of the flat layout (operator/twilio_operator/handlers.py).
BEFORE_THE_MOVE = "8d031b1f3bb917b90cc6cd6b5e4f7c7c30560f88"
FIRST = "+15005550006"


def extract_old_operator(into: Path) -> Path:
    """The package as it was before the move, from git history (a clone of main has it)."""
    archive = into / "old.tar"
    result = subprocess.run(
        ["git", "archive", "--format=tar", f"--output={archive}", BEFORE_THE_MOVE, "operator", "crds"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"commit {BEFORE_THE_MOVE} is needed from git history: {result.stderr}", pytrace=False)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    source_root = into / "operator"
    assert (source_root / "twilio_operator" / "handlers.py").is_file()
    return source_root


def test_operator_upgraded_across_the_move_resumes_without_work(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
    tmp_path: Path,
) -> None:
    old_root = extract_old_operator(tmp_path)
    loaded = subprocess.run(
        [sys.executable, "-c", "import twilio_operator.handlers as h; print(h.__file__)"],
        env={**os.environ, "PYTHONPATH": str(old_root)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == str(old_root / "twilio_operator" / "handlers.py"), loaded.stderr
    # The old release's CRDs for both operators: the new CRDs add defaulted fields, which the old
    # code refuses and which (as any schema change) would give every object one update; what is
    # tested here is that the moved handlers resume under their old ids.
    _apply_crds_from(crds, old_root.parent / "crds")
    try:
        _upgrade(crds, namespace, emulator, start_operator, make_ready_provider, old_root)
    finally:
        apply_crds(crds)


def _apply_crds_from(cp: ControlPlane, directory: Path) -> None:
    applied = cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(directory))
    assert applied.returncode == 0, applied.stderr


def _upgrade(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
    old_root: Path,
) -> None:
    old = start_operator(PYTHONPATH=str(old_root))
    make_ready_provider()
    create(crds, NUMBERS, namespace, "support", {"providerRef": {"name": "acme"}, "phoneNumber": FIRST})
    wait_ready(crds, NUMBERS, namespace, "support")
    # The old operator recounts the provider's numbers after the import; stopped before that, the
    # new one would rightly reconcile a status whose phoneNumberCount is stale.
    wait_for(
        lambda: (
            ((get(crds, PROVIDERS, namespace, "acme") or {}).get("status") or {}).get("phoneNumberCount") == 1
        ),
        timeout=30,
        what="the old operator's recount of phoneNumberCount",
    )
    old.stop(signal.SIGTERM)
    before = {
        plural: get(crds, plural, namespace, name)
        for plural, name in ((PROVIDERS, "acme"), (NUMBERS, "support"))
    }
    seq = max((int(r["seq"]) for r in emulator.requests()), default=0)
    event_count = len(events(crds, namespace))

    new = start_operator()
    wait_for(lambda: "TwilioProvider resumed" in new.log(), timeout=30, what="the provider resumed")
    wait_for(lambda: "TwilioPhoneNumber resumed" in new.log(), timeout=30, what="the number resumed")
    time.sleep(3)  # room for any handler that would (wrongly) run after resuming

    assert emulator.requests(since=seq) == []
    assert len(events(crds, namespace)) == event_count
    assert "reconciled" not in new.log() and "TwilioPhoneNumber Attached" not in new.log()
    for (plural, obj), previous in zip(
        ((p, get(crds, p, namespace, n)) for p, n in ((PROVIDERS, "acme"), (NUMBERS, "support"))),
        before.values(),
        strict=True,
    ):
        assert obj is not None and previous is not None
        assert obj["status"] == previous["status"], plural
        assert obj["metadata"]["finalizers"] == previous["metadata"]["finalizers"], plural
