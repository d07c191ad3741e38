"""Red team 15: the operator's « Réessayer » (inbox retry) on a row whose post already reached
the forum must not publish it a second time.

``operations.RESET`` sets ``attempts=0``; the next claim makes it attempt 1, and
``reconcile`` only looks for an earlier write when attempt > 1. A reply posted by an
account (bridge or member: no plugin Message-ID idempotency) is then written again."""
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from forumsync.inbound import operations
from forumsync.models import InboxMessage, utcnow
from forumsync.pipeline import records
from tests.fixtures.pipeline import later, make_mail


def _operator_retry(pipe, inbox_id):
    with pipe.ctx.db.session() as session:
        assert operations.retry(session, inbox_id) == 1


def test_operator_retry_of_a_row_published_but_not_recorded_posts_once(bridge_pipe, monkeypatch):
    pipe = bridge_pipe
    pipe.send(make_mail("Base capricieuse", message_id="<rt15a0@a.fr>"))
    real_record = records.record

    def failing(session, facts, new_topic):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(records, "record", failing)
    row = pipe.send(make_mail("Re: Base capricieuse", "Réponse.", message_id="<rt15a1@b.fr>",
                              in_reply_to="<rt15a0@a.fr>", date=later(hours=1)))
    assert row.state == "retry" and row.reason.startswith("publié sur le forum (message ")
    monkeypatch.setattr(records, "record", real_record)
    # The dashboard lists "retry" rows with a « Réessayer » button; the operator presses it.
    _operator_retry(pipe, row.id)
    pipe.run()
    row = pipe.row(row.id)
    assert row.state == "published", row.reason
    assert pipe.post_writes() == 2, "the reply was written to the forum a second time"
    assert len(pipe.topic(row.topic_id)["post_stream"]["posts"]) == 2


def test_operator_retry_after_a_forum_timeout_posts_once(tmp_path, sqlite_url, localforum):
    """The forum created the reply but its answer never came (row in "retry", « forum
    indisponible »); the operator retries it from the dashboard after the outage."""
    from tests.fixtures.pipeline import make_pipe
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=False, FORUM_TIMEOUT=2.0)
    try:
        pipe.provision()
        pipe.send(make_mail("Lent", message_id="<rt15b0@a.fr>"))
        held = localforum.faults.hold(count=1, method="POST", path=r"posts\.json$")
        inbox_id = pipe.feed(make_mail("Re: Lent", "Réponse.", message_id="<rt15b1@b.fr>",
                                       in_reply_to="<rt15b0@a.fr>", date=later(hours=1)))
        pipe.run()
        assert pipe.row(inbox_id).state == "retry"
        held.release()
        _operator_retry(pipe, inbox_id)
        pipe.run()
        row = pipe.row(inbox_id)
        assert row.state == "published", row.reason
        posts = pipe.topic(row.topic_id)["post_stream"]["posts"]
        assert len(posts) == 2, f"{len(posts)} posts in the topic: the reply was published twice"
    finally:
        ctx.close()
