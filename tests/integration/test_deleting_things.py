"""The edges of an object's life on a control plane with kube-controller-manager (namespace lifecycle,
garbage collection): every way a user deletes things completes on its own, removes what it should
from Twilio and keeps what it should."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.emulator import TwilioAccount, account_state
from fixtures.kube import (
    CREDENTIALS_SECRET,
    NUMBERS,
    PROVIDERS,
    REPO,
    create,
    create_ready_provider,
    get,
    provider_spec,
    put_secret,
    secret,
    wait_for,
    wait_ready,
)
from fixtures.operator_process import StartOperator, operator_launcher
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.controlplane import ControlPlane

FIRST, SECOND = "+15005550006", "+15005550007"
NAMESPACE_GONE_WITHIN = 30.0  # seconds, at 0 ms emulator latency (the issue's bound)


@pytest.fixture
def fresh_namespace(crds: ControlPlane) -> Iterator[str]:
    name = crds.create_namespace("del")
    yield name
    crds.delete_namespace(name)  # a no-op when the test already deleted it


@pytest.fixture
def launch(
    crds: ControlPlane, emulator: EmulatorAdmin, fresh_namespace: str, tmp_path: Path
) -> Iterator[StartOperator]:
    with operator_launcher(crds, emulator, [fresh_namespace], tmp_path) as start:
        yield start


def namespace_exists(cp: ControlPlane, name: str) -> bool:
    status, _ = cp.request("GET", f"/api/v1/namespaces/{name}")
    return status != 404


def populate(cp: ControlPlane, namespace: str, account: TwilioAccount, **spec: Any) -> list[str]:
    """Two providers, each with a number, their credentials Secret; returns the trunk SIDs."""
    put_secret(cp, namespace, CREDENTIALS_SECRET, {"authToken": account.auth_token})
    trunks = []
    for name, number in (("acme", FIRST), ("beta", SECOND)):
        ready = create_ready_provider(cp, namespace, name, provider_spec(account, **spec))
        trunks.append(ready["status"]["trunkSid"])
        create(cp, NUMBERS, namespace, f"{name}-line", {"providerRef": {"name": name}, "phoneNumber": number})
        wait_ready(cp, NUMBERS, namespace, f"{name}-line")
        assert secret(cp, namespace, f"{name}-sip-credentials") is not None
    return trunks


def test_deleting_the_namespace_removes_the_twilio_resources(
    crds: ControlPlane,
    fresh_namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    launch: StartOperator,
) -> None:
    account = twilio_account
    launch()
    populate(crds, fresh_namespace, account)
    started = time.monotonic()
    crds.delete_namespace(fresh_namespace)
    wait_for(lambda: not namespace_exists(crds, fresh_namespace), NAMESPACE_GONE_WITHIN, "namespace gone")
    print(f"namespace gone in {time.monotonic() - started:.1f} s")
    state = account.state()
    assert state["trunks"] == [] and state["credential_lists"] == []
    numbers = {n["phone_number"]: n for n in state["incoming_phone_numbers"]}
    assert numbers[FIRST]["trunk_sid"] is None and numbers[SECOND]["trunk_sid"] is None  # detached, kept


def test_deleting_the_namespace_under_orphan_leaves_twilio_untouched(
    crds: ControlPlane,
    fresh_namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    launch: StartOperator,
) -> None:
    account = twilio_account
    launch()
    trunks = populate(crds, fresh_namespace, account, deletionPolicy="Orphan")
    crds.delete_namespace(fresh_namespace)
    wait_for(lambda: not namespace_exists(crds, fresh_namespace), NAMESPACE_GONE_WITHIN, "namespace gone")
    state = account.state()
    assert sorted(t["sid"] for t in state["trunks"]) == sorted(trunks)
    assert len(state["credential_lists"]) == 2


def test_a_namespace_deleted_while_the_operator_is_down_is_finished_when_it_returns(
    crds: ControlPlane,
    fresh_namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    launch: StartOperator,
    tmp_path: Path,
) -> None:
    """The returning operator watches cluster-wide, as the chart does by default: kopf does not start
    watching a namespace that is already terminating when it is named with --namespace (its namespace
    observer only adds namespaces that are not being deleted), see docs/install.md."""
    account = twilio_account
    first = launch()
    populate(crds, fresh_namespace, account)
    first.stop()  # scaled to 0
    crds.delete_namespace(fresh_namespace)
    time.sleep(3)
    assert namespace_exists(crds, fresh_namespace)  # Terminating: the finalizers wait for the operator
    assert secret(crds, fresh_namespace, CREDENTIALS_SECRET) is not None  # kept for it by in-use protection
    (tmp_path / "cluster-wide").mkdir()
    with operator_launcher(crds, emulator, [], tmp_path / "cluster-wide") as start_cluster_wide:
        start_cluster_wide()
        wait_for(lambda: not namespace_exists(crds, fresh_namespace), NAMESPACE_GONE_WITHIN, "namespace gone")
    assert account.state()["trunks"] == []


def test_kubectl_delete_f_of_the_examples_needs_no_human_step(
    crds: ControlPlane, fresh_namespace: str, emulator: EmulatorAdmin, launch: StartOperator
) -> None:
    """The Secret is listed (and deleted) first; its in-use finalizer keeps it until the provider
    has used it to delete the trunk."""
    example = (REPO / "examples" / "02-twilio-provider.yaml").read_text()
    sid = next(
        line.split(":", 1)[1].strip().strip('"') for line in example.splitlines() if "accountSid:" in line
    )
    token = next(
        line.split(":", 1)[1].split("#")[0].strip()
        for line in (REPO / "examples" / "01-credentials-secret.yaml").read_text().splitlines()
        if line.strip().startswith("authToken:")
    )
    try:
        emulator.create_account(sid=sid, auth_token=token, incoming_phone_numbers=[{"phone_number": FIRST}])
    except Exception:
        emulator.patch_account(sid, auth_token=token)
    launch()
    applied = crds.kubectl("apply", "-n", fresh_namespace, "-f", str(REPO / "examples"))
    assert applied.returncode == 0, applied.stderr
    wait_ready(crds, PROVIDERS, fresh_namespace, "acme")
    wait_ready(crds, NUMBERS, fresh_namespace, "support-line")

    deleted = crds.kubectl("delete", "-n", fresh_namespace, "-f", str(REPO / "examples"), "--timeout=60s")
    assert deleted.returncode == 0, deleted.stderr
    assert get(crds, PROVIDERS, fresh_namespace, "acme") is None
    assert secret(crds, fresh_namespace, CREDENTIALS_SECRET) is None
    assert secret(crds, fresh_namespace, "acme-sip-credentials") is None
    assert account_state(emulator, sid)["trunks"] == []


def test_the_sip_secret_is_collected_by_the_garbage_collector(
    crds: ControlPlane,
    fresh_namespace: str,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    launch: StartOperator,
) -> None:
    """With the operator gone and its finalizer removed by hand, the ownerReference alone removes
    the SIP Secret: kube-controller-manager's garbage collector does it, not the operator."""
    account = twilio_account
    operator = launch()
    put_secret(crds, fresh_namespace, CREDENTIALS_SECRET, {"authToken": account.auth_token})
    create_ready_provider(crds, fresh_namespace, "acme", provider_spec(account))
    operator.stop()
    status, result = crds.request(
        "DELETE", f"/apis/voip.twilio-operator.dev/v1alpha1/namespaces/{fresh_namespace}/twilioproviders/acme"
    )
    assert status == 200, result
    patched = crds.kubectl(
        "patch",
        "twp",
        "acme",
        "-n",
        fresh_namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    assert patched.returncode == 0, patched.stderr
    wait_for(
        lambda: secret(crds, fresh_namespace, "acme-sip-credentials") is None, 30, "SIP Secret collected"
    )
