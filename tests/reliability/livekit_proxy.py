"""A loopback HTTP proxy in front of livekit-server that can hold back LiveKit's answer to one write
after LiveKit has committed it: the `commit_then_hang` of the Twilio emulator, for LiveKit. The
operator is then stuck right after the write, and a test kills it there.

    proxy = HangingProxy(livekit.url)            # point the LiveKitConnection's spec.url at proxy.url
    committed = proxy.hang("CreateSIPInboundTrunk", nth=1)
    ...; committed.wait(30); kill(operator); proxy.release()
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Never through an HTTP(S)_PROXY from the environment: this is loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
HOLD_SECONDS = 60.0
FORWARDED = ("Authorization", "Content-Type", "User-Agent", "X-Request-Id")


class HangingProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self._lock = threading.Lock()
        self._rule: tuple[str, int] | None = None
        self._seen: dict[str, int] = {}
        self.committed = threading.Event()
        self._released = threading.Event()
        self.calls: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hang(self, method: str, nth: int = 1) -> threading.Event:
        """Hold back LiveKit's answer to the nth `method` request from now on (after LiveKit did it)."""
        with self._lock:
            self._rule, self._seen = (method, nth), {}
            self.committed, self._released = threading.Event(), threading.Event()
            return self.committed

    def release(self) -> None:
        """Let the held request go (its connection is closed without an answer) and hang no more."""
        with self._lock:
            self._rule = None
            self._released.set()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method = handler.path.rsplit("/", 1)[-1]
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k in FORWARDED if (v := handler.headers.get(k))}
        request = urllib.request.Request(
            self.target + handler.path, data=body, headers=headers, method="POST"
        )
        try:
            with _OPENER.open(request, timeout=30) as resp:
                status, answer, kind = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, answer, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        with self._lock:
            self.calls.append(method)
            self._seen[method] = self._seen.get(method, 0) + 1
            hold = self._rule is not None and self._rule == (method, self._seen[method]) and status == 200
            committed, released = self.committed, self._released
        if hold:
            committed.set()
            released.wait(HOLD_SECONDS)
            handler.close_connection = True
            return
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)
