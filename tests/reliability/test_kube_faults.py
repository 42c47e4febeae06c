"""Items 3 and 7: Kubernetes faults and watch stalls, against a PRIVATE control plane.

Restarting or freezing the session's kube-apiserver would disturb every other test of the session,
so this module starts its own etcd + kube-apiserver (about 5 s) and throws it away afterwards.

- kube-apiserver restarted (SIGKILL, down for a few seconds) and etcd restarted (SIGKILL) while the
  operator runs: the operator recovers without a restart of its own, objects created right after the
  outage (before its watches have reconnected) are reconciled, nothing is duplicated in Twilio.
- Watch stall: kube-apiserver frozen with SIGSTOP (TCP connections stay open, nothing arrives, which
  is how a stalled watch looks). /healthz must turn unhealthy within the configured horizon and
  healthy again once events flow (SIGCONT).
"""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import apply_crds, create_ready_provider, provider_spec, put_secret, wait_for
from fixtures.operator_process import OperatorProcess, StartOperator, operator_launcher
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import assert_converged_once


@pytest.fixture(scope="module")
def private_cp() -> Iterator[ControlPlane]:
    with ControlPlane() as plane:
        yield apply_crds(plane)


@pytest.fixture
def ns(private_cp: ControlPlane, twilio_account: TwilioAccount) -> str:
    name = private_cp.create_namespace("r")
    put_secret(private_cp, name, "twilio-credentials", {"authToken": twilio_account.auth_token})
    return name


@pytest.fixture
def run_operator(
    private_cp: ControlPlane, emulator: EmulatorAdmin, ns: str, tmp_path: Path
) -> Iterator[StartOperator]:
    with operator_launcher(private_cp, emulator, [ns], tmp_path, tail=60) as start:
        yield start


def healthz(process: OperatorProcess) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{process.liveness_port}/healthz", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, str(error)


def test_operator_rides_out_apiserver_and_etcd_restarts(
    private_cp: ControlPlane,
    ns: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    run_operator: StartOperator,
) -> None:
    process = run_operator()
    pid = process.process.pid if process.process else 0
    create_ready_provider(private_cp, ns, "before", provider_spec(twilio_account))

    # kube-apiserver crashes and stays down for 3 s: the operator's watches break and retry.
    apiserver = private_cp._apiserver
    assert apiserver is not None
    apiserver.kill()
    time.sleep(3)
    apiserver.start()
    private_cp._wait_apiserver_ready(apiserver)
    started = time.monotonic()
    create_ready_provider(private_cp, ns, "after-apiserver", provider_spec(twilio_account), timeout=90)
    apiserver_recovery = time.monotonic() - started

    # etcd crashes (SIGKILL) and comes back; the apiserver answers 5xx/429 meanwhile.
    private_cp.restart_etcd()
    started = time.monotonic()
    create_ready_provider(private_cp, ns, "after-etcd", provider_spec(twilio_account), timeout=90)
    etcd_recovery = time.monotonic() - started

    assert process.process is not None and process.process.poll() is None and process.process.pid == pid
    for name in ("before", "after-apiserver", "after-etcd"):
        assert_converged_once(private_cp, emulator, twilio_account.sid, ns, name)
    print(
        f"ready after apiserver restart: {apiserver_recovery:.1f}s; after etcd restart: {etcd_recovery:.1f}s"
    )


def test_liveness_fails_while_the_watch_is_stalled_and_recovers(
    private_cp: ControlPlane, ns: str, twilio_account: TwilioAccount, run_operator: StartOperator
) -> None:
    process = run_operator(TWILIO_OPERATOR_LIVENESS_STALL_SECONDS="3")
    assert healthz(process)[0] == 200  # nothing to watch yet: healthy however long it is idle
    create_ready_provider(private_cp, ns, "acme", provider_spec(twilio_account, verificationInterval="1m"))

    # Healthy while verifications (every ~2 s, each a status write seen through the watch) flow.
    deadline = time.monotonic() + 12  # longer than kopf's 10 s probe cache
    while time.monotonic() < deadline:
        status, body = healthz(process)
        assert status == 200, body
        time.sleep(1)

    apiserver_pid = private_cp.pids["kube-apiserver"]
    os.kill(apiserver_pid, signal.SIGSTOP)
    frozen = time.monotonic()
    try:
        status, body = wait_for(
            lambda: (r := healthz(process))[0] == 500 and r, timeout=30, what="/healthz to fail", interval=0.5
        )
        detected = time.monotonic() - frozen
    finally:
        os.kill(apiserver_pid, signal.SIGCONT)
    thawed = time.monotonic()
    wait_for(lambda: healthz(process)[0] == 200, timeout=60, what="/healthz to recover", interval=0.5)
    recovered = time.monotonic() - thawed
    assert process.process is not None and process.process.poll() is None
    print(f"stall detected after {detected:.1f}s; healthy again {recovered:.1f}s after the thaw")
