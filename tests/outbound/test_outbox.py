"""The durable outbox against real SMTP/LMTP sinks: sent once, retried, failures visible."""
import email
from datetime import timedelta
from email import policy

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from forumsync.cli import cli
from forumsync.context import Context
from forumsync.models import OutboxMail, utcnow
from forumsync.outbound import compose, outbox
from tests.fixtures.database import make_settings


def message(conf, n=1):
    return compose.compose_personal(conf, to="marie@meyzieu.fr", subject=f"Essai n° {n} — été",
                                    text="Bonjour,\n\nça marche.")


@pytest.fixture
def ctx(context, smtp_sink):
    ctx = Context(context.settings.replace(SMTP_URL=smtp_sink.url), db=context.db)
    yield ctx


def rows(ctx):
    with ctx.db.session() as s:
        return list(s.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def make_due(ctx):
    with ctx.db.session() as s:
        s.execute(update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_enqueue_is_idempotent_and_sends_once(ctx, smtp_sink):
    with ctx.db.session() as s:
        assert outbox.enqueue(s, "mail:1", message(ctx.settings), ["club@listes.example.org"])
    with ctx.db.session() as s:
        assert not outbox.enqueue(s, "mail:1", message(ctx.settings, 2), ["club@listes.example.org"])
    assert outbox.run_pending(ctx, "w1") == 1
    assert outbox.run_pending(ctx, "w1") == 0
    assert len(smtp_sink.messages) == 1
    mail_from, rcpts, raw = smtp_sink.messages[0]
    assert rcpts == ["club@listes.example.org"]
    assert mail_from == "bistro@forumsync.example.org"
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Essai n° 1 — été"
    [row] = rows(ctx)
    assert row.state == "sent" and row.sent_at is not None and row.attempts == 1
    # enqueueing the same key after it was sent changes nothing either
    with ctx.db.session() as s:
        assert not outbox.enqueue(s, "mail:1", message(ctx.settings), ["club@listes.example.org"])
    assert outbox.run_pending(ctx, "w1") == 0
    assert len(smtp_sink.messages) == 1


def test_smtp_down_then_up_sent_exactly_once(ctx, smtp_sink):
    smtp_sink.stop()
    with ctx.db.session() as s:
        outbox.enqueue(s, "mail:2", message(ctx.settings), ["club@listes.example.org"])
    assert outbox.run_pending(ctx, "w1") == 1
    [row] = rows(ctx)
    assert row.state == "pending" and row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)  # backoff, with jitter
    # not due yet: nothing is attempted even though the server is back
    smtp_sink.start()
    assert outbox.run_pending(ctx, "w1") == 0
    assert smtp_sink.messages == []
    make_due(ctx)
    assert outbox.run_pending(ctx, "w1") == 1
    assert outbox.run_pending(ctx, "w1") == 0
    make_due(ctx)
    assert outbox.run_pending(ctx, "w1") == 0
    assert len(smtp_sink.messages) == 1
    [row] = rows(ctx)
    assert row.state == "sent" and row.attempts == 2 and row.last_error == ""


def test_temporary_refusal_is_retried(ctx, smtp_sink):
    smtp_sink.refuse_next = 1
    with ctx.db.session() as s:
        outbox.enqueue(s, "mail:3", message(ctx.settings), ["club@listes.example.org"])
    outbox.run_pending(ctx, "w1")
    [row] = rows(ctx)
    assert row.state == "pending" and "451" in row.last_error
    make_due(ctx)
    outbox.run_pending(ctx, "w1")
    assert len(smtp_sink.messages) == 1 and rows(ctx)[0].state == "sent"


def test_gives_up_after_max_attempts_and_cli_retry(ctx, smtp_sink):
    smtp_sink.stop()
    with ctx.db.session() as s:
        outbox.enqueue(s, "mail:4", message(ctx.settings), ["club@listes.example.org"])
    for _ in range(outbox.MAX_ATTEMPTS):
        make_due(ctx)
        outbox.run_pending(ctx, "w1")
    [row] = rows(ctx)
    assert row.state == "failed" and row.last_error
    runner = CliRunner()
    path = _settings_file(ctx)  # the CLI loads its settings from a file
    result = runner.invoke(cli, ["--settings", path, "outbox", "list", "--state", "failed"])
    assert result.exit_code == 0, result.output
    assert "en échec" in result.output and "mail:4" in result.output
    assert "dernière erreur" in result.output
    result = runner.invoke(cli, ["--settings", path, "outbox", "retry", "999"])
    assert result.exit_code != 0 and "introuvable" in result.output
    result = runner.invoke(cli, ["--settings", path, "outbox", "retry"])
    assert result.exit_code != 0 and "--all" in result.output
    result = runner.invoke(cli, ["--settings", path, "outbox", "retry", str(row.id)])
    assert result.exit_code == 0 and "1 courriel" in result.output
    smtp_sink.start()
    assert outbox.run_pending(ctx, "w1") == 1
    assert len(smtp_sink.messages) == 1
    result = runner.invoke(cli, ["--settings", path, "outbox", "list"])
    assert "envoyé" in result.output
    result = runner.invoke(cli, ["--settings", path, "outbox", "retry", "--all"])
    assert "0 courriel" in result.output


def _settings_file(ctx):
    import pathlib
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / "settings.py"
    path.write_text(f"DATABASE_URL = {ctx.settings.DATABASE_URL!r}\nSMTP_URL = {ctx.settings.SMTP_URL!r}\n")
    return str(path)


def test_permanent_refusal_fails_at_once(ctx, smtp_sink):
    with ctx.db.session() as s:
        outbox.enqueue(s, "mail:5", message(ctx.settings), ["club@listes.example.org"])
    original = smtp_sink.controller.handler.handle_DATA

    async def refuse(server, session, envelope):
        return "554 5.7.1 Refusé"

    smtp_sink.controller.handler.handle_DATA = refuse
    outbox.run_pending(ctx, "w1")
    smtp_sink.controller.handler.handle_DATA = original
    [row] = rows(ctx)
    assert row.state == "failed" and "554" in row.last_error and row.attempts == 1


def test_lmtp(tmp_path, sqlite_url, lmtp_sink):
    settings = make_settings(tmp_path, sqlite_url, SMTP_URL=lmtp_sink.url)
    ctx = Context(settings)
    try:
        with ctx.db.session() as s:
            outbox.enqueue(s, "mail:6", message(settings), ["club@listes.example.org"])
        assert outbox.run_pending(ctx, "w1") == 1
        assert len(lmtp_sink.messages) == 1
        assert rows(ctx)[0].state == "sent"
    finally:
        ctx.close()


def test_two_workers_never_send_twice(ctx, smtp_sink):
    import threading

    with ctx.db.session() as s:
        for n in range(30):
            outbox.enqueue(s, f"mail:{100 + n}", message(ctx.settings, n), ["club@listes.example.org"])
    threads = [threading.Thread(target=outbox.run_pending, args=(ctx, f"w{i}")) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while outbox.run_pending(ctx, "w-final"):
        pass
    subjects = [email.message_from_bytes(raw, policy=policy.default)["Subject"]
                for _, _, raw in smtp_sink.messages]
    assert len(subjects) == 30 and len(set(subjects)) == 30


def test_an_edit_notice_waits_for_its_post_mail_retried_after_a_failure(ctx, smtp_sink, monkeypatch):
    """Red team, 27th pass: a notice met its post's mail « failed » (an SMTP outage) and was
    withheld for good; the operator's « outbox retry » then sent the post, never its notice.
    It waits for the post's mail, and is withheld only when that was dropped."""
    from forumsync.forum import live

    monkeypatch.setattr(live, "recheck_facts", lambda ctx, key, batch=None: (True, "public", None))

    def mail(subject):
        return compose.compose_personal(ctx.settings, to="club@listes.example.org", subject=subject, text="x")

    with ctx.db.session() as s:
        outbox.enqueue(s, "post:7", mail("Sortie du 12"), ["club@listes.example.org"])
        outbox.enqueue(s, "edit:7:2", mail("[modifié] Sortie du 12"), ["club@listes.example.org"])
        outbox.enqueue(s, "post:8", mail("Sortie du 13"), ["club@listes.example.org"])
        outbox.enqueue(s, "edit:8:2", mail("[modifié] Sortie du 13"), ["club@listes.example.org"])
        for key in ("post:7", "post:8"):
            row = s.scalars(select(OutboxMail).where(OutboxMail.key == key)).one()
            row.state, row.attempts = "failed", outbox.MAX_ATTEMPTS  # a long SMTP outage
    outbox.run_pending(ctx, "w")
    with ctx.db.session() as s:
        outbox.retry(s)  # the mail server is back: « forumsync outbox retry --all »
        row = s.scalars(select(OutboxMail).where(OutboxMail.key == "post:8")).one()
        assert outbox.drop(s, row.id, "écarté")  # and the operator drops the other post
    for _ in range(3):
        outbox.run_pending(ctx, "w")
        with ctx.db.session() as s:
            s.execute(update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    with ctx.db.session() as s:
        states = dict(s.execute(select(OutboxMail.key, OutboxMail.state)).all())
    assert states == {"post:7": "sent", "edit:7:2": "sent", "post:8": "dropped", "edit:8:2": "dropped"}, states
