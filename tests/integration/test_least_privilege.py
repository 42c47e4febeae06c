"""The operator runs with exactly the RBAC the Helm chart grants, and that RBAC is no wider than needed.

The chart is rendered with helm, applied server-side to a private control plane (so a cluster-wide
operator sees no objects of other tests), and the operator process authenticates as the chart's
ServiceAccount.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures.emulator import TwilioAccount
from fixtures.kube import (
    PROVIDERS,
    REPO,
    apply_crds,
    condition,
    create_ready_provider,
    events,
    get,
    provider_spec,
    put_secret,
    wait_for,
)
from fixtures.operator_process import OperatorProcess
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.clients import run_kubectl
from twilio_operator.testing.controlplane import ControlPlane


@pytest.fixture(scope="module")
def private_plane() -> Iterator[ControlPlane]:
    with ControlPlane() as plane:  # __enter__ starts it
        yield apply_crds(plane)


@pytest.fixture(scope="module")
def helm() -> Path:
    result = subprocess.run(
        ["bash", str(REPO / "hack/helm/build.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


def install_chart(plane: ControlPlane, helm: Path, tmp_path: Path, values: dict[str, Any]) -> tuple[str, str]:
    """Render and apply the chart's RBAC and ServiceAccount; return (release namespace, SA name)."""
    release_ns = f"ops-{uuid.uuid4().hex[:6]}"
    plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": release_ns}})
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    rendered = subprocess.run(
        [
            str(helm),
            "template",
            f"lp-{release_ns}",
            str(REPO / "charts/twilio-operator"),
            "-n",
            release_ns,
            "-f",
            str(values_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    applied = plane.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs))
    assert applied.returncode == 0, applied.stderr
    [account] = [d for d in docs if d["kind"] == "ServiceAccount"]
    return release_ns, account["metadata"]["name"]


def new_namespace(plane: ControlPlane) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    status, body = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert status == 201, body
    return name


def run_as(
    plane: ControlPlane, kubeconfig: Path, emulator: EmulatorAdmin, tmp_path: Path, namespaces: list[str]
) -> OperatorProcess:
    return OperatorProcess(kubeconfig, emulator.base_url, tmp_path / "operator.log", namespaces).start()


@pytest.mark.parametrize("mode", ["cluster-wide", "namespaced"])
def test_operator_reaches_ready_with_only_the_charts_rbac(
    private_plane: ControlPlane,
    helm: Path,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    tmp_path: Path,
    mode: str,
) -> None:
    watched, other = new_namespace(private_plane), new_namespace(private_plane)
    values = {"watchNamespaces": [watched]} if mode == "namespaced" else {}
    release_ns, service_account = install_chart(private_plane, helm, tmp_path, values)
    kubeconfig = private_plane.kubeconfig_for_service_account(release_ns, service_account)

    operator = run_as(
        private_plane, kubeconfig, emulator, tmp_path, [watched] if mode == "namespaced" else []
    )
    try:
        put_secret(private_plane, watched, "twilio-credentials", {"authToken": twilio_account.auth_token})
        obj = create_ready_provider(private_plane, watched, "acme", provider_spec(twilio_account), timeout=60)
        assert obj["status"]["trunkSid"].startswith("TK")
        log = operator.log()
        assert "Forbidden" not in log and " 403" not in log, log[-3000:]
    finally:
        operator.stop()

    def can(*args: str) -> bool:
        result = run_kubectl("auth", "can-i", *args, kubeconfig=kubeconfig)
        return result.stdout.strip() == "yes"

    # What it needs (a positive control: the identity is really the chart's ServiceAccount).
    assert can("patch", "twilioproviders.voip.twilio-operator.dev", "--subresource=status", "-n", watched)
    assert can("create", "secrets", "-n", watched)
    # What it must not have, whatever the mode.
    assert not can("get", "configmaps", "-n", watched)
    assert not can("create", "pods", "-n", watched)
    assert not can("delete", "namespaces")
    assert not can("create", "customresourcedefinitions")
    assert not can("create", "clusterrolebindings")
    if mode == "namespaced":
        assert not can("get", "secrets", "-n", other)
        assert not can("list", "twilioproviders.voip.twilio-operator.dev", "-n", other)
        refused = run_kubectl("get", "secrets", "-n", other, kubeconfig=kubeconfig)
        assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()


def test_an_rbac_change_at_runtime_is_reported_not_retried_hot(
    private_plane: ControlPlane,
    helm: Path,
    emulator: EmulatorAdmin,
    twilio_account: TwilioAccount,
    tmp_path: Path,
) -> None:
    """Someone removes the operator's right to write Secrets while it runs: the next SIP Secret write
    is a 403, which the provider reports in Ready and an Event with the server's words."""
    watched = new_namespace(private_plane)
    release_ns, service_account = install_chart(private_plane, helm, tmp_path, {"watchNamespaces": [watched]})
    kubeconfig = private_plane.kubeconfig_for_service_account(release_ns, service_account)
    operator = run_as(private_plane, kubeconfig, emulator, tmp_path, [watched])
    try:
        put_secret(private_plane, watched, "twilio-credentials", {"authToken": twilio_account.auth_token})
        create_ready_provider(private_plane, watched, "acme", provider_spec(twilio_account), timeout=60)

        roles = json.loads(private_plane.kubectl("get", "roles", "-n", watched, "-o", "json").stdout)["items"]
        changed = 0
        for role in roles:
            for rule in role.get("rules") or []:
                if "secrets" in (rule.get("resources") or []):
                    rule["verbs"] = [v for v in rule["verbs"] if v not in ("create", "patch", "update")]
                    changed += 1
            role["metadata"] = {k: role["metadata"][k] for k in ("name", "namespace")}
            replaced = private_plane.kubectl("replace", "-f", "-", input=json.dumps(role))
            assert replaced.returncode == 0, replaced.stderr
        assert changed, "the chart's namespaced Role grants no Secret rule to revoke"
        status, _ = private_plane.request(
            "DELETE", f"/api/v1/namespaces/{watched}/secrets/acme-sip-credentials"
        )
        assert status == 200

        refused = wait_for(
            lambda: (
                condition(o := get(private_plane, PROVIDERS, watched, "acme")).get("reason")
                == "KubernetesRefused"
                and o
            ),
            timeout=30,
            what="KubernetesRefused",
        )
        message = condition(refused)["message"]
        assert "HTTP 403" in message and "forbidden" in message.lower(), message
        assert "KubernetesRefused" in {e["reason"] for e in events(private_plane, watched, "acme")}
        assert operator.alive()
    finally:
        operator.stop()
