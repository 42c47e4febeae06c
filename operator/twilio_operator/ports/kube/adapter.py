"""The Kubernetes port's adapter over kubernetes_asyncio.

Every refusal of the API server leaves this module as a `KubernetesError` that carries the server's
own reason and message (for a 422, the field at fault), so that a reconcile can say it in a condition.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import json
import logging
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

from kubernetes_asyncio import client as k8s
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.client.exceptions import ApiException

from twilio_operator.api.errors import KubernetesError, NotFoundError
from twilio_operator.api.models import GROUP, VERSION, ResourceKind
from twilio_operator.api.objects import ObjectRef
from twilio_operator.api.times import rfc3339
from twilio_operator.ports.kube.port import SIP_SECRET_LABELS, KubernetesPort, SecretData, SecretEvent

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)
EVENT_DEDUP_WINDOW = 600.0  # seconds: repeats of the same event within it bump a count instead
COMPONENT = "twilio-operator"
# kubernetes_asyncio would send a dict body as a JSON patch; say what it is (its stubs omit the kwarg).
MERGE = {"_content_type": "application/merge-patch+json"}
JSON_PATCH = {"_content_type": "application/json-patch+json"}
STRATEGIC = {"_content_type": "application/strategic-merge-patch+json"}
APPLY = {"_content_type": "application/apply-patch+yaml"}  # JSON is YAML: the body is sent as JSON
# Raw JSON instead of model objects: building V1Secret/CoreV1Event parses every timestamp of
# managedFields, which was a large share of the operator's CPU at a thousand objects.
RAW = {"_preload_content": False}
WATCH_SECONDS = 300  # the API server ends each watch request after this; the next one resumes
WATCH_RETRY_MAX = 60.0  # seconds between attempts while the API server refuses or is away


async def _raw(call: Awaitable[Any]) -> bytes:
    """The body of a raw (_preload_content=False) call; ApiException on a non-2xx status."""
    response = await call
    try:
        body = await response.read()
    finally:
        response.release()
    if not 200 <= response.status < 300:
        error = ApiException(status=response.status, reason=response.reason)
        error.body = body.decode("utf-8", "replace")
        raise error
    return cast(bytes, body)


async def _json(call: Awaitable[Any]) -> dict[str, Any]:
    """The decoded body of a raw (_preload_content=False) call; ApiException on a non-2xx status."""
    decoded: dict[str, Any] = json.loads(await _raw(call))
    return decoded


async def _sent(call: Awaitable[Any]) -> None:
    """A raw write whose answer is not needed: only its status is checked. Without RAW the client
    builds a model of the object the server returns (V1Secret, managedFields and all) to be thrown
    away: 4.5 % of the operator's CPU in a burst of creates."""
    await _raw(call)


async def connect() -> KubernetesGateway:
    """A gateway with the in-cluster ServiceAccount, or else the kubeconfig (KUBECONFIG, ~/.kube/config)."""
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        await k8s_config.load_kube_config()
    client = k8s.ApiClient()
    settle_environment(client)
    return KubernetesGateway(client)


def settle_environment(client: k8s.ApiClient) -> None:
    """Read the proxy environment once, not on every request.

    kubernetes_asyncio opens its aiohttp session with trust_env=True, so aiohttp looks up ~/.netrc and
    the *_PROXY variables for each request, each in a worker thread (two thread hops per request:
    about 6 % of the operator's CPU in a burst of creates). Here the proxy that applies to the API
    server, if any, is resolved now and given to the client explicitly, and the per-request lookups
    are turned off. ~/.netrc is not read: the client authenticates with its token or certificate,
    and kopf's own client (trust_env False, its default) does not read it either.
    """
    rest = client.rest_client
    session = rest.pool_manager
    if not session.trust_env:
        return
    if not rest.proxy:
        proxy, authorization = env_proxy_for(str(client.configuration.host))
        if proxy:
            rest.proxy = proxy
            if authorization:
                rest.proxy_headers = {**(rest.proxy_headers or {}), "Proxy-Authorization": authorization}
    session._trust_env = False  # aiohttp has no public setter; tests/unit/test_kube_client.py checks it


def env_proxy_for(url: str) -> tuple[str | None, str | None]:
    """The proxy the environment (*_PROXY, NO_PROXY) names for `url`, as aiohttp's trust_env reads it:
    the proxy URL without its credentials, and those as a Proxy-Authorization value."""
    target = urlsplit(url)
    if not target.hostname or proxy_bypass(target.hostname):
        return None, None
    proxy = getproxies().get(target.scheme)
    if not proxy:
        return None, None
    parts = urlsplit(proxy)
    if parts.username is None:
        return proxy, None
    user, password = unquote(parts.username), unquote(parts.password or "")
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    token = base64.b64encode(f"{user}:{password}".encode("latin1")).decode("ascii")
    return urlunsplit(parts._replace(netloc=netloc)), f"Basic {token}"


