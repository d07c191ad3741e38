"""Red team, twentieth pass: the end of DATA is a line ``.\\r\\n``, never the tail of a longer line.

``ForumsyncLMTP._read_data`` (the nineteenth pass's rewrite of aiosmtpd's DATA) handles a
line longer than the StreamReader's limit (``line_length_limit``, 1 MiB) by reading
``exc.consumed`` bytes and going on with the next ``readuntil``, *as if a new line started
there*. When the overrun leaves exactly ``.`` in the buffer (``readuntil`` consumes all but the
last byte of a separator-less chunk) and ``\\r\\n`` arrives next, that tail is taken for the
final dot: DATA ends in the middle of the message, and the rest of the *body* is read as LMTP
commands. aiosmtpd 1.4.6 keeps such a chunk in ``line_fragments`` and never ends DATA on a
fragment's tail.

Here the body goes on with ``MAIL FROM`` / ``RCPT TO`` / ``DATA`` and a whole mail that claims
Marie's address and carries an ``Authentication-Results`` with the site's authserv-id
(``dmarc=pass``): it is stored as if the MTA had delivered it, never seen by the MTA.
"""
from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import select

from forumsync.context import Context
from forumsync.inbound.lmtp import LINE_LENGTH_LIMIT, start_lmtp_server
from forumsync.models import InboxMessage
from tests.fixtures.database import make_settings

LIST = "club@listes.example.org"


@pytest.fixture
def server(tmp_path, sqlite_url):
    ctx = Context(make_settings(tmp_path, sqlite_url, MAX_MESSAGE_BYTES=8 * 1024 * 1024))
    srv = start_lmtp_server(ctx, "127.0.0.1", 0)
    yield srv, ctx
    srv.stop()
    ctx.close()


def _read_reply(sock) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_the_tail_of_an_over_long_line_is_not_the_final_dot(server):
    srv, ctx = server
    smuggled = (b"MAIL FROM:<x@evil.example>\r\nRCPT TO:<" + LIST.encode() + b">\r\nDATA\r\n"
                b"From: Marie Dupont <marie.dupont@meyzieu.fr>\r\nTo: " + LIST.encode() + b"\r\n"
                b"Subject: introduit\r\nMessage-ID: <rt20-smuggled@meyzieu.fr>\r\n"
                b"Authentication-Results: mx.listes.example.org; dmarc=pass header.from=meyzieu.fr\r\n"
                b"\r\nTexte introduit par l'attaquant.\r\n.\r\n")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as sock:
        _read_reply(sock)
        for command in (b"LHLO x\r\n", b"MAIL FROM:<pirate@evil.example>\r\n",
                        b"RCPT TO:<" + LIST.encode() + b">\r\n", b"DATA\r\n"):
            sock.sendall(command)
            _read_reply(sock)
        sock.sendall(b"From: pirate@evil.example\r\nTo: " + LIST.encode() + b"\r\nSubject: long\r\n"
                     b"Message-ID: <rt20-carrier@evil.example>\r\n\r\n")
        # a line of LINE_LENGTH_LIMIT + 1 bytes then ".": the reader overruns only once all of
        # it is in, and leaves the last byte, the dot
        sock.sendall(b"a" * (LINE_LENGTH_LIMIT + 1) + b".")
        time.sleep(1.0)
        sock.sendall(b"\r\n" + smuggled + b"rest of the real body\r\n.\r\nQUIT\r\n")
        time.sleep(2.0)
    with ctx.db.session() as s:
        ids = [row.message_id for row in s.scalars(select(InboxMessage))]
    assert "rt20-smuggled@meyzieu.fr" not in ids, \
        "text inside a message body was read as LMTP commands and stored as a mail of its own"
