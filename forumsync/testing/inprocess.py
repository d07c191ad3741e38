"""Serve a WSGI app to ``requests`` without a socket: a transport adapter that calls the app.

The tests' forum (and forumsync's own web app) runs in the test process; a request to it
through a socket costs a TCP connection, a server thread and HTTP parsing on both sides,
and proves nothing the socket tests do not already prove. ``WSGIAdapter`` is a
``requests.adapters.HTTPAdapter``: ``requests`` (and so pydiscourse) still builds, sends,
redirects, decodes and keeps cookies; only the transport changes. werkzeug's test
machinery (``EnvironBuilder``, ``run_wsgi_app``) turns the prepared request into a WSGI
environ and the app's answer back into bytes.

``route(origin, app)`` sends every request of this process to ORIGIN (``http://host:port``)
through the app until ``unroute(origin)``; other processes (forumsync commands started by
a test, a browser, Mailman) still reach the real server on that port. After ``unroute``
a request goes to the socket again: a stopped forum is refused like a dead one.

Why not a library: ``requests-wsgi-adapter`` has had no release since 2019, and
``wsgi-intercept`` patches urllib3's connection classes and still writes and parses HTTP
through a fake socket.
"""
from __future__ import annotations

import http.client
import io
import threading
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import HTTPResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

_routes: dict[str, "WSGIAdapter"] = {}
_lock = threading.Lock()
_installed = False
_original_get_adapter = requests.Session.get_adapter


class WSGIAdapter(HTTPAdapter):
    """An HTTPAdapter whose ``send`` calls a WSGI app instead of opening a connection.

    The app runs in its own thread so a read timeout behaves as on a socket: the caller
    gets ``ReadTimeout`` after TIMEOUT seconds while the app finishes on its own."""

    def __init__(self, app, origin: str):
        super().__init__()
        self.app = app
        self.origin = origin.rstrip("/")
        parts = urlsplit(self.origin)
        self._server = (parts.hostname or "localhost", str(parts.port or 80))
        self.requests_served = 0

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        environ = self._environ(request)
        answer: dict = {}
        worker = threading.Thread(target=self._call_app, args=(environ, answer),
                                  name="wsgi-inprocess", daemon=True)
        worker.start()
        worker.join(_read_timeout(timeout))
        if worker.is_alive():
            raise requests.exceptions.ReadTimeout(
                f"{self.origin}: no answer within {_read_timeout(timeout)} s (in-process)",
                request=request)
        if "error" in answer:
            raise answer["error"]
        self.requests_served += 1
        return self.build_response(request, self._raw(*answer["response"]))

    # -- request → environ
    def _environ(self, request) -> dict:
        url = urlsplit(request.url)
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, (bytes, bytearray)):
            body = b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in body)
        headers = [(k, v) for k, v in request.headers.items()
                   if k.lower() not in ("content-length", "transfer-encoding")]  # body is whole
        builder = EnvironBuilder(path=url.path or "/", base_url=f"{url.scheme}://{url.netloc}",
                                 query_string=url.query, method=request.method, headers=headers,
                                 data=body or None,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": 50000})
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ["SERVER_NAME"], environ["SERVER_PORT"] = self._server
        return environ

    def _call_app(self, environ: dict, answer: dict) -> None:
        try:
            app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
            try:
                body = b"".join(app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close:
                    close()
            answer["response"] = (status, headers, body)
        except BaseException as exc:  # handed to the caller, as a server error would be
            answer["error"] = requests.exceptions.ConnectionError(
                f"{self.origin}: the app raised {exc!r} (in-process)")

    # -- answer → urllib3 response (what HTTPAdapter.build_response expects)
    @staticmethod
    def _raw(status: str, headers, body: bytes) -> HTTPResponse:
        code, _, reason = status.partition(" ")
        message = http.client.HTTPMessage()
        for name, value in headers.items():
            message[name] = value
        raw = HTTPResponse(body=io.BytesIO(body), headers=list(headers.items()), status=int(code),
                           reason=reason, preload_content=False, decode_content=True)
        # requests reads Set-Cookie from the http.client message of the original response
        raw._original_response = _OriginalResponse(message)
        return raw


class _OriginalResponse:
    """The part of http.client.HTTPResponse that requests' cookie extraction reads."""

    def __init__(self, message: http.client.HTTPMessage):
        self.msg = message

    def info(self) -> http.client.HTTPMessage:
        return self.msg

    def isclosed(self) -> bool:  # the whole body is already in memory
        return True


def _read_timeout(timeout) -> float | None:
    if isinstance(timeout, tuple):
        return timeout[1]
    return timeout


def _get_adapter(session, url: str):
    if _routes:
        lowered = url.lower()
        for origin, adapter in list(_routes.items()):
            if lowered == origin or lowered.startswith(origin + "/") or lowered.startswith(origin + "?"):
                return adapter
    return _original_get_adapter(session, url)


def install() -> None:
    """Let every requests.Session of this process look up the routes first (idempotent)."""
    global _installed
    with _lock:
        if not _installed:
            requests.Session.get_adapter = _get_adapter
            _installed = True


def uninstall() -> None:
    global _installed
    with _lock:
        if _installed:
            requests.Session.get_adapter = _original_get_adapter
            _installed = False
        _routes.clear()


def route(origin: str, app) -> WSGIAdapter:
    """Serve ORIGIN (``scheme://host:port``) in-process through APP from now on."""
    install()
    adapter = WSGIAdapter(app, origin)
    with _lock:
        _routes[adapter.origin.lower()] = adapter
    return adapter


def unroute(origin: str) -> None:
    """Requests to ORIGIN go through the network again (refused once its server is gone)."""
    with _lock:
        _routes.pop(origin.rstrip("/").lower(), None)


def routed(origin: str) -> bool:
    return origin.rstrip("/").lower() in _routes
