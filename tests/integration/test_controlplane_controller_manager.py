"""The local control plane's kube-controller-manager: namespace deletion, garbage collection of
ownerReferences (background and foreground) and ServiceAccount token Secrets, and that a control plane
started without it does none of these.

Bounds are generous (the machine is shared); what the controllers do usually takes a few seconds.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any

from twilio_operator.testing.controlplane import CONTROLLERS, ControlPlane
from twilio_operator.testing.waiting import wait_for

GONE_WITHIN = 120.0  # seconds; namespace deletion and GC normally take 1-10 s here
# What a control plane without the controller-manager is given to (not) do the same work. The positive
# tests show these things happen well within it when the controllers run.
SETTLE = 15.0


def _create(plane: ControlPlane, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, created = plane.request("POST", path, body)
    assert status == 201, created
    assert isinstance(created, dict)
    return created


def _exists(plane: ControlPlane, path: str) -> bool:
    status, body = plane.request("GET", path)
    assert status in (200, 404), body
    return status == 200


def _owned_secret(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,  # makes foreground deletion wait for this dependent
    }
    return {"metadata": {"name": name, "ownerReferences": [reference]}, "stringData": {"k": "v"}}


def _owner_and_dependent(plane: ControlPlane, namespace: str) -> tuple[str, str]:
    """A ConfigMap and a Secret owned by it; returns their paths."""
    base = f"/api/v1/namespaces/{namespace}"
    owner = _create(plane, f"{base}/configmaps", {"metadata": {"name": "owner"}, "data": {"k": "v"}})
    _create(plane, f"{base}/secrets", _owned_secret("dependent", owner))
    return f"{base}/configmaps/owner", f"{base}/secrets/dependent"


def _namespace_with_content(plane: ControlPlane) -> str:
    name = plane.create_namespace("gc")
    base = f"/api/v1/namespaces/{name}"
    _create(plane, f"{base}/configmaps", {"metadata": {"name": "cm"}, "data": {"k": "v"}})
    _create(plane, f"{base}/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    return name


def _token_secret(plane: ControlPlane, namespace: str) -> str:
    """A ServiceAccount and a legacy token Secret for it, as the token controller expects; its path."""
    base = f"/api/v1/namespaces/{namespace}"
    _create(plane, f"{base}/serviceaccounts", {"metadata": {"name": "robot"}})
    secret = {
        "metadata": {"name": "robot-token", "annotations": {"kubernetes.io/service-account.name": "robot"}},
        "type": "kubernetes.io/service-account-token",
    }
    _create(plane, f"{base}/secrets", secret)
    return f"{base}/secrets/robot-token"


def _secret_data(plane: ControlPlane, path: str) -> dict[str, str]:
    status, secret = plane.request("GET", path)
    assert status == 200, f"HTTP {status}"  # never the body: it may hold a token
    data: dict[str, str] = secret.get("data") or {}
    return data


def _https_opener(ca_pem: bytes) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cadata=ca_pem.decode())
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )


def test_controller_manager_runs_only_the_chosen_controllers(control_plane: ControlPlane) -> None:
    pid = control_plane.pids["kube-controller-manager"]
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert "--bind-address=127.0.0.1" in argv and "--leader-elect=false" in argv

    # Each controller it built registers a health check; nothing beyond the three was built.
    ca_pem = (control_plane.workdir / "certs" / "serving-ca.crt").read_bytes()
    url = f"https://127.0.0.1:{control_plane.controller_manager_port}/healthz?verbose"
    with _https_opener(ca_pem).open(url, timeout=10) as response:
        health = response.read().decode()
    assert set(re.findall(r"^\[\+\](\S+-controller) ok$", health, re.MULTILINE)) == set(CONTROLLERS)


def test_deleted_namespace_with_content_is_removed(control_plane: ControlPlane) -> None:
    name = _namespace_with_content(control_plane)
    status, deleted = control_plane.request("DELETE", f"/api/v1/namespaces/{name}")
    assert status == 200, deleted

    started = time.monotonic()
    wait_for(
        lambda: not _exists(control_plane, f"/api/v1/namespaces/{name}"),
        timeout=GONE_WITHIN,
        what=f"namespace {name} to be deleted",
    )
    print(f"namespace {name} gone {time.monotonic() - started:.1f}s after the delete")


def test_background_deletion_collects_the_dependent(control_plane: ControlPlane, namespace: str) -> None:
    owner, dependent = _owner_and_dependent(control_plane, namespace)
    bystander = _create(
        control_plane,
        f"/api/v1/namespaces/{namespace}/secrets",
        {"metadata": {"name": "bystander"}, "stringData": {"k": "v"}},
    )
    assert _exists(control_plane, dependent)

    status, body = control_plane.request("DELETE", f"{owner}?propagationPolicy=Background")
    assert status == 200, body
    assert not _exists(control_plane, owner)  # background: the owner goes at once, dependents later

    wait_for(lambda: not _exists(control_plane, dependent), timeout=GONE_WITHIN, what="dependent Secret GC")
    bystander_path = f"/api/v1/namespaces/{namespace}/secrets/{bystander['metadata']['name']}"
    assert _exists(control_plane, bystander_path)  # only what the owner owned is collected


def test_foreground_deletion_removes_the_dependent_before_the_owner(
    control_plane: ControlPlane, namespace: str
) -> None:
    owner, dependent = _owner_and_dependent(control_plane, namespace)

    status, deleting = control_plane.request("DELETE", f"{owner}?propagationPolicy=Foreground")
    assert status == 200, deleting
    assert deleting["metadata"]["finalizers"] == ["foregroundDeletion"]

    wait_for(lambda: not _exists(control_plane, owner), timeout=GONE_WITHIN, what="owner ConfigMap deletion")
    # The garbage collector removes the foregroundDeletion finalizer only once the blocking dependent is gone.
    assert not _exists(control_plane, dependent)


def test_token_controller_fills_a_service_account_token_secret(
    control_plane: ControlPlane, namespace: str
) -> None:
    path = _token_secret(control_plane, namespace)
    data = wait_for(
        lambda: (found := _secret_data(control_plane, path)).get("token") and found,
        timeout=GONE_WITHIN,
        what="the token controller to fill the Secret",
    )
    assert sorted(data) == ["ca.crt", "namespace", "token"]
    assert base64.b64decode(data["namespace"]).decode() == namespace
    ca_pem = base64.b64decode(data["ca.crt"])
    assert ca_pem == (control_plane.workdir / "certs" / "serving-ca.crt").read_bytes()  # --root-ca-file

    # The token is signed with the key the API server verifies: it authenticates as the ServiceAccount.
    # ca.crt is enough to trust the API server, as it is for a pod.
    request = urllib.request.Request(
        control_plane.url + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        data=json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": "Bearer " + base64.b64decode(data["token"]).decode(),
        },
    )
    with _https_opener(ca_pem).open(request, timeout=10) as response:
        user = json.loads(response.read())["status"]["userInfo"]
    assert user["username"] == f"system:serviceaccount:{namespace}:robot"

    log = (control_plane.workdir / "kube-controller-manager.log").read_text(errors="replace")
    leaked = base64.b64decode(data["token"]).decode() in log
    assert not leaked, "the token appears in the kube-controller-manager log"  # never print it


def test_restart_in_place_keeps_collecting(control_plane: ControlPlane, namespace: str) -> None:
    before, port = control_plane.pids["kube-controller-manager"], control_plane.controller_manager_port
    control_plane.restart_controller_manager()
    assert control_plane.pids["kube-controller-manager"] != before
    assert control_plane.controller_manager_port == port

    owner, dependent = _owner_and_dependent(control_plane, namespace)
    assert control_plane.request("DELETE", f"{owner}?propagationPolicy=Background")[0] == 200
    wait_for(lambda: not _exists(control_plane, dependent), timeout=GONE_WITHIN, what="GC after a restart")


def test_without_controller_manager_nothing_is_collected(
    control_plane_without_controller_manager: ControlPlane,
) -> None:
    plane = control_plane_without_controller_manager
    assert "kube-controller-manager" not in plane.pids

    doomed = _namespace_with_content(plane)
    assert plane.request("DELETE", f"/api/v1/namespaces/{doomed}")[0] == 200
    namespace = plane.create_namespace("kept")
    owner, dependent = _owner_and_dependent(plane, namespace)
    assert plane.request("DELETE", f"{owner}?propagationPolicy=Background")[0] == 200
    token_path = _token_secret(plane, namespace)

    time.sleep(SETTLE)  # a deterministic wait for something that must NOT happen

    status, terminating = plane.request("GET", f"/api/v1/namespaces/{doomed}")
    assert status == 200 and terminating["status"]["phase"] == "Terminating"
    assert _exists(plane, f"/api/v1/namespaces/{doomed}/configmaps/cm")
    assert _exists(plane, dependent)  # its owner is gone, nobody collects it
    assert "token" not in _secret_data(plane, token_path)
