"""Topics of the local forum: lookup, retitle/move/retag, status changes (with Discourse's
small-action posts), soft deletion, and moving posts between topics."""
from __future__ import annotations

from html import escape
from typing import Iterable

from sqlalchemy import func, select

from .errors import ApiError, forbidden, invalid, not_found
from .guardian import can_see_topic, category_permission, is_category_moderator
from .models import Category, Post, Topic, User, utcnow
from .parsing import slugify
from . import sitesettings
from .post_rules import REGULAR, SMALL_ACTION, WHISPER, length_errors
from .serialize_topics import tag_names
from .tags import set_tags
from .text_quality import clean_title, emoji_errors, title_errors
from .webhook_events import post_event, topic_event


def get_topic(session, topic_id, viewer: User | None = None, include_deleted: bool = False) -> Topic:
    """The topic, or ApiError 404 (missing, deleted for non-staff, or not visible to VIEWER)."""
    try:
        topic = session.get(Topic, int(topic_id))
    except (TypeError, ValueError, OverflowError):
        topic = None
    if topic is None:
        raise not_found()
    if topic.deleted_at is not None and not (include_deleted or (viewer and viewer.staff)):
        raise not_found()
    if viewer is not None and not can_see_topic(session, viewer, topic):
        raise forbidden()
    return topic


def topic_by_external_id(session, external_id: str) -> Topic | None:
    return session.scalar(select(Topic).where(Topic.external_id == external_id,
                                              Topic.deleted_at.is_(None)))


def update_topic(session, user: User, topic: Topic, *, title: str | None = None,
                 category_id=None, tags: Iterable[str] | None = None,
                 check_permissions: bool = True) -> Topic:
    """Retitle / move / retag (PUT /t/-/{id}.json); fires topic_edited when something changed."""
    first = session.scalar(select(Post).where(Post.topic_id == topic.id, Post.post_number == 1))
    can_edit = is_category_moderator(session, user, topic.category) or (
        first is not None and first.user_id == user.id and not topic.closed)
    if check_permissions and not can_edit:
        raise forbidden()
    changed = False
    moved = category_id not in (None, "") and int(category_id) != topic.category_id
    if (title is not None and title.strip() != topic.title) or moved:
        # A validated save: Topic's before_validation cleans the title, and the title's
        # validators run when it changed or the category did (Topic: validates :title, if:).
        cleaned = clean_title(session, topic.title if title is None else title)
        if cleaned != topic.title or moved:
            _check_title(session, topic, cleaned)
        if cleaned != topic.title:
            topic.title = cleaned
            topic.slug = slugify(topic.title)
            changed = True
    if moved:
        category = session.get(Category, int(category_id))
        if category is None:
            raise invalid("Category can't be blank")
        if check_permissions and not user.admin:
            permission = category_permission(session, user, category)
            if permission is None or permission > 1:
                raise forbidden()
        topic.category_id = category.id
        changed = True
    if tags is not None:
        before = tag_names(session, topic)
        set_tags(session, topic, tags)
        changed = changed or tag_names(session, topic) != before
    if changed:
        topic.updated_at = utcnow()
        session.flush()
        session.refresh(topic)
        topic_event(session, "topic_edited", topic)
    return topic


def _check_title(session, topic: Topic | None, title: str) -> None:
    """Topic's title validators on a retitled or moved TOPIC (None: a new one): length,
    QualityTitleValidator (not for a private message), unique_among listable topics
    (case-insensitive), 422."""
    private = topic is not None and topic.archetype == "private_message"
    errors = length_errors(session, None, title, True, private, require_title=True)
    if title.strip() and not private:
        errors += title_errors(session, title)
    if title.strip():  # MaxEmojisValidator, private messages too
        errors += emoji_errors(session, title)
    if not private and not sitesettings.get(session, "allow_duplicate_topic_titles") \
            and session.scalar(select(Topic.id).where(func.lower(Topic.title) == title.lower(),
                                                      Topic.id != (topic.id if topic else -1),
                                                      Topic.deleted_at.is_(None))):
        errors.append("Title has already been used")
    if errors:
        raise invalid(errors)


