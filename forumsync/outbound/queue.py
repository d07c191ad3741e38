"""Claiming rows of a durable table like a queue (webhook events, outbox mails).

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so several workers share the work without
waiting on each other. SQLite: the session's ``BEGIN IMMEDIATE`` already serialises writers.
A row claimed by a worker that died (``locked_at`` older than ``stale_after``) is claimed again.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import and_, or_, select

from ..models import utcnow


def claim(session, model, *, ready_states, worker_id: str, claimed_state: str, limit: int = 20,
          stale_after: timedelta = timedelta(minutes=10)) -> list:
    """Mark up to ``limit`` ready rows as ``claimed_state`` for ``worker_id`` and return them."""
    now = utcnow()
    ready = and_(model.state.in_(ready_states),
                 or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))
    stale = and_(model.state == claimed_state, model.locked_at < now - stale_after)
    query = select(model).where(or_(ready, stale)).order_by(model.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.state = claimed_state
        row.locked_by = worker_id
        row.locked_at = now
    return rows


def backoff(attempts: int, base: float = 30.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with ±20 % jitter: 30 s, 1 min, 2 min … capped at 6 h."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))
