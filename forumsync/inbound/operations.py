"""Operator actions on the inbox, for the dashboard buttons (same effect as `forumsync inbox
retry|drop`, whose rules they follow). They take a session and change state only; the worker
does the rest. Each returns how many messages changed.
"""
from __future__ import annotations

from ..models import InboxMessage, utcnow

# Like `forumsync inbox`: a message being processed or already published is left alone.
FROZEN = ("processing", "published")
OPERATOR_DROP = "abandonné par l'opérateur"


def retry(session, message_id: int) -> int:
    """Put one message back to ``new`` (out of quarantine, retry or dropped)."""
    row = session.get(InboxMessage, message_id)
    if row is None or row.state in FROZEN or row.state == "new":
        return 0
    row.state = "new"
    row.reason = ""
    row.attempts = 0
    row.next_attempt_at = None
    row.locked_by = None
    row.locked_at = None
    row.processed_at = None
    return 1


def drop(session, message_id: int, detail: str = "") -> int:
    """Abandon one message that is not published: it will not be processed."""
    row = session.get(InboxMessage, message_id)
    if row is None or row.state in FROZEN or row.state == "dropped":
        return 0
    row.state = "dropped"
    row.reason = OPERATOR_DROP + (f" : {detail}" if detail else "")
    row.next_attempt_at = None
    row.processed_at = utcnow()
    return 1
