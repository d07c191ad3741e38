"""The inbox worker task: claim stored messages, run them through ``STAGES``, record the end.

Each row ends ``published`` (topic_id/post_id), ``dropped`` (reason), ``quarantined``
(reason: French for known cases, the exception's repr otherwise) or ``retry`` (the forum was
unavailable: exponential backoff with jitter, capped at ``RETRY_MAX_SECONDS`` but never
given up, so no mail is lost; ``attempts`` and the reason show in ``inbox list``).

Claiming is ``queues.INBOX`` (``SKIP LOCKED`` on PostgreSQL, one ``UPDATE … RETURNING`` on
SQLite). A ``processing`` row whose lock is older than ``STALE_AFTER`` (a worker that died) is
claimed again; the publish stage's idempotency makes that safe (see ``publish.py``).

Transactions stay short: one to claim, one to read the row, the stages' own small reads,
and one final transaction holding the mapping rows and the row's state together. Forum
calls happen between them, never while a transaction is open.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from ..forum.gateway import ForumError, ForumRejected, ForumUnavailable
from ..models import InboxMessage, InboxRaw, utcnow
from ..models.inbox import claimed_message_id
from ..memory import message_done
from ..inbound.copies import lock_family, release_held_copy
from ..queues import INBOX, INTERRUPTED_MAX, backoff, wake
from . import prepare
from .errors import Drop, Quarantine, Retry

log = logging.getLogger(__name__)

STALE_AFTER = INBOX.stale_after
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
FINAL_STATES = ("published", "dropped", "quarantined")
INTERRUPTED_REASON = ("le worker s'est arrêté {n} fois pendant le traitement de ce message (mémoire "
                      "épuisée, plantage ?) : mis de côté pour que la file avance. À lire tel quel "
                      "(forumsync inbox show --raw) ; « forumsync inbox retry » le reprend")

# Per-message statements, built once (building one costs more than running it).
_inbox = InboxMessage.__table__
_raw = InboxRaw.__table__
# Outer join: a row without its raw bytes is quarantined by the stages (parse fails), not lost.
_READ = select(_inbox.c.id, _raw.c.raw, _inbox.c.channel, _inbox.c.message_id,
               _inbox.c.received_at, _inbox.c.meta, _inbox.c.attempts, _inbox.c.interrupted) \
    .select_from(_inbox.outerjoin(_raw, _raw.c.inbox_id == _inbox.c.id)) \
    .where(_inbox.c.id == bindparam("row_id"))
_FINISH = update(_inbox).where(_inbox.c.id == bindparam("row_id")).values(
    state=bindparam("state"), reason=bindparam("reason"), locked_by=None, locked_at=None,
    next_attempt_at=None, processed_at=bindparam("processed_at"))
_FINISH_PUBLISHED = _FINISH.values(topic_id=bindparam("topic_id"), post_id=bindparam("post_id"))


def claim(ctx, worker_id: str, limit: int = 50, *, only_id: int | None = None) -> list[int]:
    """Mark up to LIMIT rows ``processing`` for WORKER_ID; returns their ids in arrival order."""
    where = None  # process_one: any unfinished row, whatever its next_attempt_at
    if only_id is not None:
        where = and_(InboxMessage.id == only_id, InboxMessage.state.not_in(FINAL_STATES))
    return INBOX.claim(ctx.db, worker_id, limit, where=where)


def run_pending(ctx, worker_id: str, limit: int = 50, batch_threshold: int | None = None) -> int:
    """Worker task: process one batch of claimable inbox rows; returns how many. A backlog
    (BATCH_THRESHOLD rows or more, default INBOX_BATCH_THRESHOLD) is published in batches."""
    from . import batch as batches

    ids = claim(ctx, worker_id, limit)
    with ctx.db.holding():  # one connection for the many short transactions of these messages
        if batches.wanted(ctx, len(ids), batch_threshold):
            return batches.publish_claimed(ctx, ids)
        batch: dict = {}  # forum facts shared by this batch's messages (see live_topic.topic_or_none)
        prepare.Ahead.start(ctx, ids, batch)  # a backlog's CPU-bound stages run ahead in a pool
        try:
            for inbox_id in ids:
                process_claimed(ctx, inbox_id, batch)
        finally:
            prepare.finish(batch)
        return len(ids)


def process_one(ctx, inbox_id: int, worker_id: str = "process_one") -> str | None:
    """Claim and process one row now (tests, ``inbox retry``); returns its final state."""
    if not claim(ctx, worker_id, 1, only_id=inbox_id):
        return None
    return process_claimed(ctx, inbox_id)


def process_claimed(ctx, inbox_id: int, batch: dict | None = None) -> str:
    """Run a claimed row through the stages and record how it ended; never raises. A row
    left in hand by a worker that died is run alone (the batch and the pool leave it here),
    marked as started first, and set aside once it has been in hand INTERRUPTED_MAX times."""
    raw, msgdata = read_claimed(ctx, inbox_id, batch)
    interrupted = msgdata.get("interrupted") or 0
    if interrupted >= INTERRUPTED_MAX:
        log.warning("inbox %s : en main %s fois à l'arrêt d'un worker, mis en quarantaine", inbox_id, interrupted)
        return _finish(ctx, inbox_id, "quarantined", INTERRUPTED_REASON.format(n=interrupted))
    if interrupted:
        INBOX.mark_started(ctx.db, inbox_id)

    def stages():
        msg, stages_ = prepare.stages_for(ctx, raw, msgdata)  # STAGES, AHEAD ones from the pool
        for stage in stages_:
            stage.process(ctx, msg, msgdata)

    return conclude(ctx, inbox_id, msgdata, stages)


def read_claimed(ctx, inbox_id: int, batch: dict | None = None) -> tuple[bytes | None, dict]:
    """A claimed row's raw bytes and the ``msgdata`` its stages start from (as the batch's
    ``prepare.Ahead`` read them moments ago when it sent the row to the pool)."""
    message_done()  # (once per message handled: both ways of publishing read it here)
    sent = prepare.sent_row(batch, inbox_id)
    if sent is not None:
        seed, raw = sent
        return raw, dict(seed, meta=dict(seed["meta"]), writes=[], batch=batch)
    with ctx.db.connection() as conn:
        row = conn.execute(_READ, {"row_id": inbox_id}).one()
        msgdata = dict(inbox_id=row.id, channel=row.channel, message_id=claimed_message_id(row.message_id, row.meta),
                       received_at=row.received_at, meta=dict(row.meta or {}),
                       attempt=row.attempts, interrupted=row.interrupted, writes=[],
                       batch={} if batch is None else batch)
    return row.raw, msgdata


PENDING = "pending"  # WORK's answer when the message waits in a batch (pipeline/batch.py)


def conclude(ctx, inbox_id: int, msgdata: dict, work) -> str:
    """Run WORK (stages on MSGDATA) and record how the row ended; never raises. WORK may
    answer PENDING: the row stays claimed, a batch publishes and concludes it later."""
    try:
        if work() == PENDING:
            return PENDING
    except Drop as exc:
        return _finish_or_retry(ctx, inbox_id, msgdata, "dropped", exc.reason or "écarté")
    except Quarantine as exc:
        return _finish_or_retry(ctx, inbox_id, msgdata, "quarantined", exc.reason or "mis en quarantaine")
    except (ForumUnavailable, Retry) as exc:
        return _schedule_retry(ctx, inbox_id, msgdata["attempt"], exc)
    except ForumRejected as exc:
        return _finish_or_retry(ctx, inbox_id, msgdata, "quarantined", str(exc))
    except (OperationalError, InterfaceError) as exc:  # the database went away: transient
        return _schedule_retry(ctx, inbox_id, msgdata["attempt"], exc,
                               f"base de données indisponible (tentative {msgdata['attempt']})")
    except RecursionError:  # the email package, bs4 or markdownify on thousands of nested levels
        log.warning("message %s (inbox %s) trop imbriqué : mis en quarantaine", msgdata["message_id"], inbox_id)
        return _finish_or_retry(ctx, inbox_id, msgdata, "quarantined",
                                "message trop imbriqué pour être converti (des milliers de niveaux de "
                                "balises HTML, de parties ou de citations) : à lire tel quel (inbox show --raw)")
    except Exception as exc:  # the one place that quarantines whatever a stage did not expect
        log.exception("message %s (inbox %s) mis en quarantaine", msgdata["message_id"], inbox_id)
        return _finish_or_retry(ctx, inbox_id, msgdata, "quarantined", f"erreur inattendue : {exc!r}")
    try:
        return _finish(ctx, inbox_id, "published", msgdata.get("thread_reason") or "publié",
                       msgdata=msgdata)
    except Exception as exc:  # the database failed us after the forum write: keep the loop alive
        log.exception("enregistrement du message %s (inbox %s) en échec", msgdata["message_id"], inbox_id)
        # Retried (attempts kept), the next attempt finds the post on the forum and records it.
        return _schedule_retry(ctx, inbox_id, msgdata["attempt"], exc,
                               f"publié sur le forum (message {msgdata.get('post_id')}) mais non "
                               f"enregistré (tentative {msgdata['attempt']})")


def _finish_or_retry(ctx, inbox_id: int, msgdata: dict, state: str, reason: str) -> str:
    """``_finish`` of an unpublished end; if the database refuses to record it, the row is
    retried later rather than the whole claim failing (``conclude`` never raises)."""
    try:
        return _finish(ctx, inbox_id, state, reason)
    except Exception as exc:
        log.exception("issue du message %s (inbox %s) non enregistrée", msgdata["message_id"], inbox_id)
        return _schedule_retry(ctx, inbox_id, msgdata["attempt"], exc,
                               f"issue « {state} » non enregistrée (tentative {msgdata['attempt']})")


def _finish(ctx, inbox_id: int, state: str, reason: str, msgdata: dict | None = None) -> str:
    """The row's final state, the stages' queued writes and, for an unpublished end, the
    release of a copy held behind it (``copies.release_held_copy``), in one transaction: a
    release in a transaction of its own could fail after the state was committed, and the
    copy (the genuine mail held behind a forgery) stayed held for ever (red team, nineteenth
    pass). If this transaction fails, nothing of it is recorded and the row is retried."""
    values = dict(row_id=inbox_id, state=state, reason=reason[:10000], processed_at=utcnow())
    released = None
    with ctx.db.connection() as conn:
        if state != "published":  # the family's lock before this row's (copies.lock_family)
            lock_family(conn, inbox_id)
        writes = (msgdata or {}).get("writes")
        if writes:
            # The writes take a session: one joined to this connection's transaction.
            with Session(bind=conn) as session:
                for write in writes:
                    write(session)
                session.flush()
        if msgdata is None:
            conn.execute(_FINISH, values)
        else:
            conn.execute(_FINISH_PUBLISHED, {**values, "topic_id": msgdata.get("topic_id"),
                                             "post_id": msgdata.get("post_id")})
        if state != "published":
            released = release_held_copy(conn, inbox_id)
    if released is not None:
        log.info("inbox %s : copie %s du même Message-ID remise en file", inbox_id, released)
        wake(ctx)
    return state


def retry_delay(attempt: int) -> float:
    """Exponential backoff with ±20 % jitter, capped (never abandoned)."""
    return backoff(attempt, RETRY_BASE_SECONDS, RETRY_MAX_SECONDS).total_seconds()


def _schedule_retry(ctx, inbox_id: int, attempt: int, exc: Exception, what: str | None = None) -> str:
    when = utcnow() + timedelta(seconds=retry_delay(attempt))
    what = what or f"forum indisponible (tentative {attempt})"
    detail = getattr(exc, "reason", None) or (str(exc) if isinstance(exc, ForumError) else repr(exc))
    reason = f"{what}, nouvel essai vers {when:%Y-%m-%d %H:%M:%S} UTC : {detail}"
    with ctx.db.session() as session:
        INBOX.release(session, inbox_id, "retry", reason=reason, next_attempt_at=when)
    log.info("inbox %s : %s", inbox_id, reason)
    return "retry"
