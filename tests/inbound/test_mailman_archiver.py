"""The archiver plugin's delivery logic over real HTTP, without Mailman (its own test module uses it)."""
import contextlib
import email
import socket
import threading

import pytest

from forumsync.context import Context
from forumsync.inbound.mailman import Archiver, main
from tests.fixtures.database import free_port, make_settings
from tests.fixtures.pipeline import make_mail
from tests.fixtures.inbound import forumsync_serving
from tests.inbound.test_mailman import inbox


@pytest.fixture
def setup(tmp_path, sqlite_url):
    port = free_port()
    cfg = tmp_path / "forumsync-archiver.cfg"
    cfg.write_text(f"[general]\nbase_url: http://127.0.0.1:{port}/\ntoken: t0k3n\n"
                   f"spool_dir: {tmp_path / 'spool'}\ntimeout: 5\nforum_url: https://bistro.example.org\n")
    ctx = Context(make_settings(tmp_path, sqlite_url, INBOUND_TOKEN="t0k3n", MAX_MESSAGE_BYTES=3000))
    yield Archiver(cfg), ctx, port, cfg
    ctx.close()


def msg(n, **kw):
    return email.message_from_bytes(make_mail(message_id=f"<a{n}@x>", **kw))


def test_spool_order_rejects_and_manual_flush(setup, capsys):
    archiver, ctx, port, cfg = setup
    assert archiver.list_url(None) == "https://bistro.example.org" and archiver.permalink(None, None) is None
    archiver.archive_message(None, msg(1))  # forumsync down
    archiver.archive_message(None, msg(2))
    assert len(archiver.spool.items()) == 2
    with forumsync_serving(ctx, port):
        assert main([str(cfg)]) == 0
        assert "2 message(s) envoyé(s), 0 en attente" in capsys.readouterr().out
        archiver.archive_message(None, msg(3, body="x" * 5000))  # too big: refused for good…
        archiver.archive_message(None, msg(4))                   # …without blocking the next one
    assert [r.message_id for r in inbox(ctx)] == ["a1@x", "a2@x", "a4@x"]
    assert archiver.spool.items() == []
    [kept] = list(archiver.spool.rejected.glob("*.eml"))  # never silently lost
    assert b"a3@x" in kept.read_bytes()


def test_wrong_token_keeps_messages_spooled(setup):
    archiver, ctx, port, cfg = setup
    cfg.write_text(cfg.read_text().replace("token: t0k3n", "token: faux"))
    archiver = Archiver(cfg)
    with forumsync_serving(ctx, port):
        archiver.archive_message(None, msg(5))
    assert len(archiver.spool.items()) == 1 and inbox(ctx) == []
    with contextlib.suppress(FileNotFoundError):
        assert not list(archiver.spool.rejected.iterdir())


