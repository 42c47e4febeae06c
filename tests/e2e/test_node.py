"""End to end as a user runs it: the image built from our Dockerfile, the chart installed by the helm
CLI, on a real kubelet (the local node of testing/node.py), with the Twilio emulator in Twilio's place.

`make e2e` (part of .ci/run). The tests run in order and share one node, one image pair and one
emulator; each asserts one thing a user relies on:

 1. the image: no compiler, no pip cache, no source tree; `--version` names the commit; non-root;
 2. README "Using it with a real Twilio account", step 2: `helm install` with image.repository and
    image.tag, 2 replicas and leader election on; one pod holds the Lease;
 3. the running container: uid 65532, read-only root filesystem, CapEff 0, Seccomp 2 (read from
    /proc/1/status inside it);
 4. the chart's NetworkPolicy is accepted by the API server (the bridge CNI does not enforce it);
 5. `twilio-operator check` (the image's) passes against the emulator before any object exists;
 6. steps 3-5: the credentials Secret, examples/02 and examples/03 -> provider and number Ready;
 7. `kubectl logs` of the leader is JSON, one object per line;
 8. the metrics endpoint answers through the Service, from the leader and from the standby;
 9. the leader pod deleted with --grace-period=0 --force: the other replica leads and a spec change
    is reconciled within 15 s;
10. `helm upgrade` to a second image tag: both pods replaced, 0 Twilio writes for the Ready objects;
11. the liveness probe restarts an operator whose watch is stalled (a black-holed watch connection);
12. uninstall in the order of docs/install.md: nothing left in Twilio, nothing stuck in Kubernetes;
13. the plain deploy/install.yaml path, once;
14. the node's teardown leaves no process, mount, cgroup, namespace, bridge or iptables chain.

Real parts only: the kubelet, containerd and runc run the image; no registry is reachable, so the
images are imported into the node's containerd (`docker save | ctr import`), like `kind load`.
Needs root (the node's network namespace, mounts and cgroups): without it the test fails, naming that.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from fixtures.emulator import TwilioAccount
from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.binaries import find_binary
from twilio_operator.testing.node import NODE_IP, NODE_NAME, Node
from twilio_operator.testing.process import ManagedProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "twilio-operator"
EXAMPLES = REPO / "examples"
REPOSITORY = "twilio-operator"  # image.repository, as README step 2 sets it (here: a local image name)
TAG, UPGRADE_TAG = "e2e-1", "e2e-2"
RELEASE = NAMESPACE = "twilio-operator"
USER_NAMESPACE = "voice"  # the README's
EMULATOR_PORT = 8099
EMULATOR_URL = f"http://{NODE_IP}:{EMULATOR_PORT}"  # inside the node's namespace: what the pods call
PROVIDER, NUMBER = "acme", "support-line"
CRDS = tuple(
    f"{plural}.voip.twilio-operator.dev"
    for plural in ("livekitconnections", "twiliophonenumbers", "twilioemergencyaddresses", "twilioproviders")
)
# Timeouts are generous (other builds and tests share the 2 cores); every wait polls a condition.
WAIT = 240.0
FAILOVER_LIMIT = 15.0
# The values a user sets (README step 2 and "High availability"), plus the test world's: the emulator
# as Twilio, and a liveness probe that looks every 5 s (see test_11 for why and what it found).
HELM_VALUES = (
    ("--set", f"image.repository={REPOSITORY}"),
    ("--set", f"image.tag={TAG}"),
    ("--set", "replicaCount=2"),
    ("--set", "leaderElection.enabled=true"),
    ("--set", f"twilioBaseUrl={EMULATOR_URL}"),
    ("--set", "networkPolicy.enabled=true"),
    ("--set", "livenessProbe.periodSeconds=5"),
    ("--set", "livenessProbe.failureThreshold=2"),
    ("--set", "extraEnv[0].name=TWILIO_OPERATOR_LIVENESS_STALL_SECONDS"),
    ("--set-string", "extraEnv[0].value=30"),
    ("--set", "extraEnv[1].name=TWILIO_OPERATOR_VERIFICATION_INTERVAL_SCALE"),
    ("--set-string", "extraEnv[1].value=0.1"),
)


def wait_for(check: Callable[[], T | None], what: str, timeout: float = WAIT, interval: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (AssertionError, OSError, ValueError, KeyError) as error:
            last_error = f" (last error: {error})"
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{last_error}")


def run(
    argv: list[str],
    *,
    input: str | bytes | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv,
        input=input.decode() if isinstance(input, bytes) else input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(argv)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class World:
    """What the tests share: the node, the tools, the emulator, and what earlier tests found."""

    node: Node
    kubectl_bin: str
    helm_bin: str
    docker: str
    env: dict[str, str]
    admin: EmulatorAdmin
    emulator: ManagedProcess
    account: TwilioAccount  # the one the examples name (its Auth Token is theirs)
    notes: dict[str, Any] = field(default_factory=dict)

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 300) -> str:
        return run(
            [self.kubectl_bin, f"--kubeconfig={self.node.kubeconfig}", *args],
            input=input,
            timeout=timeout,
            env=self.env,
        ).stdout

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def helm(self, *args: str, timeout: float = 600) -> str:
        return run(
            [self.helm_bin, f"--kubeconfig={self.node.kubeconfig}", *args], timeout=timeout, env=self.env
        ).stdout

    def operator_pods(self) -> list[dict[str, Any]]:
        pods = self.kubectl_json(
            "-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/name=twilio-operator"
        )
        return [p for p in pods["items"] if not p["metadata"].get("deletionTimestamp")]

    def leader(self) -> str | None:
        """The pod holding the Lease (its holderIdentity is <pod name>_<process suffix>)."""
        lease = self.kubectl_json("-n", NAMESPACE, "get", "lease", RELEASE)
        holder = lease["spec"].get("holderIdentity") or ""
        return holder.rsplit("_", 1)[0] or None

    def diagnostics(self) -> str:
        parts = []
        for args in (
            ("get", "pods", "-A", "-o", "wide"),
            ("-n", USER_NAMESPACE, "get", "twp,twpn,events", "-o", "wide"),
            (
                "-n",
                NAMESPACE,
                "logs",
                "-l",
                "app.kubernetes.io/name=twilio-operator",
                "--tail=40",
                "--prefix",
            ),
        ):
            result = subprocess.run(
                [self.kubectl_bin, f"--kubeconfig={self.node.kubeconfig}", *args],
                capture_output=True, text=True, check=False, env=self.env, timeout=60,
            )  # fmt: skip
            parts.append(f"$ kubectl {' '.join(args)}\n{result.stdout}{result.stderr}")
        return "\n".join(parts)


def load_examples() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The Secret, TwilioProvider and TwilioPhoneNumber of examples/01-03."""
    docs = [
        yaml.safe_load((EXAMPLES / name).read_text())
        for name in ("01-credentials-secret.yaml", "02-twilio-provider.yaml", "03-twilio-phone-number.yaml")
    ]
    secret, provider, number = docs
    assert (secret["kind"], provider["kind"], number["kind"]) == (
        "Secret",
        "TwilioProvider",
        "TwilioPhoneNumber",
    )
    assert provider["metadata"]["name"] == PROVIDER and number["metadata"]["name"] == NUMBER
    return secret, provider, number


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[World]:
    if os.geteuid() != 0:
        pytest.fail(
            "make e2e runs a real node (network namespace, mounts, cgroups) and needs root; "
            "use `make e2e-kind` where Docker and kind are available instead",
            pytrace=False,
        )
    home = tmp_path_factory.mktemp("clients")
    env = {
        **os.environ,
        "KUBECACHEDIR": str(home / "kube-cache"),  # kubectl's discovery cache, not in ~/.kube
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
    }
    helm = run(["bash", str(REPO / "hack" / "helm" / "build.sh")], timeout=1800).stdout.split()[-1]
    docker = run(["bash", str(REPO / "hack" / "image" / "docker.sh")], timeout=600).stdout.split()[-1]
    notes: dict[str, Any] = {}
    pytestconfig.e2e_figures = notes  # type: ignore[attr-defined]  # printed by conftest.py at the end
    started = time.monotonic()
    node = Node(tmp_path_factory.mktemp("node")).start()
    notes["node start (s)"] = round(time.monotonic() - started, 1)
    notes["node start steps (s)"] = node.timings
    emulator = ManagedProcess(
        "emulator",
        node.namespace.argv(
            [
                sys.executable,
                "-m",
                "twilio_operator.cli",
                "emulator",
                "--host",
                NODE_IP,
                "--port",
                str(EMULATOR_PORT),
            ]
        ),
        node.layout.logs / "emulator.log",
    )
    try:
        emulator.start()
        admin = EmulatorAdmin(f"http://127.0.0.1:{node.forward(NODE_IP, EMULATOR_PORT)}")
        wait_for(admin.healthz, "the emulator", timeout=60)
        secret, provider, number = load_examples()
        account = TwilioAccount.create(
            admin,
            sid=provider["spec"]["accountSid"],
            auth_token=secret["stringData"]["authToken"],
            friendly_name="e2e",
            incoming_phone_numbers=[
                {"phone_number": number["spec"]["phoneNumber"], "capabilities": {"voice": True}}
            ],
        )
        kubectl = str(find_binary("kubectl"))
        yield World(node, kubectl, helm, docker, env, admin, emulator, account, notes)
    finally:
        emulator.stop()
        node.stop()


