"""What the local node's components are told: addresses, command lines and configuration files.

Pure functions of a NodeLayout (paths and names), so they can be read and tested without root. The
addresses are fixed: they exist only inside the node's own network namespace (testing/netns.py), so
two nodes on one machine, each in its own namespace, never see each other's.

Why each unusual setting is there (facts from a probe on this kind of machine, a VM with cgroup v1 that
drops CAP_SYS_RESOURCE):
- restrict_oom_score_adj (containerd) and oomScoreAdj 0 (kubelet, kube-proxy): lowering an
  oom_score_adj needs CAP_SYS_RESOURCE; without them runc fails with "can't get final child's PID".
- failCgroupV1 false and cgroupDriver cgroupfs (kubelet): cgroup v1, no systemd.
- nodePortAddresses set to the node's address (kube-proxy): "primary" has no effect here.
- netns_mounts_under_state_dir (containerd): pod network namespaces are mounted under the node's
  directory instead of /run/netns, so the teardown finds every one of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

NODE_IP = "10.250.0.1"
NODE_NAME = "twilio-node"
POD_SUBNET = "10.244.0.0/24"
POD_GATEWAY = "10.244.0.1"
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
APISERVER_PORT = 6443
ETCD_PORT = 2379
ETCD_PEER_PORT = 2380
KUBELET_PORT = 10250
KUBELET_HEALTHZ_PORT = 10248
KUBE_PROXY_HEALTHZ_PORT = 10256
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
BRIDGE = "cni0"
CNI_BIN_DIR = Path("/usr/lib/cni")
RUNC = Path("/usr/sbin/runc")
PAUSE_IMAGE = "localhost/twilio-operator/pause:3.10.2"
# Controllers of kube-controller-manager: all but node IPAM (the CNI configuration owns the pod range).
CONTROLLERS = "*,-node-ipam-controller"


@dataclass(frozen=True)
class NodeLayout:
    """Where one node keeps everything: a directory of its own, a namespace name, a cgroup name."""

    workdir: Path
    netns: str
    cgroup_root: str  # e.g. /twilio-node-1a2b3c4d, created in every cgroup v1 hierarchy

    @property
    def certs(self) -> Path:
        return self.workdir / "certs"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def containerd_dir(self) -> Path:
        return self.workdir / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd_dir / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.containerd_dir / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.workdir / "cni" / "net.d"

    @property
    def kubelet_dir(self) -> Path:
        return self.workdir / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.workdir / "pod-logs"

    def kubeconfig_of(self, component: str) -> Path:
        return self.certs / f"{component}.kubeconfig"

    @property
    def apiserver_url(self) -> str:
        return f"https://{NODE_IP}:{APISERVER_PORT}"


def containerd_config(layout: NodeLayout) -> str:
    """containerd 1.6 (config version 2): its own root, state, sockets and CNI configuration."""
    d = layout.containerd_dir
    return f"""\
version = 2
root = "{d / "root"}"
state = "{d / "state"}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.containerd_socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d / "opt"}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        Root = "{layout.workdir / "runc"}"
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.cni_conf_dir}"
    max_conf_num = 1
"""


def cni_config(layout: NodeLayout) -> str:
    """One bridge; pods get routes to the Service range and to the node's address, and no default
    route: from a pod, nothing outside the node's namespace is reachable."""
    config = {
        "cniVersion": "1.0.0",
        "name": layout.netns,  # unique: the CNI cache files of its sandboxes carry it
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.workdir / "cni" / "ipam"),
                    "ranges": [[{"subnet": POD_SUBNET, "gateway": POD_GATEWAY}]],
                    "routes": [{"dst": SERVICE_CIDR}, {"dst": f"{NODE_IP}/32"}],
                },
            }
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def kubelet_config(layout: NodeLayout) -> str:
    """KubeletConfiguration (JSON is YAML). Eviction and image GC thresholds are low: the imported
    images must never be collected (nothing could pull them again) and a full shared disk must not
    evict the pods under test."""
    certs = layout.certs
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(certs / "client-ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(certs / "kubelet.crt"),
        "tlsPrivateKeyFile": str(certs / "kubelet.key"),
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": layout.cgroup_root,
        "failCgroupV1": False,
        "failSwapOn": False,
        "oomScoreAdj": 0,
        "podLogsDir": str(layout.pod_logs),
        "volumePluginDir": str(layout.workdir / "volume-plugins"),
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "registerNode": True,
        "shutdownGracePeriod": "0s",
        "containerLogMaxSize": "10Mi",
    }
    return json.dumps(config, indent=2) + "\n"


