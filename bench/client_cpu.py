"""Client-side CPU per Kubernetes request: kubernetes_asyncio as the adapter calls it, lightkube, plain HTTP.

Issue 26, item 4 ("Imported code"): what replacing kubernetes_asyncio would do to CPU, not only to
memory (bench/import_cost.py). A tiny aiohttp server on loopback answers every GET and PATCH of a
Secret with the same JSON object (managedFields included, as the API server sends), so what differs
between the rows is the client: each client runs in a fresh process of each interpreter given (one
that lacks its package is left out), sends -n GET + PATCH pairs one after the other after a warm-up,
and reports CPU seconds (time.process_time) per 1000 requests, wall seconds, and VmRSS/VmHWM after.

    python bench/client_cpu.py [--python PATH ...] [-n 2000]

The server runs with this interpreter (it needs aiohttp). The machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

NAMESPACE, NAME = "bench", "sip-credentials"
PATH = f"/api/v1/namespaces/{NAMESPACE}/secrets/{NAME}"
MERGE = "application/merge-patch+json"
TOKEN = "bench-token"  # every client sends a bearer token, as the operator's ServiceAccount does
PATCH = {"metadata": {"annotations": {"twilio-operator.dev/observed": "1"}}}
FIELDS = {"f:data": {"f:password": {}, "f:username": {}}, "f:metadata": {"f:labels": {"f:app": {}}}}
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "type": "Opaque",
    "metadata": {
        "name": NAME,
        "namespace": NAMESPACE,
        "uid": "5b3c2f1e-0000-4000-8000-000000000000",
        "resourceVersion": "123456",
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "labels": {"app": "twilio-operator"},
        "annotations": {"twilio-operator.dev/observed": "1"},
        "managedFields": [
            {
                "manager": "twilio-operator",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2026-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": FIELDS,
            }
        ],
    },
    "data": {"username": "dXNlcg==", "password": "c2VjcmV0"},
}


def serve() -> None:
    """The loopback server; prints its URL, then answers until killed."""
    from aiohttp import web

    body = json.dumps(SECRET).encode()

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    async def run() -> None:
        app = web.Application()
        app.router.add_route("GET", PATH, answer)
        app.router.add_route("PATCH", PATH, answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        print(f"http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


async def kubernetes_asyncio_pair(url: str) -> Callable[[], Awaitable[None]]:
    """As ports/kube/adapter.py calls it: raw answers (_preload_content=False) decoded with json."""
    from kubernetes_asyncio import client

    configuration = client.Configuration(host=url, api_key={"BearerToken": f"Bearer {TOKEN}"})
    api = client.ApiClient(configuration)
    api.rest_client.pool_manager._trust_env = False  # as adapter.settle_environment does
    core: Any = client.CoreV1Api(api)

    async def pair() -> None:
        for call in (
            core.read_namespaced_secret(NAME, NAMESPACE, _preload_content=False),
            core.patch_namespaced_secret(NAME, NAMESPACE, PATCH, _content_type=MERGE, _preload_content=False),
        ):
            response = await call
            try:
                assert json.loads(await response.read())["metadata"]["resourceVersion"]
            finally:
                response.release()

    return pair


async def lightkube_pair(url: str) -> Callable[[], Awaitable[None]]:
    """lightkube's AsyncClient with its defaults (lazily decoded objects)."""
    from lightkube import AsyncClient, KubeConfig
    from lightkube.config.models import Cluster, User
    from lightkube.resources.core_v1 import Secret
    from lightkube.types import PatchType

    kube = AsyncClient(KubeConfig.from_one(cluster=Cluster(server=url), user=User(token=TOKEN)))

    async def pair() -> None:
        secret = await kube.get(Secret, NAME, namespace=NAMESPACE)
        assert secret.metadata and secret.metadata.resourceVersion
        patched = await kube.patch(Secret, NAME, PATCH, namespace=NAMESPACE, patch_type=PatchType.MERGE)
        assert patched.metadata and patched.metadata.resourceVersion

    return pair


async def aiohttp_pair(url: str) -> Callable[[], Awaitable[None]]:
    """aiohttp alone, kubernetes_asyncio's transport (and kopf's): the floor."""
    import aiohttp

    session = aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {TOKEN}"})

    async def pair() -> None:
        for method, data in (("GET", None), ("PATCH", json.dumps(PATCH))):
            async with session.request(method, PATH, data=data, headers={"Content-Type": MERGE}) as answer:
                assert json.loads(await answer.read())["metadata"]["resourceVersion"]

    return pair


async def httpx2_pair(url: str) -> Callable[[], Awaitable[None]]:
    """httpx2 alone, lightkube's transport: how much of lightkube's cost is its HTTP client's."""
    import httpx2

    http = httpx2.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"})

    async def pair() -> None:
        for method, data in (("GET", None), ("PATCH", json.dumps(PATCH))):
            answer = await http.request(method, PATH, content=data, headers={"Content-Type": MERGE})
            assert json.loads(answer.content)["metadata"]["resourceVersion"]

    return pair


CLIENTS = {
    "kubernetes_asyncio": kubernetes_asyncio_pair,
    "lightkube": lightkube_pair,
    "httpx2": httpx2_pair,
    "aiohttp": aiohttp_pair,
}


async def drive(client: str, url: str, pairs: int) -> dict[str, float]:
    pair = await CLIENTS[client](url)
    for _ in range(50):  # connections, caches
        await pair()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(pairs):
        await pair()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    with open("/proc/self/status") as lines:
        status = dict(line.split(":", 1) for line in lines)
    rss, hwm = (int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
    return {"cpu_per_1000": cpu / (2 * pairs) * 1000, "wall": wall, "rss": rss, "hwm": hwm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", help="interpreter to run the clients (repeatable)")
    parser.add_argument("-n", type=int, default=2000, help="GET + PATCH pairs per client")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    if args.client:
        try:
            print(json.dumps(asyncio.run(drive(args.client, args.url, args.n))))
        except ImportError:
            sys.exit(3)
        return None
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        print(f"{args.n} GET + {args.n} PATCH per row\n")
        print("| python | client | CPU s / 1000 requests | wall s | VmRSS MB after | VmHWM MB |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for python in args.python or [sys.executable]:
            for client in CLIENTS:
                command = [python, __file__, "--client", client, "--url", url, "-n", str(args.n)]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode == 3:
                    continue
                done.check_returncode()
                row = json.loads(done.stdout)
                print(
                    f"| {python} | {client} | {row['cpu_per_1000']:.3f} | {row['wall']:.2f} "
                    f"| {row['rss']:.1f} | {row['hwm']:.1f} |"
                )
    finally:
        server.kill()
        server.wait()
    return None


if __name__ == "__main__":
    main()