@pytest.fixture(autouse=True)
def diagnostics_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a failed test: the pods, the operator's logs (and the previous container's), the events."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "world" in request.fixturenames:
        world: World = request.getfixturevalue("world")
        print(f"\n--- diagnostics after {request.node.name}\n{world.diagnostics()}")


@pytest.fixture(scope="module")
def images(world: World) -> tuple[str, str]:
    """Both tags built from the Dockerfile by `make image`'s script, then imported into the node."""
    first, second = f"{REPOSITORY}:{TAG}", f"{REPOSITORY}:{UPGRADE_TAG}"
    started = time.monotonic()
    run(["bash", str(REPO / "hack" / "image" / "build.sh"), first], timeout=2400)
    world.notes["image build (s)"] = round(time.monotonic() - started, 1)
    # The second tag: the same build with one more label, so a distinct image (its own ID) whose
    # layers are cached; what a rollout needs is a new image reference, which is what users push.
    run(
        [
            "bash",
            str(REPO / "hack" / "image" / "build.sh"),
            second,
            "--label",
            "dev.twilio-operator.e2e=upgrade",
        ],
        timeout=2400,
    )
    ids = {
        tag: run([world.docker, "image", "inspect", "--format", "{{.Id}}", tag]).stdout.strip()
        for tag in (first, second)
    }
    assert ids[first] != ids[second], ids
    world.notes["image size (MB)"] = (
        int(run([world.docker, "image", "inspect", "--format", "{{.Size}}", first]).stdout) // 1_000_000
    )
    started = time.monotonic()
    save = subprocess.Popen([world.docker, "save", first, second], stdout=subprocess.PIPE)
    assert save.stdout is not None
    world.node.import_image(save.stdout)
    assert save.wait(timeout=600) == 0
    world.notes["image import (s)"] = round(time.monotonic() - started, 1)
    listed = world.node.images()
    for tag in (first, second):
        assert f"docker.io/library/{tag}" in listed, listed
    return first, second


