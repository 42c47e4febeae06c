"""The operator's Kubernetes client reads the proxy environment once, at connect, not per request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio import client as k8s

from twilio_operator.ports.kube.adapter import settle_environment

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def api_client(host: str) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    configuration.host = host
    return k8s.ApiClient(configuration)


async def test_no_proxy_in_the_environment_turns_the_lookups_off(environment: pytest.MonkeyPatch) -> None:
    client = api_client("https://10.0.0.1:6443")
    try:
        assert client.rest_client.pool_manager.trust_env  # kubernetes_asyncio's default
        settle_environment(client)
        assert not client.rest_client.pool_manager.trust_env
        assert not client.rest_client.proxy
    finally:
        await client.close()


async def test_a_proxy_for_the_api_server_is_kept_with_its_credentials(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("HTTPS_PROXY", "http://user:secret@proxy.example:3128")
    client = api_client("https://10.0.0.1:6443")
    try:
        settle_environment(client)
        assert not client.rest_client.pool_manager.trust_env
        assert client.rest_client.proxy == "http://proxy.example:3128"
        assert client.rest_client.proxy_headers["Proxy-Authorization"] == "Basic dXNlcjpzZWNyZXQ="
    finally:
        await client.close()


async def test_no_proxy_exempts_the_api_server(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    environment.setenv("NO_PROXY", "10.0.0.1")
    client = api_client("https://10.0.0.1:6443")
    try:
        settle_environment(client)
        assert not client.rest_client.proxy
    finally:
        await client.close()


async def test_requests_make_no_thread_hop(environment: pytest.MonkeyPatch) -> None:
    app = web.Application()

    async def version(_: web.Request) -> web.Response:
        fields = ("buildDate", "compiler", "gitCommit", "gitTreeState", "gitVersion", "goVersion", "platform")
        return web.json_response({"major": "1", "minor": "33", **dict.fromkeys(fields, "x")})

    app.router.add_get("/version/", version)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = api_client(f"http://127.0.0.1:{port}")
    loop = asyncio.get_running_loop()
    hops: list[Any] = []
    original = loop.run_in_executor

    def counting(executor: Any, func: Any, *args: Any) -> Any:
        hops.append(func)
        return original(executor, func, *args)

    environment.setattr(loop, "run_in_executor", counting)
    try:
        settle_environment(client)
        for _ in range(3):
            info = await k8s.VersionApi(client).get_code()
            assert info.minor == "33"
        assert hops == []
    finally:
        await client.close()
        await runner.cleanup()
