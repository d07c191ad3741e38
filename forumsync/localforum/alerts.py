"""Who watches a topic and who is told about a new post, as Discourse does it.

- PostCreator#track_topic (unless ``auto_track: false``): a staged poster watches the topic
  (TopicUser.auto_notification_for_staging, reason auto_watch); another poster tracks it
  (notification_level_when_replying, default tracking) unless a level is already set.
- TopicCreator#watch_topic (unless ``auto_track: false``): the creator watches the topic.
- PostAlerter#after_save_post: the author of the post replied to gets ``replied`` (2), then
  every user the raw names in ``[quote="NAME,…"]`` (``extract_quoted_users``: a regular
  expression over the raw, code and link addresses included) gets ``quoted`` (3), then every
  other watcher gets ``posted`` (9); in a ``mailinglist_mirror`` category staged users get
  nothing (the list already carries the message). The poster is never notified.
On Discourse a staged user's notifications become emails: tests read them here.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from . import prepared
from .models import Notification, Post, Topic, TopicUser, User

WATCHING, TRACKING, REGULAR = 3, 2, 1
REPLIED, QUOTED, POSTED = 2, 3, 9
# PostAlerter#extract_quoted_users (app/services/post_alerter.rb), display_name_on_posts off
# (the default): Ruby's "." stops at a line end, as Python's does.
QUOTED_USERS = re.compile(r'\[quote=\"([^,]+),.+\"\]')
REASON_CREATED_TOPIC, REASON_CREATED_POST, REASON_AUTO_WATCH = 1, 2, 6


def _set_level(session, user_id: int, topic_id: int, level: int, reason: int, *,
               only_if_unset: bool = False) -> None:
    row = session.scalar(select(TopicUser).where(TopicUser.user_id == user_id,
                                                 TopicUser.topic_id == topic_id))
    if row is None:
        session.add(TopicUser(user_id=user_id, topic_id=topic_id, notification_level=level,
                              notifications_reason_id=reason))
    elif not only_if_unset or row.notification_level == REGULAR:
        row.notification_level = level
        row.notifications_reason_id = reason
    session.flush()


def track(session, user: User, topic: Topic, new_topic: bool, auto_track: bool = True) -> None:
    if not auto_track:
        return
    if new_topic:
        _set_level(session, user.id, topic.id, WATCHING, REASON_CREATED_TOPIC)
    elif user.staged:
        _set_level(session, user.id, topic.id, WATCHING, REASON_AUTO_WATCH)
    elif topic.archetype != "private_message":
        _set_level(session, user.id, topic.id, TRACKING, REASON_CREATED_POST, only_if_unset=True)


_WATCHERS = select(TopicUser.user_id).where(
    TopicUser.topic_id == prepared.value("topic_id"),
    TopicUser.notification_level == WATCHING).order_by(TopicUser.id)
# the author of a topic's post number N (posts.py reads it to check a reply's target)
AUTHOR_OF_NUMBER = select(Post.user_id).where(Post.topic_id == prepared.value("topic_id"),
                                               Post.post_number == prepared.value("number"))
_UNKNOWN = object()


def alert(session, post: Post, parent_author=_UNKNOWN) -> list[dict]:
    """The notifications of a new regular post (whispers and small actions notify nobody
    here), inserted at once; returns their rows. PARENT_AUTHOR: the user id of the post
    replied to, when the caller has just read it."""
    if post.post_type != 1:
        return []
    topic = post.topic
    mirror = bool(topic.category is not None and topic.category.mailinglist_mirror)
    told: set[int] = {post.user_id}
    out = []

    def notify(user_id: int, kind: int) -> None:
        if user_id in told:
            return
        told.add(user_id)
        user = session.get(User, user_id)
        if user is None or (mirror and user.staged):
            return
        out.append({"user_id": user_id, "notification_type": kind, "topic_id": topic.id,
                    "post_number": post.post_number, "post_id": post.id})

    if post.reply_to_post_number:
        if parent_author is _UNKNOWN:
            parent_author = prepared.scalar(session, AUTHOR_OF_NUMBER, topic_id=topic.id,
                                            number=post.reply_to_post_number)
        if parent_author is not None:
            notify(parent_author, REPLIED)
    for user_id in quoted_users(session, post.raw or ""):
        notify(user_id, QUOTED)
    for user_id in prepared.scalars(session, _WATCHERS, topic_id=topic.id):
        notify(user_id, POSTED)
    if out:
        prepared.insert(session, Notification, *out)
    return out


def quoted_users(session, raw: str) -> list[int]:
    """The ids of the users RAW quotes by name, as ``extract_quoted_users`` finds them
    (``username_lower`` compared in Python: SQLite's lower() folds ASCII only, "Élodie")."""
    if '[quote="' not in raw:
        return []
    names = {match.group(1).strip().lower() for match in QUOTED_USERS.finditer(raw)}
    if not names:
        return []
    return [user_id for user_id, username in session.execute(select(User.id, User.username).order_by(User.id))
            if username.lower() in names]