# ---------------------------------------------------------------------------- 1. the image


IMAGE_CHECK = r"""
import json, os, shutil, sys, tomllib
found = {"compilers": [c for c in ("gcc", "cc", "c++", "g++", "clang", "tcc") if shutil.which(c)],
         "pip_caches": [], "source_trees": [], "pyproject": []}
for top in ("/", ):
    for root, dirs, files in os.walk(top):
        if root.startswith(("/proc", "/sys", "/dev")):
            dirs[:] = []
            continue
        if os.path.basename(root) == "pip" and os.path.basename(os.path.dirname(root)) == ".cache":
            found["pip_caches"].append(root)
        if "pyproject.toml" in files:  # ours; kubernetes_asyncio's wheel ships its own into site-packages
            with open(os.path.join(root, "pyproject.toml"), "rb") as f:
                if tomllib.load(f).get("project", {}).get("name") == "twilio-operator":
                    found["pyproject"].append(root)
        if ".git" in dirs:
            found["source_trees"].append(root)
        if os.path.basename(root) == "operator" and "twilio_operator" in dirs:
            found["source_trees"].append(root)
found["src"] = os.path.exists("/src")
found["wheels"] = os.path.exists("/wheels")
found["pip_in_venv"] = os.path.exists("/opt/venv/bin/pip")
json.dump(found, sys.stdout)
"""


def test_01_image_holds_no_compiler_cache_or_source_and_names_its_commit(
    world: World, images: tuple[str, str]
) -> None:
    image = images[0]
    inspect = json.loads(run([world.docker, "image", "inspect", image]).stdout)[0]
    assert inspect["Config"]["User"] == "65532:65532"
    assert inspect["Config"]["Entrypoint"] == ["twilio-operator", "run"]
    docker_run = [world.docker, "run", "--rm", "--network=none", "--read-only", "--entrypoint"]
    found = json.loads(run([*docker_run, "python3", image, "-c", IMAGE_CHECK]).stdout)
    assert found == {
        "compilers": [], "pip_caches": [], "source_trees": [], "pyproject": [],
        "src": False, "wheels": False, "pip_in_venv": False,
    }, found  # fmt: skip
    version = run([*docker_run, "twilio-operator", image, "--version"]).stdout.strip()
    commit = run(["git", "-C", str(REPO), "rev-parse", "HEAD"]).stdout.strip()
    match = re.fullmatch(r"twilio-operator (\S+) \(commit ([0-9a-f]{40})(-dirty)?\)", version)
    assert match, version
    assert match.group(2) == commit, (version, commit)
    assert inspect["Config"]["Labels"]["org.opencontainers.image.revision"] == match.group(2) + (
        match.group(3) or ""
    )
    world.notes["--version"] = version


# ---------------------------------------------------------------------------- 2-4. install


