"""The archiver plugin's delivery logic over real HTTP, without Mailman (its own test module uses it)."""
import contextlib
import email

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
