"""Posts of the local forum: lookup, creation (a new topic or a reply), edit, soft deletion."""
from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import func, select

from ..raw_form import stored_raw  # PostCreator#setup_post, PostRevisor#cleanup_whitespaces
from . import alerts, prepared, sitesettings
from .categories import category_description_from
from .errors import forbidden, invalid, not_found
from .groups import group_by_name
from .guardian import can_see_topic, category_permission, is_category_moderator
from .models import Category, Post, Topic, User, utcnow
from .parsing import parse_time, slugify
from .post_rules import REGULAR, WHISPER, length_errors
from .post_validator import (consecutive_reply_errors, new_user_errors, store_unique_post_key,
                             unique_post_errors)
from .text_quality import body_errors, clean_title, emoji_errors, title_errors
from .serialize_topics import HIGHEST_NUMBER
from .tags import set_tags
from .topics import delete_topic, get_topic
from .uploads import cook_for
from .users import user_by_username
from .webhook_events import post_event, topic_event

EXTERNAL_ID = re.compile(r"[\w-]{1,50}")
_TOPIC_OF_EXTERNAL_ID = select(Topic.id).where(Topic.external_id == prepared.value("external_id"))


def get_post(session, post_id, viewer: User | None = None) -> Post:
    try:
        post = session.get(Post, int(post_id))
    except (TypeError, ValueError, OverflowError):
        post = None
    if post is None or (post.deleted_at is not None and not (viewer and viewer.staff)):
        raise not_found()
    if viewer is not None:
        if not can_see_topic(session, viewer, post.topic):
            raise forbidden()
        if post.post_type == WHISPER and not viewer.staff:
            raise not_found()
    return post


def create_post(session, user: User, raw: str, *, title: str | None = None, category_id=None,
                topic_id=None, reply_to_post_number=None, created_at=None,
                external_id: str | None = None, tags: Iterable[str] | None = None,
                archetype: str = "regular", target_recipients: Iterable[str] | str | None = None,
                post_type: int = REGULAR, check_permissions: bool = True,
                auto_track: bool = True, skip_validations: bool = False,
                via_email: bool = False) -> Post:
    """Create a topic (no TOPIC_ID) or a reply, as USER; queues the webhooks; the poster
    watches/tracks the topic unless AUTO_TRACK is False, watchers are notified (alerts.py).

    CHECK_PERMISSIONS False is for trusted callers acting for a staged user (the plugin).
    SKIP_VALIDATIONS is PostCreator's ``skip_validations`` (the plugin passes it): no length
    checks (PostCreator#valid? returns before PostValidator, Post#save skips validation) and
    no unique-title check (TopicCreator#save_topic saves with validate: false). Per-user rate
    limits are the callers' (api_topics), so this path has none, as disable_rate_limits! does.
    VIA_EMAIL is PostCreator's ``via_email`` (the plugin's list posts).
    """
    raw = stored_raw(raw)
    if user.staged and check_permissions:
        raise forbidden()
    # PostCreator sets created_at when given; updated_at is the time of the write (Rails)
    now = utcnow()
    when = parse_time(created_at) or now
    post_type = int(post_type or REGULAR)
    if post_type == WHISPER and not user.staff:
        raise forbidden()
    if topic_id not in (None, ""):
        topic = get_topic(session, topic_id)
        if check_permissions:
            _check_can_reply(session, user, topic)
        if not skip_validations:
            _validate(session, user, raw, topic.archetype == "private_message", topic=topic)
        post = _reply(session, user, topic, raw, reply_to_post_number, post_type, when,
                      auto_track, via_email, now)
        store_unique_post_key(session, post, topic.archetype == "private_message")
        return post

    private = archetype == "private_message"
    if not skip_validations and title is not None:
        title = clean_title(session, title)  # Topic's before_validation (not with validate: false)
    if not skip_validations:
        _validate(session, user, raw, private, new_topic=True, title=title)
    category = None
    allowed = []
    if private:
        allowed = [user.username] + _recipients(session, target_recipients)
    else:
        category = _new_topic_category(session, user, category_id, check_permissions)
    external_id = _checked_external_id(session, external_id)
    title = title.strip()
    if not skip_validations and not sitesettings.get(session, "allow_duplicate_topic_titles") \
            and not private:
        if session.scalar(select(Topic.id).where(func.lower(Topic.title) == title.lower(),
                                                 Topic.deleted_at.is_(None))):
            raise invalid("Title has already been used")
    topic = Topic(title=title, slug=slugify(title), category_id=category.id if category else None,
                  user_id=user.id, archetype="private_message" if private else "regular",
                  external_id=external_id, allowed_usernames=allowed, created_at=when,
                  bumped_at=when, updated_at=now)
    session.add(topic)
    session.flush()
    if tags and not private:
        set_tags(session, topic, tags)
    post = Post(topic_id=topic.id, user_id=user.id, post_number=1, post_type=REGULAR, raw=raw,
                cooked=cook_for(session, raw, user), created_at=when, updated_at=now, via_email=via_email)
    session.add(post)
    session.flush()  # every default is computed in Python: the rows need no reload
    store_unique_post_key(session, post, private)
    alerts.track(session, user, topic, True, auto_track)
    alerts.alert(session, post, None)  # a first post too: its quotes (after_save_post)
    topic_event(session, "topic_created", topic)
    post_event(session, "post_created", post)
    return post