def test_02_helm_install_two_replicas_one_leader(world: World, images: tuple[str, str]) -> None:
    started = time.monotonic()
    set_args = [arg for pair in HELM_VALUES for arg in pair]
    world.helm(
        "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace", *set_args,
        "--wait", "--timeout", "5m", timeout=420,
    )  # fmt: skip
    world.kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s", timeout=330
    )
    pods = world.operator_pods()
    assert len(pods) == 2, [p["metadata"]["name"] for p in pods]
    for pod in pods:
        assert pod["spec"]["nodeName"] == NODE_NAME
        (container,) = pod["spec"]["containers"]
        assert container["image"] == images[0] and container["imagePullPolicy"] == "IfNotPresent"
        assert pod["status"]["phase"] == "Running"
    leader = wait_for(world.leader, "a pod to hold the Lease")
    assert leader in {p["metadata"]["name"] for p in pods}
    world.notes["helm install to a leader (s)"] = round(time.monotonic() - started, 1)


def proc_status(world: World, pod: str) -> dict[str, str]:
    text = world.kubectl(
        "-n", NAMESPACE, "exec", pod, "--", "python3", "-c", "print(open('/proc/1/status').read())"
    )
    return {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in text.splitlines())
        if key
    }


def test_03_the_container_runs_non_root_read_only_without_capabilities_under_seccomp(world: World) -> None:
    for pod in world.operator_pods():
        name = pod["metadata"]["name"]
        status = proc_status(world, name)
        assert status["Uid"].split() == ["65532"] * 4, status["Uid"]
        assert status["Gid"].split() == ["65532"] * 4, status["Gid"]
        assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0, status
        assert status["Seccomp"] == "2", status["Seccomp"]  # SECCOMP_MODE_FILTER: RuntimeDefault is on
        assert status["NoNewPrivs"] == "1"
        cmdline = world.kubectl(
            "-n",
            NAMESPACE,
            "exec",
            name,
            "--",
            "python3",
            "-c",
            "print(open('/proc/1/cmdline').read().split(chr(0)))",
        )
        assert "twilio-operator" in cmdline and "run" in cmdline, cmdline
        write = (
            "import errno\n"
            "try:\n    open('/opt/venv/x', 'w')\nexcept OSError as e:\n    print(errno.errorcode[e.errno])\n"
            "open('/tmp/x', 'w').write('ok')\nprint('tmp writable')\n"
        )
        out = world.kubectl("-n", NAMESPACE, "exec", name, "--", "python3", "-c", write).split()
        assert out == ["EROFS", "tmp", "writable"], out


def test_04_network_policy_is_accepted_not_enforced(world: World) -> None:
    """The API server stores the chart's policy. The bridge CNI plugin ignores NetworkPolicy, so
    nothing here shows it enforced; only that it is valid and selects the operator's pods."""
    policy = world.kubectl_json("-n", NAMESPACE, "get", "networkpolicy", RELEASE)
    selector = policy["spec"]["podSelector"]["matchLabels"]
    labels = ",".join(f"{k}={v}" for k, v in selector.items())
    selected = world.kubectl_json("-n", NAMESPACE, "get", "pods", "-l", labels)["items"]
    assert {p["metadata"]["name"] for p in selected} >= {p["metadata"]["name"] for p in world.operator_pods()}
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == ["health", "metrics"]


# ---------------------------------------------------------------------------- 5-6. README steps 3-5


def test_05_the_images_check_command_passes_against_the_emulator(world: World) -> None:
    """README: check the credentials before step 3. The secret goes through stdin, never a flag."""
    pod = world.operator_pods()[0]["metadata"]["name"]
    out = world.kubectl(
        "-n", NAMESPACE, "exec", "-i", pod, "--", "env", f"TWILIO_OPERATOR_TWILIO_BASE_URL={EMULATOR_URL}",
        "twilio-operator", "check", "--account-sid", world.account.sid, "--secret-stdin",
        input=world.account.auth_token + "\n",
    )  # fmt: skip
    assert world.account.auth_token not in out
    header, *rows = [re.split(r"\s{2,}", line) for line in out.splitlines() if line.strip()]
    assert header[:2] == ["CHECK", "RESULT"], out
    results = {row[0]: row[1] for row in rows}
    assert len(results) >= 4 and set(results.values()) <= {"passed", "skipped"}, out  # exit 0 too (run())


