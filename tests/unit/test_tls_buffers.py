"""TLS connections of the operator start with a 64 KiB read buffer, not asyncio's 256 KiB, and still
carry bodies many times that size."""

from __future__ import annotations

import hashlib
import ssl
from asyncio import sslproto
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from twilio_operator.handlers.runtime import TLS_READ_BUFFER, shrink_tls_read_buffers
from twilio_operator.testing.certs import CertAuthority


@pytest.fixture
def shrunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", sslproto.SSLProtocol.max_size)  # restored after
    shrink_tls_read_buffers()


def test_new_connections_get_the_smaller_buffer(shrunk: None) -> None:
    assert sslproto.SSLProtocol.max_size == TLS_READ_BUFFER
    protocol = sslproto.SSLProtocol(
        loop=None, app_protocol=aiohttp.ClientResponse, sslcontext=ssl.create_default_context(), waiter=None
    )
    assert len(protocol._ssl_buffer) == TLS_READ_BUFFER


def test_never_grows_the_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", 16 * 1024)
    shrink_tls_read_buffers()
    assert sslproto.SSLProtocol.max_size == 16 * 1024


async def test_a_body_larger_than_the_buffer_arrives_whole(shrunk: None, tmp_path: Path) -> None:
    authority = CertAuthority("test-ca")
    serving = authority.issue_serving("localhost", ("127.0.0.1",))
    (tmp_path / "tls.crt").write_bytes(serving.cert_pem)
    (tmp_path / "tls.key").write_bytes(serving.key_pem)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    body = hashlib.shake_256(b"bench").digest(1024 * 1024)  # 1 MiB, 16 x the buffer

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/big", big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = runner.addresses[0][1]
    client_context = ssl.create_default_context(cadata=authority.cert_pem.decode())
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(2):  # a fresh connection, then the kept-alive one
                async with session.get(f"https://127.0.0.1:{port}/big", ssl=client_context) as response:
                    assert await response.read() == body
    finally:
        await runner.cleanup()
