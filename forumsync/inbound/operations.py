"""Operator actions on the inbox, for the dashboard buttons and `forumsync inbox retry|drop`.
They take a session and change state only; the worker does the rest (call ``queues.wake``
after a retry). Each returns how many messages changed.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..models import InboxMessage, utcnow
from ..queues import INBOX, holder_alive, holder_here, wake
from . import copies
from .copies import another_copy_live, family_of, lock_family, release_held_copy

# Like `forumsync inbox`: a message being processed or already published is left alone.
FROZEN = ("processing", "published")
OPERATOR_DROP = "abandonné par l'opérateur"


# What a message put back to ``new`` starts from again. Its attempts are kept: the next one
# is then "not the first", and ``reconcile`` looks for a post an earlier attempt may have
# written (forum timeout, database down at the final commit) before writing it again.
# Resetting them published a reply twice (red-team pass 15).
RESET = dict(state="new", reason="", interrupted=0, next_attempt_at=None, locked_by=None,
             locked_at=None, processed_at=None)


def retry(session, message_id: int) -> int:
    """Put one message back to ``new`` (out of quarantine, retry or dropped); not while another
    copy of its Message-ID may still be published or is (``copies``): a held copy goes when
    that one ends unpublished, or when the operator drops it."""
    lock_family(session.connection(), message_id)  # the family read as it is (copies)
    row = session.get(InboxMessage, message_id)
    if row is None or row.state in FROZEN or row.state == "new":
        return 0
    if another_copy_live(session.connection(), message_id):
        return 0
    for key, value in RESET.items():
        setattr(row, key, value)
    return 1


def retry_quarantined(session) -> int:
    """Put every quarantined message back to ``new``, but those of which another copy may
    still be published or is (a forgery held behind the genuine mail waiting for a retry would
    go first: red team, nineteenth and twentieth passes); of several quarantined copies of one
    Message-ID, one at a time: the one tried longest ago (each bulk retry reaches the next:
    always the oldest kept a genuine copy behind a forgery quarantined again each time,
    twenty-first pass)."""
    conn = session.connection()
    rows = session.execute(select(InboxMessage.id, InboxMessage.processed_at)
                           .where(InboxMessage.state == "quarantined")).all()
    rows.sort(key=lambda row: (row.processed_at is not None, row.processed_at or 0, row.id))
    ids, families = [], set()
    for row in rows:
        family = family_of(conn, row.id)
        if family is not None and (family in families or another_copy_live(conn, row.id)):
            continue
        families.add(family)
        ids.append(row.id)
    changed = 0
    for start in range(0, len(ids), 500):
        changed += session.execute(update(InboxMessage).where(InboxMessage.id.in_(ids[start:start + 500]))
                                   .values(**RESET)).rowcount
    return changed


def abandoned(row) -> bool:
    """ROW is "processing" but no worker has it in hand any more: its worker was a process of
    this host that no longer runs, or (a worker of another host, whose life cannot be seen
    from here) its lock is older than the stale-lock delay (a worker would claim it again).
    A message that kills its worker can then be dropped by hand; a row a live worker of this
    host holds, even for long (a claimed batch of 500 waits its turn), cannot."""
    if row.state != "processing":
        return False
    if holder_here(row.locked_by):
        return not holder_alive(row.locked_by)
    return row.locked_at is None or row.locked_at < utcnow() - INBOX.stale_after


def drop(session, message_id: int, detail: str = "") -> int:
    """Abandon one message that is not published (nor in a live worker's hands): it will not
    be processed."""
    lock_family(session.connection(), message_id)  # before this row's own update (copies)
    row = session.get(InboxMessage, message_id)
    if row is None or row.state == "dropped" or (row.state in FROZEN and not abandoned(row)):
        return 0
    attempted = may_be_on_the_forum(row)
    row.state = "dropped"
    row.reason = OPERATOR_DROP + (f" : {detail}" if detail else "")
    row.next_attempt_at = row.locked_by = row.locked_at = None
    row.processed_at = utcnow()
    session.flush()
    # an operator who drops (say) a forgery lets the copy held behind it be processed; not when
    # the dropped row may have been written on the forum (an attempt cut short): the copy would
    # be a second post, so it stays held for the operator to look at (``inbox retry N``)
    if not attempted and release_held_copy(session.connection(), message_id) is not None:
        wake()
    return 1


def held_copies(session, message_id: int) -> list[int]:
    """The inbox ids of the copies held for MESSAGE_ID's Message-ID (``copies.COPY_HELD``)."""
    return copies.held_copies(session.connection(), message_id)


def held_after_drop(session, message_id: int, attempted: bool, retry_how: str) -> str:
    """What to tell the operator after dropping MESSAGE_ID, when ATTEMPTED (``may_be_on_the_forum``
    before the drop) left its copies held (see ``drop``): "" otherwise. RETRY_HOW: how to retry
    one there (the CLI's command, the dashboard's button)."""
    held = held_copies(session, message_id) if attempted else []
    if not held:
        return ""
    return (f"Les copies retenues du même Message-ID ({', '.join(f'n° {n}' for n in held)}) restent "
            "retenues : ce message a peut-être été écrit sur le forum avant l'interruption de son "
            f"essai. Vérifiez le forum, puis {retry_how} une copie.")


def may_be_on_the_forum(row) -> bool:
    """ROW was tried and its end never recorded (waiting for a retry, or in the hands of a
    dead worker): its post may be on the forum, written just before a timeout or a crash."""
    return row.state in ("retry", "processing") and (row.attempts or 0) >= 1