def condition(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    found = [c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind]
    return found[0] if found else {}


def ready(world: World, resource: str, name: str) -> dict[str, Any] | None:
    obj = world.kubectl_json("-n", USER_NAMESPACE, "get", resource, name)
    current = (
        obj["status"].get("observedGeneration") == obj["metadata"]["generation"] if "status" in obj else False
    )
    return obj if current and condition(obj).get("status") == "True" else None


def test_06_examples_become_ready_through_the_pods(world: World) -> None:
    secret, _, number = load_examples()
    started = time.monotonic()
    world.kubectl("create", "namespace", USER_NAMESPACE)
    # Step 3 creates the Secret from a literal, as users are told to; the token never reaches argv of a
    # process that logs it (kubectl only).
    world.kubectl(
        "create", "secret", "generic", secret["metadata"]["name"], "-n", USER_NAMESPACE,
        f"--from-literal=authToken={world.account.auth_token}",
    )  # fmt: skip
    world.kubectl("apply", "-n", USER_NAMESPACE, "-f", str(EXAMPLES / "02-twilio-provider.yaml"))
    try:
        twp = wait_for(lambda: ready(world, "twp", PROVIDER), "TwilioProvider acme Ready")
        world.kubectl("apply", "-n", USER_NAMESPACE, "-f", str(EXAMPLES / "03-twilio-phone-number.yaml"))
        twpn = wait_for(lambda: ready(world, "twpn", NUMBER), "TwilioPhoneNumber support-line Ready")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{world.diagnostics()}") from None
    world.notes["examples Ready (s)"] = round(time.monotonic() - started, 1)
    assert twp["status"]["trunkSid"].startswith("TK")
    assert world.kubectl(
        "-n", USER_NAMESPACE, "get", "secret", twp["status"]["sipCredentialsSecretName"], "-o", "name"
    )
    assert "Ready" in world.kubectl("-n", USER_NAMESPACE, "describe", "twp", PROVIDER)
    (trunk,) = world.account.state()["trunks"]
    assert trunk["sid"] == twp["status"]["trunkSid"]
    (phone,) = [
        n
        for n in world.account.state()["incoming_phone_numbers"]
        if n["phone_number"] == number["spec"]["phoneNumber"]
    ]
    assert phone["trunk_sid"] == trunk["sid"], phone
    assert condition(twpn)["reason"] == "Attached"


# ---------------------------------------------------------------------------- 7-8. observing it


def test_06b_the_other_kinds_run_through_the_pods(world: World) -> None:
    """The chart's CRDs and RBAC serve every kind: examples/numbers' TwilioEmergencyAddress becomes
    Ready through the image, and a LiveKitConnection whose LiveKit cannot be reached (nothing listens
    on that port) says so in its status instead of hanging."""
    world.kubectl("apply", "-n", USER_NAMESPACE, "-f", str(EXAMPLES / "numbers" / "emergency-address.yaml"))
    address = wait_for(
        lambda: ready(world, "twea", "headquarters"), "TwilioEmergencyAddress headquarters Ready"
    )
    assert address["status"]["addressSid"].startswith("AD")
    docs = list(yaml.safe_load_all((EXAMPLES / "livekit" / "livekit-connection.yaml").read_text()))
    connection = next(d for d in docs if d["kind"] == "LiveKitConnection")
    connection["spec"]["url"] = "http://127.0.0.1:9"  # inside the pod: nothing there
    secret = next(d for d in docs if d["kind"] == "Secret")
    world.kubectl("apply", "-n", USER_NAMESPACE, "-f", "-", input=yaml.safe_dump_all([secret, connection]))

    def unreachable() -> dict[str, Any] | None:
        found = world.kubectl_json("-n", USER_NAMESPACE, "get", "lkc", connection["metadata"]["name"])
        return found if condition(found).get("reason") == "LiveKitUnreachable" else None

    assert condition(wait_for(unreachable, "the LiveKitConnection's LiveKitUnreachable"))["status"] == "False"


def test_07_kubectl_logs_are_json_lines(world: World) -> None:
    leader = wait_for(world.leader, "the Lease holder")
    lines = [line for line in world.kubectl("-n", NAMESPACE, "logs", leader).splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(r, dict) and "message" in r for r in records)
    assert any(PROVIDER in json.dumps(r) for r in records), "no log line about the provider"
    assert world.account.auth_token not in "\n".join(lines)


def scrape(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def test_08_metrics_answer_through_the_service_from_both_pods(world: World) -> None:
    """Through the Service's ClusterIP (kube-proxy's rules inside the node), seen from the host through
    a loopback forwarder. kube-proxy spreads connections over both pods: the leader says
    twilio_operator_leader 1, the standby 0, and both answer."""
    service = world.kubectl_json("-n", NAMESPACE, "get", "service", f"{RELEASE}-metrics")
    port = world.node.forward(service["spec"]["clusterIP"], service["spec"]["ports"][0]["port"])
    seen: set[str] = set()

    def both() -> bool:
        text = scrape(port)
        assert "twilio_operator_" in text
        seen.update(re.findall(r"^twilio_operator_leader\{[^}]*\} (\S+)$", text, re.MULTILINE))
        return {"0.0", "1.0"} <= seen

    wait_for(
        both, "answers from the leader and from the standby through the Service", timeout=60, interval=0.1
    )


# ---------------------------------------------------------------------------- 9-10. failover, upgrade


def trunk_transfer_mode(world: World) -> str:
    (trunk,) = world.account.state()["trunks"]
    return str(trunk["transfer_mode"])


def test_09_forced_leader_deletion_fails_over_and_a_change_is_reconciled_within_15s(world: World) -> None:
    old_leader = wait_for(world.leader, "the Lease holder")
    standby = next(
        p["metadata"]["name"] for p in world.operator_pods() if p["metadata"]["name"] != old_leader
    )
    assert trunk_transfer_mode(world) == "disable-all"
    world.kubectl("-n", NAMESPACE, "delete", "pod", old_leader, "--grace-period=0", "--force")
    changed = time.monotonic()
    world.kubectl(
        "-n",
        USER_NAMESPACE,
        "patch",
        "twp",
        PROVIDER,
        "--type=merge",
        "-p",
        '{"spec": {"supportsCallTransfer": true}}',
    )

    def reconciled() -> bool:
        obj = ready(world, "twp", PROVIDER)
        return bool(
            obj
            and obj["status"].get("supportsCallTransfer") is True
            and trunk_transfer_mode(world) == "enable-all"
        )

    try:
        wait_for(reconciled, "the spec change reconciled", timeout=FAILOVER_LIMIT, interval=0.2)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{world.diagnostics()}") from None
    took = time.monotonic() - changed
    new_leader = world.leader()
    assert new_leader not in (None, old_leader)
    world.notes["failover: change reconciled after (s)"] = round(took, 1)
    world.notes["failover: new leader was the standby"] = new_leader == standby
    world.kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s", timeout=330
    )


def test_10_helm_upgrade_to_a_new_tag_rolls_out_without_twilio_writes(
    world: World, images: tuple[str, str]
) -> None:
    for resource, name in (("twp", PROVIDER), ("twpn", NUMBER)):
        assert ready(world, resource, name), f"{resource}/{name} not Ready before the upgrade"
    before = max((r["seq"] for r in world.admin.requests()), default=0)
    old_pods = {p["metadata"]["name"] for p in world.operator_pods()}
    started = time.monotonic()
    world.helm(
        "upgrade", RELEASE, str(CHART), "--namespace", NAMESPACE, "--reuse-values",
        "--set", f"image.tag={UPGRADE_TAG}", "--wait", "--timeout", "5m", timeout=420,
    )  # fmt: skip
    world.kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s", timeout=330
    )

    def new_leader_resumed() -> str | None:
        pods = {p["metadata"]["name"]: p for p in world.operator_pods()}
        leader = world.leader()
        if not pods or set(pods) & old_pods or leader not in pods:
            return None
        logs = world.kubectl("-n", NAMESPACE, "logs", leader)
        return leader if PROVIDER in logs and NUMBER in logs else None

    new_leader = wait_for(new_leader_resumed, "a new pod leading and having resumed both objects")
    world.notes["helm upgrade to a resumed leader (s)"] = round(time.monotonic() - started, 1)
    for pod in world.operator_pods():
        assert pod["spec"]["containers"][0]["image"] == images[1]
    time.sleep(5)  # let the resumed handlers finish whatever they would do
    requests = [r for r in world.admin.requests(before)]
    writes = [r for r in requests if r["write"]]
    assert writes == [], writes
    world.notes["helm upgrade: Twilio requests (reads, writes)"] = (len(requests), len(writes))
    assert ready(world, "twp", PROVIDER) and ready(world, "twpn", NUMBER)
    assert new_leader


