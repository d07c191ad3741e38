"""Worker task: process stored Discourse webhook events.

Events are claimed from ``queues.EVENTS`` in small batches, their posts fetched together
(``live.prefetch_posts``), then each is handled in order by the function ``HANDLERS`` names for
it (``event_handlers``): ``done`` with the French outcome, ``skipped`` with the reason it
needs nothing, ``retry`` with a backoff when the forum is unavailable (``failed`` after
MAX_ATTEMPTS), ``failed`` with the reason on any other error.

Every decision reads the forum's live state, never the webhook payload's category, archetype
or post type (``live.gather``); the outbox asks again (``recheck_before_send``) right before
the SMTP hand-off.
"""
from __future__ import annotations

import json
import logging

from ..models import WebhookEvent, utcnow
from ..queues import EVENTS, backoff
from . import catchup
from .event_handlers import categories_changed, post_created, post_edited, topic_edited
from .gateway import ForumUnavailable
from .live import Skip, prefetch_posts

log = logging.getLogger(__name__)

BATCH = 10  # small batches: the outbox task gets its turn soon after each few events
MAX_ATTEMPTS = 20

# event name → (handler, the payload's key holding the object it is about)
HANDLERS = {
    "post_created": (post_created, "post"),
    "post_edited": (post_edited, "post"),
    "topic_edited": (topic_edited, "topic"),
}
CATEGORY_EVENTS = "category_"  # category_created, _updated, _destroyed: one handler


def handle(ctx, name: str, payload: dict, cache: dict | None = None) -> str:
    """Run the handler of event NAME; returns its French outcome (``Skip`` when it has none)."""
    cache = {} if cache is None else cache
    if name.startswith(CATEGORY_EVENTS):
        return categories_changed(ctx, payload, cache)
    if name not in HANDLERS:
        raise Skip(f"événement « {name} » sans effet")
    handler, key = HANDLERS[name]
    return handler(ctx, payload.get(key) or {}, cache)


def run_pending(ctx, worker_id: str) -> int:
    """Handle a batch of stored events (a catch-up round first, when due: ``catchup``)."""
    catchup.run_scheduled(ctx)
    jobs = EVENTS.claim(ctx.db, worker_id, BATCH, columns=(WebhookEvent.event, WebhookEvent.payload,
                                                            WebhookEvent.attempts))
    cache: dict = {}
    prefetch_posts(ctx, jobs, cache)
    outcomes = []
    for event_id, name, payload, attempts in jobs:
        state, reason, delay = "done", "", None
        try:
            reason = handle(ctx, name, json.loads(payload), cache) or ""
        except Skip as exc:
            state, reason = "skipped", str(exc)
        except ForumUnavailable as exc:
            state, reason = "retry", f"forum indisponible : {exc}"
            delay = backoff(attempts + 1, base=10.0, cap=3600.0)
        except Exception as exc:  # recorded on the event, visible on the dashboard
            log.exception("événement %s en échec", event_id)
            state, reason = "failed", f"{type(exc).__name__}: {exc}"
        if state == "retry" and attempts + 1 >= MAX_ATTEMPTS:
            state = "failed"
        outcomes.append((event_id, state, reason, delay))
    # One transaction records the batch (a crash before it only replays events, and the
    # outbox key keeps a replayed post from being mailed twice).
    with ctx.db.session() as session:
        for event_id, state, reason, delay in outcomes:
            EVENTS.release(session, event_id, state, attempts=WebhookEvent.attempts + 1,
                           reason=reason[:2000], processed_at=utcnow(),
                           next_attempt_at=utcnow() + delay if delay else None)
    return len(jobs)
