"""Red team, nineteenth pass: memory per LMTP message must follow its bytes, not its number of lines.

docs/reliability.md bounds LMTP at 50 connections because « chacune peut garder en mémoire
un DATA de MAX_MESSAGE_BYTES, environ 1,1 fois sa taille ». That holds for long lines only.
aiosmtpd keeps DATA as one ``bytearray`` per line (~60 bytes of overhead each), and
``ids._normalised_form`` (now ``_normalised_digest``) (the digest of a mail without Message-ID, or of a second copy under
one) splits the body into one ``bytes`` per line, twice. A message made of empty lines
(``\\r\\n`` × N) is 2 bytes a line:

- 25 MB (the default MAX_MESSAGE_BYTES) of ``\\r\\n`` through one LMTP connection: the server
  process held 1.1 GB while DATA was open (before the final dot), and peaked at 2.2 GB
  storing it (measured with ``forumsync.inbound.lmtp.start_lmtp_server``, RSS);
- ``ids.content_digest`` alone on that message: 1.25 GB.

One sender, one connection: 45 to 90 times the message's size; 50 such connections at once
(the bound) are far beyond any host. Here at 2 MB, compared with the same bytes in long
lines through the same real socket (tracemalloc's peak in the server's process).
"""
from __future__ import annotations

import smtplib
import tracemalloc

import pytest

from forumsync.context import Context
from forumsync.inbound.lmtp import start_lmtp_server
from forumsync.mail import ids
from tests.fixtures.database import make_settings

SIZE = 2 * 1024 * 1024
HEAD = b"From: a@b.fr\r\nSubject: lignes vides\r\nTo: club@listes.example.org\r\n\r\n"


def _long_lines() -> bytes:
    return HEAD + (b"x" * 998 + b"\r\n") * (SIZE // 1000)


def _empty_lines() -> bytes:
    return HEAD + b"\r\n" * (SIZE // 2)


@pytest.fixture
def server(tmp_path, sqlite_url):
    ctx = Context(make_settings(tmp_path, sqlite_url, MAX_MESSAGE_BYTES=SIZE + 4096))
    srv = start_lmtp_server(ctx, "127.0.0.1", 0)
    yield srv
    srv.stop()
    ctx.close()


def _peak_storing(server, raw: bytes) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            client.sendmail("x@b.fr", ["club@listes.example.org"], raw)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_empty_lines_cost_the_lmtp_server_no_more_than_long_lines(server):
    long_peak = _peak_storing(server, _long_lines())
    empty_peak = _peak_storing(server, _empty_lines())
    assert empty_peak <= 2 * long_peak + 8 * 1024 * 1024, (
        f"{SIZE >> 20} MB of empty lines: {empty_peak >> 20} MB at peak in the LMTP server, "
        f"against {long_peak >> 20} MB for the same bytes in long lines")


def test_the_content_digest_of_empty_lines_stays_near_their_size():
    raw = _empty_lines()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ids.content_digest(raw)
        ids.stable_hash_id(raw)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak <= 4 * len(raw), f"digest of {len(raw) >> 20} MB of empty lines: {peak >> 20} MB at peak"
