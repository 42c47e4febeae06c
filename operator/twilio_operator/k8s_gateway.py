"""The narrow async port to Kubernetes: Secrets, status and Events.

kopf owns the watches and the handler protocol (finalizers, progress). This
module does the writes that a reconcile needs in the middle of its work, such as
the SIP password Secret before Twilio is called and a SID in status right after
Twilio created it, which kopf's end-of-handler patch cannot do.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from twilio_operator.models import GROUP, VERSION

log = logging.getLogger(__name__)
EVENT_DEDUP_WINDOW = 600.0  # seconds: repeats of the same event within it bump a count instead
COMPONENT = "twilio-operator"
# kubernetes_asyncio would send a dict body as a JSON patch; say what it is (its stubs omit the kwarg).
MERGE = {"_content_type": "application/merge-patch+json"}
JSON_PATCH = {"_content_type": "application/json-patch+json"}
# Raw JSON instead of model objects: building V1Secret/CoreV1Event parses every timestamp of
# managedFields, which was a large share of the operator's CPU at a thousand objects.
RAW = {"_preload_content": False}


async def _json(call: Awaitable[Any]) -> dict[str, Any]:
    """The decoded body of a raw (_preload_content=False) call; ApiException on a non-2xx status."""
    response = await call
    try:
        body = await response.read()
    finally:
        response.release()
    if not 200 <= response.status < 300:
        raise ApiException(status=response.status, reason=response.reason)
    decoded: dict[str, Any] = json.loads(body)
    return decoded


@dataclass(frozen=True)
class ObjectRef:
    """Enough of an object to own a Secret and to be the subject of an Event."""

    kind: str
    namespace: str
    name: str
    uid: str
    api_version: str = f"{GROUP}/{VERSION}"

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class SecretData:
    """A Secret's decoded data and metadata. Values are only ever held in memory."""

    data: Mapping[str, bytes] = field(repr=False)
    annotations: Mapping[str, str]
    owner_uids: frozenset[str]
    resource_version: str

    def text(self, key: str) -> str | None:
        raw = self.data.get(key)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None


