"""Red team 17: an outcome the database refused is kept only in the worker's memory
(``outbox._UNRECORDED``). A graceful stop (SIGTERM: ``Worker.stop``) while the database is
still refusing drops it; the row stays ``sending`` under the stopped worker's id, the next
start's ``release_dead_claims`` makes it claimable at once, and the mail — already accepted
by the mail server — goes to the list a second time. No process was killed (the documented
at-least-once case is a ``kill -9`` during the SMTP conversation)."""
import email
import socket
import subprocess
from email import policy

import pytest
from sqlalchemy.exc import OperationalError

from forumsync import queues
from forumsync.context import Context
from forumsync.db import Database
from forumsync.outbound import compose, outbox
from forumsync.worker import Worker


@pytest.fixture
def ctx(context, smtp_sink):
    yield Context(context.settings.replace(SMTP_URL=smtp_sink.url), db=context.db)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_graceful_stop_during_a_database_outage_does_not_send_a_mail_twice(ctx, smtp_sink, monkeypatch):
    with ctx.db.session() as s:
        mail = compose.compose_personal(ctx.settings, to="marie@meyzieu.fr", subject="Envoi unique",
                                        text="Bonjour.")
        assert outbox.enqueue(s, "mail:rt17-stop", mail, ["club@listes.example.org"])
    real = outbox._record_all

    def down(ctx_, outcomes, attempts):  # the database refuses writes for a while
        raise OperationalError("UPDATE outbox_mail", {}, Exception("database is locked"))

    monkeypatch.setattr(outbox, "_record_all", down)
    first = Worker(ctx, f"{socket.gethostname()}:{_dead_pid()}:1")  # this worker's process, later gone
    first.tasks = [("outbound.outbox.run_pending", outbox.run_pending)]
    first.run_once()  # handed to the mail server; outcome kept in memory
    first.run_once()  # still refused: kept, nothing sent
    assert len(smtp_sink.messages) == 1
    first.stop()      # SIGTERM: the worker's loop ends; its process exits
    first.run_forever()

    monkeypatch.setattr(outbox, "_record_all", real)  # the database answers again
    # the next start: a new process, with its own Database object (its own memory)
    database = Database(ctx.db.url)
    try:
        restarted = Context(ctx.settings, db=database)
        queues.release_dead_claims(restarted.db)
        second = Worker(restarted, f"{socket.gethostname()}:{_dead_pid()}:2")
        second.tasks = [("outbound.outbox.run_pending", outbox.run_pending)]
        for _ in range(3):
            second.run_once()
    finally:
        database.dispose()
    subjects = [email.message_from_bytes(raw, policy=policy.default)["Subject"]
                for _, _, raw in smtp_sink.messages]
    assert subjects == ["Envoi unique"], f"sent to the list: {subjects}"
