"""Red team 15: a database error while recording « sent » (after the mail server accepted the
batch) makes the worker send every mail of the batch to the list again.

``outbox.run_pending`` hands the whole claim (up to 50 mails) to SMTP, then records the
outcomes in one transaction (``_record_all``). If that transaction fails (SQLite still locked
after busy_timeout, PostgreSQL restarting: documented as survivable), the task raises, the
Worker marks ``_orphans`` and at its next round ``release_claims_of`` makes those rows
claimable at once: they are claimed again and sent a second time. No process was killed;
the documented only at-least-once case is a ``kill -9`` during the SMTP conversation."""
import email
from email import policy

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from forumsync.context import Context
from forumsync.models import OutboxMail
from forumsync.outbound import compose, outbox
from forumsync.worker import Worker


@pytest.fixture
def ctx(context, smtp_sink):
    yield Context(context.settings.replace(SMTP_URL=smtp_sink.url), db=context.db)


def test_a_database_error_after_the_smtp_hand_off_does_not_send_twice(ctx, smtp_sink, monkeypatch):
    with ctx.db.session() as s:
        for n in range(3):
            mail = compose.compose_personal(ctx.settings, to="marie@meyzieu.fr", subject=f"Envoi {n}",
                                            text="Bonjour.")
            assert outbox.enqueue(s, f"mail:rt15-{n}", mail, ["club@listes.example.org"])
    real = outbox._record_all
    calls = {"n": 0}

    def flaky(ctx_, outcomes, attempts):
        calls["n"] += 1
        if calls["n"] == 1:  # the database is briefly unavailable right after the hand-off
            raise OperationalError("UPDATE outbox_mail", {}, Exception("database is locked"))
        return real(ctx_, outcomes, attempts)

    monkeypatch.setattr(outbox, "_record_all", flaky)
    worker = Worker(ctx, "host-rt15:1:1")
    worker.tasks = [("outbound.outbox.run_pending", outbox.run_pending)]
    for _ in range(4):  # the worker's loop, the database answering again after the first round
        worker.run_once()
    subjects = [email.message_from_bytes(raw, policy=policy.default)["Subject"]
                for _, _, raw in smtp_sink.messages]
    assert sorted(subjects) == ["Envoi 0", "Envoi 1", "Envoi 2"], f"sent to the list: {subjects}"
    with ctx.db.session() as s:
        assert {r.state for r in s.scalars(select(OutboxMail))} == {"sent"}
