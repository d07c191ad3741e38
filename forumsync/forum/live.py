"""What the forum says now about a post: the facts ``eligibility.decide`` judges, and the one
place that asks it.

The post and its topic are read from the forum (``post_get``, ``topic_get``: post type,
hidden, deleted, archetype, category), never taken from a webhook payload, which is a snapshot
of when the post was created; the category and its parents come from the gateway's cached
facts (``forum.facts``), read afresh when they would refuse the post and right before sending.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from ..models import PostLink
from .eligibility import Facts, category_is_public, decide, theme_of
from .gateway import ForumNotFound, ForumRejected


class Skip(Exception):
    """The event needs nothing (French reason recorded)."""


# Facts that only the forum may state: a webhook payload is a snapshot taken when the post was
# created, and a lead may have moved, whispered, hidden or deleted it since.
LIVE_ONLY = ("category_id", "category_slug", "topic_archetype", "topic_title", "topic_slug",
             "post_type", "hidden", "deleted_at", "user_deleted", "topic_id")

# ------------------------------------------------------------------------------ categories
def _category(ctx, category_id: int, fresh: bool = False) -> dict:
    """The category as the forum serves it (kept a short while on the gateway's facts unless
    FRESH: the check right before sending reads the forum's permissions as they are now)."""
    category = ctx.forum.facts.category_shown(category_id, fresh=fresh)
    if category is None:  # 403/404, not visible to us: treat as restricted, never leak it
        return {"id": category_id, "name": "?", "read_restricted": True}
    return category


def category_chain(ctx, category_id, cache, fresh: bool = False) -> list[dict]:
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


# ------------------------------------------------------------------------------ post and topic
PREFETCH_THREADS = 4
_executor = None
_executor_lock = threading.Lock()


def prefetch_posts(ctx, jobs, cache) -> None:
    """Fetch a batch's posts concurrently (forum round trips overlap); events are still
    decided and recorded one by one, in order. A fetch error surfaces when its event reads it.
    JOBS are (event id, event name, payload text, attempts)."""
    global _executor
    ids, topic_ids = [], []
    for _, name, payload, _ in jobs:
        if name == "post_created":
            try:
                post = json.loads(payload).get("post") or {}
            except (ValueError, AttributeError):
                continue
            if not isinstance(post, dict):  # signed, yet not Discourse's shape: its handler says so
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


def topic(ctx, topic_id, cache) -> dict:
    """The topic as the forum serves it, read once per CACHE (prefetched when it was)."""
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


def gather(ctx, payload: dict, cache: dict, fresh: bool = False) -> Facts:
    """The post and its topic as the forum serves them now, and the category chain (read
    afresh when FRESH). The payload only names the post and fills in what the forum does not
    state about it."""
    post_id = payload.get("id")
    if not post_id:
        raise Skip("événement sans identifiant de message")
    if type(post_id) is not int or post_id < 1:  # « abc », [1], 12.5 (read as 12): 25th pass
        raise Skip(f"identifiant de message invalide ({str(post_id)[:40]!r}) : événement ignoré")
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
    live_topic = topic(ctx, post["topic_id"], cache)
    category_id = live_topic.get("category_id")
    return Facts(post=post, topic=live_topic,
                 categories=category_chain(ctx, category_id, cache, fresh))


def refresh_refusing_categories(ctx, facts: Facts) -> Facts:
    """Categories that would refuse the post (restricted, outside the themes) are read afresh
    before deciding, never trusted from the cache: a category made public again a few seconds
    ago must not make a legitimate post skipped for good."""
    chain = facts.categories
    if chain and (not all(category_is_public(c) for c in chain) or theme_of(ctx.settings, chain) is None):
        facts.categories = category_chain(ctx, facts.topic.get("category_id"), {}, fresh=True)
    return facts


# ------------------------------------------------------------------------------ the decision
def from_list(session, post_id) -> bool:
    return session.scalars(select(PostLink.id).where(
        PostLink.post_id == post_id, PostLink.origin == "list")).first() is not None


def verdict(ctx, facts: Facts) -> tuple[bool, str]:
    """The one call to ``decide``, once we know whether forumsync itself published the post."""
    with ctx.db.session() as session:
        facts.from_list = from_list(session, facts.post["id"])
    return decide(ctx.settings, facts)


BATCH_SHARED = ("category", "topic")  # read afresh once per outbox batch, not once per mail


def recheck_before_send(ctx, key: str, batch: dict | None = None) -> tuple[bool, str]:
    """Ask the forum again, right before the SMTP hand-off, whether the post behind an outbox
    KEY (``post:ID`` or ``edit:ID:VERSION``) may still go to the list: the post is read for
    each mail, its topic and the categories once per BATCH (a dict the outbox keeps for one
    run: a backlog of replies to one topic costs one topic read, not one each). ForumUnavailable
    propagates (the mail waits); a post gone is (False, reason)."""
    allowed, reason, _ = recheck_facts(ctx, key, batch)
    return allowed, reason


def recheck_facts(ctx, key: str, batch: dict | None = None) -> tuple[bool, str, Facts | None]:
    """``recheck_before_send``, with the facts read (None when the post could not be read):
    the outbox sends the post as the forum serves it now, not as it was when queued."""
    post_id = int(key.split(":")[1])
    batch = {} if batch is None else batch
    cache = {k: v for k, v in batch.items() if k[0] in BATCH_SHARED}
    try:
        facts = gather(ctx, {"id": post_id}, cache, fresh=True)
        batch.update({k: v for k, v in cache.items() if k[0] in BATCH_SHARED})
    except Skip as exc:
        return False, str(exc), None
    return (*verdict(ctx, facts), facts)
