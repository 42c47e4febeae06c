"""SIGKILL the operator right after each write of a SIP credential rotation, start it again, and check
that at the kill and after the restart there are one or two credentials of the provider in Twilio,
each of whose password the Secret holds (both authenticate through /_emulator/sip-auth), and that
the rotation then finishes: one credential, the new one, and a Secret without the previous pair.

The pattern is test_crash_anywhere.py's: Twilio writes are cut with `commit_then_hang` (applied, no
answer), Kubernetes writes by polling the API server and killing as soon as the write is visible,
with the next Twilio write held back by an `error` fault. "No fault" points are best effort.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fixtures.emulator import TwilioAccount
from fixtures.kube import PROVIDERS, create, decoded, get, provider_spec, secret, wait_for, wait_ready
from fixtures.operator_process import OperatorProcess
from twilio_operator.api.names import is_sip_username_of
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import CREDENTIALS, kill

CREDENTIAL = CREDENTIALS.replace(r"/Credentials\.json", r"/Credentials/CR[0-9a-f]{32}\.json")
ROTATE = "voip.twilio-operator.dev/rotate-sip-credentials"
STATE = "voip.twilio-operator.dev/password-state"
GRACE = "6s"


@dataclass
class World:
    cp: ControlPlane
    emulator: EmulatorAdmin
    account: TwilioAccount
    namespace: str

    def sip(self, name: str) -> dict[str, Any]:
        return secret(self.cp, self.namespace, f"{name}-sip-credentials") or {}

    def state(self, name: str) -> str | None:
        return (self.sip(name).get("metadata", {}).get("annotations") or {}).get(STATE)

    def credentials(self, uid: str) -> list[str]:
        lists = self.account.state()["credential_lists"]
        return sorted(
            c["username"] for cl in lists for c in cl["credentials"] if is_sip_username_of(uid, c["username"])
        )

    def assert_known(self, name: str, uid: str, domain: str) -> None:
        held = decoded(self.sip(name))
        pairs = {held["username"]: held["password"]}
        if "previousUsername" in held:
            pairs[held["previousUsername"]] = held["previousPassword"]
        in_twilio = self.credentials(uid)
        assert 1 <= len(in_twilio) <= 2, in_twilio
        for username in in_twilio:
            assert username in pairs, f"{name}: {username} is in Twilio, its password in no Secret"
            assert self.emulator.sip_auth(domain, username, pairs[username]), (name, username)


@dataclass
class CrashPoint:
    name: str
    trigger: Callable[[World, str, str, str], bool]  # (world, provider, uid, old username) -> write visible
    faults: list[dict[str, Any]] = field(default_factory=list)


def hang(method: str, path: str) -> dict[str, Any]:
    return {"path": path, "method": method, "action": "commit_then_hang", "hang_seconds": 20}


def refuse(method: str, path: str) -> dict[str, Any]:
    return {"path": path, "method": method, "action": "error", "status": 503, "times": None}


def _previous(w: World, n: str) -> str | None:
    return decoded(w.sip(n)).get("previousUsername")


POINTS = [
    CrashPoint(
        "kubernetes: new pair in the Secret (pending)",
        lambda w, n, u, old: _previous(w, n) == old and w.state(n) == "pending",
        [refuse("POST", CREDENTIALS)],
    ),
    CrashPoint(
        "twilio: new credential created",
        lambda w, n, u, old: len(w.credentials(u)) == 2,
        [hang("POST", CREDENTIALS)],
    ),
    CrashPoint(
        "kubernetes: new pair marked applied",
        lambda w, n, u, old: _previous(w, n) == old and w.state(n) == "applied",
    ),
    CrashPoint(
        "twilio: previous credential deleted",
        lambda w, n, u, old: _previous(w, n) == old and w.credentials(u) == [decoded(w.sip(n))["username"]],
        [hang("DELETE", CREDENTIAL)],
    ),
    CrashPoint(
        "kubernetes: previous pair removed from the Secret",
        lambda w, n, u, old: decoded(w.sip(n)).get("username") not in (None, old) and _previous(w, n) is None,
    ),
]


def finished(world: World, name: str, uid: str, old: str, request: str) -> bool:
    """The rotation is over: new pair only, in the Secret and in Twilio, and the request recorded."""
    held = decoded(world.sip(name))
    status = (get(world.cp, PROVIDERS, world.namespace, name) or {}).get("status") or {}
    return (
        held.get("username") != old
        and "previousUsername" not in held
        and world.credentials(uid) == [held["username"]]
        and (status.get("sipCredentials") or {}).get("lastRotationRequest") == request
    )


def test_sigkill_after_every_write_of_a_rotation_leaves_only_known_credentials(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    start_operator: Any,
) -> None:
    world = World(crds, emulator, twilio_account, namespace)
    running: OperatorProcess = start_operator()
    timings: list[str] = []
    for index, point in enumerate(POINTS):
        started = time.monotonic()
        name = f"r{index}"
        spec = provider_spec(twilio_account, sipCredentials={"gracePeriod": GRACE})
        uid = create(crds, PROVIDERS, namespace, name, spec)["metadata"]["uid"]
        domain = wait_ready(crds, PROVIDERS, namespace, name, timeout=45)["status"]["trunkDomainName"]
        old = decoded(world.sip(name))["username"]
        for fault in point.faults:
            emulator.add_fault(**fault)
        result = crds.kubectl(
            "annotate", "twp", name, "-n", namespace, f"{ROTATE}={index + 1}", "--overwrite"
        )
        assert result.returncode == 0, result.stderr

        trigger = functools.partial(point.trigger, world, name, uid, old)
        wait_for(trigger, 30, f"{point.name} ({name})", interval=0.05)
        kill(running)
        emulator.clear_faults()
        world.assert_known(name, uid, domain)
        running = start_operator()

        done = functools.partial(finished, world, name, uid, old, str(index + 1))
        wait_for(done, 45, f"the rotation of {name} to finish after '{point.name}'")
        world.assert_known(name, uid, domain)
        timings.append(f"{point.name}: {time.monotonic() - started:.1f}s")
    print("\n".join(timings))
