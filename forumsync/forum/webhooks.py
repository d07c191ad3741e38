"""``POST /webhooks/discourse``: verify, store once, answer at once; the worker does the rest.

Discourse signs the raw body: ``X-Discourse-Event-Signature: sha256=<hex HMAC-SHA256>`` with
the webhook secret (FORUM_WEBHOOK_SECRET). Missing/invalid signature → 401; missing headers or
a body that is not a JSON object → 400; an event already stored → 200 « déjà reçu » and
nothing changes. Discourse retries a failed delivery as a *new* delivery with a new
``X-Discourse-Event-Id`` (app/jobs/regular/emit_web_hook_event.rb), so an event is recognised by
itself (``event_key``: event, object id, version or updated_at, body digest), not by that id.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from flask import Blueprint, request
from sqlalchemy.exc import IntegrityError

from ..models import WebhookEvent, set_state, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

LAST_RECEIVED_KEY = "webhook:last_received"


def signature(secret: str, body: bytes) -> str:
    """The header value Discourse sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _answer(status: int, message: str, **extra):
    return {"statut": message, **extra}, status


@bp.post("/webhooks/discourse")
def discourse():
    from ..app import current_context

    ctx = current_context()
    body = request.get_data(cache=False)
    given = request.headers.get("X-Discourse-Event-Signature", "")
    if not given:
        return _answer(401, "signature manquante")
    if not ctx.settings.FORUM_WEBHOOK_SECRET:  # an HMAC with an empty key proves nothing
        return _answer(401, "FORUM_WEBHOOK_SECRET n'est pas réglé : aucun événement n'est accepté")
    expected = signature(ctx.settings.FORUM_WEBHOOK_SECRET, body)
    if not hmac.compare_digest(given.strip().lower().encode("latin-1", "replace"), expected.encode("ascii")):
        return _answer(401, "signature invalide")
    event = request.headers.get("X-Discourse-Event", "").strip()
    event_type = request.headers.get("X-Discourse-Event-Type", "").strip()
    event_id = request.headers.get("X-Discourse-Event-Id", "").strip()
    instance = request.headers.get("X-Discourse-Instance", "").strip() or ctx.settings.FORUM_URL
    if not event or not event_id:
        return _answer(400, "en-têtes X-Discourse-Event et X-Discourse-Event-Id obligatoires")
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "corps JSON illisible")
    if not isinstance(payload, dict):
        return _answer(400, "le corps doit être un objet JSON")
    _record_last(ctx, event, event_id)
    if event == "ping":
        return _answer(200, "pong")
    delivery_id = f"{instance[:250]}#{event_id[:40]}"
    try:
        with ctx.db.session() as session:
            session.add(WebhookEvent(delivery_id=delivery_id,
                                     event_key=event_key(instance, event, event_type, payload, body),
                                     event=event[:64],
                                     event_type=(event_type or event.split("_")[0])[:32],
                                     payload=text, received_at=utcnow(),
                                     state="new"))
    except IntegrityError:
        return _answer(200, "déjà reçu")
    wake_workers(ctx)
    return _answer(200, "reçu")


def event_key(instance: str, event: str, event_type: str, payload: dict, body: bytes) -> str:
    """What makes two deliveries the same event: a retry re-sends the very body built when the
    event happened (the job's ``payload`` argument), a new event changes its object's version,
    ``updated_at`` or some other field. A post is created once: ``post_created`` is keyed by the
    post alone, so the catch-up's synthetic event (forum/catchup.py) and the real webhook meet."""
    inner = payload.get(event_type) if isinstance(payload.get(event_type), dict) else None
    if inner is None:
        inner = next((v for v in payload.values() if isinstance(v, dict)), {})
    if event == "post_created" and isinstance(inner.get("id"), int):
        return post_created_key(instance, inner["id"])
    stamp = inner.get("version"), inner.get("updated_at") or inner.get("created_at")
    digest = hashlib.sha256(body).hexdigest()[:24]
    key = f"{event}:{event_type}:{inner.get('id')}:{stamp[0]}:{stamp[1]}:{digest}"
    return f"{instance[:300 - len(key) - 1]}#{key}"[:300]


def post_created_key(instance: str, post_id: int) -> str:
    """The event_key of post POST_ID's creation, from a webhook or from the catch-up."""
    key = f"post_created:post:{int(post_id)}"
    return f"{instance.rstrip('/')[:300 - len(key) - 1]}#{key}"


def wake_workers(ctx) -> None:
    """Start in-process workers now: ``queues.wake()`` and ``ctx.wake_worker`` if set."""
    from ..queues import wake

    wake()
    hook = getattr(ctx, "wake_worker", None)
    if callable(hook):
        hook()


_last_recorded: dict[str, float] = {}  # database URL -> monotonic time of the last write
RECORD_EVERY_SECONDS = 1.0


def _record_last(ctx, event: str, event_id: str) -> None:
    """The dashboard shows when the forum last called us (at most once a second per process,
    so a burst of webhooks costs one write, not one each); never fails the delivery."""
    now = time.monotonic()
    if now - _last_recorded.get(ctx.db.url, -RECORD_EVERY_SECONDS) < RECORD_EVERY_SECONDS:
        return
    _last_recorded[ctx.db.url] = now
    try:
        with ctx.db.session() as session:
            set_state(session, LAST_RECEIVED_KEY, {"at": utcnow().isoformat(), "event": event[:64],
                                                   "event_id": event_id[:40]})
    except Exception:  # a concurrent first insert of the key, a busy database: not worth a 500
        log.debug("dernier webhook non enregistré", exc_info=True)