# ---------------------------------------------------------------------------- 11. liveness


def container_pid(world: World, pod: str) -> int:
    """The host pid of the pod's operator process (containerd's task of its container)."""
    container_id = world.kubectl_json("-n", NAMESPACE, "get", "pod", pod)["status"]["containerStatuses"][0][
        "containerID"
    ]
    tasks = world.node.ctr("tasks", "list").stdout.decode().splitlines()[1:]
    pids = {line.split()[0]: int(line.split()[1]) for line in tasks if line.strip()}
    return pids[container_id.removeprefix("containerd://")]


def idle_api_connections(pid: int, idle_ms: int) -> list[int]:
    """Local ports of the process's connections to the API server's Service that sent nothing for
    idle_ms: its watches (a watch request is sent once, then only received) and idle pooled
    connections. The Lease renewals (every second) are never among them."""
    out = run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "ss", "-tniH", "state", "established", "dst", "10.96.0.1"]
    ).stdout
    ports = []
    lines = out.splitlines()
    for address_line, info_line in zip(lines[::2], lines[1::2], strict=False):
        local = address_line.split()[2]
        last_send = re.search(r"lastsnd:(\d+)", info_line)
        if last_send and int(last_send.group(1)) >= idle_ms:
            ports.append(int(local.rsplit(":", 1)[1]))
    return ports