STATUSES = ("closed", "archived", "visible", "pinned", "pinned_globally")


def set_topic_status(session, user: User, topic: Topic, status: str, enabled: bool,
                     check_permissions: bool = True) -> Topic:
    if status not in STATUSES:
        raise ApiError(400, "status is invalid", "invalid_parameters")
    if check_permissions and not is_category_moderator(session, user, topic.category):
        raise forbidden()
    if status in ("pinned", "pinned_globally"):
        before = topic.pinned_at is not None and (status == "pinned" or topic.pinned_globally)
        topic.pinned_at = utcnow() if enabled else None
        topic.pinned_globally = bool(enabled) and status == "pinned_globally"
    else:
        before = bool(getattr(topic, status))
        setattr(topic, status, bool(enabled))
    topic.updated_at = utcnow()
    session.flush()
    if before != bool(enabled):
        _small_action(session, user, topic, f"{status}.{'enabled' if enabled else 'disabled'}")
    topic_event(session, "topic_edited", topic)
    return topic


def _small_action(session, user: User, topic: Topic, action_code: str, number: int | None = None,
                  raw: str = "") -> Post:
    """TopicStatusUpdater#create_moderator_post_for → Topic#add_moderator_post: a small-action
    post ("closed.enabled" …) at the end of the topic (or at NUMBER when that place is free),
    created by PostCreator (post_created)."""
    taken = number is None or session.scalar(select(Post.id).where(
        Post.topic_id == topic.id, Post.post_number == number)) is not None
    if taken:
        number = (session.scalar(select(func.max(Post.post_number))
                                 .where(Post.topic_id == topic.id)) or 0) + 1
    now = utcnow()
    post = Post(topic_id=topic.id, user_id=user.id, post_number=number, post_type=SMALL_ACTION,
                action_code=action_code, raw=raw, cooked=f"<p>{escape(raw)}</p>" if raw else "",
                created_at=now, updated_at=now)
    session.add(post)
    session.flush()
    session.refresh(post)
    post_event(session, "post_created", post)
    return post


def recover_topic(session, user: User, topic: Topic) -> None:
    """TopicsController#recover (PUT /t/{id}/recover): staff or the category's moderators
    (TopicGuardian#can_recover_topic?) restore a deleted topic with the posts deleted with it
    (PostDestroyer#recover on its first post); ``topic_recovered`` fires."""
    if not (user.staff or is_category_moderator(session, user, topic.category)):
        raise forbidden()
    if topic.deleted_at is None:
        return
    when = topic.deleted_at
    topic.deleted_at = None
    topic.deleted_by_id = None
    for post in session.scalars(select(Post).where(Post.topic_id == topic.id, Post.deleted_at == when)):
        post.deleted_at = None
    session.flush()
    topic_event(session, "topic_recovered", topic)


def delete_topic(session, user: User, topic: Topic, check_permissions: bool = True) -> None:
    """Soft delete, like Discourse (the topic stays, ``deleted_at`` set)."""
    first = session.scalar(select(Post).where(Post.topic_id == topic.id, Post.post_number == 1))
    if check_permissions and not (is_category_moderator(session, user, topic.category) or
                                  (first is not None and first.user_id == user.id)):
        raise forbidden()
    now = utcnow()
    topic.deleted_at = now
    topic.deleted_by_id = user.id
    for post in session.scalars(select(Post).where(Post.topic_id == topic.id,
                                                   Post.deleted_at.is_(None))):
        post.deleted_at = now
    session.flush()
    topic_event(session, "topic_destroyed", topic)


