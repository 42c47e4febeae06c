"""The local control plane is a real kube-apiserver + etcd: versions, CRD validation, subresources,
finalizers, watches, RBAC, kubectl, restarts and the `make cluster` CLI.

Uses its own small CRD (group harness.test.dev) so it does not depend on the project's CRDs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from fixtures.controlplane import kubectl, new_api_client
from twilio_operator.testing.binaries import repo_root
from twilio_operator.testing.controlplane import ControlPlane

GROUP, VERSION, PLURAL = "harness.test.dev", "v1", "widgets"
CRD_NAME = f"{PLURAL}.{GROUP}"
MERGE_PATCH = "application/merge-patch+json"  # kubernetes_asyncio sends a dict as a JSON patch otherwise
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer"},
                                    "name": {"type": "string", "pattern": "^[a-z]+$"},
                                    "domain": {
                                        "type": "string",
                                        "x-kubernetes-validations": [
                                            {"rule": "self == oldSelf", "message": "domain is immutable"}
                                        ],
                                    },
                                },
                            },
                            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


def _expected_kube_versions() -> set[str]:
    """KUBE_VERSION for a local build; ENVTEST_K8S_VERSION for the one `make controlplane` downloads."""
    root = repo_root()
    assert root is not None
    versions = dict(
        line.split("=", 1)
        for line in (root / "hack/controlplane/versions.env").read_text().splitlines()
        if "=" in line
    )
    return {"v" + versions[key].strip() for key in ("KUBE_VERSION", "ENVTEST_K8S_VERSION")}


def _widget(name: str, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


async def _merge_patch(
    objects: client.CustomObjectsApi, namespace: str, name: str, body: dict[str, Any], *, status: bool = False
) -> Any:
    patch = (
        objects.patch_namespaced_custom_object_status if status else objects.patch_namespaced_custom_object
    )
    return await patch(GROUP, VERSION, namespace, PLURAL, name, body, _content_type=MERGE_PATCH)


def _message(error: ApiException) -> str:
    return str(json.loads(error.body)["message"])


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """RBAC changes reach the authorizer through an informer: allow a moment."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def widget_crd(control_plane: ControlPlane) -> Iterator[str]:
    status, body = control_plane.request(
        "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGET_CRD
    )
    assert status in (201, 409), body
    deadline = time.monotonic() + 20
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}"
    while not _established(control_plane.request("GET", path)[1]):
        assert time.monotonic() < deadline, "CRD not Established"
        time.sleep(0.1)
    # Established is set before the new resource is in discovery and served: wait for that too.
    while control_plane.request("GET", f"/apis/{GROUP}/{VERSION}/{PLURAL}")[0] != 200:
        assert time.monotonic() < deadline, "CRD not served"
        time.sleep(0.1)
    yield CRD_NAME
    control_plane.request("DELETE", path)


def _established(crd: Any) -> bool:
    # A just-created CRD's status may carry "conditions": null until the apiserver's controllers run.
    conditions = (crd.get("status", {}).get("conditions") or []) if isinstance(crd, dict) else []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


async def test_version_is_the_stamped_release(api: client.ApiClient) -> None:
    info = await client.VersionApi(api).get_code()
    assert info.git_version in _expected_kube_versions()


def test_crd_is_established(control_plane: ControlPlane, widget_crd: str) -> None:
    status, crd = control_plane.request(
        "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{widget_crd}"
    )
    assert status == 200 and _established(crd)


async def test_schema_and_cel_violations_are_rejected_with_the_servers_message(
    api: client.ApiClient, namespace: str, widget_crd: str
) -> None:
    objects = client.CustomObjectsApi(api)
    create = objects.create_namespaced_custom_object

    with pytest.raises(ApiException) as wrong_type:
        await create(GROUP, VERSION, namespace, PLURAL, _widget("w1", size="big"))
    assert wrong_type.value.status == 422
    assert 'spec.size: Invalid value: "string": spec.size in body must be of type integer' in _message(
        wrong_type.value
    )

    with pytest.raises(ApiException) as bad_pattern:
        await create(GROUP, VERSION, namespace, PLURAL, _widget("w2", name="Not Lower"))
    assert "spec.name in body should match '^[a-z]+$'" in _message(bad_pattern.value)

    await create(GROUP, VERSION, namespace, PLURAL, _widget("w3", domain="a.example.com"))
    with pytest.raises(ApiException) as immutable:
        await _merge_patch(objects, namespace, "w3", {"spec": {"domain": "b.example.com"}})
    assert immutable.value.status == 422
    assert "spec.domain: Invalid value" in _message(immutable.value)
    assert "domain is immutable" in _message(immutable.value)


async def test_status_subresource_is_separate_from_spec(
    api: client.ApiClient, namespace: str, widget_crd: str
) -> None:
    objects = client.CustomObjectsApi(api)
    body = _widget("w", size=1) | {"status": {"phase": "Ignored"}}
    created = await objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    assert "status" not in created  # the main resource drops status when the subresource is on

    patched = await _merge_patch(objects, namespace, "w", {"status": {"phase": "Ready"}}, status=True)
    assert patched["status"] == {"phase": "Ready"}
    assert patched["metadata"]["generation"] == 1  # status writes do not bump the generation

    spec_patch = {"spec": {"size": 2}, "status": {"phase": "Hijacked"}}
    updated = await _merge_patch(objects, namespace, "w", spec_patch)
    assert updated["spec"]["size"] == 2
    assert updated["status"] == {"phase": "Ready"}
    assert updated["metadata"]["generation"] == 2


