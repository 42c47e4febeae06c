"""Item 1, crash anywhere: SIGKILL the operator right after each single Twilio and Kubernetes write of
provisioning and of deletion, start it again, and check that nothing was duplicated or leaked.

Twilio writes are cut with `commit_then_hang` faults: Twilio applies the write, the answer never
comes, and the operator is killed while it waits (the worst case: the write happened, nobody knows).
Kubernetes writes are cut by polling the API server and killing as soon as the write is visible; the
next Twilio write is held back with an `error` fault so that the kill lands exactly between the two.
The two "no fault" points (Secret marked applied, Ready written) are best effort: the next write
follows within milliseconds, so the kill may land a little later; the invariants hold either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    PROVIDERS,
    create,
    delete,
    get,
    provider_spec,
    secret,
    wait_for,
    wait_gone,
    wait_ready,
)
from fixtures.operator_process import MakeReadyProvider, OperatorProcess, StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import (
    CREDENTIALS,
    LIST,
    LISTS,
    TRUNK,
    TRUNK_LIST,
    TRUNK_LISTS,
    TRUNKS,
    assert_converged_once,
    assert_nothing_left,
    kill,
    owned,
)

FINALIZER = "voip.twilio-operator.dev/finalizer"
PENDING = "voip.twilio-operator.dev/password-state"


@dataclass
class World:
    cp: ControlPlane
    emulator: EmulatorAdmin
    account: TwilioAccount
    namespace: str

    def obj(self, name: str) -> dict[str, Any]:
        return get(self.cp, PROVIDERS, self.namespace, name) or {}

    def mine(self, name: str, uid: str) -> dict[str, list[Any]]:
        return owned(self.emulator, self.account.sid, uid)

    def sip(self, name: str) -> dict[str, Any]:
        return secret(self.cp, self.namespace, f"{name}-sip-credentials") or {}


@dataclass
class CrashPoint:
    name: str
    trigger: Callable[[World, str, str], bool]  # (world, provider name, uid) -> the write is visible
    faults: list[dict[str, Any]] = field(default_factory=list)


def hang(method: str, path: str) -> dict[str, Any]:
    return {"path": path, "method": method, "action": "commit_then_hang", "hang_seconds": 20}


def refuse(method: str, path: str) -> dict[str, Any]:
    return {"path": path, "method": method, "action": "error", "status": 503, "times": None}


def _annotation(w: World, name: str) -> str | None:
    return (w.sip(name).get("metadata", {}).get("annotations") or {}).get(PENDING)


PROVISIONING = [
    CrashPoint("twilio: trunk created", lambda w, n, u: bool(w.mine(n, u)["trunks"]), [hang("POST", TRUNKS)]),
    CrashPoint(
        "twilio: credential list created", lambda w, n, u: bool(w.mine(n, u)["lists"]), [hang("POST", LISTS)]
    ),
    CrashPoint(
        "twilio: list attached to trunk",
        lambda w, n, u: any(t["credential_list_sids"] for t in w.mine(n, u)["trunks"]),
        [hang("POST", TRUNK_LISTS)],
    ),
    CrashPoint(
        "twilio: SIP credential created",
        lambda w, n, u: bool(w.mine(n, u)["credentials"]),
        [hang("POST", CREDENTIALS)],
    ),
    CrashPoint(
        "kubernetes: finalizer added",
        lambda w, n, u: FINALIZER in (w.obj(n).get("metadata", {}).get("finalizers") or []),
        [refuse("POST", TRUNKS), refuse("POST", LISTS)],
    ),
    CrashPoint(
        "kubernetes: SIDs recorded in status",
        lambda w, n, u: bool((w.obj(n).get("status") or {}).get("trunkSid")),
        [refuse("POST", TRUNK_LISTS), refuse("POST", CREDENTIALS)],
    ),
    CrashPoint(
        "kubernetes: SIP Secret written (pending)",
        lambda w, n, u: _annotation(w, n) == "pending",
        [refuse("POST", CREDENTIALS)],
    ),
    CrashPoint("kubernetes: SIP Secret marked applied", lambda w, n, u: _annotation(w, n) == "applied"),
    CrashPoint(
        "kubernetes: Ready written",
        lambda w, n, u: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (w.obj(n).get("status") or {}).get("conditions") or []
        ),
    ),
]

DELETION = [
    CrashPoint(
        "twilio: list detached",
        lambda w, n, u: not any(t["credential_list_sids"] for t in w.mine(n, u)["trunks"]),
        [hang("DELETE", TRUNK_LIST)],
    ),
    CrashPoint("twilio: trunk deleted", lambda w, n, u: not w.mine(n, u)["trunks"], [hang("DELETE", TRUNK)]),
    CrashPoint(
        "twilio: credential list deleted", lambda w, n, u: not w.mine(n, u)["lists"], [hang("DELETE", LIST)]
    ),
    CrashPoint("kubernetes: SIP Secret deleted", lambda w, n, u: not w.sip(n)),
]


def test_sigkill_after_every_write_leaves_one_of_everything(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    start_operator: StartOperator,
) -> None:
    world = World(crds, emulator, twilio_account, namespace)
    running: OperatorProcess = start_operator()
    providers: dict[str, str] = {}  # name -> uid
    timings: list[str] = []

    def crash_and_restart(point: CrashPoint, name: str, uid: str) -> None:
        nonlocal running
        wait_for(
            lambda: point.trigger(world, name, uid), timeout=25, what=f"{point.name} ({name})", interval=0.05
        )
        kill(running)
        emulator.clear_faults()
        running = start_operator()

    for index, point in enumerate(PROVISIONING):
        started = time.monotonic()
        name = f"p{index}"
        for spec in point.faults:
            emulator.add_fault(**spec)
        uid = create(crds, PROVIDERS, namespace, name, provider_spec(twilio_account))["metadata"]["uid"]
        providers[name] = uid
        crash_and_restart(point, name, uid)
        wait_ready(crds, PROVIDERS, namespace, name, timeout=45)
        for done in providers:  # the restarts must not disturb the ones already converged
            assert_converged_once(crds, emulator, twilio_account.sid, namespace, done)
        timings.append(f"{point.name}: {time.monotonic() - started:.1f}s")

    for index, point in enumerate(DELETION):
        started = time.monotonic()
        name = f"p{index}"
        for spec in point.faults:
            emulator.add_fault(**spec)
        delete(crds, namespace, name)
        crash_and_restart(point, name, providers[name])
        wait_gone(crds, namespace, name, timeout=45)
        assert_nothing_left(emulator, twilio_account.sid, providers.pop(name))
        assert secret(crds, namespace, f"{name}-sip-credentials") is None
        timings.append(f"delete, {point.name}: {time.monotonic() - started:.1f}s")

    # Deleted while the operator is down: the finalizer runs when it comes back.
    name = f"p{len(DELETION)}"
    kill(running)
    delete(crds, namespace, name)
    running = start_operator()
    wait_gone(crds, namespace, name, timeout=45)
    assert_nothing_left(emulator, twilio_account.sid, providers.pop(name))

    for name in providers:
        assert_converged_once(crds, emulator, twilio_account.sid, namespace, name)
    print("\n".join(timings))


@pytest.mark.usefixtures("operator")
@pytest.mark.parametrize("strict", [False, True], ids=["documented", "strict"])
def test_lost_answers_of_every_create_are_recovered(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
    strict: bool,
) -> None:
    """commit_then_error on trunk, credential list and credential create: applied, answered 500.
    Also in the emulator's strict mode, where the recovery cannot lean on an undocumented code
    (the whole tier runs strict with `make test-reliability-strict`)."""
    if strict:
        emulator.configure(strict=True)
    for method, path in (("POST", TRUNKS), ("POST", LISTS), ("POST", CREDENTIALS)):
        emulator.add_fault(path, "commit_then_error", method=method, status=500)
    uid = make_ready_provider(timeout=60)["metadata"]["uid"]
    assert all(f["remaining"] == 0 for f in emulator.faults())
    assert_converged_once(crds, emulator, twilio_account.sid, namespace, "acme")
    delete(crds, namespace, "acme")
    wait_gone(crds, namespace, "acme")
    assert_nothing_left(emulator, twilio_account.sid, uid)
