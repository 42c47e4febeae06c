"""An upgraded operator resumes its objects without work.

kopf keeps each handler's progress in annotations keyed by the handler id, and the last handled
spec in another. The operator from before the move (the last commit with the flat package) creates
a provider and imports a number; the operator of this checkout then starts on the same objects. It
must run no create handler again and make no Twilio call: the ids stayed what they were.

The previous release (kopf's create handler and a daemon per provider) with 100 Ready providers is
replaced by this one (the due queue, no diff base kept for providers): no Twilio write, every
provider Ready all along, its status and finalizer as they were.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    NUMBERS,
    PROVIDERS,
    REPO,
    apply_crds,
    create,
    events,
    get,
    provider_spec,
    wait_for,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider, StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

# The last commit of the flat layout (operator/twilio_operator/handlers.py).
BEFORE_THE_MOVE = "8d031b1f3bb917b90cc6cd6b5e4f7c7c30560f88"
# The last release before the due queue: kopf's create/update/resume handler, a daemon per provider.
BEFORE_THE_QUEUE = "509e73f13340d5e51e32650256de971b8f69944d"
FIRST = "+15005550006"
FLEET = 100


def extract_old_operator(into: Path, commit: str = BEFORE_THE_MOVE) -> Path:
    """The package as it was at `commit`, from git history (a clone of main has it)."""
    archive = into / "old.tar"
    result = subprocess.run(
        ["git", "archive", "--format=tar", f"--output={archive}", commit, "operator", "crds"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"commit {commit} is needed from git history: {result.stderr}", pytrace=False)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "operator"


def test_operator_upgraded_across_the_move_resumes_without_work(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    start_operator: StartOperator,
    make_ready_provider: MakeReadyProvider,
    tmp_path: Path,
) -> None:
    old_root = extract_old_operator(tmp_path)
    assert (old_root / "twilio_operator" / "handlers.py").is_file()
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


def test_the_previous_release_with_a_hundred_ready_providers_is_replaced_without_twilio_writes(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    start_operator: StartOperator,
    twilio_account: TwilioAccount,
    credentials: str,
    tmp_path: Path,
) -> None:
    old_root = extract_old_operator(tmp_path, BEFORE_THE_QUEUE)
    assert "verify_periodically" in (old_root / "twilio_operator" / "handlers" / "provider.py").read_text()
    names = [f"p-{number:03d}" for number in range(FLEET)]
    old = start_operator(PYTHONPATH=str(old_root))
    for name in names:
        create(crds, PROVIDERS, namespace, name, provider_spec(twilio_account))

    def settled() -> bool:
        # Ready, and the agent table recorded: the old operator's last write of each provider.
        found = [get(crds, PROVIDERS, namespace, name) or {} for name in names]
        return all(ready(obj) and (obj.get("status") or {}).get("agentTable") for obj in found)

    wait_for(settled, timeout=180, what=f"{FLEET} providers Ready under the previous release")
    old.stop(signal.SIGTERM)
    before = {name: get(crds, PROVIDERS, namespace, name) for name in names}
    seq = max((int(r["seq"]) for r in emulator.requests()), default=0)
    event_count = len(events(crds, namespace))

    new = start_operator()
    not_ready: set[str] = set()

    def all_resumed() -> bool:
        not_ready.update(n for n in names if not ready(get(crds, PROVIDERS, namespace, n) or {}))
        return all(f"[{namespace}/{name}] TwilioProvider resumed" in new.log() for name in names)

    wait_for(all_resumed, timeout=60, what=f"{FLEET} providers resumed by this release")
    time.sleep(3)  # room for any reconcile that would (wrongly) follow the resume

    writes = [(r["method"], r["path"]) for r in emulator.requests(since=seq) if r["method"] != "GET"]
    assert writes == [], writes
    assert not not_ready, f"not Ready during the upgrade: {sorted(not_ready)}"
    assert len(events(crds, namespace)) == event_count
    for name in names:
        now, previous = get(crds, PROVIDERS, namespace, name), before[name]
        assert now is not None and previous is not None
        assert now["status"] == previous["status"], name
        assert now["metadata"]["finalizers"] == previous["metadata"]["finalizers"], name


def ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
