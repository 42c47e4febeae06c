"""An in-memory KubernetesPort for the component tier: Secrets, status and Events, nothing else."""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

from twilio_operator.api.models import ResourceKind
from twilio_operator.api.objects import ObjectRef
from twilio_operator.ports.kube.port import SIP_SECRET_LABELS, KubernetesPort, SecretData, SecretEvent


class FakeKube:
    """Behaves like the API server for the calls a reconcile makes; records every write."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.config_maps: dict[tuple[str, str], dict[str, Any]] = {}
        self.statuses: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.events: list[tuple[str, str, str, str]] = []  # (object name, type, reason, message)
        self.writes: list[str] = []
        self.status_writes: list[str] = []
        self.reads: list[str] = []  # apart from `writes`: every reconcile writes its status

    # ---- test helpers
    def put_secret(
        self, namespace: str, name: str, data: Mapping[str, str | bytes], **annotations: str
    ) -> None:
        raw = {k: v.encode() if isinstance(v, str) else v for k, v in data.items()}
        self.secrets[(namespace, name)] = {"data": raw, "annotations": dict(annotations), "owners": set()}

    def secret_text(self, namespace: str, name: str) -> dict[str, str]:
        return {k: v.decode() for k, v in self.secrets[(namespace, name)]["data"].items()}

    def reasons(self) -> list[str]:
        return [reason for _, _, reason, _ in self.events]

    # ---- KubernetesPort
    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        self.reads.append(f"secret {name}")
        stored = self.secrets.get((namespace, name))
        if stored is None:
            return None
        return SecretData(
            data=dict(stored["data"]),
            annotations=dict(stored["annotations"]),
            finalizers=frozenset(stored.get("finalizers", ())),
            labels=dict(stored.get("labels", {})),
            owner_uids=frozenset(stored["owners"]),
        )

    async def write_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: ObjectRef | None,
        *,
        labels: Mapping[str, str] | None = None,
        remove_keys: Collection[str] = (),
        remove_annotations: Collection[str] = (),
        only_if_absent: bool = False,
    ) -> str | None:
        if only_if_absent and (namespace, name) in self.secrets:
            self.writes.append(f"create secret {name}: exists")
            return None
        self.writes.append(f"write secret {name}")
        stored = self.secrets.setdefault(
            (namespace, name), {"data": {}, "annotations": {}, "owners": set(), "labels": {}}
        )
        for key in remove_keys:
            stored["data"].pop(key, None)
        for key in remove_annotations:
            stored["annotations"].pop(key, None)
        stored["data"].update({k: v.encode() for k, v in data.items()})
        stored["annotations"].update(annotations)
        stored.setdefault("labels", {}).update({**(labels or {}), **SIP_SECRET_LABELS})
        if owner is not None:
            stored["owners"].add(owner.uid)
        return self._version(stored)

    async def apply_config_map(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: ObjectRef | None,
    ) -> None:
        self.writes.append(f"apply configmap {name}")
        self.config_maps[(namespace, name)] = {
            "data": dict(data),
            "labels": dict(labels),
            "annotations": dict(annotations),
            "owner": owner.uid if owner else None,
        }

    async def config_map_owned_by(self, namespace: str, name: str, owner_uid: str) -> bool | None:
        stored = self.config_maps.get((namespace, name))
        return None if stored is None else stored.get("owner") == owner_uid

    async def annotate_secret(
        self, namespace: str, name: str, annotations: Mapping[str, str], *, unchanged_since: str | None = None
    ) -> bool:
        stored = self.secrets[(namespace, name)]
        if unchanged_since is not None and unchanged_since != self._version(stored):
            self.writes.append(f"annotate secret {name}: conflict")
            return False
        self.writes.append(f"annotate secret {name}")
        stored["annotations"].update(annotations)
        return True

    @staticmethod
    def _version(stored: dict[str, Any]) -> str:
        """A resourceVersion derived from the content, so that a test that edits `self.secrets`
        directly (another writer) moves it on too."""
        content = (sorted(stored["data"].items()), sorted(stored["annotations"].items()))
        return hashlib.sha256(repr(content).encode()).hexdigest()[:12]

    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        stored = self.secrets.get((namespace, name))
        if stored is None or owner_uid not in stored["owners"]:
            return False
        self.writes.append(f"release secret {name}")
        stored["owners"].discard(owner_uid)
        return True

    async def protect_secret(
        self,
        namespace: str,
        name: str,
        finalizer: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        self.writes.append(f"protect secret {name}")
        self.secrets[(namespace, name)].setdefault("finalizers", set()).add(finalizer)
        self.secrets[(namespace, name)].setdefault("labels", {}).update(labels)
        self.secrets[(namespace, name)]["annotations"].update(annotations or {})

    async def unprotect_secret(self, namespace: str, name: str, finalizer: str) -> None:
        self.writes.append(f"unprotect secret {name}")
        if (namespace, name) in self.secrets:
            self.secrets[(namespace, name)].setdefault("finalizers", set()).discard(finalizer)

    async def delete_owned_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        stored = self.secrets.get((namespace, name))
        if stored is None or owner_uid not in stored["owners"]:
            return False
        self.writes.append(f"delete secret {name}")
        return self.secrets.pop((namespace, name), None) is not None

    async def patch_status(
        self, kind: ResourceKind, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        # A JSON merge patch: null removes a field.
        self.status_writes.append(f"{kind.plural}/{name}")
        stored = self.statuses.setdefault((kind.plural, namespace, name), {})
        stored.update(copy.deepcopy(dict(status)))
        for key in [k for k, v in stored.items() if v is None]:
            del stored[key]

    async def add_finalizer(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        finalizer: str,
        *,
        current: Sequence[str],
        resource_version: str,
    ) -> None:
        self.writes.append(f"add finalizer {kind.plural}/{name}")
        for stored in self.objects.get((kind.plural, namespace), []):
            if stored["metadata"]["name"] == name:
                stored["metadata"]["finalizers"] = [*current, finalizer]

    async def read_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any] | None:
        found = [o for o in self.objects.get((kind.plural, namespace), []) if o["metadata"]["name"] == name]
        return copy.deepcopy(found[0]) if found else None

    async def list_objects(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.objects.get((kind.plural, namespace), []))

    async def post_event(self, subject: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.events.append((subject.name, type_, reason, message))

    async def watch_secrets(self, label_selector: str, namespace: str | None) -> AsyncIterator[SecretEvent]:
        """No Secret changes: the component tier calls reconciles directly, nothing watches."""
        self.writes.append(f"watch secrets {label_selector}")
        await asyncio.Event().wait()
        yield SecretEvent("ADDED", "", "", SecretData(data={}, annotations={}))  # never reached

    async def close(self) -> None:
        return None


_: KubernetesPort = FakeKube()