def kube_proxy_config(layout: NodeLayout) -> str:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig_of("kube-proxy"))},
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{KUBE_PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": "127.0.0.1:10249",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "oomScoreAdj": 0,
        # 0: leave the namespace's conntrack settings alone (no sysctl writes).
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }
    return json.dumps(config, indent=2) + "\n"


def etcd_argv(binary: Path, layout: NodeLayout) -> list[str]:
    client, peer = f"http://127.0.0.1:{ETCD_PORT}", f"http://127.0.0.1:{ETCD_PEER_PORT}"
    return [
        str(binary),
        "--name=node",
        f"--data-dir={layout.workdir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=node={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def apiserver_argv(binary: Path, layout: NodeLayout) -> list[str]:
    certs = layout.certs
    return [
        str(binary),
        f"--advertise-address={NODE_IP}",
        f"--bind-address={NODE_IP}",
        f"--secure-port={APISERVER_PORT}",
        f"--etcd-servers=http://127.0.0.1:{ETCD_PORT}",
        f"--tls-cert-file={certs / 'apiserver.crt'}",
        f"--tls-private-key-file={certs / 'apiserver.key'}",
        f"--client-ca-file={certs / 'client-ca.crt'}",
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={certs / 'sa-signer.pub'}",
        f"--service-account-signing-key-file={certs / 'sa-signer.key'}",
        f"--kubelet-client-certificate={certs / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={certs / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={certs / 'serving-ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP",
        "--allow-privileged=true",
        "--profiling=false",
    ]


def controller_manager_argv(binary: Path, layout: NodeLayout) -> list[str]:
    certs = layout.certs
    kubeconfig = layout.kubeconfig_of("kube-controller-manager")
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        "--authentication-skip-lookup=true",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--client-ca-file={certs / 'client-ca.crt'}",
        f"--controllers={CONTROLLERS}",
        f"--service-account-private-key-file={certs / 'sa-signer.key'}",
        f"--root-ca-file={certs / 'serving-ca.crt'}",
        "--use-service-account-credentials=false",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={CONTROLLER_MANAGER_PORT}",
        f"--cert-dir={layout.workdir / 'controller-manager'}",
        # Its default is /usr/libexec/kubernetes/kubelet-plugins/volume/exec/, which it creates.
        f"--flex-volume-plugin-dir={layout.workdir / 'controller-manager' / 'volume-plugins'}",
    ]


def scheduler_argv(binary: Path, layout: NodeLayout) -> list[str]:
    kubeconfig = layout.kubeconfig_of("kube-scheduler")
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        f"--secure-port={SCHEDULER_PORT}",
        f"--cert-dir={layout.workdir / 'scheduler'}",
    ]


def kubelet_argv(binary: Path, layout: NodeLayout) -> list[str]:
    return [
        str(binary),
        f"--config={layout.workdir / 'kubelet.yaml'}",
        f"--kubeconfig={layout.kubeconfig_of('kubelet')}",
        f"--root-dir={layout.kubelet_dir}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_IP}",
    ]


def kube_proxy_argv(binary: Path, layout: NodeLayout) -> list[str]:
    return [str(binary), f"--config={layout.workdir / 'kube-proxy.yaml'}"]


def containerd_argv(binary: Path, layout: NodeLayout) -> list[str]:
    return [str(binary), f"--config={layout.containerd_config}", "--log-level=warn"]
