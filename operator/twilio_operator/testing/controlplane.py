"""A real kube-apiserver + etcd on loopback for tests and `make cluster`, started the way envtest does.

    with ControlPlane() as cp:
        subprocess.run(["kubectl", "--kubeconfig", str(cp.kubeconfig), "get", "ns"])

Run as a module it is the `make cluster` CLI: `python -m twilio_operator.testing.controlplane up|down|status`.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from twilio_operator.testing.binaries import Binaries, find_binaries
from twilio_operator.testing.certs import CertAuthority, KeyPair, service_account_signing_pair
from twilio_operator.testing.clients import run_kubectl, write_kubeconfig
from twilio_operator.testing.ports import free_port, free_ports
from twilio_operator.testing.process import ManagedProcess

__all__ = ["ControlPlane", "StartupError", "free_port", "run_kubectl", "unique_name", "write_kubeconfig"]

HOST = "127.0.0.1"
_T = TypeVar("_T")
START_ATTEMPTS = 3  # fresh ports each time: a free port can be taken between probing and binding


# Loopback only: never route through an HTTP(S)_PROXY from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartupError(RuntimeError):
    """The control plane did not become ready; the message carries the tail of the process log."""


def unique_name(prefix: str = "t") -> str:
    """A fresh DNS-1123 name, e.g. for a namespace per test (namespaces never finish deleting here)."""
    return f"{prefix}-{secrets.token_hex(4)}"


def start_timeout() -> float:
    """KUBEBUILDER_CONTROLPLANE_START_TIMEOUT (e.g. "60s"), default 60 s: first start on 2 CPUs is slow."""
    raw = os.environ.get("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT", "60s")
    return float(raw.removesuffix("s"))


# The audit log records who wrote what (the metadata of each write, never a body): enough for a test
# to prove that a process made no write under its identity. Reads are not logged, to keep it small.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
"""


