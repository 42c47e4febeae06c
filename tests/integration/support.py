"""Helpers for the integration tier: the operator as a real process, and small API-server calls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, TypeVar

from twilio_operator.api.models import GROUP, VERSION
from twilio_operator.testing.controlplane import ControlPlane
from twilio_operator.testing.ports import free_ports
from twilio_operator.testing.waiting import wait_for

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
PROVIDERS = "twilioproviders"
NUMBERS = "twiliophonenumbers"


class OperatorProcess:
    """`twilio-operator run` in a subprocess, as a user runs it, pointed at the emulator."""

    def __init__(
        self,
        kubeconfig: Path,
        emulator_url: str,
        log_path: Path,
        namespaces: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.emulator_url = emulator_url
        self.log_path = log_path
        self.namespaces = namespaces or []
        self.extra_env = extra_env or {}
        self.liveness_port, self.metrics_port = free_ports(2)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        args = [sys.executable, "-m", "twilio_operator.cli", "run", "--standalone", "--verbose"]
        args += [f"--namespace={ns}" for ns in self.namespaces] or ["--all-namespaces"]
        args.append(f"--liveness=http://127.0.0.1:{self.liveness_port}/healthz")
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "TWILIO_OPERATOR_TWILIO_BASE_URL": self.emulator_url,
            # Verification intervals in tests: 1m takes 2 s, the default 1h takes 2 min.
            "TWILIO_OPERATOR_VERIFICATION_INTERVAL_SCALE": str(2 / 60),
            "TWILIO_OPERATOR_METRICS_PORT": str(self.metrics_port),
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        wait_for(self.alive, timeout=30, what=f"operator liveness (log: {self.log_path})")
        return self

    def alive(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"operator exited: {self.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.liveness_port}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def metrics(self) -> str:
        """The operator's /metrics page (Prometheus text format)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return str(r.read().decode())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --------------------------------------------------------------------------- API-server helpers


def path(plural: str, namespace: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
    return f"{base}/{name}" if name else base


def create(
    cp: ControlPlane, plural: str, namespace: str, name: str, spec: dict[str, Any], **meta: Any
) -> dict[str, Any]:
    kind = {"twilioproviders": "TwilioProvider", "twiliophonenumbers": "TwilioPhoneNumber"}[plural]
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name, **meta},
        "spec": spec,
    }
    status, result = cp.request("POST", path(plural, namespace), body)
    assert status == 201, result
    created: dict[str, Any] = result
    return created


def get(cp: ControlPlane, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    status, result = cp.request("GET", path(plural, namespace, name))
    if status == 404:
        return None
    assert status == 200, result
    found: dict[str, Any] = result
    return found


def merge_patch(cp: ControlPlane, kind: str, namespace: str, name: str, patch: dict[str, Any]) -> None:
    import json

    result = cp.kubectl("patch", kind, name, "-n", namespace, "--type=merge", "-p", json.dumps(patch))
    assert result.returncode == 0, result.stderr


def condition(obj: dict[str, Any] | None, type_: str = "Ready") -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == type_:
            found: dict[str, Any] = cond
            return found
    return {}


def wait_ready(
    cp: ControlPlane, plural: str, namespace: str, name: str, timeout: float = 30.0
) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        obj = get(cp, plural, namespace, name)
        cond = condition(obj)
        gen = (obj or {}).get("metadata", {}).get("generation")
        if cond.get("status") == "True" and cond.get("observedGeneration") == gen:
            return obj
        return None

    return wait_for(ready, timeout, f"{plural} {namespace}/{name} Ready")


def secret(cp: ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    status, result = cp.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    if status == 404:
        return None
    assert status == 200, result
    found: dict[str, Any] = result
    return found


def put_secret(cp: ControlPlane, namespace: str, name: str, string_data: dict[str, str]) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": string_data}
    status, result = cp.request("POST", f"/api/v1/namespaces/{namespace}/secrets", body)
    if status == 409:
        status, result = cp.request("PUT", f"/api/v1/namespaces/{namespace}/secrets/{name}", body)
    assert status in (200, 201), result


def events(cp: ControlPlane, namespace: str, name: str | None = None) -> list[dict[str, Any]]:
    status, result = cp.request("GET", f"/api/v1/namespaces/{namespace}/events")
    assert status == 200, result
    items: list[dict[str, Any]] = result["items"]
    return [e for e in items if name is None or e["involvedObject"]["name"] == name]
