"""What waitress takes before the app sees a request (red team, tenth pass): a body over
the web app's limit is refused while it arrives, not spooled to disk first (waitress keeps up
to 1 GiB per request by default), and more slow clients than waitress's 100 do not lock
everyone out."""
import socket
import time

from forumsync.services import WsgiThread, web_body_limit
from tests.fixtures.database import make_settings


def _app(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{len(body)} octets".encode()]


def _response(conn) -> bytes:
    """One whole response on a kept-alive connection: its head, then Content-Length bytes (a
    loaded machine sends them in two packets: one recv read the head, the next the body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _post(port: int, size: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"POST /webhooks/discourse HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        sent = 0
        try:
            while sent < size:
                conn.sendall(b"x" * min(65536, size - sent))
                sent += 65536
        except OSError:  # the server stopped reading: refused early
            pass
        return conn.recv(65536)


def test_a_body_over_the_limit_is_refused_as_it_arrives(tmp_path, sqlite_url):
    limit = web_body_limit(make_settings(tmp_path, sqlite_url, MAX_MESSAGE_BYTES=100_000))
    assert limit == 100_000 + 64 * 1024
    server = WsgiThread(_app, "127.0.0.1", 0, "essai", max_body_bytes=limit).start()
    try:
        assert _post(server.port, 1000).startswith(b"HTTP/1.1 200")
        refused = _post(server.port, 20_000_000)
        assert refused.startswith(b"HTTP/1.1 413"), refused[:200]
    finally:
        server.stop()


def test_more_idle_clients_than_waitress_default_do_not_lock_others_out():
    server = WsgiThread(_app, "127.0.0.1", 0, "essai").start()
    idle = []
    try:
        for _ in range(150):  # each has sent half a request line, and waits
            conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            conn.sendall(b"POST /inbound/mail HT")
            idle.append(conn)
        time.sleep(0.2)
        started = time.monotonic()
        assert _post(server.port, 10).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - started < 5
    finally:
        for conn in idle:
            conn.close()
        server.stop()


_SLOW_POST = b"POST /inbound/mail HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"


def _trickle(port: int, seconds: float, opening: bytes = _SLOW_POST, drop: bytes = b"x") -> bytes:
    """OPENING, then DROP every 0.2 s for SECONDS (a request never completed); what the server
    answered, b"" when it closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(opening)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                conn.sendall(drop)
                time.sleep(0.2)
        except OSError:  # closed by the server
            return b""
        conn.settimeout(0.5)
        try:
            return conn.recv(65536)
        except (socket.timeout, OSError):
            return b"(still open)"


def test_a_client_trickling_a_request_is_cut_off_at_the_deadline(monkeypatch):
    from forumsync import slow_clients

    monkeypatch.setattr(slow_clients, "REQUEST_SECONDS", 1)
    monkeypatch.setattr(slow_clients, "CHECK_SECONDS", 1)
    server = WsgiThread(_app, "127.0.0.1", 0, "essai").start()
    try:
        # never idle (a byte every 0.2 s, under waitress's 30 s channel_timeout), but too slow
        assert _trickle(server.port, 4) == b""
        # a complete request the application takes long to serve is not cut off
        assert _post(server.port, 10).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()


def test_a_client_trickling_blank_lines_is_cut_off_at_the_deadline(monkeypatch):
    """Red team, twenty-third pass: waitress reads « \\r\\n\\r\\n » as an empty request, complete
    at once; a client sending only blank lines was never idle and never receiving a request,
    and kept its connection (500 of them lock every other client out)."""
    from forumsync import slow_clients

    monkeypatch.setattr(slow_clients, "REQUEST_SECONDS", 1)
    monkeypatch.setattr(slow_clients, "CHECK_SECONDS", 1)
    server = WsgiThread(_app, "127.0.0.1", 0, "essai").start()
    try:
        assert _trickle(server.port, 4, opening=b"", drop=b"\r\n") == b""
    finally:
        server.stop()


def test_a_keep_alive_client_is_timed_per_request(monkeypatch):
    """The deadline runs from a request's first byte: a connection kept open between two
    requests (idle, under waitress's channel_timeout) keeps being served, and a request that
    begins in the same packet as the end of the one before is timed from then, not from the
    start of the one before."""
    from forumsync import slow_clients

    monkeypatch.setattr(slow_clients, "REQUEST_SECONDS", 2)
    monkeypatch.setattr(slow_clients, "CHECK_SECONDS", 1)
    server = WsgiThread(_app, "127.0.0.1", 0, "essai").start()
    request = b"POST /inbound/mail HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(request)
            assert _response(conn).startswith(b"HTTP/1.1 200")
            time.sleep(3)  # idle longer than the deadline: no request arriving
            conn.sendall(request[:20])
            time.sleep(1.5)
            conn.sendall(request[20:] + request[:20])  # the first whole after 1.5 s, the next begun
            assert _response(conn).startswith(b"HTTP/1.1 200")
            time.sleep(1)
            conn.sendall(request[20:])  # the second, whole 1 s after its first byte
            assert _response(conn).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()


def test_a_slow_application_keeps_its_connection(monkeypatch):
    from forumsync import slow_clients

    monkeypatch.setattr(slow_clients, "REQUEST_SECONDS", 1)
    monkeypatch.setattr(slow_clients, "CHECK_SECONDS", 1)

    def slow_app(environ, start_response):
        environ["wsgi.input"].read()
        time.sleep(3)  # longer than the deadline: the request itself arrived in time
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fini"]

    server = WsgiThread(slow_app, "127.0.0.1", 0, "essai").start()
    try:
        assert _post(server.port, 10).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()


def test_a_pipelined_request_is_not_charged_for_the_time_the_server_was_not_reading(monkeypatch):
    """Twenty-sixth pass: waitress reads nothing while a request is served: a pipelining
    client whose first answer took longer than the deadline was cut as reading resumed."""
    from forumsync import slow_clients

    monkeypatch.setattr(slow_clients, "REQUEST_SECONDS", 3)
    monkeypatch.setattr(slow_clients, "CHECK_SECONDS", 1)

    def slow_app(environ, start_response):
        environ["wsgi.input"].read()
        if environ["PATH_INFO"] == "/lent":
            time.sleep(5)  # the application's time: longer than the deadline
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fini"]

    server = WsgiThread(slow_app, "127.0.0.1", 0, "essai").start()
    first = b"POST /lent HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
    second = b"POST /inbound/mail HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as conn:
            conn.sendall(first + second[:20])
            assert _response(conn).startswith(b"HTTP/1.1 200")
            time.sleep(2)  # the server reads again: the rest arrives 2 s later, under 3 s
            try:
                conn.sendall(second[20:])
                answer = _response(conn)
            except OSError:
                answer = b""
            assert answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        server.stop()
