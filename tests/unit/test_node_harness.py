"""The local node's pure parts (testing/node_config.py, node_teardown.py, images.py), without root.

The node itself runs in `make e2e` (tests/e2e/test_node.py), which needs root.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from twilio_operator.testing import node_cli, node_config, node_teardown
from twilio_operator.testing.images import ImageFile, write_image_archive
from twilio_operator.testing.node_config import NodeLayout

LAYOUT = NodeLayout(Path("/tmp/node-x"), "twilio-node-abc", "/twilio-node-abc")


def test_every_address_is_inside_the_nodes_ranges() -> None:
    """The node's address, pod range and Service range are private and do not overlap."""
    import ipaddress

    node = ipaddress.ip_address(node_config.NODE_IP)
    pods = ipaddress.ip_network(node_config.POD_SUBNET)
    cluster = ipaddress.ip_network(node_config.CLUSTER_CIDR)
    services = ipaddress.ip_network(node_config.SERVICE_CIDR)
    assert node.is_private and pods.is_private and services.is_private
    assert pods.subnet_of(cluster)
    assert ipaddress.ip_address(node_config.POD_GATEWAY) in pods
    assert ipaddress.ip_address(node_config.KUBERNETES_SERVICE_IP) in services
    assert not cluster.overlaps(services) and node not in cluster and node not in services


def test_pods_get_routes_to_services_and_the_node_only() -> None:
    """No default route in a pod: from a pod, nothing outside the node's namespace is reachable."""
    config = json.loads(node_config.cni_config(LAYOUT))
    (bridge,) = config["plugins"]
    assert config["name"] == LAYOUT.netns  # the CNI cache files of its sandboxes carry it
    assert bridge["ipMasq"] is False
    assert bridge.get("isDefaultGateway") is not True
    assert bridge["ipam"]["routes"] == [
        {"dst": node_config.SERVICE_CIDR},
        {"dst": f"{node_config.NODE_IP}/32"},
    ]
    assert bridge["ipam"]["dataDir"].startswith(str(LAYOUT.workdir))


def test_component_state_stays_in_the_nodes_directory() -> None:
    kubelet = json.loads(node_config.kubelet_config(LAYOUT))
    for key in ("podLogsDir", "volumePluginDir", "tlsCertFile"):
        assert kubelet[key].startswith(str(LAYOUT.workdir)), key
    assert kubelet["cgroupRoot"] == LAYOUT.cgroup_root
    # The probe's fixes for this kind of VM: no CAP_SYS_RESOURCE, cgroup v1.
    assert (kubelet["oomScoreAdj"], kubelet["failCgroupV1"], kubelet["cgroupDriver"]) == (
        0,
        False,
        "cgroupfs",
    )
    containerd = node_config.containerd_config(LAYOUT)
    for line in (
        "restrict_oom_score_adj = true",
        "netns_mounts_under_state_dir = true",
        "disable_apparmor = true",
    ):
        assert line in containerd
    assert f'root = "{LAYOUT.workdir}/containerd/root"' in containerd
    assert f'address = "{LAYOUT.containerd_socket}"' in containerd
    kcm = node_config.controller_manager_argv(Path("kcm"), LAYOUT)
    assert any(
        a.startswith(f"--flex-volume-plugin-dir={LAYOUT.workdir}/") for a in kcm
    )  # else /usr/libexec/...
    proxy = json.loads(node_config.kube_proxy_config(LAYOUT))
    assert proxy["nodePortAddresses"] == [f"{node_config.NODE_IP}/32"] and proxy["oomScoreAdj"] == 0


MOUNTINFO = """\
22 1 8:1 / / rw,relatime - ext4 /dev/root rw
90 22 0:50 / /tmp/node-x/kubelet/pods/a/volumes/kubernetes.io~projected/kube-api-access rw - tmpfs tmpfs rw
91 22 0:51 / /tmp/node-x/containerd/state/netns/cni-1 rw - nsfs nsfs rw
92 22 0:52 / /tmp/node-x/dir\\040with\\040space rw - tmpfs tmpfs rw
93 22 0:53 / /tmp/node-xy/other rw - tmpfs tmpfs rw
94 22 0:54 / /tmp/node-x rw - tmpfs tmpfs rw
"""


