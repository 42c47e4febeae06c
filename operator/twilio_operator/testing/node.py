"""A real single-node Kubernetes cluster inside a network namespace of its own, for the e2e tier and
`make node`: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy
(built from k8s.io/kubernetes by hack/node/build.sh) with Debian's containerd, runc and CNI plugins.

    with Node() as node:                                    # needs root
        node.import_image(archive)                          # `docker save` output
        subprocess.run(["kubectl", "--kubeconfig", str(node.kubeconfig), "get", "nodes"])
        port = node.forward("10.96.0.10", 9090)             # a Service, seen from the host's loopback

Every component runs inside the namespace (testing/netns.py), where the node's address, the pod range
and the Service range exist; the host reaches the API server through a forwarder on its own loopback
(the kubeconfig's server), and anything else inside through `forward()`. Pods have routes to the
Service range and the node's address only. Configuration: testing/node_config.py; teardown:
testing/node_teardown.py. A failed start says which step failed and tears down what it started.

`make node` runs its CLI, testing/node_cli.py: `python -m twilio_operator.testing.node_cli up|down|status`.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from twilio_operator.testing.binaries import BinaryNotFoundError, find_binary
from twilio_operator.testing.certs import CertAuthority, KeyPair, service_account_signing_pair
from twilio_operator.testing.clients import run_kubectl, write_kubeconfig
from twilio_operator.testing.images import ImageFile, write_image_archive
from twilio_operator.testing.netns import Forwarder, NetworkNamespace
from twilio_operator.testing.node_config import (
    APISERVER_PORT,
    CNI_BIN_DIR,
    CONTROLLER_MANAGER_PORT,
    ETCD_PORT,
    KUBE_PROXY_HEALTHZ_PORT,
    KUBELET_HEALTHZ_PORT,
    KUBERNETES_SERVICE_IP,
    NODE_IP,
    NODE_NAME,
    PAUSE_IMAGE,
    RUNC,
    SCHEDULER_PORT,
    SERVICE_CIDR,
    NodeLayout,
    apiserver_argv,
    cni_config,
    containerd_argv,
    containerd_config,
    controller_manager_argv,
    etcd_argv,
    kube_proxy_argv,
    kube_proxy_config,
    kubelet_argv,
    kubelet_config,
    scheduler_argv,
)
from twilio_operator.testing.node_teardown import CGROUP_MOUNT, TeardownReport, note_host_dirs, teardown
from twilio_operator.testing.process import ManagedProcess

__all__ = ["NODE_IP", "NODE_NAME", "Node", "NodeStartError", "load_layout"]

BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "pause",
)
HOST_TOOLS = ("containerd", "containerd-shim-runc-v2", "ctr", "nsenter", "ip", "iptables", "conntrack")
STATE_FILE = "node.json"


class NodeStartError(RuntimeError):
    """A start step failed: `step` names it; the message carries the component's log tail."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"step '{step}' failed: {detail}")
        self.step = step


def step_timeout() -> float:
    """NODE_STEP_TIMEOUT seconds per start step (default 180: a shared 2-core machine is slow)."""
    return float(os.environ.get("NODE_STEP_TIMEOUT", "180"))