class KubernetesPort(Protocol):
    async def read_secret(self, namespace: str, name: str) -> SecretData | None: ...
    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: ObjectRef | None,
    ) -> None: ...
    async def annotate_secret(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None: ...
    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> None: ...
    async def delete_secret(self, namespace: str, name: str) -> bool: ...
    async def patch_status(
        self, plural: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None: ...
    async def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None: ...
    async def list_objects(self, plural: str, namespace: str) -> list[dict[str, Any]]: ...
    async def post_event(self, subject: ObjectRef, type_: str, reason: str, message: str) -> None: ...


class NotFoundError(Exception):
    """The object vanished under us (deleted meanwhile)."""


class KubernetesGateway:
    """KubernetesPort over kubernetes_asyncio."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self._api = api
        self._core = k8s.CoreV1Api(api)
        self._custom = k8s.CustomObjectsApi(api)
        # (uid, reason, message) -> (event name, count, first seen, last posted)
        self._recent_events: dict[tuple[str, str, str], tuple[str, int, float]] = {}

    async def close(self) -> None:
        await self._api.close()

    # ---- Secrets

    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        try:
            secret = await _json(cast(Any, self._core).read_namespaced_secret(name, namespace, **RAW))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        meta = secret.get("metadata") or {}
        return SecretData(
            data={k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()},
            annotations=dict(meta.get("annotations") or {}),
            owner_uids=frozenset(o.get("uid", "") for o in meta.get("ownerReferences") or []),
            resource_version=str(meta.get("resourceVersion") or ""),
        )

    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: ObjectRef | None,
    ) -> None:
        """Create the Secret, or replace its data if it exists (labels and other keys are kept)."""
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "annotations": dict(annotations),
            "labels": {"app.kubernetes.io/managed-by": COMPONENT},
        }
        if owner is not None:
            metadata["ownerReferences"] = [owner.owner_reference()]
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": metadata,
            "stringData": dict(data),
        }
        try:
            await self._core.create_namespaced_secret(namespace, cast(Any, body))
            return
        except ApiException as exc:
            if exc.status != 409:
                raise
        patch = {
            "metadata": {"annotations": dict(annotations), "labels": metadata["labels"]},
            "stringData": dict(data),
        }
        if owner is not None:
            patch["metadata"]["ownerReferences"] = [owner.owner_reference()]
        await self._patch_secret(name, namespace, patch, MERGE)

    async def annotate_secret(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None:
        patch = {"metadata": {"annotations": dict(annotations)}}
        await self._patch_secret(name, namespace, patch, MERGE)

    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> None:
        """Drop our owner reference so that garbage collection keeps the Secret (Orphan policy)."""
        try:
            meta = (await _json(cast(Any, self._core).read_namespaced_secret(name, namespace, **RAW)))[
                "metadata"
            ]
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        owners = meta.get("ownerReferences") or []
        if not any(o.get("uid") == owner_uid for o in owners):
            return
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
            {
                "op": "replace",
                "path": "/metadata/ownerReferences",
                "value": [o for o in owners if o.get("uid") != owner_uid],
            },
        ]
        await self._patch_secret(name, namespace, patch, JSON_PATCH)

    async def _patch_secret(
        self, name: str, namespace: str, patch: Any, content_type: dict[str, str]
    ) -> None:
        await cast(Any, self._core).patch_namespaced_secret(name, namespace, patch, **content_type)

    async def delete_secret(self, namespace: str, name: str) -> bool:
        try:
            await self._core.delete_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ---- custom objects

    async def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        try:
            await cast(Any, self._custom).patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, plural, name, {"status": dict(status)}, **MERGE
            )
        except ApiException as exc:
            if exc.status == 404:
                raise NotFoundError(f"{plural} {namespace}/{name} is gone") from None
            raise

    async def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = await self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    async def list_objects(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        result = await self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
        items: list[dict[str, Any]] = result.get("items", [])
        return items

    # ---- Events

    async def post_event(self, subject: ObjectRef, type_: str, reason: str, message: str) -> None:
        """Post a core/v1 Event; a repeat within EVENT_DEDUP_WINDOW bumps the count of the first one."""
        key = (subject.uid, reason, message)
        now = time.monotonic()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent = self._recent_events.get(key)
        try:
            if recent is not None and now - recent[2] < EVENT_DEDUP_WINDOW:
                name, count, first = recent
                patch = {"count": count + 1, "lastTimestamp": stamp}
                await cast(Any, self._core).patch_namespaced_event(name, subject.namespace, patch, **MERGE)
                self._recent_events[key] = (name, count + 1, first)
                return
            body = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"generateName": f"{subject.name}.", "namespace": subject.namespace},
                "involvedObject": {
                    "apiVersion": subject.api_version,
                    "kind": subject.kind,
                    "name": subject.name,
                    "namespace": subject.namespace,
                    "uid": subject.uid,
                },
                "type": type_,
                "reason": reason,
                "message": message[:1024],
                "source": {"component": COMPONENT},
                "reportingComponent": COMPONENT,
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
            }
            created = await _json(
                cast(Any, self._core).create_namespaced_event(subject.namespace, body, **RAW)
            )
            self._recent_events[key] = (created["metadata"]["name"], 1, now)
            self._forget_old_events(now)
        except ApiException as exc:
            # Events are best effort: a missing namespace or RBAC gap must not fail a reconcile.
            log.warning(
                "cannot post event %s on %s/%s: HTTP %s", reason, subject.namespace, subject.name, exc.status
            )

    def _forget_old_events(self, now: float) -> None:
        if len(self._recent_events) < 10_000:
            return
        self._recent_events = {
            k: v for k, v in self._recent_events.items() if now - v[2] < EVENT_DEDUP_WINDOW
        }
