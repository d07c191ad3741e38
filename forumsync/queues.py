"""The durable queues (inbox messages, webhook events, outbox mail): claim, backoff, release, wake.

A queue is a table whose rows wait in a *ready* state, are *claimed* by one worker
(``locked_by``/``locked_at``) and end in a state of their own; the areas decide those ends,
this module only moves rows in and out of a worker's hands.

Claiming: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` lets several workers share a queue
without waiting on each other. On SQLite one guarded ``UPDATE … RETURNING`` inside ``BEGIN
IMMEDIATE`` claims a batch atomically; SQLite deployments run one worker (a second one would
only wait on the lock). A claimed row whose lock is older than the queue's ``stale_after`` (a
worker that died) is claimed again; each area's idempotency makes that safe.

Waking: whoever stores new work calls ``wake(ctx)`` so an in-process worker (serve, demo, a
bench loop) starts at once instead of waiting for its next poll.
"""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, func, or_, select, update

from .models import InboxMessage, OutboxMail, WebhookEvent, utcnow

log = logging.getLogger(__name__)

LOCKED_BY_LENGTH = 64  # the column's width: a worker id is cut to it everywhere
# Appended to ``locked_by`` when a worker starts a row it knows was interrupted before
# (``Queue.mark_started``): if that worker dies, the row alone was in its hands.
STARTED = "#en-cours"
# A row that was in hand this many times when its worker died is set aside unprocessed (each
# area says how: the inbox quarantines it, events and outbox mail end "failed"): whatever
# kills the worker on it would kill it again at every restart.
INTERRUPTED_MAX = 3
_LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)  # a lock this old is stale for every queue


@dataclass(frozen=True)
class Queue:
    """One durable table used as a queue. Rows in READY states are due once their
    ``next_attempt_at`` is empty or past; CLAIMED is the state while a worker holds them."""
    model: type
    ready: tuple[str, ...]
    claimed: str
    stale_after: timedelta
    count_attempts: bool = False  # the claim itself counts an attempt (inbox)
    # the claim of a row left claimed counts an interruption (``interrupted``): every
    # row of a worker that died the first time (which one killed it is not known), then only
    # the row it had marked as started (``mark_started``)
    count_interruptions: bool = False

    def claimable(self, now):
        model = self.model
        due = and_(model.state.in_(self.ready),
                   or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))
        stale = and_(model.state == self.claimed, model.locked_at < now - self.stale_after)
        return or_(due, stale)

    def claim(self, db, worker_id: str, limit: int, *, columns=(), where=None) -> list:
        """Mark up to LIMIT claimable rows (or rows matching WHERE instead) as claimed by
        WORKER_ID, in one short transaction; returns their ids in arrival order, or rows of
        ``id`` + COLUMNS when COLUMNS (columns the claim does not change) are given."""
        model = self.model
        now = utcnow()
        condition = self.claimable(now) if where is None else where
        values = dict(state=self.claimed, locked_by=worker_id[:LOCKED_BY_LENGTH], locked_at=now)
        if self.count_attempts:
            values["attempts"] = model.attempts + 1
        if self.count_interruptions:
            left = and_(model.state == self.claimed,
                        or_(model.interrupted == 0, model.locked_by.like(f"%{STARTED}")))
            values["interrupted"] = case((left, model.interrupted + 1), else_=model.interrupted)
        wanted = (model.id, *columns)
        with db.connection() as conn:
            if db.is_sqlite:
                batch = select(model.id).where(condition).order_by(model.id).limit(limit).scalar_subquery()
                rows = conn.execute(update(model).where(model.id.in_(batch), condition)
                                    .values(**values).returning(*wanted)).all()
            else:
                rows = conn.execute(select(*wanted).where(condition).order_by(model.id).limit(limit)
                                    .with_for_update(skip_locked=True)).all()
                if rows:
                    conn.execute(update(model).where(model.id.in_([r.id for r in rows])).values(**values))
        rows = sorted(rows, key=lambda r: r.id)
        return rows if columns else [r.id for r in rows]

    @staticmethod
    def by_interruptions(rows) -> tuple[list, list, list]:
        """Claimed ROWS (with their ``interrupted`` column) as (fresh ones, ones to run alone,
        marked as started, and ones to set aside: in hand INTERRUPTED_MAX times already)."""
        fresh, alone, aside = [], [], []
        for row in rows:
            (fresh if not row.interrupted else aside if row.interrupted >= INTERRUPTED_MAX else alone).append(row)
        return fresh, alone, aside

    def mark_started(self, db, row_id: int) -> None:
        """Record, before its work starts, that its worker has claimed row ROW_ID in hand now
        (a row interrupted before: its work is run alone, and this one write tells which row
        a worker that dies again was on)."""
        model = self.model
        marked = func.substr(model.locked_by, 1, LOCKED_BY_LENGTH - len(STARTED)) + STARTED
        with db.connection() as conn:
            conn.execute(update(model).where(model.id == row_id, model.state == self.claimed,
                                             model.locked_by.not_like(f"%{STARTED}"))
                         .values(locked_by=marked))

    def release(self, session, row_id: int, state: str, **values) -> None:
        """Take row ROW_ID out of its worker's hands, in STATE (with VALUES: reason, next attempt…)."""
        session.execute(update(self.model).where(self.model.id == row_id)
                        .values(state=state, locked_by=None, locked_at=None, **values)
                        .execution_options(synchronize_session=False))

    def expire_claims(self, session, owner: str) -> int:
        """Make the rows OWNER holds claimable at once (their lock made stale)."""
        model = self.model
        held = or_(model.locked_by == owner, model.locked_by == owner[:LOCKED_BY_LENGTH - len(STARTED)] + STARTED)
        return session.execute(update(model).where(model.state == self.claimed, held)
                               .values(locked_at=_LONG_AGO)
                               .execution_options(synchronize_session=False)).rowcount


