"""Item 4, lifecycle edges: Secrets deleted or edited under a Ready provider, and two operators.

(Deleted while the operator is down is the last step of test_crash_anywhere.)
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    PROVIDERS,
    condition,
    create,
    decoded,
    delete,
    events,
    force_delete_secret,
    get,
    provider_spec,
    put_secret,
    secret,
    wait_for,
    wait_gone,
    wait_ready,
    wait_reason,
)
from fixtures.operator_process import MakeReadyProvider, OperatorProcess, StartOperator
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import assert_converged_once, assert_nothing_left, owned

SIP = "acme-sip-credentials"


def test_credentials_secret_deleted_while_ready_then_recreated(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    make_ready_provider: MakeReadyProvider,
    operator: OperatorProcess,
) -> None:
    make_ready_provider()
    # Lost for good: deleted and its in-use finalizer removed by hand.
    force_delete_secret(crds, namespace, credentials)

    obj = wait_reason(crds, namespace, "acme", "SecretNotFound", timeout=15)
    assert condition(obj)["status"] == "False"
    assert condition(obj, "CredentialsVerified")["reason"] == "SecretNotFound"
    assert operator.process is not None and operator.process.poll() is None
    assert "Traceback" not in operator.log()

    put_secret(crds, namespace, credentials, {"authToken": twilio_account.auth_token})
    wait_for(
        lambda: condition(get(crds, PROVIDERS, namespace, "acme")).get("status") == "True", 15, "Ready again"
    )
    assert_converged_once(crds, emulator, twilio_account.sid, namespace, "acme")


def _rotated(
    crds: ControlPlane,
    emulator: EmulatorAdmin,
    namespace: str,
    old_password: str,
    domain: str,
    typed: str = "",
) -> dict[str, str]:
    def fresh() -> dict[str, str] | None:
        sip = secret(crds, namespace, SIP)
        if sip is None:
            return None
        data = decoded(sip)
        state = (sip["metadata"].get("annotations") or {}).get("voip.twilio-operator.dev/password-state")
        if data.get("password") in (None, old_password, typed) or state != "applied":
            return None
        return data

    data = wait_for(fresh, timeout=20, what="a rotated SIP password")
    assert emulator.sip_auth(domain, data["username"], data["password"])
    assert not emulator.sip_auth(domain, data["username"], old_password)
    return data


@pytest.mark.usefixtures("operator")
def test_sip_secret_deleted_or_edited_rotates_the_password(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    status = make_ready_provider()["status"]
    domain = status["trunkDomainName"]
    first = decoded(secret(crds, namespace, SIP) or {})
    assert emulator.sip_auth(domain, first["username"], first["password"])

    # 1. A user deletes the SIP Secret: the only copy of the password is gone, so it is rotated.
    crds.request("DELETE", f"/api/v1/namespaces/{namespace}/secrets/{SIP}")
    second = _rotated(crds, emulator, namespace, first["password"], domain)

    # 2. A user edits the password by hand: Twilio does not know it; the operator rotates again.
    typed = "Us3rTypedPassw0rdXYZ"
    patch = {"data": {"password": base64.b64encode(typed.encode()).decode()}}
    result = crds.kubectl("patch", "secret", SIP, "-n", namespace, "--type=merge", "-p", json.dumps(patch))
    assert result.returncode == 0, result.stderr
    third = _rotated(crds, emulator, namespace, second["password"], domain, typed)
    assert third["password"] != typed and not emulator.sip_auth(domain, third["username"], typed)

    rotations = [e for e in events(crds, namespace, "acme") if e["reason"] == "SipCredentialRotated"]
    assert rotations and sum(int(e.get("count") or 1) for e in rotations) >= 2, rotations
    assert all(e["type"] == "Warning" for e in rotations)
    assert_converged_once(crds, emulator, twilio_account.sid, namespace, "acme")


@pytest.mark.usefixtures("operator")
def test_concurrent_writer_on_the_sip_secret_does_not_break_rotation(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    make_ready_provider: MakeReadyProvider,
) -> None:
    """Another controller (say a secret-sync tool) keeps relabelling the SIP Secret with read-modify-PUT
    while the operator rotates it. The operator's writes are merge patches without a resourceVersion,
    so they never conflict; the other writer's stale PUTs get 409 and retry. Both sets of changes land."""
    domain = make_ready_provider()["status"]["trunkDomainName"]
    first = decoded(secret(crds, namespace, SIP) or {})
    stop = threading.Event()
    conflicts = [0]
    writes = [0]

    def writer() -> None:
        while not stop.is_set():
            current = secret(crds, namespace, SIP)
            if current is None:
                time.sleep(0.02)
                continue
            labels = current["metadata"].setdefault("labels", {})
            labels["sync.example.com/generation"] = str(writes[0])
            time.sleep(0.05)  # widen the read-modify-write window
            code, _ = crds.request("PUT", f"/api/v1/namespaces/{namespace}/secrets/{SIP}", current)
            if code == 409:
                conflicts[0] += 1
            elif code == 200:
                writes[0] += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        crds.request("DELETE", f"/api/v1/namespaces/{namespace}/secrets/{SIP}")
        _rotated(crds, emulator, namespace, first["password"], domain)
        time.sleep(1)
    finally:
        stop.set()
        thread.join(timeout=5)
    sip = secret(crds, namespace, SIP) or {}
    assert sip["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "twilio-operator"
    assert "sync.example.com/generation" in sip["metadata"]["labels"]
    assert writes[0] > 0
    wait_for(lambda: condition(get(crds, PROVIDERS, namespace, "acme")).get("status") == "True", 15, "Ready")
    assert_converged_once(crds, emulator, twilio_account.sid, namespace, "acme")
    print(f"concurrent writer: {writes[0]} writes, {conflicts[0]} conflicts (409) on its side")


def test_two_operators_at_once_do_not_duplicate(
    crds: ControlPlane,
    namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    credentials: str,
    start_operator: StartOperator,
) -> None:
    """Both --standalone on the same namespace (a mistake: e.g. two releases of the chart)."""
    start_operator()
    start_operator()
    names = [f"acme-{i}" for i in range(6)]
    for name in names:
        create(crds, PROVIDERS, namespace, name, provider_spec(twilio_account))
    for name in names:
        wait_ready(crds, PROVIDERS, namespace, name, timeout=60)
    time.sleep(3)  # let both finish whatever they were doing
    for name in names:
        wait_for(
            lambda n=name: condition(get(crds, PROVIDERS, namespace, n)).get("status") == "True",
            30,
            f"{name} Ready",
        )
        assert_converged_once(crds, emulator, twilio_account.sid, namespace, name)
    uids = {n: (get(crds, PROVIDERS, namespace, n) or {})["metadata"]["uid"] for n in names}
    for name in names:
        delete(crds, namespace, name)
    for name in names:
        wait_gone(crds, namespace, name)
        assert_nothing_left(emulator, twilio_account.sid, uids[name])
    assert owned(emulator, twilio_account.sid, uids[names[0]])["trunks"] == []
