"""How clients reach the local control plane: kubeconfig files and the kubectl binary."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

from twilio_operator.testing.binaries import find_binary
from twilio_operator.testing.certs import KeyPair


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, user: str, client: KeyPair) -> Path:
    """JSON is valid YAML: kubectl and kubernetes_asyncio read it, and we need no YAML writer."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(client.cert_pem),
                    "client-key-data": b64(client.key_pem),
                },
            }
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": user}}],
        "current-context": "local",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path


def run_kubectl(
    *args: str, kubeconfig: str | Path, input: str | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run the kubectl found like the other binaries; never raises on a non-zero exit."""
    argv = [str(find_binary("kubectl")), f"--kubeconfig={kubeconfig}", *args]
    return subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, check=False)
