"""What PostsController#create does before PostCreator, for the API door: NewPostManager's
approval queue and the per-user post rate limits.

- NewPostManager.post_needs_approval?: staff are exempt; otherwise a category with
  ``require_topic_approval`` (new topics) or ``require_reply_approval`` (replies) holds the
  post: answer 200 ``{"action": "enqueued", "pending_post": …, "pending_count": n}``, no post.
- RateLimiter::OnCreateRecord on Topic/Post: ``rate_limit_create_topic`` (15 s),
  ``rate_limit_create_post`` (5 s, ``rate_limit_new_user_create_post`` 30 s at trust level 0),
  ``max_topics_per_day`` (20) per user; RateLimiter#rate_unlimited? exempts staff. Over a
  limit: 429 with ``extras.wait_seconds`` like the admin limiter.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

from sqlalchemy import func, select

from . import sitesettings
from .errors import ApiError
from .limits import rate_limit_body
from .models import Category, QueuedPost, Topic, User


def _flag(value) -> bool:
    return str(value).strip().lower() in ("true", "t", "1", "yes")


def needs_approval(session, user: User, category: Category | None, new_topic: bool) -> bool:
    if user.staff or category is None:
        return False
    fields = category.custom_fields or {}
    key = "require_topic_approval" if new_topic else "require_reply_approval"
    return _flag(fields.get(key, False))


def enqueue(session, user: User, raw: str, *, topic: Topic | None, category: Category | None,
            title: str | None) -> dict:
    """Hold the post (a QueuedPost) and answer as NewPostResultSerializer does."""
    queued = QueuedPost(user_id=user.id, topic_id=topic.id if topic else None,
                        category_id=category.id if category else None, title=title, raw=raw)
    session.add(queued)
    session.flush()
    pending = session.scalar(select(func.count(QueuedPost.id)).where(QueuedPost.user_id == user.id))
    return {"action": "enqueued", "success": True, "pending_count": pending,
            "pending_post": {"id": queued.id, "raw": raw,
                             "created_at": queued.created_at.isoformat() + "Z",
                             "topic_id": queued.topic_id, "category_id": queued.category_id}}


class UserLimits:
    """Discourse's per-user RateLimiters (Redis, wall-clock: a back-dated created_at does not
    matter): key -> creation times."""

    def __init__(self):
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _limits(self, session, user: User, new_topic: bool) -> list[tuple[str, int, int]]:
        """(key, max, seconds) of RateLimiter::OnCreateRecord for this creation."""
        setting = ("rate_limit_new_user_create_post" if user.trust_level == 0
                   else "rate_limit_create_post")
        limits = [(f"create_post:{user.id}", 1, sitesettings.get(session, setting))]
        if new_topic:
            limits.append((f"create_topic:{user.id}", 1,
                           sitesettings.get(session, "rate_limit_create_topic")))
            limits.append((f"topics_per_day:{user.id}",
                           sitesettings.get(session, "max_topics_per_day"), 86400))
        return [(k, n, secs) for k, n, secs in limits if n and secs]

    def check(self, session, user: User, new_topic: bool) -> None:
        """Raise the 429 Discourse gives when a limit is reached; staff are unlimited."""
        if user.staff:
            return
        now = time.monotonic()
        wait = 0
        with self._lock:
            for key, most, seconds in self._limits(session, user, new_topic):
                hits = self._hits.get(key) or deque()
                while hits and hits[0] <= now - seconds:
                    hits.popleft()
                if len(hits) >= most:
                    wait = max(wait, math.ceil(hits[0] + seconds - now))
        if wait > 0:
            body = rate_limit_body(wait)
            raise ApiError(429, body["errors"], "rate_limit", extras=body["extras"],
                           headers={"Retry-After": str(wait)})

    def performed(self, session, user: User, new_topic: bool) -> None:
        if user.staff:
            return
        now = time.monotonic()
        with self._lock:
            for key, most, _ in self._limits(session, user, new_topic):
                hits = self._hits.setdefault(key, deque())
                hits.append(now)
                while len(hits) > most:
                    hits.popleft()