def _validate(session, user: User, raw: str, private: bool, *, new_topic: bool = False,
              title: str | None = None, post: Post | None = None, topic: Topic | None = None) -> None:
    """TopicCreator's and PostValidator's checks of a post created (NEW_TOPIC: with TITLE; a
    reply: in TOPIC) or edited (POST: its new RAW) by USER; one 422 with every message, in
    Discourse's order."""
    first = new_topic or (post is not None and post.post_number == 1)
    errors = length_errors(session, None, title, first, private, require_title=new_topic)
    if title and title.strip() and not private:  # QualityTitleValidator, after the length
        errors += title_errors(session, title)
    if title and title.strip():  # MaxEmojisValidator, private messages too
        errors += emoji_errors(session, title)
    errors += length_errors(session, raw, None, first, private)
    if not user.staged:  # PostValidator#validate: nothing past presence for a staged user
        if raw.strip():
            errors += body_errors(session, raw, private)  # PostValidator#raw_quality
            if user.trust_level < 1 and not user.staff:  # cooked only for a new user
                errors += new_user_errors(session, user, cook_for(session, raw, user),
                                          topic if post is None else None, private)
        errors += unique_post_errors(session, user, post.user_id if post else user.id, raw,
                                     private, post.id if post else None)
        if topic is not None:
            errors += consecutive_reply_errors(session, user, topic)
    if errors:
        raise invalid(errors)


def _check_can_reply(session, user: User, topic: Topic) -> None:
    """TopicGuardian#can_create_post_on_topic?: admins post anywhere; TL4, moderators and
    category group moderators also in closed or archived topics; others need reply rights."""
    if not can_see_topic(session, user, topic):
        raise forbidden()
    moderator = is_category_moderator(session, user, topic.category)
    trusted = user.admin or moderator or user.trust_level >= 4
    if (topic.archived or topic.closed) and not trusted:
        raise forbidden()
    if topic.category is not None and not moderator:
        permission = category_permission(session, user, topic.category)
        if permission is None or permission > 2:
            raise forbidden()


