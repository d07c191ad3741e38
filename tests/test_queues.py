"""The one queue module (inbox, webhook events, outbox): claim, backoff, release, wake,
on SQLite and PostgreSQL (``db``)."""
import itertools
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from forumsync import queues
from forumsync.models import InboxMessage, OutboxMail, WebhookEvent, utcnow
from forumsync.queues import EVENTS, INBOX, OUTBOX

_numbers = itertools.count()


def _add(db, queue, state, n=1, **values):
    """N rows of QUEUE's table in STATE; returns their ids."""
    made = []
    with db.session() as session:
        for number in itertools.islice(_numbers, n):
            if queue is INBOX:
                row = InboxMessage(message_id=f"m{number}-{state}@x", channel="http", sender="a@x",
                                   subject="s", size=1, received_at=utcnow(), state=state, **values)
            elif queue is EVENTS:
                row = WebhookEvent(delivery_id=f"d{number}-{state}", event_key=f"k{number}-{state}",
                                   event="post_created", event_type="post", payload="{}",
                                   received_at=utcnow(), state=state, **values)
            else:
                row = OutboxMail(key=f"post:{number}-{state}", message_id="", sender="b@x",
                                 recipients=["l@x"], raw=b"x", subject="s", state=state,
                                 last_error="", created_at=utcnow(), **values)
            session.add(row)
            session.flush()
            made.append(row.id)
    return made


def _row(db, queue, row_id):
    with db.session() as session:
        row = session.get(queue.model, row_id)
        session.expunge(row)
        return row


@pytest.mark.parametrize("queue", [INBOX, EVENTS, OUTBOX], ids=["inbox", "events", "outbox"])
def test_claim_takes_due_and_stale_rows_only(db, queue):
    ready = queue.ready[0]
    now = utcnow()
    due = _add(db, queue, ready, 2)
    later = _add(db, queue, ready, next_attempt_at=now + timedelta(hours=1))
    past = _add(db, queue, ready, next_attempt_at=now - timedelta(seconds=1))
    stale = _add(db, queue, queue.claimed, locked_by="dead", locked_at=now - queue.stale_after * 2)
    fresh = _add(db, queue, queue.claimed, locked_by="busy", locked_at=now)
    final = _add(db, queue, "sent" if queue is OUTBOX else "dropped")
    claimed = queue.claim(db, "w" * 80, 50)
    assert claimed == sorted(due + past + stale)
    assert not set(claimed) & set(later + fresh + final)
    row = _row(db, queue, claimed[0])
    assert (row.state, row.locked_by) == (queue.claimed, "w" * 64)  # cut to the column's width
    assert row.attempts == (1 if queue.count_attempts else 0)
    assert queue.claim(db, "w2", 50) == []  # nothing left to take


def test_claim_returns_the_asked_columns_in_arrival_order(db):
    ids = _add(db, OUTBOX, "pending", 3)
    rows = OUTBOX.claim(db, "w", 2, columns=(OutboxMail.key, OutboxMail.recipients, OutboxMail.raw))
    assert [r.id for r in rows] == ids[:2]
    assert rows[0].recipients == ["l@x"] and rows[0].raw == b"x" and rows[0].key.startswith("post:")


def test_concurrent_claims_never_share_a_row(db):
    ids = _add(db, EVENTS, "new", 40)
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda n: EVENTS.claim(db, f"w{n}", 7), range(8)))
    taken = [i for batch in batches for i in batch]
    assert len(taken) == len(set(taken)) == 40 and sorted(taken) == ids


def test_release_frees_the_row_with_its_outcome(db):
    [row_id] = _add(db, EVENTS, "new")
    EVENTS.claim(db, "w", 1)
    when = utcnow() + timedelta(minutes=3)
    with db.session() as session:
        EVENTS.release(session, row_id, "retry", reason="forum indisponible", next_attempt_at=when,
                       attempts=WebhookEvent.attempts + 1)
    row = _row(db, EVENTS, row_id)
    assert (row.state, row.locked_by, row.locked_at, row.attempts) == ("retry", None, None, 1)
    assert row.reason == "forum indisponible" and abs(row.next_attempt_at - when) < timedelta(seconds=1)
    assert EVENTS.claim(db, "w", 1) == []  # not due before next_attempt_at


def test_a_worker_releases_its_own_claims_for_every_queue(db):
    rows = {queue: _add(db, queue, queue.ready[0])[0] for queue in queues.QUEUES}
    for queue in queues.QUEUES:
        assert queue.claim(db, "host:1:2", 5) == [rows[queue]]
    other = _add(db, OUTBOX, "pending")
    OUTBOX.claim(db, "someone-else", 5)
    queues.release_claims_of(db, "host:1:2")
    for queue in queues.QUEUES:  # claimable again at once, by anyone
        assert queue.claim(db, "next", 5) == [rows[queue]]
    assert _row(db, OUTBOX, other[0]).locked_by == "someone-else"


def test_claims_of_a_dead_process_of_this_host_are_released(db):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = socket.gethostname()
    ids = {owner: _add(db, INBOX, "new")[0] for owner in
           (f"{host}:{dead}:1", f"{host}:{os.getpid()}:1", f"other-host:{dead}:1", "not-a-worker-id")}
    for owner, row_id in ids.items():
        assert INBOX.claim(db, owner, 1, where=InboxMessage.id == row_id) == [row_id]
    assert queues.release_dead_claims(db) == 1
    assert INBOX.claim(db, "next", 10) == [ids[f"{host}:{dead}:1"]]


def test_backoff_doubles_with_jitter_up_to_its_cap():
    for attempt, base in ((1, 30), (2, 60), (3, 120)):
        delay = queues.backoff(attempt).total_seconds()
        assert base * 0.8 <= delay <= base * 1.2
    capped = [queues.backoff(n, base=10.0, cap=3600.0).total_seconds() for n in range(12, 200)]
    assert all(3600 * 0.8 <= d <= 3600 * 1.2 for d in capped)
    assert len({round(d) for d in capped}) > 1  # jitter: workers do not retry in step


def test_wake_sets_the_worker_event_the_registered_ones_and_the_hook():
    registered, hook = threading.Event(), threading.Event()

    class Ctx:
        wake_worker = hook.set

    queues.register_wakeup(registered)
    try:
        queues.clear_wakeup()
        assert not queues.wait_for_work(0)
        queues.wake(Ctx())
        assert queues.wait_for_work(0) and registered.is_set() and hook.is_set()
    finally:
        queues.unregister_wakeup(registered)
    registered.clear()
    queues.wake()
    assert not registered.is_set()
