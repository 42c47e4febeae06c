"""How much does receiving the Secrets of a cluster cost a watcher, by the way it watches?

    .venv/bin/python bench/secret_watch_modes.py [--secrets 1000] [--kib 100]

Starts its own control plane, creates the Secrets in one namespace, then for each mode runs a fresh
Python process that lists every Secret of the cluster once (the start of a list+watch, where the
peak comes from) and reports that process's peak RSS above its RSS before the list:
  full      the objects with their data (what kopf's watch of all Secrets receives)
  metadata  PartialObjectMetadataList (a metadata-only watch: names, labels, annotations, managedFields)
  label     a label selector that no unrelated Secret matches (what the operator does)
The issue-17 choice between these was made from its output; see docs/install.md, "Sizing".
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib.kube import KubeClient, secrets_path

from twilio_operator.testing.controlplane import ControlPlane

ACCEPT = {
    "full": "application/json",
    "metadata": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    "label": "application/json",
}
CHILD = r"""
import json, sys, http.client, ssl, base64, tempfile, pathlib
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
config = json.loads(pathlib.Path(sys.argv[1]).read_text())
cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
d = pathlib.Path(tempfile.mkdtemp())
(d / "c").write_bytes(base64.b64decode(user["client-certificate-data"]))
(d / "k").write_bytes(base64.b64decode(user["client-key-data"]))
context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
context.load_cert_chain(str(d / "c"), str(d / "k"))
host, port = cluster["server"].split("//")[1].split(":")
conn = http.client.HTTPSConnection(host, int(port), context=context)
before = rss("VmRSS:")
conn.request("GET", sys.argv[2], headers={"Accept": sys.argv[3]})
response = conn.getresponse()
listing = json.loads(response.read())
print(json.dumps({"items": len(listing["items"]), "before_mb": round(before, 1),
                  "peak_mb": round(rss("VmHWM:"), 1), "held_mb": round(rss("VmRSS:"), 1)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--kib", type=int, default=100)
    options = parser.parse_args()
    binaries = Path(__file__).resolve().parents[1] / ".cache" / "controlplane" / "bin"
    if binaries.is_dir():
        os.environ.setdefault("CONTROLPLANE_BIN", str(binaries))
    with ControlPlane(controller_manager=False) as cp:
        kube = KubeClient(cp.kubeconfig)
        kube.create("/api/v1/namespaces", {"metadata": {"name": "unrelated"}})

        def create(i: int) -> None:
            data = {"release": base64.b64encode(os.urandom(options.kib * 1024)).decode()}
            body = {"metadata": {"name": f"release-{i:05d}", "labels": {"owner": "helm"}}, "data": data}
            kube.create(secrets_path("unrelated"), body)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(options.secrets)))
        results = {}
        for mode, accept in ACCEPT.items():
            path = "/api/v1/secrets" + (
                "?labelSelector=voip.twilio-operator.dev/credentials" if mode == "label" else ""
            )
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(cp.kubeconfig), path, accept],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            result = json.loads(out)
            result["peak_above_start_mb"] = round(result["peak_mb"] - result["before_mb"], 1)
            results[mode] = result
        kube.close()
    print(json.dumps({"secrets": options.secrets, "kib": options.kib, "modes": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
