"""Leader election through a kube-apiserver outage, against a PRIVATE control plane (restarting the
session's would disturb every other test).

Two candidates; the API server is killed (SIGKILL) and started again at once, so it is away for as
long as it takes to start (a few seconds, close to the 7 s renew deadline on a loaded machine). Either
outcome is correct and the test accepts both, but checks the invariant that matters: the leader
either still holds the Lease and goes on working, or it exited (code 75) before the other took over;
the audit log never shows the two writing at overlapping times; objects created after the outage are
reconciled; nothing is duplicated in Twilio.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount
from fixtures.kube import PROVIDERS, create, provider_spec, put_secret, wait_for, wait_ready
from fixtures.operator_process import OperatorProcess, operator_launcher
from integration.test_leader_election import LEASE, LOST_LEADERSHIP_EXIT_CODE, holder, writes_by
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

from .rsupport import assert_converged_once
from .test_kube_faults import private_cp  # noqa: F401 - the module's private control plane fixture


@pytest.fixture
def ns(private_cp: ControlPlane, twilio_account: TwilioAccount) -> str:  # noqa: F811 - the fixture above
    name = private_cp.create_namespace("le")
    put_secret(private_cp, name, "twilio-credentials", {"authToken": twilio_account.auth_token})
    return name


@pytest.fixture
def candidates(
    private_cp: ControlPlane,  # noqa: F811
    emulator: EmulatorAdmin,
    ns: str,
    tmp_path: Path,
) -> Iterator[Any]:
    """candidates(name) starts an operator with election on, as user `name` with pod name `name`."""
    with operator_launcher(private_cp, emulator, [ns], tmp_path, tail=40) as start:

        def candidate(name: str) -> OperatorProcess:
            return start(
                KUBECONFIG=str(private_cp.kubeconfig_for_user(name, ("system:masters",))),
                POD_NAME=name,
                TWILIO_OPERATOR_LEADER_ELECTION="true",
                TWILIO_OPERATOR_LEADER_ELECTION_NAMESPACE=ns,
            )

        yield candidate


def non_lease_writes(cp: ControlPlane, user: str) -> list[str]:
    return sorted(e["stageTimestamp"] for e in writes_by(cp, user) if e["objectRef"]["resource"] != "leases")


def test_an_apiserver_outage_never_gives_two_leaders(
    private_cp: ControlPlane,  # noqa: F811
    ns: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    candidates: Any,
) -> None:
    first = candidates("first")
    wait_for(lambda: holder(private_cp, ns) == "first", 60, "first holds the Lease")
    second = candidates("second")
    create(private_cp, PROVIDERS, ns, "before", provider_spec(twilio_account))
    wait_ready(private_cp, PROVIDERS, ns, "before")

    apiserver = private_cp._apiserver
    assert apiserver is not None
    down = time.monotonic()
    apiserver.kill()
    apiserver.start()
    private_cp._wait_apiserver_ready(apiserver)
    outage = time.monotonic() - down
    create(private_cp, PROVIDERS, ns, "after", provider_spec(twilio_account))
    wait_ready(private_cp, PROVIDERS, ns, "after", timeout=90)

    assert first.process is not None and second.process is not None
    leader = holder(private_cp, ns)
    if leader == "first":
        outcome = "the leader kept the Lease"
        assert first.process.poll() is None
        assert non_lease_writes(private_cp, "second") == []
    else:
        outcome = "the leader exited and the standby took over"
        assert leader == "second"
        assert first.process.wait(timeout=30) == LOST_LEADERSHIP_EXIT_CODE
        first_writes, second_writes = (
            non_lease_writes(private_cp, "first"),
            non_lease_writes(private_cp, "second"),
        )
        assert second_writes and first_writes[-1] < second_writes[0], "the two leaders' writes overlap"
    assert second.process.poll() is None
    for name in ("before", "after"):
        assert_converged_once(private_cp, emulator, twilio_account.sid, ns, name)
    print(f"\napiserver away {outage:.1f} s: {outcome} (Lease {LEASE} held by {leader})")
