"""Run forumsync's long-lived parts in one process: web app, worker, LMTP server.

Used by `forumsync serve` and `forumsync demo`. Each part is started in a thread and stopped
cleanly; the web app is served by waitress (a production WSGI server) on WEB_URL's host:port.
"""
from __future__ import annotations

import logging
import threading
from urllib.parse import urlsplit

from waitress.server import create_server

log = logging.getLogger(__name__)


def host_port(url: str, default_port: int = 80) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


class WsgiThread:
    """A WSGI app served by waitress in a background thread."""

    def __init__(self, app, host: str, port: int, name: str, threads: int = 8):
        self.server = create_server(app, host=host, port=port, threads=threads, ident=name,
                                    clear_untrusted_proxy_headers=True)
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
