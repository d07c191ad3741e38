"""Worker task: process stored Discourse webhook events.

- ``post_created``: gather the facts from the forum's live state (the post and its topic as the
  forum serves them now, the category and its parents; never the webhook payload's category,
  archetype or post type), ask ``eligibility.decide``; if the post goes to the list, compose it
  and enqueue it in the outbox in the same transaction that records the PostLink (origin "forum").
  The outbox asks again (``recheck_before_send``) right before the SMTP hand-off: a post moved
  to a restricted category, turned into a whisper, hidden or deleted meanwhile is not sent.
- ``post_edited``: nothing, unless SEND_EDIT_NOTICES (a short « [modifié] » notice).
- ``topic_edited``: keep the TopicLink in step (title, category, theme) when a lead moves it.
Events are claimed like a queue (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a forum outage
puts the event back with a backoff; any other error marks it ``failed`` with the reason.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from ..mail.subjects import subject_key
from ..models import PostLink, TopicLink, WebhookEvent, utcnow
from ..outbound import compose, outbox
from ..outbound.queue import backoff, claim
from .eligibility import REGULAR as REGULAR_POST, Facts, decide, theme_of
from .gateway import ForumNotFound, ForumRejected, ForumUnavailable

log = logging.getLogger(__name__)

BATCH = 10  # small batches: the outbox task gets its turn soon after each few events
MAX_ATTEMPTS = 20


class Skip(Exception):
    """The event needs nothing (French reason recorded)."""


def run_pending(ctx, worker_id: str) -> int:
    with ctx.db.session() as session:
        events = claim(session, WebhookEvent, ready_states=("new", "retry"), worker_id=worker_id,
                       claimed_state="processing", limit=BATCH)
        jobs = [(e.id, e.event, e.payload, e.attempts) for e in events]
    cache: dict = {}
    _prefetch_posts(ctx, jobs, cache)
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
        outcomes.append((event_id, state, reason, delay))
    # One transaction records the batch (a crash before it only replays events, and the
    # outbox key keeps a replayed post from being mailed twice).
    with ctx.db.session() as session:
        for event_id, state, reason, delay in outcomes:
            event = session.get(WebhookEvent, event_id)
            event.attempts += 1
            event.locked_by = event.locked_at = None
            if state == "retry" and event.attempts >= MAX_ATTEMPTS:
                state = "failed"
            event.state = state
            event.reason = reason[:2000]
            event.next_attempt_at = utcnow() + delay if delay else None
            event.processed_at = utcnow()
    return len(jobs)


PREFETCH_THREADS = 4
_executor = None
_executor_lock = threading.Lock()


def _prefetch_posts(ctx, jobs, cache) -> None:
    """Fetch the batch's posts concurrently (forum round trips overlap); events are still
    decided and recorded one by one, in order. A fetch error surfaces when its event reads it."""
    global _executor
    ids, topic_ids = [], []
    for _, name, payload, _ in jobs:
        if name == "post_created":
            try:
                post = json.loads(payload).get("post") or {}
            except (ValueError, AttributeError):
                continue
            if isinstance(post.get("id"), int):
                ids.append(post["id"])
            # only a hint of which topic to fetch: the topic actually used is the post's own
            if isinstance(post.get("topic_id"), int) and post["topic_id"] not in topic_ids:
                topic_ids.append(post["topic_id"])
    if len(ids) < 2:
        return
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(PREFETCH_THREADS, thread_name_prefix="forumsync-prefetch")
    for post_id in ids:
        cache[("post", post_id)] = _executor.submit(ctx.forum.post_get, post_id)
    for topic_id in topic_ids:
        cache[("topic-future", topic_id)] = _executor.submit(ctx.forum.topic_get, topic_id)


def handle(ctx, name: str, payload: dict, cache: dict | None = None) -> str:
    cache = {} if cache is None else cache
    if name == "post_created":
        return post_created(ctx, payload.get("post") or {}, cache)
    if name == "post_edited":
        return post_edited(ctx, payload.get("post") or {}, cache)
    if name == "topic_edited":
        return topic_edited(ctx, payload.get("topic") or {}, cache)
    if name.startswith("category_"):
        forget_categories(ctx.settings.FORUM_URL)
        return "catégories relues au prochain message"
    raise Skip(f"événement « {name} » sans effet")


# ------------------------------------------------------------------------------ facts
# Categories change rarely; they are kept CATEGORY_CACHE_SECONDS in this process and dropped
# at once when the forum reports a category event (subscribe the webhook to "Category" events).
CATEGORY_CACHE_SECONDS = 30.0
_categories: dict[tuple[str, int], tuple[float, dict]] = {}
_categories_lock = threading.Lock()


def forget_categories(forum_url: str | None = None) -> None:
    with _categories_lock:
        for key in [k for k in _categories if forum_url is None or k[0] == forum_url]:
            del _categories[key]


def _category(ctx, category_id: int, fresh: bool = False) -> dict:
    """The category as the forum serves it (kept a short while unless FRESH: the check right
    before sending reads the forum's permissions as they are now)."""
    key = (ctx.settings.FORUM_URL, int(category_id))
    now = time.monotonic()
    with _categories_lock:
        cached = _categories.get(key)
    if not fresh and cached is not None and cached[0] > now:
        return cached[1]
    try:
        category = ctx.forum.category_get(category_id)
    except ForumRejected:  # 403/404, not visible to us: treat as restricted, never leak it
        category = {"id": category_id, "name": "?", "read_restricted": True}
    with _categories_lock:
        _categories[key] = (now + CATEGORY_CACHE_SECONDS, category)
    return category


def _category_chain(ctx, category_id, cache, fresh: bool = False) -> list[dict]:
    """The category and its parents; read afresh (FRESH) at most once per CACHE, i.e. per
    outbox batch: each mail of the batch does not pay the whole chain again."""
    chain, seen = [], set()
    while category_id and category_id not in seen and len(chain) < 5:
        seen.add(category_id)
        key = ("category", category_id)
        if fresh and key in cache:
            category = cache[key]
        else:
            category = _category(ctx, category_id, fresh)
            if fresh:
                cache[key] = category
        chain.append(category)
        category_id = category.get("parent_category_id")
    return chain


# Facts that only the forum may state: a webhook payload is a snapshot taken when the post was
# created, and a lead may have moved, whispered, hidden or deleted it since.
LIVE_ONLY = ("category_id", "category_slug", "topic_archetype", "topic_title", "topic_slug",
             "post_type", "hidden", "deleted_at", "user_deleted", "topic_id")


def gather(ctx, payload: dict, cache: dict, fresh: bool = False) -> Facts:
    """The post and its topic as the forum serves them now (``post_get``, ``topic_get``: post
    type, hidden, deleted, archetype, category), and the category chain (read afresh when FRESH).
    The payload only names the post and fills in what the forum does not state about it."""
    post_id = payload.get("id")
    if not post_id:
        raise Skip("événement sans identifiant de message")
    prefetched = cache.pop(("post", post_id), None)
    try:
        full = prefetched.result() if prefetched is not None else ctx.forum.post_get(post_id)
    except ForumNotFound:
        raise Skip(f"message {post_id} introuvable sur le forum (supprimé ?)") from None
    except ForumRejected:
        raise Skip(f"message {post_id} illisible pour le compte passerelle : jamais relayé") from None
    post = {**{k: v for k, v in payload.items() if k not in LIVE_ONLY}, **full}
    if not post.get("topic_id"):
        raise Skip(f"message {post_id} sans sujet sur le forum")
    topic = _topic(ctx, post["topic_id"], cache)
    category_id = topic.get("category_id")
    return Facts(post=post, topic=topic, categories=_category_chain(ctx, category_id, cache, fresh))


def recheck_before_send(ctx, key: str, batch: dict | None = None) -> tuple[bool, str]:
    """Ask the forum again, right before the SMTP hand-off, whether the post behind an outbox
    KEY (``post:ID`` or ``edit:ID:VERSION``) may still go to the list: the post and its topic
    are read for each mail, the categories once per BATCH (a dict the outbox keeps for one
    run). ForumUnavailable propagates (the mail waits); a post gone is (False, reason)."""
    post_id = int(key.split(":")[1])
    batch = {} if batch is None else batch
    cache = {k: v for k, v in batch.items() if k[0] == "category"}
    try:
        facts = gather(ctx, {"id": post_id}, cache, fresh=True)
        batch.update({k: v for k, v in cache.items() if k[0] == "category"})
    except Skip as exc:
        return False, str(exc)
    with ctx.db.session() as session:
        facts.from_list = _from_list(session, post_id)
    return decide(ctx.settings, facts)


def _from_list(session, post_id) -> bool:
    return session.scalars(select(PostLink.id).where(
        PostLink.post_id == post_id, PostLink.origin == "list")).first() is not None


def _topic(ctx, topic_id, cache) -> dict:
    key = ("topic", topic_id)
    if key not in cache:
        prefetched = cache.pop(("topic-future", topic_id), None)
        try:
            cache[key] = prefetched.result() if prefetched is not None else ctx.forum.topic_get(topic_id)
        except ForumNotFound:
            raise Skip(f"sujet {topic_id} introuvable sur le forum") from None
        except ForumRejected:
            raise Skip(f"sujet {topic_id} illisible pour le compte passerelle : jamais relayé") from None
    return cache[key]


def _stream_posts(topic: dict) -> dict[int, dict]:
    return {p.get("post_number"): p for p in (topic.get("post_stream") or {}).get("posts") or []}


def _message_id_of(ctx, session, topic: dict, number: int, cache: dict) -> str | None:
    """Message-ID of post NUMBER of the topic: its PostLink (list mail or forum post we sent),
    else the forum post's own id, looked up in the topic (fetched only then)."""
    link = session.scalars(select(PostLink).where(PostLink.topic_id == topic["id"],
                                                  PostLink.post_number == number)
                           .order_by(PostLink.id)).first()
    if link is not None:
        return link.message_id
    full = _topic(ctx, topic["id"], cache)
    post = _stream_posts(full).get(number)
    if post is not None:
        if (post.get("post_type") or REGULAR_POST) != REGULAR_POST or post.get("hidden") \
                or post.get("deleted_at"):
            return None  # never name a whisper or a hidden post: the reply threads to the root
        return compose.post_message_id(ctx.settings, post["id"])
    if number == 1:
        stream = (full.get("post_stream") or {}).get("stream") or []
        if stream:
            return compose.post_message_id(ctx.settings, stream[0])
    return None


def reply_headers(ctx, session, topic: dict, post: dict, link: TopicLink | None,
                  cache: dict) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) for ``post`` (ids without <>): the replied-to post (else the
    topic's first post), with References = root, then the parent. A parent the list never saw
    (a whisper, a hidden post) is not named: its id would tell the list it exists."""
    if post.get("post_number", 1) <= 1:
        return None, []
    root = (link.root_message_id if link and link.root_message_id else None) or \
        _message_id_of(ctx, session, topic, 1, cache)
    number = post.get("reply_to_post_number") or 1
    parent = _message_id_of(ctx, session, topic, number, cache) if number > 1 else root
    parent = parent or root
    references = [r for r in dict.fromkeys([root, parent]) if r]
    return parent, references


def _fresh_if_refused(ctx, facts: Facts) -> Facts:
    """A refusal because of the category (restricted, outside the themes) is decided on
    categories read afresh, never on the cached ones: a category made public again a few
    seconds ago must not make a legitimate post skipped for good."""
    ok, reason = decide(ctx.settings, facts)
    if not ok and ("à accès restreint" in reason or "hors des thèmes" in reason):
        facts.categories = _category_chain(ctx, facts.topic.get("category_id"), {}, fresh=True)
    return facts


# ------------------------------------------------------------------------------ handlers
def post_created(ctx, payload: dict, cache: dict) -> str:
    facts = _fresh_if_refused(ctx, gather(ctx, payload, cache))
    post, topic = facts.post, facts.topic
    settings = ctx.settings
    message_id = compose.post_message_id(settings, post["id"])
    author_email = None
    if settings.EXPOSE_AUTHOR_EMAIL and decide(settings, facts)[0]:
        author_email = ctx.forum.user_email_get(post.get("username") or "")
    with ctx.db.session() as session:  # one transaction: decide, compose, enqueue, link
        facts.from_list = _from_list(session, post["id"])
        verdict, reason = decide(settings, facts)
        if not verdict:
            raise Skip(reason)
        link = session.get(TopicLink, topic["id"])
        in_reply_to, references = reply_headers(ctx, session, topic, post, link, cache)
        forum_post = compose.ForumPost(
            post_id=post["id"], topic_id=topic["id"], post_number=post.get("post_number") or 1,
            username=post.get("username") or "", author_name=post.get("name") or "",
            cooked=post.get("cooked") or "", title=topic.get("title") or post.get("topic_title") or "",
            topic_slug=topic.get("slug") or post.get("topic_slug") or "",
            list_tag=link.list_tag if link else None, in_reply_to=in_reply_to,
            references=references, author_email=author_email,
            created_at=_parse_time(post.get("created_at")))
        message = compose.compose_post(settings, forum_post)
        created = outbox.enqueue(session, f"post:{post['id']}", message, [settings.LIST_ADDRESS],
                                 sender=settings.BRIDGE_ADDRESS)
        if session.scalars(select(PostLink.id).where(PostLink.message_id == message_id)).first() is None:
            session.add(PostLink(message_id=message_id, post_id=post["id"], topic_id=topic["id"],
                                 post_number=forum_post.post_number, origin="forum"))
        theme = theme_of(settings, facts.categories)
        if link is None and forum_post.post_number == 1:
            session.add(TopicLink(topic_id=topic["id"], root_message_id=message_id,
                                  category_id=topic.get("category_id"),
                                  theme=theme["slug"] if theme else None, title=forum_post.title,
                                  subject_key=subject_key(forum_post.title), list_tag=None))
        elif link is not None:
            link.last_activity_at = utcnow()
    if created:
        from .webhooks import wake_workers

        wake_workers(ctx)
    return f"envoyé à la liste ({reason})" if created else "déjà dans la file d'envoi"


def post_edited(ctx, payload: dict, cache: dict) -> str:
    if not ctx.settings.SEND_EDIT_NOTICES:
        raise Skip("modification non relayée (SEND_EDIT_NOTICES désactivé)")
    post_id = payload.get("id")
    with ctx.db.session() as session:
        sent = session.scalars(select(PostLink).where(PostLink.post_id == post_id,
                                                      PostLink.origin == "forum")).first()
    if sent is None:
        raise Skip("message jamais envoyé à la liste : modification non relayée")
    facts = _fresh_if_refused(ctx, gather(ctx, payload, cache))
    post, topic = facts.post, facts.topic
    version = post.get("version") or payload.get("version") or 0
    with ctx.db.session() as session:
        facts.from_list = _from_list(session, post["id"])
        verdict, reason = decide(ctx.settings, facts)
        if not verdict:
            raise Skip(reason)
        link = session.get(TopicLink, topic["id"])
        _, references = reply_headers(ctx, session, topic, post, link, cache)
        message = compose.compose_post(ctx.settings, compose.ForumPost(
            post_id=post["id"], topic_id=topic["id"], post_number=post.get("post_number") or 1,
            username=post.get("username") or "", author_name=post.get("name") or "",
            cooked="", title=topic.get("title") or "", topic_slug=topic.get("slug") or "",
            list_tag=link.list_tag if link else None, references=references, edited=True))
        created = outbox.enqueue(session, f"edit:{post_id}:{version}", message,
                                 [ctx.settings.LIST_ADDRESS], sender=ctx.settings.BRIDGE_ADDRESS)
    return "notice « [modifié] » envoyée" if created else "notice déjà dans la file d'envoi"


def topic_edited(ctx, payload: dict, cache: dict) -> str:
    topic_id = payload.get("id")
    if not topic_id:
        raise Skip("événement sans identifiant de sujet")
    with ctx.db.session() as session:
        exists = session.get(TopicLink, topic_id) is not None
    if not exists:
        raise Skip(f"sujet {topic_id} non relié à la liste")
    try:
        topic = ctx.forum.topic_get(topic_id)
    except ForumNotFound:
        topic = payload
    category_id = topic.get("category_id") or payload.get("category_id")
    chain = _category_chain(ctx, category_id, cache) if category_id else []
    theme = theme_of(ctx.settings, chain)
    with ctx.db.session() as session:
        link = session.get(TopicLink, topic_id)
        before = (link.title, link.category_id, link.theme)
        if topic.get("title"):
            link.title = topic["title"]
        if category_id:
            link.category_id = category_id
            link.theme = theme["slug"] if theme else None
        after = (link.title, link.category_id, link.theme)
    if before == after:
        return "sujet inchangé"
    return f"sujet mis à jour : {before} → {after}"


def _parse_time(value):
    if not value:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
