"""Operator actions on the inbox, shared by `forumsync inbox …` and the dashboard buttons.

Like ``forumsync.outbound.outbox.retry``: they take a session and change state only; the
worker does the rest. Each returns how many messages changed.
"""
from __future__ import annotations

from sqlalchemy import select

from ..models import InboxMessage

RETRYABLE = ("quarantined", "retry", "dropped")
DROPPABLE = ("new", "retry", "quarantined")


def retry(session, message_id: int | None = None) -> int:
    """Put quarantined/retry/dropped messages back to ``new`` (one by id, or all)."""
    query = select(InboxMessage).where(InboxMessage.state.in_(RETRYABLE))
    if message_id is not None:
        query = query.where(InboxMessage.id == message_id)
    count = 0
    for row in session.scalars(query):
        row.state = "new"
        row.next_attempt_at = None
        row.locked_by = None
        row.locked_at = None
        row.attempts = 0
        count += 1
    return count


def drop(session, message_id: int, reason: str = "écarté à la main") -> int:
    """Mark one waiting or quarantined message ``dropped`` with REASON (French)."""
    row = session.get(InboxMessage, message_id)
    if row is None or row.state not in DROPPABLE:
        return 0
    row.state = "dropped"
    row.reason = reason
    row.next_attempt_at = None
    row.locked_by = None
    row.locked_at = None
    return 1
