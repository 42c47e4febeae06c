"""The narrow async port to Kubernetes: Secrets, status and Events.

kopf owns the watches of our own kinds and the handler protocol (finalizers, progress). This port
does the writes that a reconcile needs in the middle of its work, such as the SIP password Secret
before Twilio is called and a SID in status right after Twilio created it, which kopf's end-of-handler
patch cannot do. It also watches Secrets by label (`watch_secrets`): kopf filters labels only after
it has received every Secret, data included, which costs memory in proportion to all the Secrets of
the cluster.

Contract: non-blocking; the API server's refusals arrive as `KubernetesError` (with its reason and
message), a status patch of a vanished object as `NotFoundError`; Events are best effort.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from twilio_operator.api.credentials import decoded_text
from twilio_operator.api.models import ResourceKind
from twilio_operator.api.objects import ObjectRef
from twilio_operator.api.ownership import SIP_SECRET_LABELS

__all__ = ["SIP_SECRET_LABELS", "KubernetesPort", "SecretData", "SecretEvent"]


@dataclass(frozen=True)
class SecretData:
    """A Secret's decoded data and its annotations. Values are only ever held in memory."""

    data: Mapping[str, bytes] = field(repr=False)
    annotations: Mapping[str, str]
    finalizers: frozenset[str] = frozenset()
    deleting: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    owner_uids: frozenset[str] = frozenset()  # metadata.ownerReferences[].uid

    def text(self, key: str) -> str | None:
        return decoded_text(self.data, key)


@dataclass(frozen=True)
class SecretEvent:
    """One change of a watched Secret: `ADDED`, `MODIFIED` or `DELETED`. After a broken watch the
    Secrets are listed again and what changed meanwhile is reported the same way; the first listing
    is not reported (whoever starts the watch reads what it needs)."""

    type: str
    namespace: str
    name: str
    secret: SecretData


class KubernetesPort(Protocol):
    async def read_secret(self, namespace: str, name: str) -> SecretData | None: ...
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
        """Create the Secret, or merge into it: `data`, `annotations` and `labels` are set, the keys
        and annotations named in `remove_*` are deleted, everything else is kept. Returns the
        Secret's resourceVersion after the write; with `only_if_absent` an existing Secret is left
        alone and None returned."""
        ...

    async def annotate_secret(
        self, namespace: str, name: str, annotations: Mapping[str, str], *, unchanged_since: str | None = None
    ) -> bool:
        """Merge `annotations` into the Secret. With `unchanged_since` (a resourceVersion), only if
        nobody has written the Secret since: False, and nothing written, if somebody has."""
        ...

    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Drop the owner reference of `owner_uid` (garbage collection then keeps the Secret); True if
        the Secret was that owner's."""
        ...

    async def protect_secret(
        self,
        namespace: str,
        name: str,
        finalizer: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
    ) -> None: ...
    async def unprotect_secret(self, namespace: str, name: str, finalizer: str) -> None: ...
    async def delete_owned_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Delete the Secret if the object with `owner_uid` owns it (an owner reference); True if
        deleted. A Secret nobody proved ours is never deleted by name alone."""
        ...

    async def apply_config_map(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: ObjectRef | None,
    ) -> None:
        """Server-side apply of a ConfigMap the operator owns: the keys it applied before and does not
        apply now are removed; needs only create and patch on configmaps (never get or list)."""
        ...

    async def config_map_owned_by(self, namespace: str, name: str, owner_uid: str) -> bool | None:
        """Whether the ConfigMap's first owner reference is `owner_uid`; None when it does not exist.
        Needs only patch on configmaps (a JSON patch that only tests), like the apply."""
        ...

    async def patch_status(
        self, kind: ResourceKind, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None: ...
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
        """Add `finalizer` to the object's `current` finalizers, if the object is still at
        `resource_version` (409 otherwise: someone changed them meanwhile; read again and retry)."""
        ...

    async def read_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any] | None: ...
    async def list_objects(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]: ...
    def watch_secrets(self, label_selector: str, namespace: str | None) -> AsyncIterator[SecretEvent]:
        """Changes of the Secrets matching `label_selector` (server-side), in `namespace` or, with
        None, in every namespace. Runs until closed; reconnects and lists again by itself."""
        ...

    async def post_event(self, subject: ObjectRef, type_: str, reason: str, message: str) -> None: ...
    async def close(self) -> None: ...