async def test_finalizer_holds_deletion_until_removed(
    api: client.ApiClient, namespace: str, widget_crd: str
) -> None:
    objects = client.CustomObjectsApi(api)
    body = _widget("held", size=1)
    body["metadata"]["finalizers"] = ["harness.test.dev/hold"]
    await objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)

    await objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "held")
    held = await objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "held")
    assert held["metadata"]["deletionTimestamp"]

    await _merge_patch(objects, namespace, "held", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        await objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "held")
    assert gone.value.status == 404


async def test_watch_sees_added_modified_deleted(
    api: client.ApiClient, namespace: str, widget_crd: str
) -> None:
    objects = client.CustomObjectsApi(api)
    listing = await objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    since = listing["metadata"]["resourceVersion"]  # watching from here cannot miss what follows

    await objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, _widget("watched", size=1)
    )
    await _merge_patch(objects, namespace, "watched", {"spec": {"size": 2}})
    await objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "watched")

    seen: list[str] = []
    async with watch.Watch() as stream, asyncio.timeout(15):
        async for event in stream.stream(
            objects.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            resource_version=since,
            timeout_seconds=10,
        ):
            seen.append(event["type"])
            if event["type"] == "DELETED":
                break
    assert seen == ["ADDED", "MODIFIED", "DELETED"]


async def _can_list_configmaps(kubeconfig: Path, namespace: str) -> bool:
    async with await new_api_client(kubeconfig) as api_client:
        try:
            await client.CoreV1Api(api_client).list_namespaced_config_map(namespace)
        except ApiException as error:
            assert error.status == 403, error
            return False
    return True


async def _grant_configmap_read(api: client.ApiClient, namespace: str, subject: dict[str, str]) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
    await rbac.create_namespaced_role(namespace, {"metadata": {"name": "read-cm"}, "rules": [rule]})
    binding = {
        "metadata": {"name": f"read-cm-{subject['name']}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-cm"},
        "subjects": [subject],
    }
    await rbac.create_namespaced_role_binding(namespace, binding)


async def test_user_without_rbac_is_refused_then_allowed_by_a_role_binding(
    control_plane: ControlPlane, api: client.ApiClient, namespace: str
) -> None:
    alice = control_plane.kubeconfig_for_user("alice", ("devs",))
    assert not await _can_list_configmaps(alice, namespace)
    await _grant_configmap_read(
        api, namespace, {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}
    )
    await _eventually(lambda: _can_list_configmaps(alice, namespace))


async def test_service_account_identity_is_subject_to_its_rbac(
    control_plane: ControlPlane, api: client.ApiClient, namespace: str
) -> None:
    kubeconfig = control_plane.kubeconfig_for_service_account(namespace, "operator")
    async with await new_api_client(kubeconfig) as sa_client:
        review = await client.AuthenticationV1Api(sa_client).create_self_subject_review({})
    user = review.status.user_info
    assert user.username == f"system:serviceaccount:{namespace}:operator"
    assert {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"} <= set(user.groups)

    assert not await _can_list_configmaps(kubeconfig, namespace)
    await _grant_configmap_read(
        api, namespace, {"kind": "ServiceAccount", "name": "operator", "namespace": namespace}
    )
    await _eventually(lambda: _can_list_configmaps(kubeconfig, namespace))


def test_kubectl_works_with_the_admin_kubeconfig(kubeconfig_path: Path, namespace: str) -> None:
    result = kubectl("get", "ns", "-o", "name", kubeconfig=kubeconfig_path)
    assert result.returncode == 0, result.stderr
    assert f"namespace/{namespace}" in result.stdout.split()


def test_restarts_keep_the_data(control_plane: ControlPlane, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    status, _ = control_plane.request("POST", path, {"metadata": {"name": "kept"}, "data": {"k": "v"}})
    assert status == 201
    port = control_plane.apiserver_port

    control_plane.restart_apiserver()
    status, kept = control_plane.request("GET", f"{path}/kept")
    assert (status, kept["data"], control_plane.apiserver_port) == (200, {"k": "v"}, port)

    control_plane.restart_etcd()
    assert control_plane.request("GET", f"{path}/kept")[0] == 200


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "twilio_operator.testing.cluster_cli", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # an orphan reaped late by a container init is still dead


@pytest.mark.parametrize(
    ("options", "processes"),
    [
        ((), {"supervisor", "etcd", "kube-apiserver", "kube-controller-manager"}),
        (("--without-controller-manager",), {"supervisor", "etcd", "kube-apiserver"}),
    ],
    ids=["default", "without-controller-manager"],
)
def test_cluster_cli_up_status_down_cycle(
    tmp_path: Path, options: tuple[str, ...], processes: set[str]
) -> None:
    state = tmp_path / "cluster"
    up = _cli("up", "--dir", str(state), *options)
    assert up.returncode == 0, up.stderr
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    assert kubeconfig == state / "kubeconfig" and kubeconfig.is_file()
    try:
        assert kubectl("get", "ns", "default", kubeconfig=kubeconfig).returncode == 0
        assert _cli("status", "--dir", str(state)).returncode == 0
        pids = json.loads((state / "pids.json").read_text())
        assert set(pids) == processes
        assert all(_alive(pid) for pid in pids.values())
    finally:
        down = _cli("down", "--dir", str(state))
    assert down.returncode == 0, down.stderr
    assert not [name for name, pid in pids.items() if _alive(pid)]
    assert not state.exists()
    assert _cli("status", "--dir", str(state)).returncode == 3