def test_mounts_under_the_node_deepest_first_and_only_its_own() -> None:
    mounts = [str(m) for m in node_teardown.mounts_under(Path("/tmp/node-x"), MOUNTINFO)]
    assert mounts == [
        "/tmp/node-x/kubelet/pods/a/volumes/kubernetes.io~projected/kube-api-access",
        "/tmp/node-x/containerd/state/netns/cni-1",
        "/tmp/node-x/dir with space",
        "/tmp/node-x",
    ]  # not /tmp/node-xy: a sibling whose name starts alike


def test_cgroup_dirs_deepest_first(tmp_path: Path) -> None:
    for hierarchy in ("memory", "cpu"):
        (tmp_path / hierarchy / "twilio-node-abc" / "kubepods" / "burstable").mkdir(parents=True)
    (tmp_path / "memory" / "twilio-node-other").mkdir()
    dirs = node_teardown.cgroup_dirs("/twilio-node-abc", tmp_path)
    assert len(dirs) == 6
    assert all("twilio-node-abc" in str(d) for d in dirs)
    depths = [len(d.parts) for d in dirs]
    assert depths == sorted(depths, reverse=True)


def test_cni_cache_entries_are_the_nodes_only(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path / "node", "twilio-node-abc", "/twilio-node-abc")
    node_teardown.record_sandbox_ids(layout, ["aaa", "bbb"])
    cache = tmp_path / "results"
    cache.mkdir()
    names = [
        "twilio-node-abc-aaa-eth0",  # ours: our network's name
        "cni-loopback-aaa-lo",  # ours: a sandbox id we recorded
        "cni-loopback-zzz-lo",  # another runtime's sandbox
        "twilio-node-other-ccc-eth0",  # another node
        "kindnet-ddd-eth0",
    ]
    for name in names:
        (cache / name).write_text("{}")
    found = sorted(p.name for p in node_teardown.cni_cache_entries(layout, cache))
    assert found == ["cni-loopback-aaa-lo", "twilio-node-abc-aaa-eth0"]


def test_the_report_names_each_step_and_what_failed() -> None:
    report = node_teardown.TeardownReport()
    node_teardown.run_step(report, "first", lambda: "done")

    def broken() -> str:
        raise RuntimeError("mount busy")

    node_teardown.run_step(report, "second", broken)
    node_teardown.run_step(report, "third", lambda: None)  # runs although the second failed
    assert report.lines() == ["first: ok: done", "second: FAILED: RuntimeError: mount busy", "third: ok"]
    assert not report.complete
    report.steps.pop(1)
    report.leftovers = ["network namespace twilio-node-abc"]
    assert not report.complete and report.lines()[-1] == "left behind: network namespace twilio-node-abc"


def test_image_archive_is_a_docker_save_archive(tmp_path: Path) -> None:
    archive = tmp_path / "pause.tar"
    digest = write_image_archive(
        archive, "localhost/x/pause:1", [ImageFile("pause", b"\x7fELF", 0o755)], ["/pause"], "65535:65535"
    )
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        (entry,) = manifest
        assert entry["RepoTags"] == ["localhost/x/pause:1"]
        config_bytes = tar.extractfile(entry["Config"]).read()  # type: ignore[union-attr]
        assert digest == "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        config = json.loads(config_bytes)
        layer = tar.extractfile(entry["Layers"][0]).read()  # type: ignore[union-attr]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert config["config"]["Entrypoint"] == ["/pause"] and config["config"]["User"] == "65535:65535"
    with tarfile.open(fileobj=io.BytesIO(layer)) as files:
        member = files.getmember("pause")
        assert member.mode == 0o755 and files.extractfile(member).read() == b"\x7fELF"  # type: ignore[union-attr]
    again = tmp_path / "again.tar"
    assert (
        write_image_archive(
            again, "localhost/x/pause:1", [ImageFile("pause", b"\x7fELF", 0o755)], ["/pause"], "65535:65535"
        )
        == digest
    )


@pytest.mark.parametrize("raw", ["/a\\040b", "/a\\011b", "/a\\134b"])
def test_mountinfo_escapes(raw: str) -> None:
    assert "\\0" not in node_teardown.unescape_mount_path(
        raw
    ) and "\\1" not in node_teardown.unescape_mount_path(raw)


def test_the_detached_supervisor_is_started_as_a_module_that_has_the_supervise_command() -> None:
    """`make node` starts `python -m <node_cli.MODULE> supervise`: that module must answer it (a module
    without a `__main__` entry exits at once and the node never starts)."""
    done = subprocess.run(
        [sys.executable, "-m", node_cli.MODULE, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "supervise" in done.stdout