def _key(secret: Mapping[str, Any]) -> tuple[str, str]:
    meta = secret.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _version(secret: Mapping[str, Any]) -> str:
    return str((secret.get("metadata") or {}).get("resourceVersion") or "")


def _event(kind: str, secret: Mapping[str, Any]) -> SecretEvent:
    namespace, name = _key(secret)
    return SecretEvent(kind, namespace, name, _secret_data(secret))


def _secret_data(secret: Mapping[str, Any]) -> SecretData:
    """A Secret's JSON as SecretData; a value that is not base64 is kept as it came."""
    meta = secret.get("metadata") or {}
    data: dict[str, bytes] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError, TypeError):
            data[key] = str(value).encode()
    return SecretData(
        data=data,
        annotations=dict(meta.get("annotations") or {}),
        finalizers=frozenset(meta.get("finalizers") or ()),
        deleting=bool(meta.get("deletionTimestamp")),
        labels=dict(meta.get("labels") or {}),
        owner_uids=frozenset(str(o.get("uid")) for o in meta.get("ownerReferences") or () if o.get("uid")),
    )


def _short(error: BaseException) -> str:
    """What went wrong, without a response body (a Secret's data could be in one)."""
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {error.reason or ''}".strip()
    return type(error).__name__


def current_namespace() -> str:
    """The namespace of the kubeconfig's current context (as kubectl would use), else "default"."""
    try:
        _, active = k8s_config.list_kube_config_contexts()
    except (k8s_config.ConfigException, OSError):
        return "default"
    return str(((active or {}).get("context") or {}).get("namespace") or "default")


def _server_status(exc: ApiException) -> dict[str, Any]:
    """The API server's Status body of a refusal (never the request we sent); {} if there is none."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _server_message(exc: ApiException) -> str:
    """The API server's own explanation of a refusal."""
    return str(_server_status(exc).get("message") or "")


def _already_exists(exc: ApiException) -> bool:
    """A create refused because the name is taken. Other 409s exist: an admission webhook may deny a
    create with code 409, and then there is no object to update."""
    return exc.status == 409 and _server_status(exc).get("reason") == "AlreadyExists"


