"""The Helm chart: lint, schema, and what `helm template` renders in each mode."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging_helpers import CHART, Render, run_helm, template

# The first test in a session may build helm from source (a few minutes on a cold Go cache).
pytestmark = pytest.mark.timeout(1200)

CLUSTER_READS = {("apiextensions.k8s.io", "customresourcedefinitions"), ("", "namespaces")}


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (operator,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return operator  # type: ignore[no-any-return]


def env(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container(objects)["env"]}


def resources_of(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (group, res) for rule in role["rules"] for group in rule["apiGroups"] for res in rule["resources"]
    }


def verbs_for(role: dict[str, Any], group: str, resource: str) -> set[str]:
    return {
        verb
        for rule in role["rules"]
        if group in rule["apiGroups"] and resource in rule["resources"]
        for verb in rule["verbs"]
    }


# ---------------------------------------------------------------------------- lint and schema


@pytest.mark.parametrize(
    "settings",
    [
        (),
        ("--set", "watchNamespaces={a,b}", "--set", "peering.enabled=true"),
        ("--set", "metrics.enabled=false"),
    ],
    ids=["default", "namespaced-peering", "metrics-off"],
)
def test_helm_lint_strict(helm_bin: Path, settings: tuple[str, ...]) -> None:
    result = run_helm(helm_bin, "lint", "--strict", str(CHART), *settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["apiVersion"], chart["name"]) == ("v2", "twilio-operator")
    assert (chart["version"], chart["appVersion"]) == ("0.1.0", "0.1.0")


def test_values_schema_is_draft07_and_closed() -> None:
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"]), "values.yaml has keys the schema does not declare"


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicaCount": 0}, "replicaCount"),
        (
            {
                "leaderElection": {
                    "enabled": True,
                    "leaseDuration": 10,
                    "renewDeadline": 7,
                    "retryPeriod": 0.5,
                }
            },
            "retryPeriod",
        ),
        ({"topologySpread": {"whenUnsatisfiable": "Sometimes"}}, "whenUnsatisfiable"),
        ({"replicaCount": "1"}, "replicaCount"),
        ({"watchNamespace": ["a"]}, "watchNamespace"),  # typo of watchNamespaces
        ({"watchNamespaces": "a"}, "watchNamespaces"),
        ({"watchNamespaces": ["Not_A_Namespace"]}, "watchNamespaces"),
        ({"logLevel": "TRACE"}, "logLevel"),
        ({"logFormat": "xml"}, "logFormat"),
        ({"image": {"tag": 1}}, "tag"),
        ({"peering": {"enabled": "yes"}}, "enabled"),
        ({"metrics": {"port": 0}}, "port"),
        ({"twilioBaseUrl": "emulator:8099"}, "twilioBaseUrl"),
    ],
)
def test_schema_rejects_bad_values(
    helm_bin: Path, tmp_path: Path, values: dict[str, Any], complaint: str
) -> None:
    result = template(helm_bin, tmp_path, values)
    assert result.returncode != 0, f"helm accepted {values}"
    assert "schema" in result.stderr.lower() or complaint in result.stderr, result.stderr
    assert complaint in result.stderr, result.stderr


# ---------------------------------------------------------------------------- modes


def test_default_render_is_cluster_wide_and_standalone(render: Render) -> None:
    objects = render()
    assert sorted(o["kind"] for o in objects) == sorted(
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment"]
    )
    args = container(objects)["args"]
    assert "--all-namespaces" in args and "--namespace" not in args
    assert "--standalone" in args
    assert args[args.index("--liveness") + 1] == "http://0.0.0.0:8080/healthz"

    role = one(objects, "ClusterRole")
    assert verbs_for(role, "voip.twilio-operator.dev", "twilioproviders") == {
        "get",
        "list",
        "watch",
        "patch",
        "update",
    }
    assert verbs_for(role, "voip.twilio-operator.dev", "twiliophonenumbers/status") == {
        "get",
        "patch",
        "update",
    }
    assert verbs_for(role, "voip.twilio-operator.dev", "twilioemergencyaddresses") == {
        "get",
        "list",
        "watch",
        "patch",
        "update",
    }
    assert verbs_for(role, "voip.twilio-operator.dev", "livekitconnections") == {
        "get",
        "list",
        "watch",
        "patch",
        "update",
    }
    assert verbs_for(role, "voip.twilio-operator.dev", "twilioemergencyaddresses/status") == {
        "get",
        "patch",
        "update",
    }
    assert verbs_for(role, "voip.twilio-operator.dev", "livekitconnections/status") == {
        "get",
        "patch",
        "update",
    }
    assert verbs_for(role, "", "secrets") == {"get", "list", "watch", "create", "patch", "delete"}
    assert verbs_for(role, "", "events") == {"create", "patch"}
    assert verbs_for(role, "events.k8s.io", "events") == {"create", "patch"}
    assert verbs_for(role, "apiextensions.k8s.io", "customresourcedefinitions") == {"get", "list", "watch"}
    assert not any(group == "kopf.dev" for group, _ in resources_of(role))

    binding = one(objects, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    service_account = one(objects, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": service_account["metadata"]["name"], "namespace": "ops"}
    ]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == service_account["metadata"]["name"]
    assert container(objects)["image"] == "ghcr.io/twilio-operator/twilio-operator:0.1.0"  # tag = appVersion


def test_namespaced_mode(render: Render) -> None:
    objects = render({"watchNamespaces": ["a", "b"]})
    args = container(objects)["args"]
    assert "--all-namespaces" not in args
    pairs = [(args[i], args[i + 1]) for i, arg in enumerate(args) if arg == "--namespace"]
    assert pairs == [("--namespace", "a"), ("--namespace", "b")]

    roles = by_kind(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["a", "b"]
    for role in roles:
        assert verbs_for(role, "", "secrets") >= {"get", "list", "watch", "create", "patch", "delete"}
        assert verbs_for(role, "voip.twilio-operator.dev", "twilioproviders/status") == {
            "get",
            "patch",
            "update",
        }
        assert verbs_for(role, "", "events") == {"create", "patch"}
    bindings = by_kind(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["a", "b"]
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"][0]["namespace"] == "ops"  # the operator's ServiceAccount

    # The only cluster-wide grant is the read-only one kopf needs; no Secrets cluster-wide.
    cluster_role = one(objects, "ClusterRole")
    assert resources_of(cluster_role) == CLUSTER_READS
    for group, resource in CLUSTER_READS:
        assert verbs_for(cluster_role, group, resource) == {"get", "list", "watch"}


def test_peering_name(render: Render) -> None:
    args = container(render({"peering": {"enabled": True, "name": "voice"}}))["args"]
    assert args[args.index("--peering") + 1] == "voice" and "--standalone" not in args
    assert "--peering" not in container(render({"peering": {"enabled": True}}))["args"]  # kopf's default
    assert "--peering" not in container(render({"peering": {"enabled": False, "name": "voice"}}))["args"]


@pytest.mark.parametrize("namespaces", [[], ["a", "b"]], ids=["cluster-wide", "namespaced"])
def test_peering_on(render: Render, namespaces: list[str]) -> None:
    objects = render({"peering": {"enabled": True}, "watchNamespaces": namespaces})
    assert "--standalone" not in container(objects)["args"]
    if namespaces:
        for role in by_kind(objects, "Role"):
            assert verbs_for(role, "kopf.dev", "kopfpeerings") == {"get", "list", "watch", "patch"}
        assert ("kopf.dev", "clusterkopfpeerings") not in resources_of(one(objects, "ClusterRole"))
    else:
        role = one(objects, "ClusterRole")
        assert verbs_for(role, "kopf.dev", "clusterkopfpeerings") == {"get", "list", "watch", "patch"}


@pytest.mark.parametrize("namespaces", [[], ["a"]], ids=["cluster-wide", "namespaced"])
def test_peering_off_grants_no_peering_rbac(render: Render, namespaces: list[str]) -> None:
    objects = render({"peering": {"enabled": False}, "watchNamespaces": namespaces})
    assert "--standalone" in container(objects)["args"]
    for role in by_kind(objects, "ClusterRole") + by_kind(objects, "Role"):
        assert not any(group == "kopf.dev" for group, _ in resources_of(role))


def test_rbac_create_false_renders_no_rbac(render: Render) -> None:
    objects = render({"rbac": {"create": False}, "watchNamespaces": ["a"]})
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_existing_service_account(render: Render, helm_bin: Path, tmp_path: Path) -> None:
    objects = render({"serviceAccount": {"create": False, "name": "my-sa"}})
    assert not by_kind(objects, "ServiceAccount")
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "my-sa"
    assert one(objects, "ClusterRoleBinding")["subjects"][0]["name"] == "my-sa"
    result = template(helm_bin, tmp_path, {"serviceAccount": {"create": False}})
    assert result.returncode != 0 and "serviceAccount.name is required" in result.stderr


# ---------------------------------------------------------------------------- metrics


def test_metrics_default_service_and_env(render: Render) -> None:
    objects = render()
    service = one(objects, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert (
        service["spec"]["selector"].items()
        <= one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )
    assert env(objects)["TWILIO_OPERATOR_METRICS_PORT"] == "9090"
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in container(objects)["ports"]
    assert not by_kind(objects, "ServiceMonitor")


def test_metrics_disabled(render: Render) -> None:
    objects = render({"metrics": {"enabled": False, "serviceMonitor": {"enabled": True}}})
    assert env(objects)["TWILIO_OPERATOR_METRICS_PORT"] == "0"
    assert not by_kind(objects, "Service") and not by_kind(objects, "ServiceMonitor")
    assert [p["name"] for p in container(objects)["ports"]] == ["health"]


SERVICE_MONITOR = {
    "metrics": {"serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prom"}}}
}


MONITORING_API = ("--api-versions", "monitoring.coreos.com/v1/ServiceMonitor")


@pytest.mark.parametrize("extra", [MONITORING_API, ()], ids=["api-present", "api-absent"])
def test_service_monitor_rendered_when_asked(render: Render, extra: tuple[str, ...]) -> None:
    """enabled=true renders the ServiceMonitor whether or not Helm sees the API: never silently nothing."""
    objects = render(SERVICE_MONITOR, *extra)
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}
    ]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items()
        <= one(objects, "Service")["metadata"]["labels"].items()
    )


def test_service_monitor_needs_the_metrics_service(helm_bin: Path, tmp_path: Path) -> None:
    values = {"metrics": {"service": {"enabled": False}, "serviceMonitor": {"enabled": True}}}
    result = template(helm_bin, tmp_path, values)
    assert result.returncode != 0 and "needs metrics.service.enabled" in result.stderr


def notes(helm_bin: Path, tmp_path: Path, values: dict[str, Any], *extra: str) -> str:
    """NOTES.txt rendered for these values, without a cluster.

    `helm install --dry-run` needs a reachable cluster and `helm template` never prints the
    notes, so a copy of the chart renders NOTES.txt through `tpl` into a ConfigMap.
    """
    chart = tmp_path / "chart"
    if not chart.exists():
        shutil.copytree(CHART, chart)
        shutil.copy(CHART / "templates" / "NOTES.txt", chart / "notes-under-test.txt")
        (chart / "templates" / "notes-under-test.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
            '  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}\n'
        )
    values_file = tmp_path / "notes-values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = run_helm(
        helm_bin, "template", "twilio-operator", str(chart), "--namespace", "ops",
        "-f", str(values_file), "--show-only", "templates/notes-under-test.yaml", *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return str(yaml.safe_load(result.stdout)["data"]["notes"])


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        (SERVICE_MONITOR, ["ServiceMonitor"]),
        ({"metrics": {"prometheusRule": {"enabled": True}}}, ["PrometheusRule"]),
        (
            {"metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}},
            ["ServiceMonitor", "PrometheusRule"],
        ),
    ],
    ids=["service-monitor", "prometheus-rule", "both"],
)
def test_notes_warn_when_the_monitoring_api_is_not_seen(
    helm_bin: Path, tmp_path: Path, values: dict[str, Any], kinds: list[str]
) -> None:
    text = notes(helm_bin, tmp_path, values)
    for kind in kinds:
        assert f"WARNING: Helm does not see the monitoring.coreos.com/v1 {kind} API" in text, text
        assert f"{kind} twilio-operator is part of this release" in text
    assert "prometheus-operator CRDs" in text
    assert "serviceMonitorSelector" in text or "prometheusRuleSelector" in text
    apis = [arg for kind in kinds for arg in ("--api-versions", f"monitoring.coreos.com/v1/{kind}")]
    with_api = notes(helm_bin, tmp_path, values, *apis)
    assert "WARNING" not in with_api
    for kind in kinds:
        assert f"{kind} twilio-operator is part of this release" in with_api


def test_notes_name_the_image_and_how_to_replace_it(helm_bin: Path, tmp_path: Path) -> None:
    text = notes(helm_bin, tmp_path, {"image": {"repository": "registry.example/op", "tag": "dev"}})
    assert "Image: registry.example/op:dev" in text
    assert "make image IMAGE=" in text and "--set image.repository=" in text
    assert "WARNING" not in text and "part of this release" not in text  # no monitoring objects asked for


# ---------------------------------------------------------------------------- the Deployment

SCENARIOS: dict[str, dict[str, Any]] = {
    "default": {},
    "namespaced": {"watchNamespaces": ["a", "b"]},
    "peering": {"peering": {"enabled": True}},
    "metrics-off": {"metrics": {"enabled": False}},
    "emulator": {"twilioBaseUrl": "http://twilio-emulator.e2e.svc:8099", "logLevel": "DEBUG"},
    "probe-off": {"livenessProbe": {"enabled": False}},
}


@pytest.mark.parametrize("values", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_deployment_is_hardened(render: Render, values: dict[str, Any]) -> None:
    objects = render(values)
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["fsGroup"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(objects)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container(objects)["volumeMounts"]
    assert next(v for v in pod["volumes"] if v["name"] == "tmp")["emptyDir"] is not None
    assert container(objects)["resources"]["limits"]["memory"] == "256Mi"
    labels = deployment["metadata"]["labels"]
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version"):
        assert key in labels


def test_liveness_probe(render: Render) -> None:
    probe = container(render())["livenessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "health"}
    objects = render({"livenessProbe": {"port": 8181, "path": "/alive", "enabled": True}})
    args = container(objects)["args"]
    assert args[args.index("--liveness") + 1] == "http://0.0.0.0:8181/alive"
    assert {"name": "health", "containerPort": 8181, "protocol": "TCP"} in container(objects)["ports"]
    assert "livenessProbe" not in container(render({"livenessProbe": {"enabled": False}}))


def test_env_and_pod_settings(render: Render) -> None:
    objects = render(
        {
            "logLevel": "DEBUG",
            "logFormat": "text",
            "twilioBaseUrl": "http://emulator:8099",
            "extraEnv": [{"name": "EXTRA", "value": "1"}],
            "image": {"repository": "registry.example/op", "tag": "dev", "pullPolicy": "Never"},
            "imagePullSecrets": [{"name": "regcred"}],
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "priorityClassName": "system-cluster-critical",
            "podAnnotations": {"a": "b"},
            "podLabels": {"team": "voice"},
        }
    )
    assert env(objects) == {
        "TWILIO_OPERATOR_LOG_LEVEL": "DEBUG",
        "TWILIO_OPERATOR_LOG_FORMAT": "text",
        "TWILIO_OPERATOR_METRICS_PORT": "9090",
        "TWILIO_OPERATOR_TWILIO_BASE_URL": "http://emulator:8099",
        "EXTRA": "1",
    }
    assert container(objects)["image"] == "registry.example/op:dev"
    assert container(objects)["imagePullPolicy"] == "Never"
    pod = one(objects, "Deployment")["spec"]["template"]
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]
    assert pod["spec"]["priorityClassName"] == "system-cluster-critical"
    assert pod["metadata"]["annotations"] == {"a": "b"}
    assert pod["metadata"]["labels"]["team"] == "voice"
    assert "TWILIO_OPERATOR_TWILIO_BASE_URL" not in env(render())  # production talks to Twilio


def test_rbac_rules_are_labelled_framework_or_application(helm_bin: Path, tmp_path: Path) -> None:
    """Each group of rules says whom it serves, as kopf's RBAC example does."""
    for values in ({}, {"watchNamespaces": ["a"], "peering": {"enabled": True}}):
        text = template(helm_bin, tmp_path, values, ("--show-only", "templates/rbac.yaml")).stdout
        for doc in text.split("\n---\n"):
            lines = doc.splitlines()
            if "rules:" not in lines:
                continue
            body = lines[lines.index("rules:") + 1 :]
            previous = ""
            for line in body:
                stripped = line.strip()
                if stripped.startswith("- apiGroups:"):
                    assert previous.startswith(("#", "verbs:")), (
                        f"rule without a Framework:/Application: comment:\n{doc}"
                    )
                if stripped.startswith("#") and not previous.startswith("#"):
                    assert stripped.startswith(("# Framework:", "# Application:")), stripped
                previous = stripped


