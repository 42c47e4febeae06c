"""The Kubernetes adapter tells a taken name from other 409s: only the first is settled by an update."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from twilio_operator.api.errors import KubernetesError
from twilio_operator.ports.kube.adapter import KubernetesGateway


def conflict(reason: str, message: str) -> ApiException:
    error = ApiException(status=409, reason="Conflict")
    error.body = json.dumps({"kind": "Status", "code": 409, "reason": reason, "message": message})
    return error


class Answered:
    """The raw (unparsed) answer of a write that succeeded."""

    status, reason = 200, "OK"

    async def read(self) -> bytes:
        return b"{}"

    def release(self) -> None:
        pass


class CreateRefused:
    """CoreV1Api's two Secret writes that write_secret makes: the create fails, patches are recorded."""

    def __init__(self, error: ApiException) -> None:
        self.error = error
        self.patches: list[Any] = []

    async def create_namespaced_secret(self, namespace: str, body: Any, **_: Any) -> None:
        raise self.error

    async def patch_namespaced_secret(self, name: str, namespace: str, body: Any, **_: Any) -> Answered:
        self.patches.append(body)
        return Answered()


async def write_with(core: CreateRefused) -> None:
    gateway = KubernetesGateway(k8s.ApiClient())
    gateway._core = core  # type: ignore[assignment]
    try:
        await gateway.write_secret("ns", "acme-sip-credentials", {"username": "u"}, {}, None)
    finally:
        await gateway.close()


async def test_a_taken_name_is_updated_in_place() -> None:
    core = CreateRefused(conflict("AlreadyExists", 'secrets "acme-sip-credentials" already exists'))
    await write_with(core)
    assert len(core.patches) == 1 and core.patches[0]["stringData"] == {"username": "u"}


async def test_a_webhook_conflict_is_the_refusal_it_is_not_an_update_of_nothing() -> None:
    """Taken for "already exists", it became a patch of a Secret that does not exist, and the object
    reported a 404 "not found" instead of the webhook's reason."""
    denied = 'admission webhook "policy.example.com" denied the request: owned by another writer'
    core = CreateRefused(conflict("Conflict", denied))
    with pytest.raises(KubernetesError) as refused:
        await write_with(core)
    assert core.patches == []
    assert refused.value.status == 409 and refused.value.refusal
    assert str(refused.value) == f"cannot write Secret: HTTP 409 Conflict: {denied}"


@pytest.mark.parametrize(
    ("status", "refusal"),
    [(403, True), (409, True), (422, True), (429, False), (500, False), (503, False), (None, False)],
)
def test_which_kubernetes_failures_the_object_reports(status: int | None, refusal: bool) -> None:
    assert KubernetesError("write Secret", status, "").refusal is refusal
