"""Issue 12, point 6: resource limits. 10,000 tiny attachments make a post that fits the
forum's max_post_length (French note for the files left out) instead of a quarantine with
the forum's English « Body is too long »; ``forumsync lmtp -v`` logs a message's headers,
never its body (a 32 MB mail made 32 MB of log)."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from forumsync.inbound.lmtp import HEADER_LOG_CHARS, HEADER_LOG_LINES, start_lmtp_server
from forumsync.localforum.models import Post
from tests.fixtures.pipeline import make_mail, make_pipe

LIST = "club@listes.example.org"


def _many_attachments(count: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Marie <marie@meyzieu.fr>", LIST, "Beaucoup de fichiers"
    msg["Message-ID"] = f"<many-{count}@meyzieu.fr>"
    msg.set_content("Voici les fichiers.\n")
    msg.make_mixed()
    for i in range(count):
        part = EmailMessage()
        part.set_content(b"x", maintype="application", subtype="octet-stream",
                         disposition="attachment", filename=f"f{i}.bin", cte="7bit")
        msg.attach(part)
    return _crlf(msg.as_bytes())


def _crlf(raw: bytes) -> bytes:
    """Line ends as an MTA sends them (smtplib leaves bytes alone)."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.slow  # 10,000 attachments through LMTP and the pipeline, twice
@pytest.mark.parametrize("plugin", [True, False], ids=["staged", "bridge"])
def test_ten_thousand_tiny_attachments_make_a_post_that_fits(plugin, tmp_path, sqlite_url, localforum):
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=plugin)
    pipe.provision()
    localforum.set_site_setting("max_post_length", 32000)
    raw = _many_attachments(10_000)
    server = start_lmtp_server(ctx)
    try:
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            assert client.sendmail("liste@listes.example.org", [LIST], raw) == {}
    finally:
        server.stop()
    pipe.run()
    row = pipe.rows()[-1]
    assert row.state == "published", row.reason
    with localforum.session() as s:
        post = s.scalars(select(Post).order_by(Post.id.desc())).first()
    assert len(post.raw) <= 32000
    assert "autres pièces jointes non reprises" in post.raw
    assert "Body is too long" not in (row.reason or "")
    assert "f0.bin" in post.raw  # the first ones are there (within MAX_ATTACHMENTS)


def test_lmtp_verbose_logs_headers_not_the_body(tmp_path, sqlite_url, localforum, caplog):
    """At DEBUG (``forumsync lmtp -v``) a 4 MB mail of 100,000 lines logs a bounded amount:
    O(headers), not O(body)."""
    ctx, _ = make_pipe(tmp_path, sqlite_url, localforum, MAX_MESSAGE_BYTES=50_000_000)
    caplog.set_level(logging.DEBUG)
    secret_line = "ligne-du-corps-confidentielle"
    small = _crlf(make_mail(subject="Petit", body="bonjour\n", message_id="<small@x.fr>"))
    big = _crlf(make_mail(subject="Gros", body=(secret_line + " " + "x" * 20 + "\n") * 100_000,
                          message_id="<big@x.fr>"))
    server = start_lmtp_server(ctx)
    try:
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            caplog.clear()
            client.sendmail("liste@listes.example.org", [LIST], small)
            small_log = len(caplog.text)
            caplog.clear()
            client.sendmail("liste@listes.example.org", [LIST], big)
            big_log = caplog.text
    finally:
        server.stop()
    assert len(big) > 4_000_000
    assert secret_line not in big_log
    assert "Subject: Gros" in big_log and "<big@x.fr>" in big_log  # the headers are there
    assert len(big_log) < small_log + 2_000  # the same order as a small mail's log
    assert len(big_log) < 20 * HEADER_LOG_LINES * HEADER_LOG_CHARS
