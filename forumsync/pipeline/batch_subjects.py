"""Which waiting topic a « Re: » without References joins by its subject (``batch_thread``).

``thread`` matches such a reply with the most recently active topic under its cleaned subject
(``thread._subject_match``). When that topic is one a message waiting in the batch opens, the
reply need not wait for the batch to be sent: it goes in the same request, in that item's topic
with no parent post (the plugin's ``topic_of_message_id``), and what is stored is what the
one-by-one path stores. Only when the answer is certain; otherwise the batch is sent first.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select

from ..mail.subjects import subject_chain
from ..models import TopicLink
from . import thread

_BY_KEY = select(TopicLink.topic_id, TopicLink.last_activity_at).where(
    TopicLink.subject_key == bindparam("key"))


def waiting_topic(pending, message_id: str, refs: list[str], msgdata: dict) -> str | None:
    """The opener's Message-ID of the waiting topic ``thread`` would match by subject once
    the batch is published (None: only published state can tell, so flush). Only for a
    « Re: » without References whose match is certain: the most recently active topic
    under its subject (activity as the waiting items will leave it) is one a waiting item
    opens, strictly ahead of every other, within ``SUBJECT_THREAD_DAYS``."""
    key, date = msgdata.get("subject_key") or "", msgdata.get("date")
    ids = set(pending.items) | pending.roots
    if refs or not key or date is None or pending.opaque or message_id in ids:
        return None
    if any(known in (msgdata.get("body") or "") for known in ids):
        return None
    chain = subject_chain(msgdata.get("subject") or "", pending.ctx.settings.LIST_TAG)
    if not chain.is_reply or chain.is_forward:
        return None
    with pending.ctx.db.connection() as conn:
        if conn.execute(thread._ROOTS, {"ids": [message_id]}).first() is not None:
            return None
        stored = dict(conn.execute(_BY_KEY, {"key": key}).all())
    best, best_at, tie = None, None, False
    for ref, (ref_key, last) in pending.activity.items():
        if ref[0] == "db" and ref[1] in stored:
            stored[ref[1]] = max(stored[ref[1]], last)
        elif ref[0] == "new" and ref_key == key:
            best, best_at, tie = _ahead(best, best_at, tie, ref[1], last)
    for _topic_id, last in stored.items():
        best, best_at, tie = _ahead(best, best_at, tie, None, last)
    if best is None or tie or best_at < date - timedelta(days=pending.ctx.settings.SUBJECT_THREAD_DAYS):
        return None
    return best


def _ahead(best, best_at, tie, candidate, last):
    """The most recent of (BEST, BEST_AT) and (CANDIDATE, LAST); TIE when two are equal."""
    if best_at is None or last > best_at:
        return candidate, last, False
    return best, best_at, tie or last == best_at
