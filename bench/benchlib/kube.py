"""A small Kubernetes REST client for the benchmark driver: keep-alive HTTPS, a request counter (so the
operator's API-server requests can be told apart from ours), a watch-based "done" recorder, and a
scraper for the API server's request counter."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from twilio_operator.api.models import GROUP, VERSION
from twilio_operator.testing.controlplane import ControlPlane

Obj = dict[str, Any]


class KubeClient:
    """Admin client from a kubeconfig (the JSON one ControlPlane writes); one connection per thread."""

    def __init__(self, kubeconfig: Path) -> None:
        config = json.loads(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        server = urlparse(cluster["server"])
        self.host = server.hostname or "127.0.0.1"
        self.port = server.port or 443
        self._certdir = tempfile.TemporaryDirectory(prefix="bench-kube-")
        cert = Path(self._certdir.name) / "client.crt"
        key = Path(self._certdir.name) / "client.key"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self._ssl = ssl.create_default_context(cadata=ca)
        self._ssl.load_cert_chain(str(cert), str(key))
        self._local = threading.local()
        self._lock = threading.Lock()
        self.sent = 0  # every request this client issued, watches included

    def connection(self, timeout: float = 30.0) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self._ssl, timeout=timeout)

    def count(self, n: int = 1) -> None:
        with self._lock:
            self.sent += n

    def request(self, method: str, path: str, body: Any = None, content_type: str = "") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type or "application/json", "Accept": "application/json"}
        for attempt in range(2):  # a kept-alive connection may have been closed by the server
            conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self.connection()
            try:
                self.count()
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def create(self, path: str, body: Obj) -> Obj:
        status, result = self.request("POST", path, body)
        if status != 201:
            raise RuntimeError(f"POST {path}: HTTP {status}: {result}")
        created: Obj = result
        return created

    def close(self) -> None:
        self._certdir.cleanup()


def object_path(plural: str, namespace: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
    return f"{base}/{name}" if name else base


def providers_path(namespace: str, name: str = "") -> str:
    return object_path("twilioproviders", namespace, name)


def secrets_path(namespace: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{namespace}/secrets"
    return f"{base}/{name}" if name else base


def operator_ready(obj: Obj) -> bool:
    """Ready=True for the current generation (what `wait_ready` in the integration tests checks)."""
    generation = obj.get("metadata", {}).get("generation")
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True" and cond.get("observedGeneration") == generation)
    return False


def floor_done(obj: Obj) -> bool:
    """The floor operator's only effect: status.observedGeneration == metadata.generation."""
    generation = obj.get("metadata", {}).get("generation")
    return generation is not None and (obj.get("status") or {}).get("observedGeneration") == generation


class DoneWatcher:
    """Watches the objects (TwilioProviders by default) of one namespace; records when each first
    satisfies `done`.

    A watch (not polling) so that observing costs the API server one request, not N x 50/s.
    """

    def __init__(
        self, kube: KubeClient, namespace: str, done: Callable[[Obj], bool], plural: str = "twilioproviders"
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.done = done
        self.plural = plural
        self.done_at: dict[str, float] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._conn: http.client.HTTPSConnection | None = None
        self._thread = threading.Thread(target=self._run, name=f"watch-{namespace}", daemon=True)
        self._started = threading.Event()

    def start(self) -> DoneWatcher:
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("watch did not start")
        return self

    def stop(self) -> None:
        self._stopped = True
        conn = self._conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):  # unblocks the reading thread
                conn.sock.shutdown(2)
        if self._thread.is_alive():
            self._thread.join(5)

    def _see(self, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        if name not in self.done_at and self.done(obj):
            now = time.monotonic()
            with self._cond:
                self.done_at[name] = now
                self._cond.notify_all()

    def _run(self) -> None:
        base = object_path(self.plural, self.namespace)
        while not self._stopped:
            status, listing = self.kube.request("GET", base)
            if status != 200:
                time.sleep(0.5)
                continue
            for item in listing["items"]:
                self._see(item)
            version = listing["metadata"]["resourceVersion"]
            conn = self._conn = self.kube.connection(timeout=700)
            self.kube.count()
            try:
                conn.request("GET", f"{base}?watch=1&resourceVersion={version}&timeoutSeconds=600")
                response = conn.getresponse()
                self._started.set()
                for line in response:
                    event = json.loads(line)
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._see(event["object"])
                    elif event["type"] == "ERROR":
                        break  # e.g. 410 Gone: list again
            except (http.client.HTTPException, OSError, ValueError):
                if self._stopped:
                    return
            finally:
                conn.close()

    def wait(self, names: Iterable[str], timeout: float) -> bool:
        wanted = set(names)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not wanted <= self.done_at.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 1.0))
        return True

    def count_done(self, names: Iterable[str]) -> int:
        with self._cond:
            return sum(1 for name in names if name in self.done_at)


# --------------------------------------------------------------------------- API-server request counter

_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')
# Probes and our own metric scrapes are not the operator's work.
_IGNORED_SUBRESOURCES = {"/metrics", "/readyz", "/livez", "/healthz"}


def apiserver_requests(cp: ControlPlane) -> dict[str, float]:
    """apiserver_request_total summed by "VERB resource[/subresource]" (scraped with the admin cert).

    Long-running requests (WATCH) are counted by the API server when they end.
    """
    status, text = cp.request("GET", "/metrics")
    if status != 200 or not isinstance(text, str):
        raise RuntimeError(f"GET /metrics: HTTP {status}")
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        if labels.get("subresource") in _IGNORED_SUBRESOURCES:
            continue
        resource = labels.get("resource") or "-"
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        key = f"{labels.get('verb', '?')} {resource}"
        totals[key] = totals.get(key, 0.0) + float(match["value"])
    return totals


def diff_requests(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    keys = before.keys() | after.keys()
    delta = {k: int(after.get(k, 0) - before.get(k, 0)) for k in keys}
    return {k: v for k, v in sorted(delta.items()) if v}