def test_a_message_forumsync_fails_on_does_not_hold_back_the_list(tmp_path, setup):
    """Red team, tenth pass: the spool is sent oldest first and stopped at the first failure,
    so one message forumsync could not store (it answered 503 for any error) held every later
    list message in the spool for ever. forumsync now answers 500 for a fault of its own with
    one message (503 only when its storage is down): the archiver keeps that message spooled
    and sends the others. A small HTTP peer plays forumsync here: it answers 500 to one mail."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response
    import threading

    archiver, ctx, port, cfg = setup
    received = []

    @Request.application
    def peer(request):
        body = request.get_data()
        if b"empoisonne" in body:
            return Response('{"error": "internal"}', status=500)
        received.append(email.message_from_bytes(body)["Message-ID"])
        return Response('{"stored": true}', status=202)

    archiver.archive_message(None, msg(1, subject="empoisonne"))  # forumsync down: spooled
    archiver.archive_message(None, msg(2))
    server = make_server("127.0.0.1", port, peer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        archiver.archive_message(None, msg(3))
        archiver.archive_message(None, msg(4))
    finally:
        server.shutdown()
        server.server_close()
    assert received == ["<a2@x>", "<a3@x>", "<a4@x>"]
    [left] = archiver.spool.items()
    assert b"empoisonne" in left.read_bytes()


# ---------------------------------------------------------------- never raises (red team, 19th pass)
# the Mailman archiver must never raise out of ``archive_message``.
# 
# Mailman's ArchiveRunner catches an archiver's exception, logs "Broken archiver" and moves on:
# the message is then neither sent to forumsync nor spooled — lost. ``archive_message`` only
# catches ``OSError``/``URLError`` around the HTTP call, and nothing around the spool's
# ``unlink``/``reject``:
# 
# - a reply that is not HTTP (``http.client.BadStatusLine``: a base_url pointing at the wrong
#   port, a proxy that answers garbage) or an over-long header line (``LineTooLong``) are
#   ``http.client.HTTPException``, not ``OSError``;
# - two flushers at once (the documented cron ``python -m forumsync.inbound.mailman CONFIG``
#   after an outage, and the runner's own flush on the next list message) both send the same
#   spooled file; the second ``path.unlink()`` raises ``FileNotFoundError``.
# 
# In each case the message being archived must end stored or spooled, and nothing raised.


class _RawPeer:
    """A TCP peer on PORT that answers every request with REPLY and closes."""

    def __init__(self, port: int, reply: bytes):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.reply = reply
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(65536)
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("reply", [
    b"220 forumsync LMTP ready\r\n",                                       # BadStatusLine
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",           # LineTooLong
], ids=["not-http", "header-line-too-long"])
def test_a_reply_that_is_not_http_keeps_the_message_spooled(setup, reply):
    archiver, ctx, port, _cfg = setup
    peer = _RawPeer(port, reply)
    try:
        archiver.archive_message(None, msg(91))  # must not raise: Mailman would drop the message
    finally:
        peer.close()
    [spooled] = archiver.spool.items()
    assert b"a91@x" in spooled.read_bytes()


def test_two_flushers_at_once_lose_no_message(setup):
    """The cron flush and the runner's flush both send spooled message 1; the cron one removes
    it first. The runner, archiving message 2, must neither raise nor lose message 2."""
    archiver, ctx, port, _cfg = setup
    archiver.archive_message(None, msg(91))  # forumsync down: spooled
    [spooled] = archiver.spool.items()

    real_send = archiver.send

    def send_while_cron_flushes(raw):
        outcome = real_send(raw)
        if spooled.exists() and b"a91@x" in raw:
            spooled.unlink()  # the other flusher got its 202 first and removed the file
        return outcome

    archiver.send = send_while_cron_flushes
    with forumsync_serving(ctx, port):
        try:
            archiver.archive_message(None, msg(92))
        except FileNotFoundError as exc:  # what Mailman's runner would log as "Broken archiver"
            pytest.fail(f"archive_message raised {exc!r}: message 2 is neither sent nor spooled")
    stored = [row.message_id for row in inbox(ctx)]
    spooled_now = [p.read_bytes() for p in archiver.spool.items()]
    assert "a92@x" in stored or any(b"a92@x" in raw for raw in spooled_now)


# A compat32 message with a non-ASCII str payload (a part a Mailman handler rewrote) cannot give
# as_bytes(): that raised before the archiver's try (red team, twentieth pass).
def test_a_message_whose_as_bytes_fails_is_still_spooled(tmp_path):
    cfg = tmp_path / "forumsync-archiver.cfg"
    cfg.write_text(f"[general]\nbase_url: http://127.0.0.1:{free_port()}/\ntoken: t0k3n\n"
                   f"spool_dir: {tmp_path / 'spool'}\ntimeout: 2\n")
    archiver = Archiver(cfg)
    msg = email.message_from_string(
        "From: Marie <marie@meyzieu.fr>\nTo: club@listes.example.org\nSubject: AG\n"
        "Message-ID: <a93@meyzieu.fr>\nContent-Type: text/plain\n\n"
        "Réunion à 18 h à la salle des fêtes.\n")
    try:
        archiver.archive_message(None, msg)
    except Exception as exc:  # Mailman: « Broken archiver », the message is dropped
        raise AssertionError(f"archive_message raised {exc!r}: the message is neither sent nor spooled")
    [spooled] = archiver.spool.items()
    assert "Réunion à 18 h".encode() in spooled.read_bytes()
