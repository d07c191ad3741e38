"""Red team, nineteenth pass: the Mailman archiver must never raise out of ``archive_message``.

Mailman's ArchiveRunner catches an archiver's exception, logs "Broken archiver" and moves on:
the message is then neither sent to forumsync nor spooled — lost. ``archive_message`` only
catches ``OSError``/``URLError`` around the HTTP call, and nothing around the spool's
``unlink``/``reject``:

- a reply that is not HTTP (``http.client.BadStatusLine``: a base_url pointing at the wrong
  port, a proxy that answers garbage) or an over-long header line (``LineTooLong``) are
  ``http.client.HTTPException``, not ``OSError``;
- two flushers at once (the documented cron ``python -m forumsync.inbound.mailman CONFIG``
  after an outage, and the runner's own flush on the next list message) both send the same
  spooled file; the second ``path.unlink()`` raises ``FileNotFoundError``.

In each case the message being archived must end stored or spooled, and nothing raised.
"""
from __future__ import annotations

import email
import socket
import threading

import pytest

from forumsync.context import Context
from forumsync.inbound.mailman import Archiver
from forumsync.testing.settings import free_port
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import forumsync_serving
from tests.fixtures.pipeline import make_mail
from tests.inbound.test_mailman import inbox


def _msg(n):
    return email.message_from_bytes(make_mail(message_id=f"<rt19-{n}@x>"))


@pytest.fixture
def archiver_setup(tmp_path, sqlite_url):
    port = free_port()
    cfg = tmp_path / "forumsync-archiver.cfg"
    cfg.write_text(f"[general]\nbase_url: http://127.0.0.1:{port}/\ntoken: t0k3n\n"
                   f"spool_dir: {tmp_path / 'spool'}\ntimeout: 3\n")
    ctx = Context(make_settings(tmp_path, sqlite_url, INBOUND_TOKEN="t0k3n"))
    yield Archiver(cfg), ctx, port
    ctx.close()


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
def test_a_reply_that_is_not_http_keeps_the_message_spooled(archiver_setup, reply):
    archiver, ctx, port = archiver_setup
    peer = _RawPeer(port, reply)
    try:
        archiver.archive_message(None, _msg(1))  # must not raise: Mailman would drop the message
    finally:
        peer.close()
    [spooled] = archiver.spool.items()
    assert b"rt19-1@x" in spooled.read_bytes()


def test_two_flushers_at_once_lose_no_message(archiver_setup):
    """The cron flush and the runner's flush both send spooled message 1; the cron one removes
    it first. The runner, archiving message 2, must neither raise nor lose message 2."""
    archiver, ctx, port = archiver_setup
    archiver.archive_message(None, _msg(1))  # forumsync down: spooled
    [spooled] = archiver.spool.items()

    real_send = archiver.send

    def send_while_cron_flushes(raw):
        outcome = real_send(raw)
        if spooled.exists() and b"rt19-1@x" in raw:
            spooled.unlink()  # the other flusher got its 202 first and removed the file
        return outcome

    archiver.send = send_while_cron_flushes
    with forumsync_serving(ctx, port):
        try:
            archiver.archive_message(None, _msg(2))
        except FileNotFoundError as exc:  # what Mailman's runner would log as "Broken archiver"
            pytest.fail(f"archive_message raised {exc!r}: message 2 is neither sent nor spooled")
    stored = [row.message_id for row in inbox(ctx)]
    spooled_now = [p.read_bytes() for p in archiver.spool.items()]
    assert "rt19-2@x" in stored or any(b"rt19-2@x" in raw for raw in spooled_now)
