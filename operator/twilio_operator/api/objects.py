"""What every reconciled object has: its identity from metadata, and a reference to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twilio_operator.api.models import ResourceKind


@dataclass(frozen=True)
class ObjectRef:
    """Enough of an object to own a Secret and to be the subject of an Event."""

    kind: ResourceKind
    namespace: str
    name: str
    uid: str

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.kind.api_version,
            "kind": self.kind.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def identity(body: dict[str, Any]) -> dict[str, Any]:
    """The metadata every reconciled object carries: namespace, name, uid, generation, annotations."""
    meta = body["metadata"]
    return {
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "generation": int(meta.get("generation") or 0),
        "annotations": dict(meta.get("annotations") or {}),
    }