def restarts(world: World, pod: str) -> int:
    status = world.kubectl_json("-n", NAMESPACE, "get", "pod", pod)["status"]
    return int(status["containerStatuses"][0]["restartCount"])


def test_11_liveness_probe_restarts_an_operator_whose_watch_is_stalled(world: World) -> None:
    """What the design allows: /healthz fails once the TwilioProvider watch has been silent for
    max(TWILIO_OPERATOR_LIVENESS_STALL_SECONDS, 2 x the shortest verification interval), default
    max(600 s, 2 h). Every verification writes status, which comes back through the watch. kopf cuts a
    silent watch connection itself after its client timeout (330 s, handlers/settings.py), so with the
    defaults a dead connection is replaced before the probe would fire; the probe is there for stalls
    kopf does not notice. Here the install sets the stall limit to 30 s and scales verification
    intervals by 0.1, and a provider verifies every 6 s (1m x 0.1): a healthy operator then hears from
    its watch every 6 s. The stall is a realistic one: the leader's watch connections are black-holed
    (packets dropped both ways, as by a lost NAT or conntrack entry) while its Lease renewals go on."""
    provider = yaml.safe_load((EXAMPLES / "02-twilio-provider.yaml").read_text())
    provider["metadata"]["name"] = "liveness"
    provider["spec"]["verificationInterval"] = "1m"
    provider["spec"].pop("originationUris", None)
    world.kubectl("apply", "-n", USER_NAMESPACE, "-f", "-", input=yaml.safe_dump(provider))
    wait_for(lambda: ready(world, "twp", "liveness"), "TwilioProvider liveness Ready")
    leader = wait_for(world.leader, "the Lease holder")
    before = restarts(world, leader)
    # Control: with the same settings a healthy operator outlives the stall limit plus two probes.
    time.sleep(30 + 2 * 5 + 5)
    assert restarts(world, leader) == before, "restarted without a stall: the settings are too tight"
    assert world.leader() == leader

    pid = container_pid(world, leader)
    pod_ip = world.kubectl_json("-n", NAMESPACE, "get", "pod", leader)["status"]["podIP"]
    ports = wait_for(lambda: idle_api_connections(pid, 3000), "the leader's watch connections")
    for port in ports:  # dropped in the node's namespace, where the pod's traffic enters and leaves
        for chain, match in (
            ("INPUT", ["-s", pod_ip, "--sport", str(port)]),
            ("OUTPUT", ["-d", pod_ip, "--dport", str(port)]),
        ):
            world.node.namespace.run(["iptables", "-I", chain, "-p", "tcp", *match, "-j", "DROP"])
    stalled = time.monotonic()
    try:
        wait_for(
            lambda: restarts(world, leader) > before,
            "the kubelet restarting the stalled operator",
            timeout=180,
        )
    except AssertionError as error:
        raise AssertionError(f"{error}\n{world.diagnostics()}") from None
    world.notes["liveness: watch connections black-holed"] = len(ports)
    world.notes["liveness: restarted after (s)"] = round(time.monotonic() - stalled, 1)
    events = world.kubectl_json(
        "-n", NAMESPACE, "get", "events", "--field-selector", f"involvedObject.name={leader},reason=Unhealthy"
    )
    messages = [e["message"] for e in events["items"]]
    assert any("Liveness probe failed" in m for m in messages), messages
    # The restarted process has new connections: the operator serves again and the providers stay Ready.
    wait_for(
        lambda: world.leader() is not None and ready(world, "twp", "liveness"), "the operator serving again"
    )
    world.kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s", timeout=330
    )


# ---------------------------------------------------------------------------- 12-13. uninstall


def nothing_in_twilio(world: World) -> dict[str, Any] | None:
    state = world.account.state()
    left = {
        key: state[key]
        for key in ("trunks", "credential_lists", "ip_access_control_lists", "addresses")
        if state[key]
    }
    attached = [n for n in state["incoming_phone_numbers"] if n["trunk_sid"]]
    return None if left or attached else state


def gone(world: World, *args: str) -> bool:
    argv = [world.kubectl_bin, f"--kubeconfig={world.node.kubeconfig}", "get", *args]
    result = subprocess.run(
        [*argv, "-o", "name", "--ignore-not-found"],
        capture_output=True,
        text=True,
        check=False,
        env=world.env,
        timeout=60,
    )
    return result.returncode == 0 and not result.stdout.strip()


