"""The chart with leader election: replicaCount 2 (the production setting) or leaderElection.enabled.

What it renders (strategy, env, PodDisruptionBudget, topology spread, the Lease Role), what it
refuses, and, on the local control plane, that the API server accepts the objects and that the
ServiceAccount may use Leases in the release namespace and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging_helpers import CHART, Render, run_helm, template
from test_chart import by_kind, container, env, one, verbs_for
from test_install_manifest import _apply_dry_run, _apply_rbac, _delete

pytestmark = pytest.mark.timeout(1200)

ELECTION_ENV = {
    "TWILIO_OPERATOR_LEADER_ELECTION": "true",
    "TWILIO_OPERATOR_LEADER_ELECTION_LEASE_NAME": "twilio-operator",
    "TWILIO_OPERATOR_LEADER_ELECTION_NAMESPACE": "ops",
    "TWILIO_OPERATOR_LEADER_ELECTION_LEASE_DURATION": "10",
    "TWILIO_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE": "7",
    "TWILIO_OPERATOR_LEADER_ELECTION_RETRY_PERIOD": "1",
}


def lease_roles(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in by_kind(objects, "Role") if ("coordination.k8s.io", "leases") in _pairs(r)]


def _pairs(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}


def test_one_replica_by_default_without_election(render: Render) -> None:
    objects = render()
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(name.startswith("TWILIO_OPERATOR_LEADER_ELECTION") for name in env(objects))
    assert by_kind(objects, "PodDisruptionBudget") == []
    assert lease_roles(objects) == []
    assert "topologySpreadConstraints" not in deployment["spec"]["template"]["spec"]


def test_two_replicas_elect_a_leader(render: Render) -> None:
    objects = render({"replicaCount": 2})
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    variables = env(objects)
    assert {k: variables[k] for k in ELECTION_ENV} == ELECTION_ENV
    (pod_name,) = [e for e in container(objects)["env"] if e["name"] == "POD_NAME"]
    assert pod_name["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert "--standalone" in container(objects)["args"]  # no kopf peering next to the Lease

    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["metadata"]["namespace"] == "ops"
    assert pdb["spec"]["minAvailable"] == 1
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["selector"]["matchLabels"] == selector

    (spread,) = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert (spread["maxSkew"], spread["whenUnsatisfiable"]) == (1, "ScheduleAnyway")
    assert spread["labelSelector"]["matchLabels"] == selector

    (role,) = lease_roles(objects)
    assert role["metadata"]["namespace"] == "ops"
    assert _pairs(role) == {("coordination.k8s.io", "leases")}  # nothing else in that Role
    assert verbs_for(role, "coordination.k8s.io", "leases") == {"get", "create", "update"}
    binding = next(
        b for b in by_kind(objects, "RoleBinding") if b["roleRef"]["name"] == role["metadata"]["name"]
    )
    assert binding["metadata"]["namespace"] == "ops"
    assert binding["subjects"][0]["name"] == one(objects, "ServiceAccount")["metadata"]["name"]
    # The Lease is the only coordination.k8s.io grant anywhere (not cluster-wide).
    for cluster_role in by_kind(objects, "ClusterRole"):
        assert not any("coordination.k8s.io" in rule["apiGroups"] for rule in cluster_role["rules"])


def test_election_with_one_replica_has_no_budget_and_no_spread(render: Render) -> None:
    objects = render({"leaderElection": {"enabled": True, "leaseName": "voice", "leaseDuration": 20}})
    assert env(objects)["TWILIO_OPERATOR_LEADER_ELECTION_LEASE_NAME"] == "voice"
    assert env(objects)["TWILIO_OPERATOR_LEADER_ELECTION_LEASE_DURATION"] == "20"
    assert one(objects, "Deployment")["spec"]["strategy"]["type"] == "RollingUpdate"
    assert by_kind(objects, "PodDisruptionBudget") == []  # minAvailable 1 of 1 would block every drain
    assert "topologySpreadConstraints" not in one(objects, "Deployment")["spec"]["template"]["spec"]
    assert len(lease_roles(objects)) == 1


def test_budget_and_spread_can_be_tuned_or_turned_off(render: Render) -> None:
    objects = render(
        {
            "replicaCount": 3,
            "podDisruptionBudget": {"minAvailable": 2},
            "topologySpread": {
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
            },
        }
    )
    assert one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == 2
    (spread,) = one(objects, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["whenUnsatisfiable"]) == (
        "topology.kubernetes.io/zone",
        "DoNotSchedule",
    )
    objects = render(
        {"replicaCount": 2, "podDisruptionBudget": {"enabled": False}, "topologySpread": {"enabled": False}}
    )
    assert by_kind(objects, "PodDisruptionBudget") == []
    assert "topologySpreadConstraints" not in one(objects, "Deployment")["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicaCount": 2, "peering": {"enabled": True}}, "replaces kopf peering"),
        ({"leaderElection": {"enabled": True, "renewDeadline": 10}}, "leaseDuration > renewDeadline"),
        ({"leaderElection": {"enabled": True, "retryPeriod": 6}}, "leaseDuration > renewDeadline"),
    ],
)
def test_refused_combinations(helm_bin: Path, tmp_path: Path, values: dict[str, Any], complaint: str) -> None:
    result = template(helm_bin, tmp_path, values)
    assert result.returncode != 0, f"helm accepted {values}"
    assert complaint in result.stderr, result.stderr


def test_ha_chart_passes_server_side_validation(
    helm_bin: Path, kubeconfig_path: Path, control_plane: Any
) -> None:
    release = control_plane.create_namespace("ha")
    rendered = run_helm(
        helm_bin, "template", "twilio-operator", str(CHART), "--namespace", release, "--include-crds",
        "--set", "replicaCount=2",
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    objects = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    assert {"PodDisruptionBudget", "Role", "RoleBinding"} <= {o["kind"] for o in objects}
    result = _apply_dry_run(rendered.stdout, kubeconfig_path)
    assert result.returncode == 0, f"kubectl apply --dry-run=server rejected the HA chart:\n{result.stderr}"
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), result.stdout


def test_the_service_account_may_use_leases_only_in_the_release_namespace(
    helm_bin: Path, kubeconfig_path: Path, control_plane: Any
) -> None:
    release, other = (control_plane.create_namespace(p) for p in ("ha", "hb"))
    sa, cluster_scoped = _apply_rbac(helm_bin, kubeconfig_path, release, "--set", "replicaCount=2")
    try:
        for verb in ("get", "create", "update"):
            assert sa.can(verb, "coordination.k8s.io", "leases", release), verb
            assert not sa.can(verb, "coordination.k8s.io", "leases", other), verb
        for verb in ("delete", "patch", "list", "watch"):
            assert not sa.can(verb, "coordination.k8s.io", "leases", release), verb
    finally:
        _delete(kubeconfig_path, cluster_scoped)


def test_notes_say_how_to_find_the_leader(helm_bin: Path, tmp_path: Path) -> None:
    from test_chart import notes

    text = notes(helm_bin, tmp_path, {"replicaCount": 2, "shardSelector": {"shard": "a"}})
    assert "Leader election is on (2 replica(s))" in text
    assert "get leases -o custom-columns=LEASE:.metadata.name,HOLDER:.spec.holderIdentity" in text
    assert "ends with the shard" in text
    assert "Leader election" not in notes(helm_bin, tmp_path / "single", {})
