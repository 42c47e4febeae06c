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
        return b'{"metadata": {"resourceVersion": "42"}}'

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


async def write_with(core: CreateRefused) -> str:
    gateway = KubernetesGateway(k8s.ApiClient())
    gateway._core = core  # type: ignore[assignment]
    try:
        return await gateway.write_secret("ns", "acme-sip-credentials", {"username": "u"}, {}, None)
    finally:
        await gateway.close()


async def test_a_taken_name_is_updated_in_place() -> None:
    core = CreateRefused(conflict("AlreadyExists", 'secrets "acme-sip-credentials" already exists'))
    assert await write_with(core) == "42"  # the version the patch's answer carries
    assert len(core.patches) == 1 and core.patches[0]["stringData"] == {"username": "u"}


class PatchConflicts(CreateRefused):
    """Every patch answered 409 Conflict: the object moved on since the version the patch names."""

    async def patch_namespaced_secret(self, name: str, namespace: str, body: Any, **_: Any) -> Answered:
        self.patches.append(body)
        raise conflict(
            "Conflict", "the object has been modified; please apply your changes to the latest version"
        )


async def test_an_annotation_made_on_a_condition_says_whether_it_was_made() -> None:
    """The precondition is the resourceVersion in the merge patch; its 409 is an answer, not an error.
    Without a precondition a 409 is the refusal it is."""
    gateway = KubernetesGateway(k8s.ApiClient())
    core = PatchConflicts(conflict("AlreadyExists", "unused"))
    gateway._core = core  # type: ignore[assignment]
    try:
        made = await gateway.annotate_secret("ns", "sip", {"a": "b"}, unchanged_since="7")
        assert made is False
        assert core.patches == [{"metadata": {"annotations": {"a": "b"}, "resourceVersion": "7"}}]
        with pytest.raises(KubernetesError) as refused:
            await gateway.annotate_secret("ns", "sip", {"a": "b"})
        assert refused.value.status == 409
    finally:
        await gateway.close()


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