def load_layout(workdir: Path) -> NodeLayout | None:
    """The layout a node recorded in its directory (for a teardown without the live object)."""
    try:
        state = json.loads((workdir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return NodeLayout(Path(state["workdir"]), state["netns"], state["cgroup_root"])


@dataclass(frozen=True)
class _Identity:
    """A client certificate's user and groups, and the kubeconfig file it goes into."""

    user: str
    groups: tuple[str, ...]


IDENTITIES = {
    "admin": _Identity("admin", ("system:masters",)),
    # system:masters: with --use-service-account-credentials=false every controller uses this client.
    "kube-controller-manager": _Identity("system:kube-controller-manager", ("system:masters",)),
    "kube-scheduler": _Identity("system:kube-scheduler", ()),
    "kube-proxy": _Identity("system:kube-proxy", ()),  # bound to system:node-proxier by default RBAC
    "kubelet": _Identity(f"system:node:{NODE_NAME}", ("system:nodes",)),  # the Node authorizer's form
}


class Node:
    """See the module docstring. Not thread-safe; one Node per directory."""

    def __init__(self, workdir: Path | None = None, *, name: str | None = None) -> None:
        suffix = name or secrets.token_hex(4)
        self._requested_workdir = workdir
        self.layout = NodeLayout(Path(), f"twilio-node-{suffix}", f"/twilio-node-{suffix}")
        self.namespace = NetworkNamespace(self.layout.netns)
        self._processes: dict[str, ManagedProcess] = {}
        self._forwarders: list[Forwarder] = []
        self._api_forwarder: Forwarder | None = None
        self._serving_ca_pem = b""
        self._admin_pair = KeyPair(b"", b"")
        self.teardown_report: TeardownReport | None = None
        self.timings: dict[str, float] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Node:
        binaries = self._step("binaries", self._find_binaries)  # before any side effect
        workdir = self._requested_workdir or Path(tempfile.mkdtemp(prefix="twilio-node-"))
        workdir.mkdir(parents=True, exist_ok=True)
        self.layout = NodeLayout(workdir.resolve(), self.layout.netns, self.layout.cgroup_root)
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        (workdir / STATE_FILE).write_text(
            json.dumps(
                {
                    "workdir": str(self.layout.workdir),
                    "netns": self.layout.netns,
                    "cgroup_root": self.layout.cgroup_root,
                }
            )
            + "\n"
        )
        note_host_dirs(self.layout)
        atexit.register(self.stop)
        try:
            self._step("network namespace", self._make_namespace)
            self._step("cgroups", self._make_cgroups)
            self._step("certificates and configuration", self._write_files)
            self._step("containerd", lambda: self._start_containerd(binaries))
            self._step("pause image", lambda: self._import_pause(binaries["pause"]))
            self._step("etcd", lambda: self._start_etcd(binaries))
            self._step("kube-apiserver", lambda: self._start_apiserver(binaries))
            self._step("kube-controller-manager", lambda: self._start_controller_manager(binaries))
            self._step("kube-scheduler", lambda: self._start_scheduler(binaries))
            self._step("kubelet", lambda: self._start_kubelet(binaries))
            self._step("kube-proxy", lambda: self._start_kube_proxy(binaries))
            self._step("node Ready", self._wait_node_ready)
            self._step("default ServiceAccount", self._wait_default_service_account)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> TeardownReport:
        """The complete teardown (node_teardown.teardown); idempotent. The report says what failed."""
        atexit.unregister(self.stop)
        if self.layout.workdir == Path():
            return TeardownReport()
        graceful = (
            ("stop kube-controller-manager and kube-scheduler (no new pods)", self._stop_controllers),
            ("delete every pod (the kubelet stops their sandboxes: CNI DEL)", self._delete_pods),
        )
        try:
            self.teardown_report = teardown(self.layout, graceful=graceful, stop_daemons=self._stop_processes)
        finally:
            for forwarder in self._forwarders:  # after the graceful steps, which use the API server's
                forwarder.close()
            self._forwarders.clear()
            self._api_forwarder = None
        return self.teardown_report

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what tests use ---------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        """The admin (system:masters) kubeconfig for the host: its server is the loopback forwarder."""
        return self.layout.workdir / "kubeconfig"

    @property
    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self._processes.items() if p.pid is not None and p.running()}

    def kubectl(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_kubectl(*args, kubeconfig=self.kubeconfig, input=input, timeout=timeout)

    def forward(self, host: str, port: int) -> int:
        """A port on the host's 127.0.0.1 relayed to host:port inside the node's namespace."""
        forwarder = Forwarder(self.namespace, (host, port))
        self._forwarders.append(forwarder)
        return forwarder.port

    def ctr(
        self, *args: str, stdin: IO[bytes] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["ctr", f"--address={self.layout.containerd_socket}", "--namespace=k8s.io", *args],
            stdin=stdin, capture_output=True, timeout=timeout, check=False,
        )  # fmt: skip

    def import_image(self, archive: Path | IO[bytes]) -> str:
        """Import a `docker save` (or OCI) archive into the node's containerd; returns ctr's output."""
        if isinstance(archive, Path):
            with archive.open("rb") as stream:
                result = self.ctr("images", "import", "-", stdin=stream)
        else:
            result = self.ctr("images", "import", "-", stdin=archive)
        if result.returncode != 0:
            raise RuntimeError(f"ctr images import: {result.stderr.decode(errors='replace').strip()}")
        return result.stdout.decode(errors="replace")

    def images(self) -> list[str]:
        result = self.ctr("images", "list", "--quiet")
        return result.stdout.decode().split()

    def log_tail(self, component: str, lines: int = 40) -> str:
        process = self._processes.get(component)
        return process.log_tail(lines) if process else "(not started)"

    # -- start steps ----------------------------------------------------------------------------

    def _step(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            result = action()
        except NodeStartError:
            raise
        except BinaryNotFoundError as error:
            raise NodeStartError(name, str(error)) from None
        except Exception as error:
            raise NodeStartError(name, f"{type(error).__name__}: {error}") from error
        self.timings[name] = round(time.monotonic() - started, 1)
        return result

    def _find_binaries(self) -> dict[str, Path]:
        if os.geteuid() != 0:
            raise NodeStartError("binaries", "the node needs root (network namespace, mounts, cgroups)")
        found = {name: find_binary(name) for name in BINARIES}
        missing = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
        missing += [
            str(p) for p in (RUNC, CNI_BIN_DIR / "bridge", CNI_BIN_DIR / "host-local") if not p.exists()
        ]
        if missing:
            raise NodeStartError("binaries", f"missing {', '.join(missing)}: run `bash hack/node/build.sh`")
        return found

    def _make_namespace(self) -> None:
        self.namespace.create()
        self.namespace.add_address(f"{NODE_IP}/32")
        # The namespace has no default route, so a connection from inside it to a ClusterIP would
        # fail at once ("network unreachable") before kube-proxy's DNAT could redirect it to a pod.
        self.namespace.add_route(SERVICE_CIDR, "lo", NODE_IP)
        for key, value in (
            ("net.ipv4.ip_forward", "1"),
            ("net.bridge.bridge-nf-call-iptables", "1"),  # Service traffic between pods on the bridge
        ):
            self.namespace.set_sysctl(key, value)

    def _make_cgroups(self) -> None:
        """The kubelet's cgroupRoot in every v1 hierarchy (it must exist); cpuset needs CPUs and memory
        nodes before a task can join."""
        for hierarchy in sorted(CGROUP_MOUNT.iterdir()):
            if not (hierarchy / "cgroup.procs").exists() or (hierarchy / "cgroup.controllers").exists():
                continue  # not a cgroup v1 hierarchy (the tmpfs itself, or the unified cgroup2 mount)
            target = hierarchy / self.layout.cgroup_root.strip("/")
            target.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":
                for key in ("cpuset.cpus", "cpuset.mems"):
                    (target / key).write_text((hierarchy / key).read_text())

    def _write_files(self) -> None:
        layout = self.layout
        certs = layout.certs
        certs.mkdir(parents=True, exist_ok=True)
        serving_ca = CertAuthority("twilio-node-serving-ca")
        client_ca = CertAuthority("twilio-node-client-ca")
        self._serving_ca_pem = serving_ca.cert_pem
        apiserver_hosts = (
            NODE_IP, KUBERNETES_SERVICE_IP, "127.0.0.1", "localhost", "kubernetes", "kubernetes.default",
            "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
        )  # fmt: skip
        files: dict[str, bytes] = {
            "serving-ca.crt": serving_ca.cert_pem,
            "client-ca.crt": client_ca.cert_pem,
        }

        def put(name: str, pair: KeyPair) -> None:
            files[f"{name}.crt"], files[f"{name}.key"] = pair.cert_pem, pair.key_pem

        put("apiserver", serving_ca.issue_serving("kube-apiserver", apiserver_hosts))
        put("kubelet", serving_ca.issue_serving(NODE_NAME, (NODE_IP, NODE_NAME)))
        put(
            "apiserver-kubelet-client",
            client_ca.issue_client("kube-apiserver-kubelet-client", ("system:masters",)),
        )
        sa = service_account_signing_pair()
        files["sa-signer.pub"], files["sa-signer.key"] = sa.cert_pem, sa.key_pem
        for filename, content in files.items():
            (certs / filename).write_bytes(content)
            (certs / filename).chmod(0o600)
        for component, identity in IDENTITIES.items():
            pair = client_ca.issue_client(identity.user, identity.groups)
            write_kubeconfig(
                layout.kubeconfig_of(component),
                layout.apiserver_url,
                serving_ca.cert_pem,
                identity.user,
                pair,
            )
            if component == "admin":
                self._admin_pair = pair
        layout.containerd_dir.mkdir(parents=True, exist_ok=True)
        layout.containerd_config.write_text(containerd_config(layout))
        layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        (layout.cni_conf_dir / "10-twilio-node.conflist").write_text(cni_config(layout))
        (layout.workdir / "kubelet.yaml").write_text(kubelet_config(layout))
        (layout.workdir / "kube-proxy.yaml").write_text(kube_proxy_config(layout))
        layout.pod_logs.mkdir(parents=True, exist_ok=True)

    def _process(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, self.namespace.argv(argv), self.layout.logs / f"{name}.log")
        self._processes[name] = process
        process.start()
        return process

    def _start_containerd(self, binaries: dict[str, Path]) -> None:
        containerd = shutil.which("containerd")
        assert containerd is not None  # checked by _find_binaries
        process = self._process("containerd", containerd_argv(Path(containerd), self.layout))

        def answers() -> bool:
            return self.layout.containerd_socket.exists() and self.ctr("version", timeout=10).returncode == 0

        self._wait(process, answers, "containerd answers on its socket")

    def _import_pause(self, pause: Path) -> None:
        archive = self.layout.workdir / "pause.tar"
        write_image_archive(
            archive,
            PAUSE_IMAGE,
            [ImageFile("pause", pause.read_bytes(), 0o755)],
            entrypoint=["/pause"],
            user="65535:65535",
        )
        self.import_image(archive)
        if PAUSE_IMAGE not in self.images():
            raise RuntimeError(f"{PAUSE_IMAGE} not listed after the import: {self.images()}")

    def _start_etcd(self, binaries: dict[str, Path]) -> None:
        process = self._process("etcd", etcd_argv(binaries["etcd"], self.layout))

        def healthy() -> bool:
            def get() -> bool:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(f"http://127.0.0.1:{ETCD_PORT}/health", timeout=2) as resp:
                    return bool(json.loads(resp.read()).get("health") == "true")

            return self.namespace.call(get, timeout=10)

        self._wait(process, healthy, "etcd /health")

    def _start_apiserver(self, binaries: dict[str, Path]) -> None:
        process = self._process("kube-apiserver", apiserver_argv(binaries["kube-apiserver"], self.layout))
        self._api_forwarder = Forwarder(self.namespace, (NODE_IP, APISERVER_PORT))
        self._forwarders.append(self._api_forwarder)
        write_kubeconfig(
            self.kubeconfig,
            f"https://127.0.0.1:{self._api_forwarder.port}",
            self._serving_ca_pem,
            "admin",
            self._admin_pair,
        )
        self._wait(process, lambda: self.request("GET", "/readyz")[0] == 200, "kube-apiserver /readyz")

    def _start_controller_manager(self, binaries: dict[str, Path]) -> None:
        process = self._process(
            "kube-controller-manager",
            controller_manager_argv(binaries["kube-controller-manager"], self.layout),
        )
        self._wait(
            process,
            lambda: self._healthz_inside(CONTROLLER_MANAGER_PORT, https=True),
            "kube-controller-manager /healthz",
        )

    def _start_scheduler(self, binaries: dict[str, Path]) -> None:
        process = self._process("kube-scheduler", scheduler_argv(binaries["kube-scheduler"], self.layout))
        self._wait(
            process, lambda: self._healthz_inside(SCHEDULER_PORT, https=True), "kube-scheduler /healthz"
        )

    def _start_kubelet(self, binaries: dict[str, Path]) -> None:
        process = self._process("kubelet", kubelet_argv(binaries["kubelet"], self.layout))
        self._wait(process, lambda: self._healthz_inside(KUBELET_HEALTHZ_PORT), "kubelet /healthz")

    def _start_kube_proxy(self, binaries: dict[str, Path]) -> None:
        process = self._process("kube-proxy", kube_proxy_argv(binaries["kube-proxy"], self.layout))
        self._wait(process, lambda: self._healthz_inside(KUBE_PROXY_HEALTHZ_PORT), "kube-proxy /healthz")

    def _wait_node_ready(self) -> None:
        def ready() -> bool:
            status, body = self.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            if status != 200:
                return False
            conditions = body.get("status", {}).get("conditions", [])
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        self._wait(self._processes["kubelet"], ready, f"node {NODE_NAME} Ready")

    def _wait_default_service_account(self) -> None:
        self._wait(
            self._processes["kube-controller-manager"],
            lambda: self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
            "ServiceAccount default/default",
        )

    # -- helpers --------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An admin call to the API server through the loopback forwarder: (status, decoded body)."""
        assert self._api_forwarder is not None
        certs = self.layout.certs
        context = ssl.create_default_context(cafile=str(certs / "serving-ca.crt"))
        context.load_cert_chain(*self._admin_files())
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        data = json.dumps(body).encode() if body is not None else None
        url = f"https://127.0.0.1:{self._api_forwarder.port}{path}"
        req = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with opener.open(req, timeout=10) as resp:
                raw = resp.read()
                status = int(resp.status)
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def _admin_files(self) -> tuple[str, str]:
        certs = self.layout.certs
        cert, key = certs / "admin-client.crt", certs / "admin-client.key"
        if not cert.exists():
            cert.write_bytes(self._admin_pair.cert_pem)
            key.write_bytes(self._admin_pair.key_pem)
            key.chmod(0o600)
        return str(cert), str(key)

    def _healthz_inside(self, port: int, *, https: bool = False) -> bool:
        def get() -> bool:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # a local liveness check of a self-signed endpoint
            scheme = "https" if https else "http"
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
            )
            with opener.open(f"{scheme}://127.0.0.1:{port}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)

        return self.namespace.call(get, timeout=10)

    def _wait(self, process: ManagedProcess, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + step_timeout()
        while time.monotonic() < deadline:
            if not process.running():
                raise NodeStartError(
                    what, f"{process.name} exited ({process.exit_code()}):\n{process.log_tail()}"
                )
            try:
                if check():
                    return
            except (OSError, ValueError, TimeoutError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.2)
        raise NodeStartError(
            what, f"not true after {step_timeout():.0f}s; {process.name} log:\n{process.log_tail()}"
        )

    def _stop_controllers(self) -> str:
        stopped = []
        for name in ("kube-controller-manager", "kube-scheduler"):
            if (process := self._processes.pop(name, None)) is not None:
                process.stop()
                stopped.append(name)
        return ", ".join(stopped) or "not running"

    def _delete_pods(self) -> str:
        kubelet, apiserver = self._processes.get("kubelet"), self._processes.get("kube-apiserver")
        if (
            kubelet is None
            or not kubelet.running()
            or apiserver is None
            or not apiserver.running()
            or self._api_forwarder is None
        ):
            return "skipped: no kubelet or API server (containers are stopped through containerd)"
        status, body = self.request("GET", "/api/v1/pods")
        if status != 200:
            raise RuntimeError(f"listing pods: HTTP {status}")
        namespaces = sorted({item["metadata"]["namespace"] for item in body.get("items", [])})
        for namespace in namespaces:
            self.request("DELETE", f"/api/v1/namespaces/{namespace}/pods?gracePeriodSeconds=1")
        deadline = time.monotonic() + 90
        while (
            left := self.request("GET", "/api/v1/pods")[1].get("items", [])
        ) and time.monotonic() < deadline:
            time.sleep(0.5)
        if left:
            names = [f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in left]
            raise RuntimeError(f"pods still there after 90s: {names}")
        return f"{len(body.get('items', []))} pods deleted"

    def _stop_processes(self) -> str:
        stopped = []
        for name in (
            "kube-proxy",
            "kubelet",
            "kube-scheduler",
            "kube-controller-manager",
            "kube-apiserver",
            "etcd",
            "containerd",
        ):
            if (process := self._processes.pop(name, None)) is not None:
                process.stop()
                stopped.append(name)
        return ", ".join(stopped) or "none running"