# ---------------------------------------------------------------------------- NetworkPolicy


def test_network_policy_off_by_default(render: Render) -> None:
    assert not by_kind(render(), "NetworkPolicy")


def test_network_policy_admits_probes_and_scrapers_only(render: Render) -> None:
    """Ingress to the liveness port (the kubelet) and to the metrics port (from metricsFrom); egress
    stays open unless rules are given. Enforcement is the CNI plugin's: tests/e2e only checks that a
    real API server accepts it (the bridge plugin there does not enforce it)."""
    monitoring = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    objects = render({"networkPolicy": {"enabled": True, "metricsFrom": monitoring}})
    policy = one(objects, "NetworkPolicy")["spec"]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [
        {"ports": [{"port": "health", "protocol": "TCP"}]},
        {"ports": [{"port": "metrics", "protocol": "TCP"}], "from": monitoring},
    ]
    named_ports = {p["name"] for p in container(objects)["ports"]}
    assert {"health", "metrics"} <= named_ports  # the policy's named ports exist on the container


def test_network_policy_without_metrics_and_with_egress(render: Render) -> None:
    egress = [{"ports": [{"port": 443, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}]
    objects = render({"metrics": {"enabled": False}, "networkPolicy": {"enabled": True, "egress": egress}})
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [{"ports": [{"port": "health", "protocol": "TCP"}]}]
    assert policy["egress"] == egress