def _translated(
    operation: str,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Turn an ApiException of the wrapped call into a KubernetesError naming `operation`."""

    def decorate(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await fn(*args, **kwargs)
            except ApiException as exc:
                raise KubernetesError(operation, exc.status, exc.reason or "", _server_message(exc)) from None

        return wrapper

    return decorate


class KubernetesGateway(KubernetesPort):
    """KubernetesPort over kubernetes_asyncio."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self._api = api
        self._closed = False  # the Secret watches end quietly once the client is closed
        self._core = k8s.CoreV1Api(api)
        self._custom = k8s.CustomObjectsApi(api)
        # (uid, reason, message) -> (event name, count, first seen, last posted)
        self._recent_events: dict[tuple[str, str, str], tuple[str, int, float]] = {}

    async def close(self) -> None:
        self._closed = True
        await self._api.close()

    # ---- Secrets

    @_translated("read Secret")
    async def read_secret(self, namespace: str, name: str) -> SecretData | None:
        try:
            secret = await _json(cast(Any, self._core).read_namespaced_secret(name, namespace, **RAW))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _secret_data(secret)

    @_translated("protect Secret")
    async def protect_secret(
        self,
        namespace: str,
        name: str,
        finalizer: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        """Add a finalizer (a strategic merge appends to the list), labels and annotations."""
        meta: dict[str, Any] = {"finalizers": [finalizer], "labels": dict(labels)}
        if annotations:
            meta["annotations"] = dict(annotations)
        patch = {"metadata": meta}
        await self._patch_secret(name, namespace, patch, STRATEGIC)

    @_translated("release Secret protection")
    async def unprotect_secret(self, namespace: str, name: str, finalizer: str) -> None:
        patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": [finalizer]}}
        try:
            await self._patch_secret(name, namespace, patch, STRATEGIC)
        except ApiException as exc:
            if exc.status != 404:
                raise

    @_translated("write Secret")
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
        """Create the Secret, or merge into it if it exists (labels and other keys are kept, except the
        data keys and annotations named to be removed)."""
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "annotations": dict(annotations),
            "labels": {**(labels or {}), **SIP_SECRET_LABELS},
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
            created = await _json(cast(Any, self._core).create_namespaced_secret(namespace, body, **RAW))
            return str(created["metadata"]["resourceVersion"])
        except ApiException as exc:
            if not _already_exists(exc):
                raise
        if only_if_absent:
            return None
        patch: dict[str, Any] = {
            "metadata": {
                "annotations": {**{key: None for key in remove_annotations}, **annotations},
                "labels": metadata["labels"],
            },
            "stringData": dict(data),
        }
        if remove_keys:  # a merge patch deletes a key set to null; stringData then adds the new ones
            patch["data"] = {key: None for key in remove_keys if key not in data}
        if owner is not None:
            patch["metadata"]["ownerReferences"] = [owner.owner_reference()]
        return await self._patch_secret(name, namespace, patch, MERGE)

    @_translated("annotate Secret")
    async def annotate_secret(
        self, namespace: str, name: str, annotations: Mapping[str, str], *, unchanged_since: str | None = None
    ) -> bool:
        meta: dict[str, Any] = {"annotations": dict(annotations)}
        if unchanged_since is not None:
            meta["resourceVersion"] = unchanged_since  # a precondition: 409 Conflict if it moved on
        try:
            await self._patch_secret(name, namespace, {"metadata": meta}, MERGE)
        except ApiException as exc:
            if unchanged_since is None or exc.status != 409:
                raise
            return False
        return True

    @_translated("release Secret")
    async def release_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Drop our owner reference so that garbage collection keeps the Secret (Orphan policy)."""
        try:
            meta = (await _json(cast(Any, self._core).read_namespaced_secret(name, namespace, **RAW)))[
                "metadata"
            ]
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        owners = meta.get("ownerReferences") or []
        if not any(o.get("uid") == owner_uid for o in owners):
            return False
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": meta["resourceVersion"]},
            {
                "op": "replace",
                "path": "/metadata/ownerReferences",
                "value": [o for o in owners if o.get("uid") != owner_uid],
            },
        ]
        await self._patch_secret(name, namespace, patch, JSON_PATCH)
        return True

    async def _patch_secret(self, name: str, namespace: str, patch: Any, content_type: dict[str, str]) -> str:
        """Patch the Secret; its resourceVersion after the patch (read from the raw answer)."""
        patched = await _json(
            cast(Any, self._core).patch_namespaced_secret(name, namespace, patch, **content_type, **RAW)
        )
        return str(patched["metadata"]["resourceVersion"])

    @_translated("apply ConfigMap")
    async def apply_config_map(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        owner: ObjectRef | None,
    ) -> None:
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, "app.kubernetes.io/managed-by": COMPONENT},
            "annotations": dict(annotations),
        }
        if owner is not None:
            metadata["ownerReferences"] = [owner.owner_reference()]
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}
        await _sent(
            cast(Any, self._core).patch_namespaced_config_map(
                name, namespace, body, field_manager=COMPONENT, force=True, **APPLY, **RAW
            )
        )

    @_translated("read the owner of ConfigMap")
    async def config_map_owned_by(self, namespace: str, name: str, owner_uid: str) -> bool | None:
        # A patch that only tests changes nothing; the API server answers 422 when the test fails.
        probe = [{"op": "test", "path": "/metadata/ownerReferences/0/uid", "value": owner_uid}]
        try:
            await _sent(
                cast(Any, self._core).patch_namespaced_config_map(name, namespace, probe, **JSON_PATCH, **RAW)
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 422:
                return False
            raise
        return True

    @_translated("delete Secret")
    async def delete_owned_secret(self, namespace: str, name: str, owner_uid: str) -> bool:
        """Delete the Secret only if `owner_uid` owns it; the preconditions make sure that the Secret
        deleted is the one read (a Secret made again under the name in between is left alone)."""
        try:
            secret = await _json(cast(Any, self._core).read_namespaced_secret(name, namespace, **RAW))
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        meta = secret.get("metadata") or {}
        if not any(o.get("uid") == owner_uid for o in meta.get("ownerReferences") or ()):
            return False
        preconditions = {"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}
        try:
            await cast(Any, self._core).delete_namespaced_secret(
                name, namespace, body={"preconditions": preconditions}
            )
        except ApiException as exc:
            if exc.status in (404, 409):  # gone, or changed since the read: the next round decides
                return False
            raise
        return True

    # ---- Secret watch

    async def watch_secrets(self, label_selector: str, namespace: str | None) -> AsyncIterator[SecretEvent]:
        """List, then watch from the listing's resourceVersion, with the selector applied by the API
        server: only matching Secrets ever reach this process. A 410 Gone (or any broken stream that
        cannot resume) lists again, and what changed in the gap is reported against the
        resourceVersions seen so far (one short string per matching Secret)."""
        known: dict[tuple[str, str], str] = {}
        listed = False
        failures = 0
        while not self._closed:
            try:
                listing = await _json(self._list_secrets(label_selector, namespace, RAW))
            except Exception as error:  # as for the stream below
                if self._closed:
                    return
                failures += 1
                log.warning("cannot list Secrets (%s): %s", label_selector, _short(error))
                await asyncio.sleep(min(2.0**failures, WATCH_RETRY_MAX))
                continue
            current = {_key(item): _version(item) for item in listing.get("items") or []}
            if listed:  # a relisting: report what changed while no watch was open
                for item in listing.get("items") or []:
                    if known.get(_key(item)) != _version(item):
                        yield _event("MODIFIED" if _key(item) in known else "ADDED", item)
                for gone in known.keys() - current.keys():
                    yield SecretEvent("DELETED", gone[0], gone[1], SecretData(data={}, annotations={}))
            known, listed = current, True
            version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
            del listing
            # Watch until the server says the version is too old (then list again).
            while version and not self._closed:
                try:
                    stream = self._stream_secrets(label_selector, namespace, version)
                    async with contextlib.aclosing(stream):
                        async for kind, item in stream:
                            failures = 0
                            if kind == "ERROR":
                                version = ""  # 410 Gone or similar: list again
                                break
                            version = _version(item) or version
                            if kind == "BOOKMARK":
                                continue
                            if kind == "DELETED":
                                known.pop(_key(item), None)
                            else:
                                known[_key(item)] = _version(item)
                            yield _event(kind, item)
                except Exception as error:
                    # Whatever breaks a stream (aiohttp's own errors included: this module must not
                    # import aiohttp, see .importlinter) is retried; the log names its type.
                    if self._closed:
                        return
                    if isinstance(error, ApiException) and error.status == 410:
                        version = ""  # too old to resume from: list again at once
                        continue
                    failures += 1
                    log.warning("Secret watch (%s) broke: %s", label_selector, _short(error))
                    await asyncio.sleep(min(2.0**failures, WATCH_RETRY_MAX))
                    if failures > 3:
                        version = ""

    def _list_secrets(self, label_selector: str, namespace: str | None, extra: Mapping[str, Any]) -> Any:
        core = cast(Any, self._core)
        if namespace is None:
            return core.list_secret_for_all_namespaces(label_selector=label_selector, **extra)
        return core.list_namespaced_secret(namespace, label_selector=label_selector, **extra)

    async def _stream_secrets(
        self, label_selector: str, namespace: str | None, version: str
    ) -> AsyncGenerator[tuple[str, dict[str, Any]]]:
        """(event type, object) of one watch request, parsed line by line as the bytes arrive."""
        options = {
            **RAW,
            "watch": True,
            "resource_version": version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": WATCH_SECONDS,
            "_request_timeout": WATCH_SECONDS + 30,
        }
        response = await self._list_secrets(label_selector, namespace, options)
        try:
            if not 200 <= response.status < 300:
                error = ApiException(status=response.status, reason=response.reason)
                error.body = (await response.read()).decode("utf-8", "replace")
                raise error
            pending = b""
            async for chunk in response.content.iter_any():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = json.loads(line)
                        yield str(event.get("type")), event.get("object") or {}
        finally:
            response.release()

    # ---- custom objects

    @_translated("write status")
    async def patch_status(
        self, kind: ResourceKind, namespace: str, name: str, status: Mapping[str, Any]
    ) -> None:
        try:
            await _sent(
                cast(Any, self._custom).patch_namespaced_custom_object_status(
                    GROUP, VERSION, namespace, kind.plural, name, {"status": dict(status)}, **MERGE, **RAW
                )
            )
        except ApiException as exc:
            if exc.status == 404:
                raise NotFoundError(f"{kind.kind} {namespace}/{name} is gone") from None
            raise

    @_translated("add finalizer")
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
        # A merge patch replaces the whole list; the resourceVersion makes it a compare-and-swap, so
        # a finalizer another controller added meanwhile is never dropped.
        patch = {"metadata": {"finalizers": [*current, finalizer], "resourceVersion": resource_version}}
        try:
            await _sent(
                cast(Any, self._custom).patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, kind.plural, name, patch, **MERGE, **RAW
                )
            )
        except ApiException as exc:
            if exc.status == 404:
                raise NotFoundError(f"{kind.kind} {namespace}/{name} is gone") from None
            raise

    @_translated("read object")
    async def read_object(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found = await _json(
                cast(Any, self._custom).get_namespaced_custom_object(
                    GROUP, VERSION, namespace, kind.plural, name, **RAW
                )
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    @_translated("list objects")
    async def list_objects(self, kind: ResourceKind, namespace: str) -> list[dict[str, Any]]:
        result = await self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural)
        items: list[dict[str, Any]] = result.get("items", [])
        return items

    # ---- Events

    async def post_event(self, subject: ObjectRef, type_: str, reason: str, message: str) -> None:
        """Post a core/v1 Event; a repeat within EVENT_DEDUP_WINDOW bumps the count of the first one."""
        key = (subject.uid, reason, message)
        now = time.monotonic()
        stamp = rfc3339(datetime.now(UTC))
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
                    "apiVersion": subject.kind.api_version,
                    "kind": subject.kind.kind,
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
