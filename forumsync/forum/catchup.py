"""Catch-up: forum posts whose ``post_created`` webhook never reached forumsync.

Discourse gives up on a delivery after MAX_RETRY_COUNT (4) retries, 1, 5, 25 and 125 minutes
apart, and only when the site setting ``retry_web_hook_events`` is on; a refused connection is
not retried at all (app/jobs/regular/emit_web_hook_event.rb). After a longer outage the post
would never reach the list. So, at start and then every FORUM_CATCHUP_SECONDS, one request
reads the forum's newest posts (``GET /posts.json``, PostsController#latest: 50 a page, newest
first, ``before`` for the page below) and each post above the high-water mark that forumsync
has not seen is stored as a synthetic ``post_created`` event, under the very ``event_key`` the
real webhook would get: whichever arrives second is « déjà reçu ». The usual handler then
decides (live forum state, eligibility), and the outbox key ``post:ID`` stays the last guard.

A gap longer than a page is read over several rounds (``before`` kept in the state), one
request a round, through the gateway and so the shared request pacing.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..models import PostLink, WebhookEvent, get_state, set_state, utcnow
from .errors import ForumUnavailable
from .webhooks import post_created_key

log = logging.getLogger(__name__)

STATE_KEY = "forum:catchup"
# In a synthetic event's post: read from the live forum, not built when the post was created
# (``event_handlers.copied_post`` cannot read its dates as the webhook's) ...
CATCHUP_MARK = "forumsync_catchup"
# ... and whether it is dated before the floor was read, or no later than an unseen post of a
# lower id: a copy of an older post (a moved topic's first post), as posts are numbered in the
# order they are written (red team, 30th and 31st passes).
CATCHUP_COPY = "forumsync_catchup_copy"
# The floor's time is the forum's (its answer's HTTP Date, to the second; forumsync's clock when
# the forum sends none): a post written while the page was read may be dated a little before.
CLOCK_MARGIN = timedelta(seconds=5)
PAGE_SIZE = 50  # LatestPostsQuery::PAGE_SIZE: a shorter page is the last one
_last_round: dict[str, float] = {}  # database URL -> monotonic time of this process's last round


def run_scheduled(ctx) -> int:
    """One catch-up round when due (the first call of a process is due); how many events it stored."""
    period = ctx.settings.FORUM_CATCHUP_SECONDS
    now = time.monotonic()
    last = _last_round.get(ctx.db.url)
    if not period or (last is not None and now - last < period):
        return 0
    _last_round[ctx.db.url] = now
    try:
        return catch_up(ctx)
    except ForumUnavailable as exc:  # next round will try again
        log.info("rattrapage du forum reporté : %s", exc)
    except Exception:  # never keeps the stored events from being handled; next round retries
        log.warning("rattrapage du forum en échec", exc_info=True)
    return 0


def catch_up(ctx) -> int:
    """One request: the page of newest posts (or the one below ``before``), then the state.

    ``seen_at`` (the forum's clock when it answered the first page of the round that set the
    floor) dates what the floor stands for: every post written before it is at or below
    the floor, so a post above it dated well before it is a copy of an older post."""
    with ctx.db.session() as session:
        state = get_state(session, STATE_KEY) or {}
        if "floor" not in state:
            state = {"floor": _newest_handled(session)}
    asked_at = datetime.now(timezone.utc)
    page = ctx.forum.posts_latest(state.get("before"))
    # The forum's own clock when it answered (HTTP Date), else ours when we asked
    asked_at = getattr(ctx.forum, "server_date", None) or asked_at
    ids = [p["id"] for p in page if isinstance(p.get("id"), int)]
    if state["floor"] is None:  # first round ever, nothing handled yet: start from now
        state = {"floor": max(ids, default=0), "seen_at": asked_at.isoformat()}
        with ctx.db.session() as session:
            set_state(session, STATE_KEY, state)
        return 0
    floor = state["floor"]
    # This cycle's first page: asked now, or recorded when it was; a cycle begun by a release
    # that recorded nothing has no date (its floor then gets none: red team, 32nd pass)
    started = state.get("started") if "before" in state else asked_at.isoformat()
    stored = _store_unseen(ctx, [p for p in page if p.get("id") in ids and p["id"] > floor],
                           _when(state.get("seen_at")))
    top = max([state.get("top") or floor, *ids])
    if len(page) >= PAGE_SIZE and ids and min(ids) > floor + 1:  # more below: next round
        state = {"floor": floor, "top": top, "before": min(ids), "seen_at": state.get("seen_at"),
                 "started": started}
    else:
        state = {"floor": top, "seen_at": started}
    with ctx.db.session() as session:
        set_state(session, STATE_KEY, state)
    if stored:
        log.info("rattrapage du forum : %s message(s) sans webhook mis en file", stored)
    return stored


def _newest_handled(session) -> int | None:
    """The newest post id forumsync knows: a link it recorded or a post_created it stored."""
    linked = session.scalar(select(func.max(PostLink.post_id)))
    newest = [linked] if linked else []
    for payload in session.scalars(select(WebhookEvent.payload).where(WebhookEvent.event == "post_created")
                                   .order_by(WebhookEvent.id.desc()).limit(PAGE_SIZE)):
        try:
            post_id = (json.loads(payload).get("post") or {}).get("id")
        except (ValueError, AttributeError):
            continue
        if isinstance(post_id, int):
            newest.append(post_id)
    return max(newest, default=None)


def _instance(ctx, session) -> str:
    """The X-Discourse-Instance the forum sends (from the newest delivery), else FORUM_URL."""
    delivery = session.scalar(select(WebhookEvent.delivery_id).where(
        ~WebhookEvent.delivery_id.like("%#catchup-%")).order_by(WebhookEvent.id.desc()).limit(1))
    return delivery.rsplit("#", 1)[0] if delivery else ctx.settings.FORUM_URL


def _when(value):
    """An ISO date as an aware datetime (UTC when it names no zone), else None."""
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


def _store_unseen(ctx, posts: list[dict], seen_at=None) -> int:
    """A synthetic post_created event for each post with neither a link nor a stored event;
    one dated more than CLOCK_MARGIN before SEEN_AT (when the floor was read), or no later than
    an unseen post of a lower id, is marked as a copy (CATCHUP_COPY). Posts forumsync wrote
    (a PostLink) carry their mail's date, which says nothing of the forum's order: never read."""
    stored, since = 0, None
    before = seen_at - CLOCK_MARGIN if seen_at is not None else None
    if posts:
        with ctx.db.session() as session:
            instance = _instance(ctx, session)
    for post in sorted(posts, key=lambda p: p["id"]):
        with ctx.db.session() as session:
            if session.scalar(select(PostLink.id).where(PostLink.post_id == post["id"]).limit(1)):
                continue
        written = _when(post.get("created_at"))
        copy = written is not None and ((before is not None and written < before)
                                        or (since is not None and written <= since))
        if written is not None and not copy:
            since = written if since is None else max(since, written)
        try:
            with ctx.db.session() as session:
                session.add(WebhookEvent(
                    delivery_id=f"{instance[:250]}#catchup-{post['id']}",
                    event_key=post_created_key(instance, post["id"]), event="post_created",
                    event_type="post", payload=json.dumps(
                        {"post": dict(post, **{CATCHUP_MARK: True, CATCHUP_COPY: copy})}, ensure_ascii=False),
                    received_at=utcnow(), state="new"))
        except IntegrityError:  # the webhook (or an earlier round) stored it already
            continue
        stored += 1
    return stored
