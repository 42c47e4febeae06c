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


# ---- writes whose answer is not needed: statuses still decide, nothing is deserialized


class FakeApiServer:
    """Answers the writes of a create with scripted statuses; records (method, path, content type)."""

    def __init__(self, statuses: dict[tuple[str, str], int]) -> None:
        self.statuses = statuses
        self.seen: list[tuple[str, str, str]] = []
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.method, request.path, request.content_type))
        status = self.statuses.get((request.method, request.path), 200)
        if status >= 300:
            body = {"kind": "Status", "status": "Failure", "code": status, "message": f"scripted {status}"}
            if status == 409 and request.method == "POST":
                body["reason"] = "AlreadyExists"  # what the API server says of a create whose name is taken
            return web.json_response(body, status=status)
        answer = {"kind": "Secret", "metadata": {"name": "x", "resourceVersion": str(len(self.seen))}}
        return web.json_response(answer, status=status)

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def __aexit__(self, *_: Any) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


SECRETS = "/api/v1/namespaces/ns/secrets"


async def test_write_secret_falls_back_to_a_merge_patch_on_conflict(environment: pytest.MonkeyPatch) -> None:
    from twilio_operator.ports.kube.adapter import KubernetesGateway

    server = FakeApiServer({("POST", SECRETS): 409})
    async with server as url:
        gateway = KubernetesGateway(api_client(url))
        try:
            version = await gateway.write_secret("ns", "sip", {"password": "p"}, {"a": "b"}, None)
        finally:
            await gateway.close()
    assert [(m, p) for m, p, _ in server.seen] == [("POST", SECRETS), ("PATCH", f"{SECRETS}/sip")]
    assert server.seen[1][2] == "application/merge-patch+json"
    assert version == "2"  # from the patch's answer: the version a precondition can name


async def test_a_refused_write_is_a_kubernetes_error_with_the_servers_message(
    environment: pytest.MonkeyPatch,
) -> None:
    from twilio_operator.api.errors import KubernetesError, NotFoundError
    from twilio_operator.api.models import PROVIDER
    from twilio_operator.ports.kube.adapter import KubernetesGateway

    status_path = "/apis/voip.twilio-operator.dev/v1alpha1/namespaces/ns/twilioproviders/p/status"
    server = FakeApiServer(
        {
            ("PATCH", status_path): 404,
            ("PATCH", "/api/v1/namespaces/ns/configmaps/p-agents"): 422,
            ("PATCH", f"{SECRETS}/cred"): 403,
        }
    )
    async with server as url:
        gateway = KubernetesGateway(api_client(url))
        try:
            with pytest.raises(NotFoundError):
                await gateway.patch_status(PROVIDER, "ns", "p", {"phase": "Ready"})
            with pytest.raises(KubernetesError) as refused:
                await gateway.apply_config_map("ns", "p-agents", {"agents.json": "[]"}, {}, {}, None)
            assert refused.value.status == 422 and "scripted 422" in refused.value.message
            with pytest.raises(KubernetesError) as forbidden:
                await gateway.protect_secret("ns", "cred", "fin", {"l": "v"})
            assert forbidden.value.status == 403
            await gateway.annotate_secret("ns", "other", {"a": "b"})  # 200: nothing raised
        finally:
            await gateway.close()