INBOX = Queue(InboxMessage, ("new", "retry"), "processing", timedelta(minutes=5), count_attempts=True,
              count_interruptions=True)
EVENTS = Queue(WebhookEvent, ("new", "retry"), "processing", timedelta(minutes=10), count_interruptions=True)
OUTBOX = Queue(OutboxMail, ("pending",), "sending", timedelta(minutes=10), count_interruptions=True)
QUEUES = (INBOX, EVENTS, OUTBOX)


def backoff(attempt: int, base: float = 30.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with ±20 % jitter: BASE, twice BASE … capped at CAP (never given up
    here: each area decides when to stop)."""
    delay = min(cap, base * 2 ** max(0, min(attempt - 1, 20)))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


# ---------------------------------------------------------------- releasing claims
def release_dead_claims(db) -> int:
    """Make rows claimed by a worker of this host that no longer runs (``kill -9``, crash)
    claimable at once, instead of after the stale-lock delay. Worker ids are
    ``host:pid:thread``; only dead pids of this very host are released."""
    released = 0
    with db.session() as session:
        for queue in QUEUES:
            model = queue.model
            owners = session.scalars(select(model.locked_by).where(model.state == queue.claimed)
                                     .distinct()).all()
            for owner in owners:
                if holder_alive(owner):
                    continue
                released += queue.expire_claims(session, owner.removesuffix(STARTED))
    if released:
        log.warning("%s élément(s) réservé(s) par un worker arrêté brutalement remis en file", released)
    return released


def holder_here(locked_by: str | None) -> bool:
    """Whether LOCKED_BY (``host:pid:thread``) names a process of this very host."""
    parts = (locked_by or "").split(":")
    return len(parts) >= 3 and parts[0] == socket.gethostname() and parts[1].isdigit()


def holder_alive(locked_by: str | None) -> bool:
    """Whether the worker LOCKED_BY (``host:pid:thread``) may still run: false only for a pid of
    this very host that no longer exists (another host's worker cannot be seen from here)."""
    if not holder_here(locked_by):
        return True
    pid = int(locked_by.split(":")[1])
    return pid == os.getpid() or _pid_alive(pid)


def release_claims_of(db, worker_id: str) -> None:
    """Make every row WORKER_ID still holds claimable at once (it holds none between rounds)."""
    with db.session() as session:
        for queue in QUEUES:
            queue.expire_claims(session, worker_id[:LOCKED_BY_LENGTH])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (EPERM)
        return True
    return True


# ---------------------------------------------------------------- waking workers
_work_stored = threading.Event()  # what an in-process Worker waits on between polls
_wakeups: set[threading.Event] = set()
_wakeups_lock = threading.Lock()


def wake(ctx=None) -> None:
    """New work was stored: start in-process workers now (the Worker's event, events registered
    with ``register_wakeup``, and ``ctx.wake_worker`` if set). Cheap; safe from any thread."""
    _work_stored.set()
    with _wakeups_lock:
        events = list(_wakeups)
    for event in events:
        event.set()
    hook = getattr(ctx, "wake_worker", None)
    if callable(hook):
        hook()


def register_wakeup(event: threading.Event) -> None:
    """A loop of one's own (bench, tests) registers an Event, set whenever work is stored."""
    with _wakeups_lock:
        _wakeups.add(event)


def unregister_wakeup(event: threading.Event) -> None:
    with _wakeups_lock:
        _wakeups.discard(event)


def clear_wakeup() -> None:
    """Called before a round of work: a wake-up during the round is not lost."""
    _work_stored.clear()


def wait_for_work(timeout: float) -> bool:
    """Sleep until ``wake`` is called or TIMEOUT seconds pass."""
    return _work_stored.wait(timeout)
