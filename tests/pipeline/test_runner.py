"""The inbox runner: claiming, final states, retries when the forum is away, idempotency."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from forumsync.models import InboxMessage, PostLink, TopicLink, utcnow
from forumsync.pipeline import records, route, runner
from tests.fixtures.pipeline import later, make_mail, make_pipe


def _due(pipe, inbox_id):
    with pipe.ctx.db.session() as session:
        session.execute(update(InboxMessage).where(InboxMessage.id == inbox_id)
                        .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def _count(pipe, model, column):
    with pipe.ctx.db.session() as session:
        return session.scalar(select(func.count(column)))


def test_forum_down_then_back_publishes_once(pipe_any_db):
    pipe = pipe_any_db
    pipe.localforum.faults.fail(500, seconds=60)
    ids = [pipe.feed(make_mail(f"Panne {n}", message_id=f"<down-{n}@a.fr>")) for n in range(3)]
    pipe.run()
    for inbox_id in ids:
        row = pipe.row(inbox_id)
        assert row.state == "retry" and row.attempts == 1
        assert row.reason.startswith("forum indisponible (tentative 1)")
        assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert pipe.run() == 0  # not due yet: nothing claimed
    pipe.localforum.faults.clear()
    for inbox_id in ids:
        _due(pipe, inbox_id)
    pipe.run()
    rows = [pipe.row(i) for i in ids]
    assert [r.state for r in rows] == ["published"] * 3
    assert [r.attempts for r in rows] == [2, 2, 2]
    assert _count(pipe, TopicLink, TopicLink.topic_id) == 3
    assert pipe.post_writes() == 3


def test_forum_unreachable_keeps_the_mail(tmp_path, sqlite_url, make_localforum):
    forum = make_localforum()
    ctx, pipe = make_pipe(tmp_path, sqlite_url, forum)
    forum.stop()
    row = pipe.send(make_mail("Forum éteint"))
    assert row.state == "retry" and "forum injoignable" in row.reason
    assert row.raw  # still there, to be published later
    ctx.close()


def test_backoff_grows_with_jitter_and_never_gives_up():
    delays = [runner.retry_delay(n) for n in range(1, 40)]
    assert 24 <= delays[0] <= 36
    assert 48 <= delays[1] <= 72
    assert all(d <= runner.RETRY_MAX_SECONDS * 1.2 for d in delays)
    assert min(delays[-10:]) >= runner.RETRY_MAX_SECONDS * 0.8


def _operator_retry(pipe, inbox_id):
    """« Réessayer » (dashboard, inbox retry): the attempts are kept, so the next one reconciles
    (red-team pass 15: resetting them published a reply twice)."""
    from forumsync.inbound import operations

    with pipe.ctx.db.session() as session:
        assert operations.retry(session, inbox_id) == 1


@pytest.mark.parametrize("plugin,by_operator", [(True, False), (False, False), (False, True)],
                         ids=["plugin", "marker", "marker-operator"])
def test_timeout_after_the_forum_wrote_does_not_duplicate(tmp_path, sqlite_url, localforum, plugin,
                                                          by_operator):
    """The forum created the topic/post but the answer never came back (a crash between the
    forum write and our commit looks the same): the next attempt links what exists — through
    the plugin's Message-ID lookup, or without it through the marker hidden in the post.

    The forum holds the write until the test releases it (no race between a slowed forum and
    FORUM_TIMEOUT); the timeout only has to be long enough for the forum's normal answers on a
    loaded machine."""
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=plugin, FORUM_TIMEOUT=2.0)
    pipe.provision()
    held = localforum.faults.hold(count=1, method="POST", path=r"posts\.json$")
    inbox_id = pipe.feed(make_mail("Lent", message_id="<slow0@a.fr>"))
    pipe.run()
    assert pipe.row(inbox_id).state == "retry"
    held.release()
    assert held.wait_finished(1)  # the forum finishes writing
    _due(pipe, inbox_id)
    pipe.run()
    root = pipe.row(inbox_id)
    assert root.state == "published" and root.attempts == 2

    held = localforum.faults.hold(count=1, method="POST", path=r"posts\.json$")
    reply_id = pipe.feed(make_mail("Re: Lent", "Réponse lente.", message_id="<slow1@b.fr>",
                                   in_reply_to="<slow0@a.fr>", date=later(hours=1)))
    pipe.run()
    assert pipe.row(reply_id).state == "retry"
    held.release()
    assert held.wait_finished(1)
    if by_operator:
        _operator_retry(pipe, reply_id)
    else:
        _due(pipe, reply_id)
    pipe.run()
    reply = pipe.row(reply_id)
    assert reply.state == "published", reply.reason
    topic = pipe.topic(root.topic_id)
    assert len(topic["post_stream"]["posts"]) == 2
    assert reply.post_id == topic["post_stream"]["posts"][1]["id"]
    assert pipe.post_writes() == 2
    ctx.close()


def test_an_orphan_reply_found_again_keeps_its_thread_root_for_the_late_root(pipe):
    """A reply whose parent is not there yet opens the thread's topic (under the root's
    external_id), and the forum already has its post under its Message-ID (an earlier write
    whose answer was lost: ``created: false``). That is this thread's own topic (its
    external_id, which only forumsync sets): recorded with the thread's root, so the root
    arriving late joins it. (Recorded as « a post found elsewhere », without the root, it
    quarantined the root, « appartient à un autre message », seen under forum timeouts.)"""
    from forumsync.mail.ids import topic_external_id

    earlier = pipe.ctx.forum.staged_post_create(
        email="b@b.fr", name="B", raw="Réponse arrivée avant son message.", title="Orphelin",
        category_id=pipe.themes["sve"], message_id="<orphan1@b.fr>",
        external_id=topic_external_id("orphan0@a.fr"))
    reply = pipe.send(make_mail("Re: Orphelin", "Réponse arrivée avant son message.",
                                message_id="<orphan1@b.fr>", in_reply_to="<orphan0@a.fr>",
                                references="<orphan0@a.fr>", date=later(hours=1)))
    assert reply.state == "published" and reply.topic_id == earlier["topic_id"], reply.reason
    assert pipe.topic_link(reply.topic_id).root_message_id == "orphan0@a.fr"
    root = pipe.send(make_mail("Orphelin", "Le message d'origine.", message_id="<orphan0@a.fr>"))
    assert root.state == "published", root.reason
    assert root.topic_id == reply.topic_id


def test_unexpected_error_is_quarantined_with_its_repr(pipe, monkeypatch):
    def broken(ctx, msg, msgdata):
        raise ValueError("règle cassée")

    monkeypatch.setattr(route, "process", broken)
    row = pipe.send(make_mail("Tout va casser"))
    assert row.state == "quarantined"
    assert row.reason == "erreur inattendue : ValueError('règle cassée')"
    monkeypatch.undo()
    assert pipe.send(make_mail("La suite passe")).state == "published"


def test_same_message_id_via_two_channels_is_one_post(pipe):
    raw = make_mail("Deux canaux", message_id="<twice@a.fr>")
    first = pipe.send(raw, channel="lmtp")
    pipe.feed(raw.replace(b"\n", b"\r\n"), channel="mbox")
    pipe.run()
    assert len(pipe.rows()) == 1
    assert first.state == "published"
    assert pipe.post_writes() == 1


def test_requeued_published_message_is_dropped_as_duplicate(pipe):
    row = pipe.send(make_mail("Déjà là", message_id="<again@a.fr>"))
    with pipe.ctx.db.session() as session:
        session.execute(update(InboxMessage).where(InboxMessage.id == row.id).values(state="new"))
    pipe.run()
    again = pipe.row(row.id)
    assert again.state == "dropped"
    assert again.reason.startswith("déjà publié (doublon)")
    assert _count(pipe, PostLink, PostLink.id) == 1


def test_stale_lock_is_reclaimed_fresh_lock_is_not(pipe_any_db):
    pipe = pipe_any_db
    stale = pipe.feed(make_mail("Verrou ancien"))
    fresh = pipe.feed(make_mail("Verrou récent"))
    with pipe.ctx.db.session() as session:
        session.execute(update(InboxMessage).where(InboxMessage.id == stale).values(
            state="processing", locked_by="dead-worker", locked_at=utcnow() - timedelta(minutes=30)))
        session.execute(update(InboxMessage).where(InboxMessage.id == fresh).values(
            state="processing", locked_by="busy-worker", locked_at=utcnow()))
    assert pipe.run() == 1
    assert pipe.row(stale).state == "published"
    assert pipe.row(fresh).state == "processing"


def test_concurrent_claims_never_share_a_row(pipe_any_db):
    pipe = pipe_any_db
    for n in range(40):
        pipe.feed(make_mail(f"Lot {n}"))
    claimed = {}

    def claim(worker):
        claimed[worker] = runner.claim(pipe.ctx, worker, 15)

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in claimed.values() for i in ids]
    assert len(everything) == len(set(everything)) == 40
    with pipe.ctx.db.session() as session:
        owners = dict(session.execute(select(InboxMessage.id, InboxMessage.locked_by)).all())
    for worker, ids in claimed.items():
        assert all(owners[i] == worker for i in ids)


def test_process_one_runs_a_waiting_retry_now(pipe):
    pipe.localforum.faults.fail(500, count=1)
    row = pipe.send(make_mail("Tout de suite"))
    assert row.state == "retry"
    assert runner.process_one(pipe.ctx, row.id) == "published"
    assert runner.process_one(pipe.ctx, row.id) is None  # finished rows are left alone


def test_after_many_attempts_the_row_keeps_retrying_at_the_max_interval(pipe):
    inbox_id = pipe.feed(make_mail("Forum en panne longue"))
    with pipe.ctx.db.session() as session:
        session.execute(update(InboxMessage).where(InboxMessage.id == inbox_id).values(attempts=29))
    pipe.localforum.faults.fail(500, count=5)
    pipe.run()
    row = pipe.row(inbox_id)
    assert row.state == "retry" and row.attempts == 30
    assert "tentative 30" in row.reason
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert runner.RETRY_MAX_SECONDS * 0.75 < wait <= runner.RETRY_MAX_SECONDS * 1.2


@pytest.mark.parametrize("by_operator", [False, True], ids=["automatic", "operator"])
def test_database_failure_after_the_forum_write_is_retried_without_duplicate(bridge_pipe, monkeypatch,
                                                                              by_operator):
    pipe = bridge_pipe
    pipe.send(make_mail("Base capricieuse", message_id="<db0@a.fr>"))
    real_record = records.record

    def failing(session, facts, new_topic):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(records, "record", failing)
    row = pipe.send(make_mail("Re: Base capricieuse", "Réponse.", message_id="<db1@b.fr>",
                              in_reply_to="<db0@a.fr>", date=later(hours=1)))
    assert row.state == "retry" and row.attempts == 1
    assert row.reason.startswith("publié sur le forum (message ")
    assert "mais non enregistré (tentative 1)" in row.reason and "disk I/O error" in row.reason
    monkeypatch.setattr(records, "record", real_record)
    if by_operator:
        _operator_retry(pipe, row.id)
    else:
        _due(pipe, row.id)
    pipe.run()
    row = pipe.row(row.id)
    assert row.state == "published", row.reason
    assert pipe.post_writes() == 2  # the reply was found again (marker), not posted twice
    assert len(pipe.topic(row.topic_id)["post_stream"]["posts"]) == 2
    assert pipe.post_link("db1@b.fr").post_id == row.post_id
