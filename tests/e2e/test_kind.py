"""End to end on kind: the image, the Helm chart and the examples, against the in-cluster emulator.

Steps: create a kind cluster -> build the image (hack/image/build.sh, as `make image`) -> kind
load it -> deploy the Twilio emulator (same image, `twilio-operator emulator`) -> seed the example's
account through the emulator admin API -> helm install with twilioBaseUrl pointing at the emulator
-> apply examples/ (the Secret and the TwilioProvider) -> wait for Ready -> delete the provider
(the finalizer cleans up) -> helm uninstall -> delete the cluster.

Opt-in: `make e2e-kind` (`make e2e` runs tests/e2e/test_node.py on the local node instead: no
Docker registry or kind needed). Environment knobs: E2E_CLUSTER (kind cluster name, default
twilio-operator-e2e), E2E_KEEP_CLUSTER=1 (keep the cluster for debugging; an existing
cluster of that name is reused), E2E_IMAGE (default twilio-operator:e2e).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from twilio_operator.testing.binaries import BinaryNotFoundError, find_binary

pytestmark = [pytest.mark.kind, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("E2E_CLUSTER", "twilio-operator-e2e")
IMAGE = os.environ.get("E2E_IMAGE", "twilio-operator:e2e")
KEEP = os.environ.get("E2E_KEEP_CLUSTER") == "1"
OPERATOR_NS = "twilio-operator"
EMULATOR_NS = "twilio-emulator"
DEMO_NS = "e2e-demo"
EMULATOR_URL = f"http://twilio-emulator.{EMULATOR_NS}.svc.cluster.local:8099"


def run(*args: str, input: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), capture_output=True, text=True, input=input, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(args)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def find_kubectl() -> str | None:
    """kubectl on PATH, else the one `make controlplane` downloaded or built (found like the harness's)."""
    if on_path := shutil.which("kubectl"):
        return on_path
    try:
        return str(find_binary("kubectl"))
    except BinaryNotFoundError:
        return None


@dataclass(frozen=True)
class Tools:
    docker: str
    kind: str
    kubectl: str
    helm: str


@pytest.fixture(scope="module")
def tools() -> Tools:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker not installed")
    if subprocess.run([docker, "info"], capture_output=True, check=False, timeout=60).returncode != 0:
        pytest.skip("docker daemon not reachable")
    kind = shutil.which("kind")
    if kind is None:
        pytest.skip("kind not installed")
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl not installed (install it, or run `make controlplane`)")
    helm = run("bash", str(REPO / "hack" / "helm" / "build.sh"), timeout=1200).stdout.strip().splitlines()[-1]
    return Tools(docker=docker, kind=kind, kubectl=kubectl, helm=helm)


@dataclass(frozen=True)
class Cluster:
    tools: Tools
    kubeconfig: Path

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 600) -> str:
        return run(
            self.tools.kubectl, "--kubeconfig", str(self.kubeconfig), *args, input=input, timeout=timeout
        ).stdout

    def helm(self, *args: str, timeout: float = 600) -> str:
        return run(self.tools.helm, "--kubeconfig", str(self.kubeconfig), *args, timeout=timeout).stdout

    def diagnostics(self) -> str:
        """Operator logs and events, for failure messages."""
        parts = []
        for args in (
            ("-n", OPERATOR_NS, "logs", "deployment/twilio-operator", "--tail=200"),
            ("-n", DEMO_NS, "get", "twp,secrets,events", "-o", "wide"),
        ):
            result = subprocess.run(
                [self.tools.kubectl, "--kubeconfig", str(self.kubeconfig), *args],
                capture_output=True,
                text=True,
                check=False,
            )
            parts.append(f"$ kubectl {' '.join(args)}\n{result.stdout}{result.stderr}")
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    existing = run(tools.kind, "get", "clusters").stdout.split()
    if CLUSTER in existing and KEEP:
        run(tools.kind, "export", "kubeconfig", "--name", CLUSTER, "--kubeconfig", str(kubeconfig))
    else:
        if CLUSTER in existing:
            run(tools.kind, "delete", "cluster", "--name", CLUSTER)
        run(
            tools.kind,
            "create",
            "cluster",
            "--name",
            CLUSTER,
            "--kubeconfig",
            str(kubeconfig),
            "--wait",
            "180s",
        )
    try:
        yield Cluster(tools=tools, kubeconfig=kubeconfig)
    finally:
        if not KEEP:
            subprocess.run([tools.kind, "delete", "cluster", "--name", CLUSTER], check=False)


@pytest.fixture(scope="module")
def image(tools: Tools, cluster: Cluster) -> str:
    # What `make image` runs: a docker client that builds with BuildKit, and the Dockerfile's default
    # base (python:3.11-slim) where it can be pulled, which is where kind runs.
    run("bash", str(REPO / "hack" / "image" / "build.sh"), IMAGE, timeout=1800)
    run(tools.kind, "load", "docker-image", IMAGE, "--name", CLUSTER)
    return IMAGE


