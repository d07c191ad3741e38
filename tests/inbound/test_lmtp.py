"""The LMTP channel over a real socket: recipients, size, 250 only once stored, 451 on failure."""
import smtplib

import pytest
from sqlalchemy import func, select

from forumsync.app import create_app
from forumsync.context import Context
from forumsync.db import Database
from forumsync.inbound.lmtp import start_lmtp_server
from forumsync.models import InboxMessage
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import make_mail

LIST = "club@listes.example.org"


def client(server) -> smtplib.LMTP:
    c = smtplib.LMTP("127.0.0.1", server.port)
    c.ehlo("mta.example.org")
    return c


def rows(url):
    """Read through a separate engine: what the client sees is what another process sees."""
    db = Database(url)
    try:
        with db.session() as s:
            return list(s.execute(select(InboxMessage.id, InboxMessage.message_id, InboxMessage.channel,
                                         InboxMessage.meta)))
    finally:
        db.dispose()


def send_data(c, sender, recipients, raw):
    """MAIL/RCPT/DATA reading one DATA reply per accepted recipient (smtplib reads only one)."""
    assert c.mail(sender)[0] == 250
    accepted = [r for r in recipients if c.rcpt(r)[0] == 250]
    code, _ = c.docmd("DATA")
    assert code == 354
    c.send(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b".\r\n")
    return [c.getreply() for _ in accepted]


def test_stored_before_250_and_once_for_several_recipients(lmtp_server, context):
    raw = make_mail(message_id="<lmtp-1@mail.example.org>")
    with client(lmtp_server) as c:
        replies = send_data(c, "bounces@listes.example.org",
                            [LIST, "bistro@forumsync.example.org"], raw)
        assert [code for code, _ in replies] == [250, 250]
        found = rows(context.db.url)  # checked as soon as the client holds its 250s
        assert [(r.message_id, r.channel) for r in found] == [("lmtp-1@mail.example.org", "lmtp")]
        assert found[0].meta["recipients"] == [LIST, "bistro@forumsync.example.org"]
        assert found[0].meta["mail_from"] == "bounces@listes.example.org"
        assert b"enregistr" in replies[0][1]


def test_recipients_outside_the_list_are_refused_no_relay(lmtp_server, context):
    with client(lmtp_server) as c:
        c.mail("x@spam.example")
        code, text = c.rcpt("victime@gmail.com")
        assert code == 550 and text.startswith(b"5.1.1") and b"destinataire inconnu" in text
        assert b"pas de relais" in text
        assert c.rcpt(f"bistro+{'a' * 20}@forumsync.example.org")[0] == 250
        assert c.rcpt("bistro@forumsync.example.org.evil.com")[0] == 550
        assert c.rcpt("club+x@listes.example.org")[0] == 550


def test_only_refused_recipients_means_no_data(lmtp_server, context):
    with client(lmtp_server) as c:
        c.mail("x@spam.example")
        c.rcpt("victime@gmail.com")
        code, _ = c.docmd("DATA")
        assert code == 503
    assert rows(context.db.url) == []


@pytest.fixture
def small_server(tmp_path, db_url, db):
    ctx = Context(make_settings(tmp_path, db_url, MAX_MESSAGE_BYTES=3000), db=db)
    server = start_lmtp_server(ctx)
    yield server
    server.stop()


def test_size_is_announced_and_enforced(small_server, db):
    with client(small_server) as c:
        assert c.esmtp_features["size"] == "3000"
        code, text = c.mail("a@b.fr", ["SIZE=5000"])
        assert code == 552 and b"5.3.4 Message trop volumineux" in text
        c.rset()
        # a client that lies about (or omits) SIZE is stopped in DATA, once per recipient
        replies = send_data(c, "a@b.fr", [LIST, "bistro@forumsync.example.org"],
                            make_mail(body="x" * 5000))
        assert [code for code, _ in replies] == [552, 552]
        assert all(b"5.3.4 Message trop volumineux" in text for _, text in replies)
        assert c.noop()[0] == 250  # the session is still in step
    assert rows(db.url) == []


def test_not_mail_gets_a_specific_5xx(lmtp_server, context):
    with client(lmtp_server) as c:
        replies = send_data(c, "a@b.fr", [LIST], b"juste du texte, pas d'en-tete\n")
        assert replies[0][0] == 554 and b"5.6.0" in replies[0][1]


def test_storage_failure_answers_451_so_the_mta_retries(tmp_path):
    empty_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    unmigrated = Database(empty_url)  # no tables: every insert fails
    ctx = Context(make_settings(tmp_path, empty_url), db=unmigrated)
    server = start_lmtp_server(ctx)
    try:
        with client(server) as c:
            replies = send_data(c, "a@b.fr", [LIST, "bistro@forumsync.example.org"], make_mail())
            assert [code for code, _ in replies] == [451, 451]
            assert replies[0][1].startswith(b"4.3.0")
    finally:
        server.stop()
        unmigrated.dispose()


def test_same_message_through_lmtp_and_http_gives_one_row(lmtp_server, context):
    raw = make_mail(message_id="<both@mail.example.org>")
    with client(lmtp_server) as c:
        assert send_data(c, "a@b.fr", [LIST], raw)[0][0] == 250
    app = create_app(context=context)
    response = app.test_client().post("/inbound/mail", data=raw, headers={
        "Authorization": f"Bearer {context.settings.INBOUND_TOKEN}", "Content-Type": "message/rfc822"})
    assert response.status_code == 202 and response.get_json()["duplicate"] is True
    with client(lmtp_server) as c:
        replies = send_data(c, "a@b.fr", [LIST], raw)
        assert replies[0][0] == 250 and b"deja recu" in replies[0][1]
    with context.db.session() as s:
        assert s.scalar(select(func.count(InboxMessage.id))) == 1


def test_many_messages_in_one_session(lmtp_server, context):
    with client(lmtp_server) as c:
        for n in range(20):
            assert send_data(c, "a@b.fr", [LIST], make_mail(message_id=f"<m{n}@x.org>"))[0][0] == 250
    assert len(rows(context.db.url)) == 20


def test_connections_and_recipients_are_bounded(lmtp_server, context):
    """Red team, tenth pass: every connection was accepted (each may hold a DATA of up to
    MAX_MESSAGE_BYTES in memory) and a message could name the list any number of times.
    Beyond MAX_CONNECTIONS a connection gets « 421 » (the MTA tries again later); beyond
    MAX_RECIPIENTS a RCPT gets « 452 »; a connection freed makes room again."""
    import socket

    from forumsync.inbound.lmtp import MAX_CONNECTIONS, MAX_RECIPIENTS

    held = []
    try:
        for _ in range(MAX_CONNECTIONS):
            conn = socket.create_connection(("127.0.0.1", lmtp_server.port), timeout=10)
            assert conn.recv(1024).startswith(b"220")
            held.append(conn)
        with socket.create_connection(("127.0.0.1", lmtp_server.port), timeout=10) as extra:
            assert extra.recv(1024).startswith(b"421 4.3.2")
        held.pop().close()
        with _client_when_room(lmtp_server) as c:  # room again, once the server saw the close
            c.mail("bounces@listes.example.org")
            codes = [c.rcpt(LIST)[0] for _ in range(MAX_RECIPIENTS + 1)]
            assert codes == [250] * MAX_RECIPIENTS + [452]
    finally:
        for conn in held:
            conn.close()


def _client_when_room(server, timeout: float = 10.0) -> smtplib.LMTP:
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return client(server)
        except smtplib.SMTPConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
