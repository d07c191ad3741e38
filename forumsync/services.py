"""Run forumsync's long-lived parts in one process: web app, worker, LMTP server.

Used by `forumsync serve` and `forumsync demo`. Each part is started in a thread and stopped
cleanly; the web app is served by waitress (a production WSGI server) on WEB_URL's host:port.
"""
from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from waitress.server import create_server

from . import slow_clients

log = logging.getLogger(__name__)


def host_port(url: str, default_port: int = 80) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def web_body_limit(settings) -> int:
    """The largest request body forumsync's web app takes: a mail of MAX_MESSAGE_BYTES (POST
    /inbound/mail), with room for a webhook's or a form's envelope."""
    return settings.MAX_MESSAGE_BYTES + 64 * 1024


class WsgiThread:
    """A WSGI app served by waitress in a background thread."""

    def __init__(self, app, host: str, port: int, name: str, threads: int = 8,
                 max_body_bytes: int | None = None):
        # waitress buffers a request body (to disk past 512 KiB) before the app sees it, up to
        # 1 GiB by default: MAX_BODY_BYTES stops an unauthenticated sender at the limit
        # (red team, tenth pass: 4 × 381 MiB spooled 1.5 GiB before the app's 413). Idle
        # connections are closed after 30 s, and more of them are allowed than waitress's 100
        # (slow clients held every slot); nginx in front still does the real guarding.
        # A request must also arrive whole within slow_clients.REQUEST_SECONDS (a client
        # sending a byte every few seconds is never idle).
        limits = {"max_request_body_size": max_body_bytes} if max_body_bytes else {}
        server_map: dict = {}
        self.server = create_server(app, map=server_map, host=host, port=port, threads=threads, ident=name,
                                    clear_untrusted_proxy_headers=True, channel_timeout=30,
                                    connection_limit=500, cleanup_interval=slow_clients.CHECK_SECONDS,
                                    **limits)
        slow_clients.enforce_request_deadline(server_map)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self) -> "WsgiThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


class WorkerThread:
    def __init__(self, ctx):
        from .worker import Worker

        self.worker = Worker(ctx)
        self.thread = threading.Thread(target=self.worker.run_forever, name="worker", daemon=True)

    def start(self) -> "WorkerThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)