class ControlPlane:
    """etcd + kube-apiserver in a work directory (a fresh temp dir unless given); see module docstring."""

    def __init__(self, workdir: Path | None = None, *, binaries: Binaries | None = None) -> None:
        self._requested_workdir = workdir
        self._binaries = binaries
        self.workdir = Path()
        self.apiserver_port = 0
        self.etcd_port = 0
        self._etcd: ManagedProcess | None = None
        self._apiserver: ManagedProcess | None = None
        self._client_ca: CertAuthority | None = None
        self._serving_ca_pem = b""
        self._ssl: ssl.SSLContext | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ControlPlane:
        binaries = self._binaries or find_binaries()  # fails before any side effect
        self.workdir = self._make_workdir()
        atexit.register(self.stop)
        try:
            self._write_certificates()
            (self.workdir / "audit-policy.yaml").write_text(AUDIT_POLICY)
            self._start_processes(binaries)
            write_kubeconfig(self.kubeconfig, self.url, self._serving_ca_pem, "admin", self._admin_pair())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop apiserver then etcd (SIGTERM, then SIGKILL) and remove the work directory. Idempotent."""
        for process in (self._apiserver, self._etcd):
            if process is not None:
                process.stop()
        self._apiserver = self._etcd = None
        if self.workdir != Path():
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = Path()
        atexit.unregister(self.stop)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def restart_apiserver(self, *, graceful: bool = True) -> None:
        """Stop and start kube-apiserver in place (same port, etcd and certificates); waits for /readyz.

        graceful=False kills it with SIGKILL, like a crash.
        """
        apiserver = self._require(self._apiserver)
        if graceful:
            apiserver.stop()
        else:
            apiserver.kill()
        apiserver.start()
        self._wait_apiserver_ready(apiserver)

    def restart_etcd(self, *, graceful: bool = False) -> None:
        """Stop and start etcd in place (same ports and data); returns once the apiserver is ready again.

        By default etcd is SIGKILLed like a crash: nothing is lost (only fsync is skipped, and writes are
        in the page cache) and it is quick, whereas a graceful stop waits ~7 s for the apiserver's
        connections to drain.
        """
        etcd = self._require(self._etcd)
        if graceful:
            etcd.stop()
        else:
            etcd.kill()
        etcd.start()
        self._wait_etcd_healthy(etcd)
        self._wait_apiserver_ready(self._require(self._apiserver))

    # -- what tests use ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        """The admin (system:masters) kubeconfig."""
        return self.workdir / "kubeconfig"

    @property
    def pids(self) -> dict[str, int]:
        return {p.name: p.pid for p in (self._etcd, self._apiserver) if p is not None and p.pid is not None}

    def kubeconfig_for_user(self, name: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig authenticating as `name` in `groups` with a client cert signed by the client CA."""
        pair = self._require(self._client_ca).issue_client(name, groups)
        filename = re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".kubeconfig"
        return write_kubeconfig(self.workdir / "users" / filename, self.url, self._serving_ca_pem, name, pair)

    def kubeconfig_for_service_account(self, namespace: str, name: str) -> Path:
        """Exactly the user and groups a ServiceAccount token yields, so RBAC treats it the same.

        A client certificate rather than the TokenRequest API: no ServiceAccount object is needed
        (there is no controller-manager here) and it works before any RBAC exists.
        """
        user = f"system:serviceaccount:{namespace}:{name}"
        return self.kubeconfig_for_user(
            user, ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
        )

    def audit_writes(self) -> list[dict[str, Any]]:
        """The API server's audit events of every write so far (create, update, patch, delete), each
        with `user.username`, `verb`, `objectRef` and `responseStatus.code`: who changed what."""
        path = self.workdir / "audit.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A synchronous admin call to the REST API: (status, decoded JSON body or text)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 - https
        req.add_header("Content-Type", "application/json")
        try:
            with self._opener().open(req, timeout=10) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as error:
            return error.code, _decode(error.read())

    def create_namespace(self, prefix: str = "t") -> str:
        name = unique_name(prefix)
        status, body = self.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        if status != 201:
            raise RuntimeError(f"creating namespace {name}: HTTP {status}: {body}")
        return name

    def delete_namespace(self, name: str) -> None:
        """Only issues the delete: without a controller-manager a namespace stays Terminating forever."""
        self.request("DELETE", f"/api/v1/namespaces/{name}")

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_kubectl(*args, kubeconfig=self.kubeconfig, input=input)

    # -- internals ------------------------------------------------------------------------------

    def _make_workdir(self) -> Path:
        if self._requested_workdir is None:
            return Path(tempfile.mkdtemp(prefix="twilio-controlplane-"))
        self._requested_workdir.mkdir(parents=True, exist_ok=True)
        return self._requested_workdir

    def _write_certificates(self) -> None:
        certs = self.workdir / "certs"
        certs.mkdir(exist_ok=True)
        serving_ca = CertAuthority("twilio-operator-test-serving-ca")
        self._client_ca = CertAuthority("twilio-operator-test-client-ca")
        self._serving_ca_pem = serving_ca.cert_pem
        serving = serving_ca.issue_serving("kube-apiserver", ("localhost", HOST))
        admin = self._client_ca.issue_client("admin", ("system:masters",))
        files = {
            "serving-ca.crt": serving_ca.cert_pem,
            "apiserver.crt": serving.cert_pem,
            "apiserver.key": serving.key_pem,
            "client-ca.crt": self._client_ca.cert_pem,
            "admin.crt": admin.cert_pem,
            "admin.key": admin.key_pem,
        }
        sa = service_account_signing_pair()
        files |= {"sa-signer.pub": sa.cert_pem, "sa-signer.key": sa.key_pem}
        for filename, content in files.items():
            (certs / filename).write_bytes(content)
            (certs / filename).chmod(0o600)

    def _admin_pair(self) -> KeyPair:
        certs = self.workdir / "certs"
        return KeyPair((certs / "admin.crt").read_bytes(), (certs / "admin.key").read_bytes())

    def _admin_ssl_context(self) -> ssl.SSLContext:
        certs = self.workdir / "certs"
        context = ssl.create_default_context(cafile=str(certs / "serving-ca.crt"))
        context.load_cert_chain(str(certs / "admin.crt"), str(certs / "admin.key"))
        return context

    def _opener(self) -> urllib.request.OpenerDirector:
        https = urllib.request.HTTPSHandler(context=self._ssl)
        return urllib.request.build_opener(urllib.request.ProxyHandler({}), https)

    def _start_processes(self, binaries: Binaries) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self.etcd_port, peer_port, self.apiserver_port = free_ports(3)
            shutil.rmtree(self.workdir / "etcd", ignore_errors=True)  # a failed attempt's member data
            self._etcd = ManagedProcess("etcd", self._etcd_argv(binaries.etcd, peer_port), self._log("etcd"))
            self._apiserver = ManagedProcess(
                "kube-apiserver", self._apiserver_argv(binaries.kube_apiserver), self._log("kube-apiserver")
            )
            try:
                self._etcd.start()
                self._wait_etcd_healthy(self._etcd)
                self._apiserver.start()
                self._ssl = self._admin_ssl_context()
                self._wait_apiserver_ready(self._apiserver)
                return
            except StartupError as error:
                self._apiserver.stop()
                self._etcd.stop()
                if attempt == START_ATTEMPTS or "address already in use" not in str(error):
                    raise

    def _log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def _etcd_argv(self, etcd: Path, peer_port: int) -> list[str]:
        client_url, peer_url = f"http://{HOST}:{self.etcd_port}", f"http://{HOST}:{peer_port}"
        return [
            str(etcd),
            "--name=etcd",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=etcd={peer_url}",
            "--unsafe-no-fsync=true",  # test data: durability across power loss is not wanted
            "--log-level=warn",
        ]

    def _apiserver_argv(self, apiserver: Path) -> list[str]:
        certs = self.workdir / "certs"
        return [
            str(apiserver),
            f"--advertise-address={HOST}",  # without it an offline host has "no suitable network address"
            f"--bind-address={HOST}",
            f"--secure-port={self.apiserver_port}",
            f"--etcd-servers=http://{HOST}:{self.etcd_port}",
            f"--tls-cert-file={certs / 'apiserver.crt'}",
            f"--tls-private-key-file={certs / 'apiserver.key'}",
            f"--client-ca-file={certs / 'client-ca.crt'}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.0.0.0/24",
            f"--service-account-issuer=https://{HOST}:{self.apiserver_port}/",
            f"--service-account-key-file={certs / 'sa-signer.pub'}",
            f"--service-account-signing-key-file={certs / 'sa-signer.key'}",
            "--disable-admission-plugins=ServiceAccount",  # no controller creates the default ServiceAccount
            "--allow-privileged=true",
            f"--audit-policy-file={self.workdir / 'audit-policy.yaml'}",
            f"--audit-log-path={self.workdir / 'audit.log'}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",  # an event is in the file when the response is sent
        ]

    def _wait_etcd_healthy(self, etcd: ManagedProcess) -> None:
        def healthy() -> bool:
            url = f"http://{HOST}:{self.etcd_port}/health"
            with _OPENER.open(url, timeout=2) as resp:
                return bool(json.loads(resp.read()).get("health") == "true")

        _wait_until(etcd, healthy, "etcd /health")

    def _wait_apiserver_ready(self, apiserver: ManagedProcess) -> None:
        _wait_until(apiserver, lambda: self.request("GET", "/readyz")[0] == 200, "kube-apiserver /readyz")

    @staticmethod
    def _require(value: _T | None) -> _T:
        if value is None:
            raise RuntimeError("the control plane is not started")
        return value


def _wait_until(process: ManagedProcess, check: Callable[[], bool], what: str) -> None:
    """Poll `check` until it holds; fail fast with the log tail if the process exits or time runs out."""
    deadline = time.monotonic() + start_timeout()
    while time.monotonic() < deadline:
        if not process.running():
            raise StartupError(f"{process.name} exited ({process.exit_code()}):\n{process.log_tail()}")
        try:
            if check():
                return
        except (OSError, ValueError):
            pass  # not listening yet, or still starting up
        time.sleep(0.1)
    raise StartupError(
        f"{what} not ready after {start_timeout():.0f}s; {process.name} log:\n{process.log_tail()}"
    )


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


if __name__ == "__main__":
    from twilio_operator.testing.cluster_cli import main

    sys.exit(main())