def _reply(session, user: User, topic: Topic, raw: str, reply_to_post_number, post_type: int,
           when, auto_track: bool, via_email: bool = False, now=None) -> Post:
    """The reply at the end of TOPIC (a reply_to number that is not in the topic is dropped);
    a whisper does not bump the topic."""
    reply_to = int(reply_to_post_number) if reply_to_post_number not in (None, "") else None
    parent_author = None  # the alerts tell the author of the post replied to
    if reply_to is not None:
        parent_author = prepared.scalar(session, alerts.AUTHOR_OF_NUMBER, topic_id=topic.id, number=reply_to)
        if parent_author is None:
            reply_to = None
    number = (prepared.scalar(session, HIGHEST_NUMBER, topic_id=topic.id) or 0) + 1
    post = Post(topic_id=topic.id, user_id=user.id, post_number=number,
                reply_to_post_number=reply_to, post_type=post_type, raw=raw,
                cooked=cook_for(session, raw, user), created_at=when, updated_at=now or when, via_email=via_email)
    session.add(post)
    if post_type != WHISPER:
        topic.bumped_at = max(topic.bumped_at, when)
    session.flush()
    alerts.track(session, user, topic, False, auto_track)
    alerts.alert(session, post, parent_author)
    post_event(session, "post_created", post)
    return post


def _recipients(session, target_recipients) -> list[str]:
    """A private message's recipients (a list, or names separated by commas/spaces), each an
    existing user or group."""
    if isinstance(target_recipients, str):
        target_recipients = [r for r in re.split(r"[,\s]+", target_recipients) if r]
    recipients = list(target_recipients or [])
    if not recipients:
        raise invalid("You must choose a valid user.")
    for name in recipients:
        if user_by_username(session, name) is None and group_by_name(session, name) is None:
            raise invalid(f"Sorry, {name} is not a valid user.")
    return recipients


def _new_topic_category(session, user: User, category_id, check_permissions: bool) -> Category:
    """The new topic's category (Uncategorized when none is given); USER needs full rights."""
    if category_id in (None, ""):
        category = session.get(Category, 1)
    else:
        try:
            category = session.get(Category, int(category_id))
        except (TypeError, ValueError):
            category = None
        if category is None:
            raise invalid("Category can't be blank")
    if check_permissions:
        permission = category_permission(session, user, category)
        if permission is None or permission > 1:
            raise forbidden()
    return category


def _checked_external_id(session, external_id) -> str | None:
    """Topic#external_id: letters, digits, "_" and "-" (at most 50), unique; None when empty."""
    if external_id in (None, ""):
        return None
    if not EXTERNAL_ID.fullmatch(str(external_id)):
        raise invalid("External ID is invalid")
    if prepared.scalar(session, _TOPIC_OF_EXTERNAL_ID, external_id=external_id) is not None:
        raise invalid("External ID has already been taken")
    return external_id


def update_post(session, user: User, post: Post, raw: str, edit_reason: str | None = None,
                check_permissions: bool = True) -> Post:
    raw = stored_raw(raw)
    if check_permissions and not (user.id == post.user_id or
                                  is_category_moderator(session, user, post.topic.category)):
        raise forbidden()
    if post.topic.archived and check_permissions and not user.staff:
        raise forbidden()
    _validate(session, user, raw, post.topic.archetype == "private_message", post=post)
    if raw == post.raw:
        return post
    post.raw = raw
    post.cooked = cook_for(session, raw, user)  # Post#cook: the last editor's guardian
    post.edit_reason = edit_reason or None
    post.version += 1
    post.updated_at = utcnow()
    if post.post_number == 1:
        about_of = session.scalar(select(Category).where(Category.topic_id == post.topic_id))
        if about_of is not None:
            about_of.description = category_description_from(post.cooked)
    session.flush()
    post_event(session, "post_edited", post)
    return post


def delete_post(session, user: User, post: Post, check_permissions: bool = True) -> None:
    """Soft delete; deleting the first post deletes the topic, as Discourse does."""
    if check_permissions and not (user.id == post.user_id or
                                  is_category_moderator(session, user, post.topic.category)):
        raise forbidden()
    if post.post_number == 1:
        delete_topic(session, user, post.topic, check_permissions=False)
        return
    post.deleted_at = utcnow()
    session.flush()
    post_event(session, "post_destroyed", post)