def test_12_uninstall_in_the_documented_order_leaves_nothing(world: World) -> None:
    """docs/install.md "Uninstalling": delete the objects while the operator runs, check none is
    left, helm uninstall, then delete the CRDs."""
    # The connection's LiveKit was never reachable (test 6b), so its deletion would wait: let it go
    # the way docs/livekit.md says.
    orphan = "voip.twilio-operator.dev/deletion-policy=Orphan"
    world.kubectl("annotate", "-n", USER_NAMESPACE, "lkc", "--all", orphan)
    for kind in ("lkc", "twpn", "twea", "twp"):  # the documented order
        world.kubectl("delete", "-n", USER_NAMESPACE, kind, "--all", "--wait", "--timeout=180s", timeout=240)
    assert gone(world, "lkc,twpn,twea,twp", "-A")
    state = wait_for(lambda: nothing_in_twilio(world), "nothing left in Twilio")
    assert state["incoming_phone_numbers"], "the number must stay in the account (detached, never released)"
    world.helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--wait", "--timeout", "3m", timeout=240)
    world.kubectl("delete", "crd", *CRDS, "--wait", "--timeout=120s", timeout=180)
    wait_for(lambda: gone(world, "pods", "-n", NAMESPACE), "the operator pods gone")
    left_by_operator = world.kubectl(
        "get",
        "all,lease,networkpolicy,role,rolebinding,serviceaccount,configmap",
        "-n",
        NAMESPACE,
        "-o",
        "name",
    )
    world.notes["left in the release namespace after helm uninstall"] = left_by_operator.split()
    # Nothing stuck: the credentials Secret lost the operator's in-use finalizer, both namespaces go.
    secret = world.kubectl_json("-n", USER_NAMESPACE, "get", "secret", "twilio-credentials")
    assert not secret["metadata"].get("finalizers"), secret["metadata"]
    for namespace in (USER_NAMESPACE, NAMESPACE):
        world.kubectl("delete", "namespace", namespace, "--wait=false")
    wait_for(
        lambda: gone(world, "namespace", USER_NAMESPACE, NAMESPACE), "both namespaces deleted", timeout=180
    )
    assert gone(world, "crd", *CRDS)


def test_13_plain_install_manifest(world: World, images: tuple[str, str]) -> None:
    """docs/install.md "kubectl", once: install.yaml, the image set with `kubectl set image`."""
    world.kubectl("apply", "--server-side", "-f", str(REPO / "deploy" / "install.yaml"))
    world.kubectl("-n", NAMESPACE, "set", "image", f"deployment/{RELEASE}", f"operator={images[0]}")
    # The test world only: the emulator in Twilio's place (the chart's twilioBaseUrl).
    world.kubectl(
        "-n",
        NAMESPACE,
        "set",
        "env",
        f"deployment/{RELEASE}",
        f"TWILIO_OPERATOR_TWILIO_BASE_URL={EMULATOR_URL}",
    )
    world.kubectl(
        "-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s", timeout=330
    )
    world.kubectl("create", "namespace", USER_NAMESPACE)
    world.kubectl(
        "create",
        "secret",
        "generic",
        "twilio-credentials",
        "-n",
        USER_NAMESPACE,
        f"--from-literal=authToken={world.account.auth_token}",
    )
    world.kubectl("apply", "-n", USER_NAMESPACE, "-f", str(EXAMPLES / "02-twilio-provider.yaml"))
    try:
        twp = wait_for(lambda: ready(world, "twp", PROVIDER), "TwilioProvider acme Ready (install.yaml)")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{world.diagnostics()}") from None
    assert [t["sid"] for t in world.account.state()["trunks"]] == [twp["status"]["trunkSid"]]
    world.kubectl("delete", "-n", USER_NAMESPACE, "twp", PROVIDER, "--wait", "--timeout=180s", timeout=240)
    wait_for(lambda: nothing_in_twilio(world), "nothing left in Twilio")
    world.kubectl("delete", "-f", str(REPO / "deploy" / "install.yaml"), "--wait=false")
    world.kubectl("delete", "namespace", USER_NAMESPACE, "--wait=false")
    wait_for(
        lambda: gone(world, "namespace", USER_NAMESPACE, NAMESPACE) and gone(world, "crd", *CRDS),
        "install.yaml's objects gone",
        timeout=180,
    )


# ---------------------------------------------------------------------------- 14. teardown


def host_chains() -> list[str]:
    chains = []
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool):
            out = run([tool]).stdout
            chains += [
                line
                for line in out.splitlines()
                if line.startswith(":") and line[1:].startswith(("KUBE-", "CNI-"))
            ]
    return chains


def test_14_teardown_leaves_nothing(world: World) -> None:
    chains_before = host_chains()
    world.emulator.stop()
    started = time.monotonic()
    report = world.node.stop()
    world.notes["node teardown (s)"] = round(time.monotonic() - started, 1)
    assert report.complete, "\n".join(report.lines())
    assert not world.node.namespace.exists()
    links = run(["ip", "-br", "link"]).stdout
    assert "cni0" not in links.split()
    # The node never touched the host's iptables: its chains lived and died in its own namespace.
    assert host_chains() == chains_before == [], chains_before