def move_posts(session, user: User, topic: Topic, post_ids: list[int], *,
               destination_topic_id=None, title: str | None = None, category_id=None,
               check_permissions: bool = True) -> Topic:
    """« Move posts » as Discourse's PostMover (app/models/post_mover.rb) does it:

    - the posts (small actions and empty posts left out) keep their id and get the
      destination's next numbers (#move), without any webhook (``post_moved`` has none);
    - a topic's first post is *copied* (#create_first_post: PostCreator, so ``post_created``
      fires, for a post with a new id that keeps the author, raw, date and ``via_email``);
      the original stays the first post of its topic;
    - a new topic made for them fires no ``topic_created`` (PostMover#to_new_topic creates it
      with Topic.create!, and PostCreator is given its topic_id);
    - the original topic gets a small action « split_topic » (#create_moderator_post_in_
      original_topic, ``post_created``) where the first moved reply was, and is closed when
      every post of it moved (#close_topic_and_schedule_deletion; its deletion seven days
      later is not modelled).
    """
    if check_permissions and not is_category_moderator(session, user, topic.category):
        raise forbidden()
    ids = [int(i) for i in post_ids]
    selected = list(session.scalars(select(Post).where(Post.topic_id == topic.id, Post.id.in_(ids))))
    if not selected or len(selected) != len(set(ids)):
        raise invalid("Some of the posts you selected are not in this topic.")
    # PostMover#posts: no small action, no empty post, in creation order
    posts = sorted((post for post in selected if post.post_type != SMALL_ACTION and post.raw != ""),
                   key=lambda post: (post.created_at, post.post_number))
    if not posts:
        raise invalid("post_ids")
    original_count = session.scalar(select(func.count(Post.id)).where(
        Post.topic_id == topic.id, Post.deleted_at.is_(None),
        (Post.post_type == REGULAR) | ((Post.post_type == WHISPER) & (
            Post.action_code.is_(None) | (Post.action_code != "split_topic")))))
    moving_all = original_count == len(posts)
    if destination_topic_id not in (None, ""):
        destination = get_topic(session, destination_topic_id)
    else:
        if not title:
            raise invalid("Title can't be blank")
        title = clean_title(session, title)  # PostMover#to_new_topic: Topic.create! validates
        _check_title(session, None, title)
        destination = Topic(title=title, slug=slugify(title), user_id=posts[0].user_id,
                            category_id=int(category_id) if category_id not in (None, "")
                            else topic.category_id, created_at=posts[0].created_at,
                            bumped_at=posts[-1].created_at)
        session.add(destination)
        session.flush()
    first_moved = next((post.post_number for post in posts if post.post_number != 1), None)
    number = session.scalar(select(func.max(Post.post_number))
                            .where(Post.topic_id == destination.id)) or 0
    renumber = {}
    for post in posts:
        number += 1
        renumber[post.post_number] = number
    copies = []
    for post in posts:
        if post.post_number == 1:
            copies.append(_copy_first_post(session, post, destination, renumber[1]))
    moved = [post for post in posts if post.post_number != 1]
    # Move out of the way first: (topic_id, post_number) is unique.
    offset = 1_000_000
    for post in moved:
        post.post_number += offset
    session.flush()
    for post in moved:
        old_number = post.post_number - offset
        post.topic_id = destination.id
        post.post_number = renumber[old_number]
        post.reply_to_post_number = renumber.get(post.reply_to_post_number)
    session.flush()
    for post in moved:
        session.refresh(post)
    session.refresh(destination)
    for copy in copies:
        post_event(session, "post_created", copy)
    _small_action(session, user, topic, "split_topic", number=first_moved,
                  raw=f"{len(posts)} message(s) déplacé(s) vers « {destination.title} »")
    if moving_all and not topic.closed:
        set_topic_status(session, user, topic, "closed", True, check_permissions=False)
    return destination


def _copy_first_post(session, post: Post, destination: Topic, number: int) -> Post:
    """PostMover#create_first_post: a new post in DESTINATION (PostCreator with the author,
    raw, date and via_email of the original, then its post number set), the original left
    where it is."""
    now = utcnow()
    copy = Post(topic_id=destination.id, user_id=post.user_id, post_number=number,
                post_type=post.post_type, raw=post.raw, cooked=post.cooked, version=post.version,
                via_email=post.via_email, created_at=post.created_at, updated_at=now)
    session.add(copy)
    session.flush()
    session.refresh(copy)
    return copy

