"""Generated packaging files stay in sync with their sources, and the API server accepts them.

- deploy/install.yaml is `make manifests` (hack/render-install.sh) of the chart.
- charts/twilio-operator/crds/ is the copy of crds/ that `make crds` writes.
- The rendered manifests pass server-side validation on the local control plane.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging_helpers import CHART, REPO, run_helm

pytestmark = pytest.mark.timeout(1200)  # may build helm from source on a cold cache

INSTALL = REPO / "deploy" / "install.yaml"
CRD_KINDS = {"TwilioProvider", "TwilioPhoneNumber", "TwilioEmergencyAddress", "LiveKitConnection"}


def crd_files(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(directory.glob("*.yaml"))}


def render_install(output: Path) -> None:
    result = subprocess.run(
        ["bash", str(REPO / "hack" / "render-install.sh"), str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"hack/render-install.sh failed:\n{result.stderr}"


def test_chart_crds_equal_generated_crds() -> None:
    generated = crd_files(REPO / "crds")
    assert generated, "crds/ has no CRDs: run `make crds`"
    assert crd_files(CHART / "crds") == generated, (
        "charts/twilio-operator/crds/ differs from crds/: run `make crds` (it writes both)"
    )


def test_install_manifest_is_up_to_date(helm_bin: Path, tmp_path: Path) -> None:
    assert INSTALL.is_file(), "deploy/install.yaml is missing: run `make manifests`"
    fresh = tmp_path / "install.yaml"
    render_install(fresh)
    assert INSTALL.read_text() == fresh.read_text(), (
        "deploy/install.yaml is stale (the chart or the CRDs changed): run `make manifests`"
    )


def test_install_manifest_render_is_deterministic(helm_bin: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    render_install(first)
    render_install(second)
    assert first.read_bytes() == second.read_bytes()


def install_objects() -> list[dict[str, Any]]:
    assert INSTALL.is_file(), "deploy/install.yaml is missing: run `make manifests`"
    return [doc for doc in yaml.safe_load_all(INSTALL.read_text()) if doc]


def test_install_manifest_content() -> None:
    objects = install_objects()
    assert objects[0] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "twilio-operator",
            "labels": {
                "app.kubernetes.io/name": "twilio-operator",
                "app.kubernetes.io/part-of": "twilio-operator",
            },
        },
    }
    kinds = [o["kind"] for o in objects]
    for kind in (
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    ):
        assert kind in kinds, f"deploy/install.yaml has no {kind}"
    # CRDs come before anything that could use them.
    assert kinds.index("CustomResourceDefinition") < kinds.index("Deployment")
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    assert {crd["spec"]["names"]["kind"] for crd in crds} == CRD_KINDS
    for obj in objects:
        if obj["kind"] in {"ServiceAccount", "Deployment", "Service"}:
            assert obj["metadata"]["namespace"] == "twilio-operator", obj["metadata"]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "twilio-operator"
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--all-namespaces" in args and "--standalone" in args


def test_install_manifest_header_names_its_image_and_how_to_replace_it() -> None:
    """The default image exists only for tagged releases: the file says so, and how to use another."""
    header = INSTALL.read_text().split("\n---\n")[0]
    deployment = next(o for o in install_objects() if o["kind"] == "Deployment")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert f"# Image: {image}, published only for tagged releases." in header
    assert "kubectl -n twilio-operator set image deployment/twilio-operator operator=" in header


# ---------------------------------------------------------------------------- server-side validation


def _apply_dry_run(manifest: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    from fixtures.controlplane import kubectl

    return kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=twilio-operator-packaging-test",
        "--force-conflicts",
        "-f",
        "-",
        kubeconfig=kubeconfig,
        input=manifest,
    )


def _create_namespace(name: str, kubeconfig: Path) -> None:
    from fixtures.controlplane import kubectl

    result = kubectl("create", "namespace", name, kubeconfig=kubeconfig)
    assert result.returncode == 0 or "AlreadyExists" in result.stderr, result.stderr


def test_install_manifest_passes_server_side_validation(kubeconfig_path: Path) -> None:
    """Every object of deploy/install.yaml, including the CRD schemas, is valid for a real kube-apiserver.

    The Namespace is created for real first: a dry run does not create it, and the
    objects inside it would be rejected by the NamespaceLifecycle admission.
    """
    _create_namespace("twilio-operator", kubeconfig_path)
    result = _apply_dry_run(INSTALL.read_text(), kubeconfig_path)
    assert result.returncode == 0, (
        f"kubectl apply --dry-run=server rejected deploy/install.yaml:\n{result.stderr}"
    )
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(install_objects()), result.stdout


def test_namespaced_chart_passes_server_side_validation(
    helm_bin: Path, kubeconfig_path: Path, control_plane: Any
) -> None:
    release, first, second = (control_plane.create_namespace(prefix) for prefix in ("op", "wa", "wb"))
    rendered = run_helm(
        helm_bin,
        "template",
        "twilio-operator",
        str(CHART),
        "--namespace",
        release,
        "--include-crds",
        "--set",
        f"watchNamespaces={{{first},{second}}}",
        "--set",
        "peering.enabled=true",
        "--set",
        "metrics.serviceMonitor.enabled=false",
        "--set",
        "networkPolicy.enabled=true",
        "--set-json",
        'networkPolicy.egress=[{"ports": [{"port": 443, "protocol": "TCP"}]}]',
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "NetworkPolicy" in [doc["kind"] for doc in yaml.safe_load_all(rendered.stdout) if doc]
    objects = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    assert sorted(o["metadata"]["namespace"] for o in objects if o["kind"] == "Role") == sorted(
        [first, second]
    )
    result = _apply_dry_run(rendered.stdout, kubeconfig_path)
    assert result.returncode == 0, (
        f"kubectl apply --dry-run=server rejected the namespaced chart:\n{result.stderr}"
    )
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), result.stdout


# ---------------------------------------------------------------------------- RBAC, for real

VOIP = "voip.twilio-operator.dev"


@dataclass(frozen=True)
class Subject:
    """The operator's ServiceAccount, asking the API server's authorizer (SubjectAccessReview)."""

    kubeconfig: Path
    namespace: str
    name: str

    def can(self, verb: str, group: str, resource: str, namespace: str = "", subresource: str = "") -> bool:
        """namespace "" asks about all namespaces (cluster-wide list/watch, or a cluster-scoped resource)."""
        from fixtures.controlplane import kubectl

        attributes = {"verb": verb, "group": group, "resource": resource, "subresource": subresource}
        if namespace:
            attributes["namespace"] = namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": f"system:serviceaccount:{self.namespace}:{self.name}",
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{self.namespace}"],
                "resourceAttributes": attributes,
            },
        }
        result = kubectl(
            "create", "-o", "json", "-f", "-", kubeconfig=self.kubeconfig, input=json.dumps(review)
        )
        assert result.returncode == 0, result.stderr
        return bool(json.loads(result.stdout)["status"].get("allowed", False))


def _apply_rbac(helm_bin: Path, kubeconfig: Path, release: str, *settings: str) -> tuple[Subject, list[str]]:
    """Render and really apply the ServiceAccount and RBAC of release `release` in namespace `release`.

    Returns the ServiceAccount and the cluster-scoped objects to delete afterwards.
    """
    from fixtures.controlplane import kubectl

    rendered = run_helm(
        helm_bin, "template", release, str(CHART), "--namespace", release,
        "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml", *settings,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    applied = kubectl("apply", "--server-side", "-f", "-", kubeconfig=kubeconfig, input=rendered.stdout)
    assert applied.returncode == 0, applied.stderr
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o]
    (account,) = [o for o in objects if o["kind"] == "ServiceAccount"]
    cluster_scoped = [
        f"{o['kind'].lower()}/{o['metadata']['name']}"
        for o in objects
        if o["kind"] in {"ClusterRole", "ClusterRoleBinding"}
    ]
    return Subject(kubeconfig, release, account["metadata"]["name"]), cluster_scoped


def _delete(kubeconfig: Path, names: list[str]) -> None:
    from fixtures.controlplane import kubectl

    if names:
        kubectl("delete", "--ignore-not-found", *names, kubeconfig=kubeconfig)


def test_namespaced_rbac_grants_exactly_the_watched_namespaces(
    helm_bin: Path, kubeconfig_path: Path, control_plane: Any
) -> None:
    """The rendered Roles let the operator's ServiceAccount do its job in a and b, and nothing in c."""
    release, first, second, other = (control_plane.create_namespace(p) for p in ("op", "wa", "wb", "wc"))
    sa, cluster_scoped = _apply_rbac(
        helm_bin, kubeconfig_path, release,
        "--set", f"watchNamespaces={{{first},{second}}}", "--set", "peering.enabled=true",
    )  # fmt: skip
    try:
        for ns in (first, second):
            for verb in ("get", "list", "watch", "patch", "update"):
                assert sa.can(verb, VOIP, "twilioproviders", ns), (verb, ns)
                assert sa.can(verb, VOIP, "twiliophonenumbers", ns), (verb, ns)
                assert sa.can(verb, VOIP, "twilioemergencyaddresses", ns), (verb, ns)
                assert sa.can(verb, VOIP, "livekitconnections", ns), (verb, ns)
            for verb in ("get", "patch", "update"):
                assert sa.can(verb, VOIP, "twilioproviders", ns, subresource="status"), (verb, ns)
                assert sa.can(verb, VOIP, "twiliophonenumbers", ns, subresource="status"), (verb, ns)
                assert sa.can(verb, VOIP, "twilioemergencyaddresses", ns, subresource="status"), (verb, ns)
                assert sa.can(verb, VOIP, "livekitconnections", ns, subresource="status"), (verb, ns)
            for verb in ("get", "list", "watch", "create", "patch", "delete"):
                assert sa.can(verb, "", "secrets", ns), (verb, ns)
            assert not sa.can("update", "", "secrets", ns)  # it creates, patches, deletes; never replaces
            assert sa.can("create", "", "events", ns) and sa.can("patch", "events.k8s.io", "events", ns)
            assert sa.can("patch", "kopf.dev", "kopfpeerings", ns)
            assert not sa.can("create", VOIP, "twilioproviders", ns)  # users create them, not the operator
            assert not sa.can("create", "", "pods", ns)
        for group, resource in (("", "secrets"), (VOIP, "twilioproviders")):
            assert not sa.can("get", group, resource, other), resource
            assert not sa.can("list", group, resource), resource  # no cluster-wide list
        assert sa.can("watch", "apiextensions.k8s.io", "customresourcedefinitions")
        assert sa.can("list", "", "namespaces")
        assert not sa.can("delete", "", "namespaces")
        assert not sa.can("patch", "kopf.dev", "clusterkopfpeerings")
    finally:
        _delete(kubeconfig_path, cluster_scoped)


def test_cluster_wide_rbac(helm_bin: Path, kubeconfig_path: Path, control_plane: Any) -> None:
    release = control_plane.create_namespace("op")
    sa, cluster_scoped = _apply_rbac(helm_bin, kubeconfig_path, release)
    try:
        watched = (
            (VOIP, "twilioproviders"),
            (VOIP, "twiliophonenumbers"),
            (VOIP, "twilioemergencyaddresses"),
            (VOIP, "livekitconnections"),
        )
        for group, resource in (*watched, ("", "secrets")):
            assert sa.can("watch", group, resource), resource
        assert sa.can("update", VOIP, "twilioproviders", "default", subresource="status")
        assert sa.can("create", "", "events", "default")
        assert not sa.can("patch", "kopf.dev", "clusterkopfpeerings")  # standalone by default
        assert not sa.can("create", "", "pods", "default")
    finally:
        _delete(kubeconfig_path, cluster_scoped)
