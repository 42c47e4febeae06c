"""The liveness endpoint of a standby: 200 while its elector campaigns, until kopf serves it.

A standby has not started kopf (process/launch.py), so kopf's own liveness endpoint does not exist
yet; without an answer the kubelet would restart a perfectly healthy standby.
"""

from __future__ import annotations

import http.server
import threading
from urllib.parse import urlsplit

from twilio_operator.ports.kube.leader import Elector


def liveness_address(url: str | None) -> tuple[str, int, str] | None:
    """(host, port, path) of the liveness endpoint's URL, or None without one."""
    parts = urlsplit(url or "")
    if parts.hostname and parts.port:
        return parts.hostname, parts.port, parts.path or "/"
    return None


class StandbyHealth:
    """Answers the liveness path: 200 while `elector` is alive, 500 once it failed; 404 elsewhere."""

    def __init__(self, address: tuple[str, int, str] | None, elector: Elector) -> None:
        self._server: http.server.ThreadingHTTPServer | None = None
        if address is None:
            return
        host, port, path = address

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                alive = elector.alive()
                self.send_response(
                    200 if self.path == path and alive else (404 if self.path != path else 500)
                )
                self.end_headers()
                self.wfile.write(b'{"standby": true}' if alive else b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="standby-health", daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
