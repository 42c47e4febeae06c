"""A real kube-apiserver + etcd on loopback for tests and `make cluster`, started the way envtest does,
plus the kube-controller-manager that envtest lacks, running only the controllers an operator relies on
(CONTROLLERS: namespace deletion, ownerReference garbage collection, ServiceAccount token Secrets).

    with ControlPlane() as cp:
        subprocess.run(["kubectl", "--kubeconfig", str(cp.kubeconfig), "get", "ns"])
    with ControlPlane(controller_manager=False) as bare:  # namespaces stay Terminating, no GC
        ...

The `make cluster` CLI around it is cluster_cli.py (`python -m twilio_operator.testing.cluster_cli`).
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from twilio_operator.testing.binaries import Binaries, find_binaries, find_binary
from twilio_operator.testing.certs import CertAuthority, KeyPair, service_account_signing_pair
from twilio_operator.testing.clients import run_kubectl, write_kubeconfig
from twilio_operator.testing.ports import free_port, free_ports
from twilio_operator.testing.process import ManagedProcess

__all__ = ["ControlPlane", "StartupError", "free_port", "run_kubectl", "unique_name", "write_kubeconfig"]

HOST = "127.0.0.1"
_T = TypeVar("_T")
START_ATTEMPTS = 3  # fresh ports each time: a free port can be taken between probing and binding
# The canonical 1.36 names (cmd/kube-controller-manager/names/controller_names.go of k8s.io/kubernetes
# v1.36.5; "namespace", "garbagecollector" and "serviceaccount-token" are accepted aliases). Not the
# "serviceaccount-controller": the API server runs without the ServiceAccount admission plugin, and tests
# create the ServiceAccounts they need.
CONTROLLERS = ("namespace-controller", "garbage-collector-controller", "serviceaccount-token-controller")
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"


# Loopback only: never route through an HTTP(S)_PROXY from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StartupError(RuntimeError):
    """The control plane did not become ready; the message carries the tail of the process log."""


def unique_name(prefix: str = "t") -> str:
    """A fresh DNS-1123 name, e.g. for a namespace per test (a deleted namespace takes a while to go)."""
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
    """etcd + kube-apiserver (+ kube-controller-manager unless controller_manager=False) in a work
    directory (a fresh temp dir unless given); see module docstring."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        binaries: Binaries | None = None,
        controller_manager: bool = True,
    ) -> None:
        self._requested_workdir = workdir
        self._binaries = binaries
        self.controller_manager = controller_manager
        self.workdir = Path()
        self.apiserver_port = 0
        self.etcd_port = 0
        self.controller_manager_port = 0
        self._etcd: ManagedProcess | None = None
        self._apiserver: ManagedProcess | None = None
        self._controller_manager: ManagedProcess | None = None
        self._client_ca: CertAuthority | None = None
        self._serving_ca_pem = b""
        self._ssl: ssl.SSLContext | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ControlPlane:
        binaries = self._find_binaries()  # fails before any side effect
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
        """Stop controller-manager, apiserver, etcd (SIGTERM, then SIGKILL); remove the work directory.

        Idempotent.
        """
        for process in (self._controller_manager, self._apiserver, self._etcd):
            if process is not None:
                process.stop()
        self._controller_manager = self._apiserver = self._etcd = None
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

    def restart_controller_manager(self, *, graceful: bool = True) -> None:
        """Stop and start kube-controller-manager in place (same port and identity); waits until its
        controllers are registered. graceful=False kills it with SIGKILL, like a crash."""
        controller_manager = self._require(self._controller_manager)
        if graceful:
            controller_manager.stop()
        else:
            controller_manager.kill()
        controller_manager.start()
        self._wait_controller_manager_ready(controller_manager)

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
        processes = (self._etcd, self._apiserver, self._controller_manager)
        return {p.name: p.pid for p in processes if p is not None and p.pid is not None}

    def kubeconfig_for_user(self, name: str, groups: tuple[str, ...] = ()) -> Path:
        """A kubeconfig authenticating as `name` in `groups` with a client cert signed by the client CA."""
        pair = self._require(self._client_ca).issue_client(name, groups)
        filename = re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".kubeconfig"
        return write_kubeconfig(self.workdir / "users" / filename, self.url, self._serving_ca_pem, name, pair)

    def kubeconfig_for_service_account(self, namespace: str, name: str) -> Path:
        """Exactly the user and groups a ServiceAccount token yields, so RBAC treats it the same.

        A client certificate rather than the TokenRequest API: no ServiceAccount object is needed
        and it works before any RBAC exists.
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
        """Only issues the delete. The namespace controller then empties and removes it (objects with
        finalizers nobody handles keep it Terminating); without a controller-manager it stays Terminating."""
        self.request("DELETE", f"/api/v1/namespaces/{name}")

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_kubectl(*args, kubeconfig=self.kubeconfig, input=input)

    # -- internals ------------------------------------------------------------------------------

    def _find_binaries(self) -> Binaries:
        binaries = self._binaries or find_binaries(controller_manager=self.controller_manager)
        if self.controller_manager and binaries.kube_controller_manager is None:
            binaries = dataclasses.replace(
                binaries, kube_controller_manager=find_binary("kube-controller-manager")
            )
        return binaries

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
        if self.controller_manager:
            # Its own identity (audit logs and RBAC checks tell it apart from tests), in system:masters:
            # with --use-service-account-credentials=false every controller uses this one client, and
            # the namespace controller must be able to delete any resource, custom ones included.
            client = self._client_ca.issue_client(CONTROLLER_MANAGER_USER, ("system:masters",))
            kcm_serving = serving_ca.issue_serving("kube-controller-manager", ("localhost", HOST))
            files |= {
                "controller-manager-client.crt": client.cert_pem,
                "controller-manager-client.key": client.key_pem,
                "controller-manager.crt": kcm_serving.cert_pem,
                "controller-manager.key": kcm_serving.key_pem,
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
            self.etcd_port, peer_port, self.apiserver_port, self.controller_manager_port = free_ports(4)
            shutil.rmtree(self.workdir / "etcd", ignore_errors=True)  # a failed attempt's member data
            self._etcd = ManagedProcess("etcd", self._etcd_argv(binaries.etcd, peer_port), self._log("etcd"))
            self._apiserver = ManagedProcess(
                "kube-apiserver", self._apiserver_argv(binaries.kube_apiserver), self._log("kube-apiserver")
            )
            if binaries.kube_controller_manager is not None and self.controller_manager:
                self._controller_manager = ManagedProcess(
                    "kube-controller-manager",
                    self._controller_manager_argv(binaries.kube_controller_manager),
                    self._log("kube-controller-manager"),
                )
            try:
                self._etcd.start()
                self._wait_etcd_healthy(self._etcd)
                self._apiserver.start()
                self._ssl = self._admin_ssl_context()
                self._wait_apiserver_ready(self._apiserver)
                if self._controller_manager is not None:
                    self._write_controller_manager_kubeconfig()
                    self._controller_manager.start()
                    self._wait_controller_manager_ready(self._controller_manager)
                return
            except StartupError as error:
                for process in (self._controller_manager, self._apiserver, self._etcd):
                    if process is not None:
                        process.stop()
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

    def _write_controller_manager_kubeconfig(self) -> None:
        certs = self.workdir / "certs"
        pair = KeyPair(
            (certs / "controller-manager-client.crt").read_bytes(),
            (certs / "controller-manager-client.key").read_bytes(),
        )
        write_kubeconfig(
            self._controller_manager_kubeconfig(),
            self.url,
            self._serving_ca_pem,
            CONTROLLER_MANAGER_USER,
            pair,
        )

    def _controller_manager_kubeconfig(self) -> Path:
        return self.workdir / "certs" / "controller-manager.kubeconfig"

    def _controller_manager_argv(self, controller_manager: Path) -> list[str]:
        certs = self.workdir / "certs"
        kubeconfig = self._controller_manager_kubeconfig()
        return [
            str(controller_manager),
            f"--kubeconfig={kubeconfig}",
            # Who may read its /metrics: client certificates of our client CA (the admin kubeconfig's),
            # authorized by the API server. /healthz is always allowed. No lookup of the
            # extension-apiserver-authentication ConfigMap: it lacks the request-header CA this API
            # server is not given, which kube-controller-manager would retry and log forever.
            f"--authentication-kubeconfig={kubeconfig}",
            "--authentication-skip-lookup=true",
            f"--client-ca-file={certs / 'client-ca.crt'}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--controllers={','.join(CONTROLLERS)}",
            # Token Secrets are signed with the key whose public half the apiserver verifies
            # (--service-account-key-file); their ca.crt is the CA that signed the apiserver's cert.
            f"--service-account-private-key-file={certs / 'sa-signer.key'}",
            f"--root-ca-file={certs / 'serving-ca.crt'}",
            "--use-service-account-credentials=false",  # one client for all controllers: no SA tokens needed
            "--leader-elect=false",  # one instance; no Lease writes every few seconds
            f"--bind-address={HOST}",
            f"--secure-port={self.controller_manager_port}",
            f"--tls-cert-file={certs / 'controller-manager.crt'}",
            f"--tls-private-key-file={certs / 'controller-manager.key'}",
        ]

    def _wait_etcd_healthy(self, etcd: ManagedProcess) -> None:
        def healthy() -> bool:
            url = f"http://{HOST}:{self.etcd_port}/health"
            with _OPENER.open(url, timeout=2) as resp:
                return bool(json.loads(resp.read()).get("health") == "true")

        _wait_until(etcd, healthy, "etcd /health")

    def _wait_apiserver_ready(self, apiserver: ManagedProcess) -> None:
        _wait_until(apiserver, lambda: self.request("GET", "/readyz")[0] == 200, "kube-apiserver /readyz")

    def _wait_controller_manager_ready(self, controller_manager: ManagedProcess) -> None:
        """Its /healthz answers as soon as it serves; the controllers' checks appear once they are built."""

        def ready() -> bool:
            context = ssl.create_default_context(cafile=str(self.workdir / "certs" / "serving-ca.crt"))
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
            )
            url = f"https://{HOST}:{self.controller_manager_port}/healthz?verbose"
            with opener.open(url, timeout=2) as resp:
                body = resp.read().decode(errors="replace")
            return all(f"[+]{name} ok" in body for name in CONTROLLERS)

        _wait_until(controller_manager, ready, "kube-controller-manager /healthz (controllers started)")

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