@dataclass(frozen=True)
class Example:
    objects: list[dict[str, Any]]
    provider: dict[str, Any]
    account_sid: str
    auth_token: str


def load_example() -> Example:
    """The Secret and TwilioProvider of examples/, moved to the demo namespace.

    The emulator account is seeded from them, so the example's credentials work.
    """
    docs = [
        doc
        for path in sorted((REPO / "examples").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    providers = [d for d in docs if d.get("kind") == "TwilioProvider"]
    assert providers, "examples/ has no TwilioProvider"
    provider = providers[0]
    ref = provider["spec"]["credentialsSecretRef"]
    secrets = [d for d in docs if d.get("kind") == "Secret" and d["metadata"]["name"] == ref["name"]]
    assert secrets, f"examples/ has no Secret {ref['name']} for TwilioProvider {provider['metadata']['name']}"
    secret = secrets[0]
    key = ref.get("authTokenKey", "authToken")
    if key in secret.get("stringData", {}):
        token = secret["stringData"][key]
    else:
        token = base64.b64decode(secret["data"][key]).decode()
    objects = []
    for obj in (secret, provider):
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["namespace"] = DEMO_NS
        objects.append(obj)
    return Example(
        objects=objects, provider=objects[1], account_sid=provider["spec"]["accountSid"], auth_token=token
    )


def seed_emulator(cluster: Cluster, example: Example) -> None:
    """POST /_emulator/accounts from inside the emulator pod (its image has Python)."""
    body = json.dumps(
        {"sid": example.account_sid, "auth_token": example.auth_token, "friendly_name": "e2e demo"}
    )
    script = (
        "import sys, urllib.request\n"
        "request = urllib.request.Request('http://127.0.0.1:8099/_emulator/accounts',"
        " data=sys.stdin.buffer.read(), headers={'Content-Type': 'application/json'}, method='POST')\n"
        "print(urllib.request.urlopen(request).status)\n"
    )
    out = cluster.kubectl(
        "-n",
        EMULATOR_NS,
        "exec",
        "-i",
        "deployment/twilio-emulator",
        "--",
        "python",
        "-c",
        script,
        input=body,
    )
    assert out.strip() == "201", out


def helm_set_args(image: str) -> list[str]:
    """The chart values of the e2e install: the loaded image, and the in-cluster emulator as Twilio."""
    repository, tag = image.rsplit(":", 1)
    values = {
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "twilioBaseUrl": EMULATOR_URL,
        "logLevel": "DEBUG",
    }
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def test_install_reconcile_delete_uninstall(cluster: Cluster, image: str) -> None:
    example = load_example()

    # The emulator, from the same image.
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=(Path(__file__).parent / "emulator.yaml").read_text().replace("IMAGE", image),
    )
    cluster.kubectl("-n", EMULATOR_NS, "rollout", "status", "deployment/twilio-emulator", "--timeout=180s")
    seed_emulator(cluster, example)

    # The operator, from the chart (CRDs from its crds/).
    cluster.helm(
        "install", "twilio-operator", str(REPO / "charts" / "twilio-operator"),
        "--namespace", OPERATOR_NS, "--create-namespace", *helm_set_args(image), "--wait", "--timeout", "3m",
    )  # fmt: skip

    name = example.provider["metadata"]["name"]
    cluster.kubectl("create", "namespace", DEMO_NS)
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(example.objects))
    try:
        cluster.kubectl(
            "-n", DEMO_NS, "wait", "--for=condition=Ready", f"twp/{name}", "--timeout=180s", timeout=240
        )
    except AssertionError as error:
        raise AssertionError(f"{error}\n{cluster.diagnostics()}") from None

    status = json.loads(cluster.kubectl("-n", DEMO_NS, "get", f"twp/{name}", "-o", "json"))["status"]
    assert status["trunkSid"].startswith("TK"), status
    assert status["verificationStatus"] in {"verified", "warning"}, status
    sip_secret = status["sipCredentialsSecretName"]
    cluster.kubectl("-n", DEMO_NS, "get", "secret", sip_secret)

    # Deletion runs the finalizer: with deletionPolicy Delete the SIP Secret goes too.
    cluster.kubectl("-n", DEMO_NS, "delete", f"twp/{name}", "--wait", "--timeout=180s", timeout=240)
    if example.provider["spec"].get("deletionPolicy", "Delete") == "Delete":
        remaining = cluster.kubectl("-n", DEMO_NS, "get", "secrets", "-o", "name")
        assert f"secret/{sip_secret}" not in remaining.split(), remaining

    cluster.helm("uninstall", "twilio-operator", "--namespace", OPERATOR_NS, "--wait", "--timeout", "2m")
    assert "twilio-operator" not in cluster.helm("list", "--all-namespaces", "-q").split()
