"""Worker task: process stored Discourse webhook events.

Events are claimed from ``queues.EVENTS`` in small batches, their posts fetched together
(``live.prefetch_posts``), then each is handled in order by the function ``HANDLERS`` names for
it (``event_handlers``): ``done`` with the French outcome, ``skipped`` with the reason it
needs nothing, ``retry`` with a backoff when the forum is unavailable (``failed`` after
MAX_ATTEMPTS), ``failed`` with the reason on any other error.

Every decision reads the forum's live state, never the webhook payload's category, archetype
or post type (``live.gather``); the outbox asks again (``recheck_facts``) right before
the SMTP hand-off.
"""
from __future__ import annotations

import json
import logging

from sqlalchemy import update

from ..models import WebhookEvent, utcnow
from ..pipeline.budget import cpu_budget, exceeded
from ..queues import EVENTS, backoff
from . import catchup
from .event_handlers import categories_changed, post_created, post_edited, topic_edited
from .gateway import ForumUnavailable
from .live import Skip, prefetch_posts

log = logging.getLogger(__name__)

BATCH = 10  # small batches: the outbox task gets its turn soon after each few events
MAX_ATTEMPTS = 20
INTERRUPTED_REASON = ("le worker s'est arrêté {n} fois pendant le traitement de cet événement "
                      "(mémoire épuisée, plantage ?) : mis de côté pour que la file avance ; "
                      "« forumsync events retry » le reprend")
OVER_BUDGET_REASON = ("traitement trop long : plus de {seconds:g} s de processeur pour faire un courriel "
                      "de ce message du forum (réglage PIPELINE_MESSAGE_CPU_SECONDS) ; rien n'est envoyé. "
                      "« forumsync events retry » le reprend")

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
    about = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(about, (dict, type(None))):  # signed, yet not the shape Discourse sends
        raise ValueError(f"événement mal formé : « {key} » n'est pas un objet JSON")
    return handler(ctx, about or {}, cache)


def run_pending(ctx, worker_id: str) -> int:
    """Handle a batch of stored events (a catch-up round first, when due: ``catchup``). An
    event that was in hand when a worker died is handled alone, marked as started first, and
    set aside ("failed") once that happened INTERRUPTED_MAX times."""
    catchup.run_scheduled(ctx)
    jobs = EVENTS.claim(ctx.db, worker_id, BATCH, columns=(WebhookEvent.event, WebhookEvent.payload,
                                                            WebhookEvent.attempts, WebhookEvent.interrupted))
    fresh, alone, aside = EVENTS.by_interruptions(jobs)
    for job in aside:
        log.warning("événement %s : en main %s fois à l'arrêt d'un worker, mis de côté", job.id, job.interrupted)
        _record(ctx, [(job.id, "failed", INTERRUPTED_REASON.format(n=job.interrupted), None)])
    for job in alone:
        EVENTS.mark_started(ctx.db, job.id)
        _record(ctx, [_decide(ctx, *job[:4], {})])
    fresh = [job[:4] for job in fresh]
    cache: dict = {}
    prefetch_posts(ctx, fresh, cache)
    # One transaction records the batch (a crash before it only replays events, and the
    # outbox key keeps a replayed post from being mailed twice).
    _record(ctx, [_decide(ctx, *job, cache) for job in fresh])
    return len(jobs)


def _decide(ctx, event_id: int, name: str, payload: str, attempts: int, cache: dict) -> tuple:
    """(event id, state, French reason, retry delay) of handling one event; never raises. Its
    processor time is bounded as a message's is (``PIPELINE_MESSAGE_CPU_SECONDS``)."""
    state, reason, delay = "done", "", None
    try:
        with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):
            reason = handle(ctx, name, json.loads(payload), cache) or ""
    except Skip as exc:
        state, reason = "skipped", str(exc)
    except ForumUnavailable as exc:
        state, reason = "retry", f"forum indisponible : {exc}"
        delay = backoff(attempts + 1, base=10.0, cap=3600.0)
    except Exception as exc:  # recorded on the event, visible on the dashboard
        over = exceeded(exc)
        if over is not None:
            log.warning("événement %s : plus de %g s de processeur", event_id, over.seconds)
            state, reason = "failed", OVER_BUDGET_REASON.format(seconds=over.seconds)
        else:
            log.exception("événement %s en échec", event_id)
            state, reason = "failed", f"{type(exc).__name__}: {exc}"
    if state == "retry" and attempts + 1 >= MAX_ATTEMPTS:
        state = "failed"
    return event_id, state, reason, delay


def _record(ctx, outcomes) -> None:
    with ctx.db.session() as session:
        for event_id, state, reason, delay in outcomes:
            EVENTS.release(session, event_id, state, attempts=WebhookEvent.attempts + 1,
                           reason=reason[:2000], processed_at=utcnow(),
                           next_attempt_at=utcnow() + delay if delay else None)


def retry(session, event_id: int | None = None) -> int:
    """Make failed events due again (one by id, or all when EVENT_ID is None), their counts
    reset: handling one again is safe (the outbox key keeps a post from being mailed twice)."""
    query = update(WebhookEvent).where(WebhookEvent.state == "failed")
    if event_id is not None:
        query = query.where(WebhookEvent.id == event_id)
    return session.execute(query.values(state="retry", attempts=0, interrupted=0, next_attempt_at=None,
                                        locked_by=None, locked_at=None)
                           .execution_options(synchronize_session=False)).rowcount
