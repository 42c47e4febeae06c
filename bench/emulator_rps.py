"""Emulator throughput: server pinned to one core, an aiohttp client on another.

    .venv/bin/python bench/emulator_rps.py [--requests 20000] [--concurrency 32] [--contract]

Sends authenticated account fetches and trunk fetches (alternating) and prints requests/second and
p50/p99 latency. Contract checking is off unless --contract is given. Writes nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from twilio_operator.emulator.client import EmulatorAdmin
from twilio_operator.testing.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
OPENAPI_DIR = REPO_ROOT / ".cache" / "twilio-openapi"


def start_server(port: int, core: int, contract: bool) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "twilio_operator.cli",
        "emulator",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if contract:
        command += ["--openapi-dir", str(OPENAPI_DIR)]
    env = {k: v for k, v in os.environ.items() if k != "TWILIO_EMULATOR_OPENAPI_DIR"}
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    os.sched_setaffinity(process.pid, {core})
    return process


async def drive(
    base: str, paths: list[str], auth: str, total: int, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    remaining = iter(range(total))
    headers = {"Authorization": auth}

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in remaining:
            started = time.perf_counter()
            async with session.get(base + paths[i % len(paths)], headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"unexpected HTTP {response.status}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(min(concurrency, 8))))  # warm-up connections
        remaining = iter(range(total))
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--contract", action="store_true", help="turn contract checking on")
    options = parser.parse_args()

    cores = os.sched_getaffinity(0)
    client_core = options.client_core if options.client_core in cores else options.server_core
    os.sched_setaffinity(0, {client_core})
    port = free_port()
    server = start_server(port, options.server_core, options.contract)
    base = f"http://127.0.0.1:{port}"
    try:
        admin = EmulatorAdmin(base)
        deadline = time.monotonic() + 30
        while not admin.healthz():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("emulator did not start")
            time.sleep(0.05)
        account = admin.create_account()
        auth = "Basic " + base64.b64encode(f"{account['sid']}:{account['auth_token']}".encode()).decode()
        trunk = _create_trunk(base, auth)
        paths = [f"/2010-04-01/Accounts/{account['sid']}.json", f"/v1/Trunks/{trunk}"]
        elapsed, latencies = asyncio.run(drive(base, paths, auth, options.requests, options.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"requests={len(latencies)} concurrency={options.concurrency} "
        f"contract={'on' if options.contract else 'off'} "
        f"server_core={options.server_core} client_core={client_core} elapsed={elapsed:.2f}s "
        f"rps={len(latencies) / elapsed:.0f} p50={p50:.2f}ms p99={p99:.2f}ms"
    )
    return 0


def _create_trunk(base: str, auth: str) -> str:
    async def create() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                base + "/v1/Trunks", data={"FriendlyName": "bench"}, headers={"Authorization": auth}
            ) as resp,
        ):
            sid: str = (await resp.json())["sid"]
            return sid

    return asyncio.run(create())


if __name__ == "__main__":
    sys.exit(main())
