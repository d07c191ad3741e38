"""Model → Discourse JSON. Each function starts from a shape in ``shapes`` and fills it.

Responses carry exactly the fields Discourse documents for that endpoint; a few fields
Discourse really returns but the OpenAPI spec omits (``parent_category_id``,
``moderating_group_ids``, topic ``external_id``…) are added where Discourse adds them.
"""
from __future__ import annotations

import copy
import hashlib
import html
import re
from datetime import datetime

from sqlalchemy import func, select

from . import shapes
from .cooking import excerpt
from .models import Category, Group, GroupUser, Post, Tag, Topic, TopicTag, Upload, User

AUTOMATIC_GROUPS = {0: "everyone", 1: "admins", 2: "moderators", 3: "staff",
                    10: "trust_level_0", 11: "trust_level_1", 12: "trust_level_2",
                    13: "trust_level_3", 14: "trust_level_4"}


def iso(value: datetime | None) -> str | None:
    """Discourse's timestamp format: 2024-05-01T12:00:00.000Z (UTC)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _fill(shape: dict, values: dict) -> dict:
    out = copy.deepcopy(shape)
    for key in out:
        if key in values:
            out[key] = values[key]
    return out


def avatar_template(user: User) -> str:
    letter = (user.username[:1] or "x").lower()
    color = hashlib.md5(user.username.encode()).hexdigest()[:6]
    return f"/letter_avatar_proxy/v4/letter/{letter}/{color}/{{size}}.png"


def base62_sha1(sha1: str) -> str:
    """Discourse's short upload name: the SHA1 as a base-62 number."""
    number = int(sha1, 16)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while number:
        number, rem = divmod(number, 62)
        out = alphabet[rem] + out
    return out or "0"


def sha1_from_base62(short: str) -> str | None:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    number = 0
    for char in short:
        index = alphabet.find(char)
        if index < 0:
            return None
        number = number * 62 + index
    return f"{number:040x}"


def upload_url(upload: Upload) -> str:
    return f"/uploads/default/original/1X/{upload.sha1}.{upload.extension}"


def upload_short_url(upload: Upload) -> str:
    return f"upload://{base62_sha1(upload.sha1)}.{upload.extension}"


def human_size(size: int) -> str:
    for unit in ("Bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "Bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    return str(size)


def serialize_upload(upload: Upload) -> dict:
    return _fill(shapes.UPLOAD, {
        "id": upload.id, "url": upload_url(upload), "original_filename": upload.original_filename,
        "filesize": len(upload.data), "width": 0, "height": 0, "thumbnail_width": 0,
        "thumbnail_height": 0, "extension": upload.extension, "short_url": upload_short_url(upload),
        "short_path": f"/uploads/short-url/{base62_sha1(upload.sha1)}.{upload.extension}",
        "retain_hours": None, "human_filesize": human_size(len(upload.data)),
    })


# ------------------------------------------------------------------ users
def user_basic(user: User) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name or "",
            "avatar_template": avatar_template(user)}


def user_groups(session, user: User) -> list[Group]:
    return list(session.scalars(select(Group).join(GroupUser).where(GroupUser.user_id == user.id)
                                .order_by(Group.id)))


def serialize_user_full(session, user: User) -> dict:
    """GET /u/{username}.json → ``user``."""
    post_count = session.scalar(select(func.count(Post.id)).where(Post.user_id == user.id,
                                                                   Post.deleted_at.is_(None)))
    topic_count = session.scalar(select(func.count(Topic.id)).where(Topic.user_id == user.id,
                                                                     Topic.deleted_at.is_(None)))
    groups = user_groups(session, user)
    return _fill(shapes.USER_FULL, {
        "id": user.id, "username": user.username, "name": user.name or "",
        "avatar_template": avatar_template(user), "created_at": iso(user.created_at),
        "last_posted_at": None, "last_seen_at": None, "trust_level": user.trust_level,
        "moderator": user.moderator, "admin": user.admin, "staged": user.staged,
        "post_count": post_count, "topic_count": topic_count,
        "can_send_private_messages": True, "can_send_private_message_to_user": True,
        "groups": [dict(serialize_group_basic(session, g, shapes.GROUP_LIST_ITEM),
                        user_count=len(g.memberships)) for g in groups],
        "group_users": [{"group_id": m.group_id, "user_id": m.user_id, "notification_level": 3,
                         "owner": m.owner}
                        for m in session.scalars(select(GroupUser).where(GroupUser.user_id == user.id)
                                                 .order_by(GroupUser.group_id))],
        "custom_fields": {}, "locale": "fr",
    })


def serialize_admin_user(user: User) -> dict:
    """An item of GET /admin/users/list/{flag}.json (with ``email``, as for admins)."""
    item = _fill(shapes.ADMIN_USER_LIST_ITEM, {
        "id": user.id, "username": user.username, "name": user.name,
        "avatar_template": avatar_template(user), "active": user.active, "admin": user.admin,
        "moderator": user.moderator, "created_at": iso(user.created_at),
        "created_at_age": 0.0, "trust_level": user.trust_level, "staged": user.staged,
    })
    item["email"] = user.email
    item["secondary_emails"] = []
    return item


# ------------------------------------------------------------------ groups
def serialize_group_basic(session, group: Group, shape=shapes.GROUP_BASIC) -> dict:
    count = session.scalar(select(func.count(GroupUser.id)).where(GroupUser.group_id == group.id))
    return _fill(shape, {
        "id": group.id, "automatic": group.automatic, "name": group.name, "user_count": count,
        "display_name": group.name,
        "mentionable_level": group.mentionable_level, "messageable_level": group.messageable_level,
        "visibility_level": group.visibility_level, "full_name": group.full_name,
        "bio_raw": group.bio_raw, "bio_cooked": group.bio_raw, "bio_excerpt": group.bio_raw,
        "members_visibility_level": group.members_visibility_level, "can_see_members": True,
        "can_admin_group": True, "default_notification_level": 3, "title": None,
        "grant_trust_level": None, "incoming_email": None, "flair_url": None,
        "flair_bg_color": None, "flair_color": None, "membership_request_template": None,
    })


def serialize_group_full(session, group: Group, viewer: User | None) -> dict:
    data = serialize_group_basic(session, group, shapes.GROUP_FULL)
    member = None
    if viewer is not None:
        member = session.scalar(select(GroupUser).where(GroupUser.group_id == group.id,
                                                        GroupUser.user_id == viewer.id))
    data.update({"is_group_user": member is not None,
                 "is_group_owner_display": bool(member and member.owner),
                 "mentionable": True, "messageable": True,
                 "automatic_membership_email_domains": None, "smtp_server": None,
                 "smtp_port": None, "smtp_ssl_mode": 0, "email_username": None,
                 "email_password": None, "message_count": 0,
                 "allow_unknown_sender_topic_replies": False})
    return data


def serialize_member(membership: GroupUser) -> dict:
    user = membership.user
    return _fill(shapes.GROUP_MEMBER, {
        "id": user.id, "username": user.username, "name": user.name,
        "avatar_template": avatar_template(user), "title": None,
        "last_posted_at": iso(user.created_at), "last_seen_at": iso(user.created_at),
        "added_at": iso(membership.created_at), "timezone": "Europe/Paris",
    })


# ------------------------------------------------------------------ categories
def group_permissions(session, category: Category) -> list[dict]:
    out = []
    ids = {name: gid for gid, name in AUTOMATIC_GROUPS.items()}
    names = list((category.permissions or {}).keys())
    for group in session.scalars(select(Group).where(Group.name.in_(names))):
        ids[group.name] = group.id
    for name, permission in (category.permissions or {}).items():
        out.append({"permission_type": int(permission), "group_name": name,
                    "group_id": ids.get(name, 0)})
    return out


def _category_counts(session, category: Category) -> tuple[int, int]:
    topics = session.scalar(select(func.count(Topic.id)).where(
        Topic.category_id == category.id, Topic.deleted_at.is_(None)))
    posts = session.scalar(select(func.count(Post.id)).join(Topic).where(
        Topic.category_id == category.id, Post.deleted_at.is_(None), Topic.deleted_at.is_(None)))
    return topics, posts


def _category_values(session, category: Category, permission: int | None) -> dict:
    children = list(session.scalars(select(Category.id).where(
        Category.parent_category_id == category.id).order_by(Category.position, Category.id)))
    topics, posts = _category_counts(session, category)
    return {
        "id": category.id, "name": category.name, "color": category.color,
        "text_color": category.text_color, "style_type": "square", "emoji": None, "icon": None,
        "slug": category.slug, "topic_count": topics, "post_count": posts,
        "position": category.position, "description": category.description,
        "description_text": _text(category.description),
        "description_excerpt": _text(category.description),
        "topic_url": _about_url(session, category),
        "read_restricted": "everyone" not in (category.permissions or {}),
        "permission": permission, "notification_level": 1, "can_edit": permission == 1,
        "topic_template": None, "topic_title_placeholder": None,
        "has_children": bool(children), "subcategory_count": len(children) or None,
        "sort_order": None, "sort_ascending": None, "show_subcategory_list": False,
        "num_featured_topics": 3, "default_view": None, "subcategory_list_style": "rows_with_featured_topics",
        "default_top_period": "all", "default_list_filter": "all", "minimum_required_tags": 0,
        "navigate_to_first_post_after_read": False, "topics_day": 0, "topics_week": 0,
        "topics_month": 0, "topics_year": 0, "topics_all_time": topics,
        "subcategory_ids": children, "uploaded_logo": None, "uploaded_logo_dark": None,
        "uploaded_background": None, "uploaded_background_dark": None,
        "custom_fields": dict(category.custom_fields or {}), "required_tag_groups": [],
        "read_only_banner": None, "available_groups": [], "auto_close_hours": None,
        "auto_close_based_on_last_post": False, "allow_unlimited_owner_edits_on_first_post": False,
        "default_slow_mode_seconds": None, "group_permissions": group_permissions(session, category),
        "email_in": None, "email_in_allow_strangers": False, "mailinglist_mirror": bool(category.mailinglist_mirror),
        "all_topics_wiki": False, "can_delete": permission == 1 and not topics, "allow_badges": True,
        "topic_featured_link_allowed": True, "search_priority": 0,
        "topic_posting_review_group_ids": [], "reply_posting_review_group_ids": [],
        "form_template_ids": [], "allow_global_tags": False,
    }


def _text(fragment: str | None) -> str | None:
    """Category#description_text: the description's HTML as plain text."""
    if fragment is None:
        return None
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _about_url(session, category: Category) -> str:
    if category.topic_id is None:  # Uncategorized: no About topic
        return ""
    slug = session.scalar(select(Topic.slug).where(Topic.id == category.topic_id))
    return f"/t/{slug}/{category.topic_id}" if slug else ""


def _category_extras(category: Category, data: dict) -> dict:
    # Discourse sends these on every category it serializes; the spec omits them.
    if category.parent_category_id is not None:
        data["parent_category_id"] = category.parent_category_id
    data["moderating_group_ids"] = list(category.moderating_group_ids or [])
    return data


def serialize_category(session, category: Category, permission: int | None,
                       shape: dict = shapes.CATEGORY_FULL) -> dict:
    """Full category (show, create, update) or a list item, by SHAPE."""
    return _category_extras(category, _fill(shape, _category_values(session, category, permission)))


# ------------------------------------------------------------------ posts and topics
def tag_names(session, topic: Topic) -> list[str]:
    return list(session.scalars(select(Tag.name).join(TopicTag, TopicTag.tag_id == Tag.id)
                                .where(TopicTag.topic_id == topic.id).order_by(Tag.name)))


def tag_objects(session, topic: Topic) -> list[dict]:
    rows = session.execute(select(Tag.id, Tag.name).join(TopicTag, TopicTag.tag_id == Tag.id)
                           .where(TopicTag.topic_id == topic.id).order_by(Tag.name))
    return [{"id": tid, "name": name, "slug": name} for tid, name in rows]


def _post_values(session, post: Post, viewer: User | None) -> dict:
    user, topic = post.user, post.topic
    posts_count = session.scalar(select(func.count(Post.id)).where(
        Post.topic_id == topic.id, Post.deleted_at.is_(None)))
    reply_count = session.scalar(select(func.count(Post.id)).where(
        Post.topic_id == topic.id, Post.reply_to_post_number == post.post_number,
        Post.deleted_at.is_(None)))
    staff = bool(viewer and viewer.staff)
    mine = bool(viewer and viewer.id == user.id)
    return {
        "id": post.id, "name": user.name, "username": user.username,
        "avatar_template": avatar_template(user), "created_at": iso(post.created_at),
        "cooked": post.cooked, "raw": post.raw, "post_number": post.post_number,
        "post_type": post.post_type, "posts_count": posts_count, "updated_at": iso(post.updated_at),
        "reply_count": reply_count, "reply_to_post_number": post.reply_to_post_number,
        "quote_count": 0, "incoming_link_count": 0, "reads": 1, "readers_count": 0, "score": 0,
        "yours": mine, "topic_id": topic.id, "topic_slug": topic.slug,
        "display_username": user.name or user.username, "version": post.version,
        "can_edit": staff or mine, "can_delete": staff or mine, "can_recover": staff,
        "can_wiki": staff, "bookmarked": False, "actions_summary": [], "moderator": user.moderator,
        "admin": user.admin, "staff": user.staff, "user_id": user.id, "hidden": post.hidden,
        "trust_level": user.trust_level, "deleted_at": iso(post.deleted_at), "user_deleted": False,
        "edit_reason": post.edit_reason, "can_view_edit_history": True, "wiki": False,
        "reviewable_id": None, "reviewable_score_count": 0, "reviewable_score_pending_count": 0,
        "post_url": f"/t/{topic.slug}/{topic.id}/{post.post_number}", "link_counts": [],
        "read": True, "draft_sequence": 0,
    }


def serialize_post(session, post: Post, viewer: User | None, kind: str = "show") -> dict:
    """kind: "created" (POST /posts.json), "show" (GET /posts/{id}.json), "updated" (PUT,
    without the ``{"post": …}`` wrapper), "topic" (an item of ``post_stream.posts``)."""
    values = _post_values(session, post, viewer)
    if kind == "topic":
        values["reviewable_id"] = 0
        data = _fill(shapes.TOPIC_POST, values)
        if post.action_code:  # PostSerializer#include_action_code?
            data["action_code"] = post.action_code
        return data
    shape = {"created": shapes.POST_CREATED, "show": shapes.POST_SHOW,
             "updated": shapes.POST_UPDATED}[kind]
    data = _fill(shape, values)
    if post.action_code:
        data["action_code"] = post.action_code
    data["raw"] = post.raw
    if kind != "created":
        data["name"] = values["name"]
        data["display_username"] = values["display_username"]
    return data


def visible_posts(session, topic: Topic, viewer: User | None) -> list[Post]:
    query = select(Post).where(Post.topic_id == topic.id).order_by(Post.post_number)
    if not (viewer and viewer.staff):
        query = query.where(Post.deleted_at.is_(None), Post.post_type != 4)
    return list(session.scalars(query))


def _topic_common(session, topic: Topic) -> dict:
    posts = list(session.scalars(select(Post).where(Post.topic_id == topic.id,
                                                    Post.deleted_at.is_(None))
                                 .order_by(Post.post_number)))
    last = posts[-1] if posts else None
    highest = session.scalar(select(func.max(Post.post_number)).where(Post.topic_id == topic.id))
    return {
        "id": topic.id, "title": topic.title, "fancy_title": topic.title, "slug": topic.slug,
        "posts_count": len(posts), "reply_count": max(len(posts) - 1, 0),
        "highest_post_number": highest or 0, "created_at": iso(topic.created_at),
        "last_posted_at": iso(last.created_at) if last else None, "bumped": True,
        "bumped_at": iso(topic.bumped_at), "archetype": topic.archetype, "unseen": False,
        "pinned": topic.pinned_at is not None, "unpinned": None,
        "excerpt": excerpt(posts[0].cooked) if posts else "", "visible": topic.visible,
        "closed": topic.closed, "archived": topic.archived, "bookmarked": None, "liked": None,
        "views": 0, "like_count": 0, "has_summary": False,
        "last_poster_username": last.user.username if last else topic.user.username,
        "category_id": topic.category_id, "pinned_globally": topic.pinned_globally,
        "featured_link": None, "image_url": None, "word_count": sum(len(p.raw.split()) for p in posts),
        "deleted_at": iso(topic.deleted_at), "user_id": topic.user_id,
        "pinned_at": iso(topic.pinned_at), "pinned_until": None,
        "participant_count": len({p.user_id for p in posts}), "thumbnails": None,
        "_posts": posts, "_last": last,
    }


def serialize_topic_list_item(session, topic: Topic) -> dict:
    values = _topic_common(session, topic)
    posters = []
    seen = set()
    for post in values["_posts"]:
        if post.user_id not in seen:
            seen.add(post.user_id)
            posters.append({"extras": "latest" if post is values["_last"] else "",
                            "description": "Original Poster" if not posters else "Frequent Poster",
                            "user_id": post.user_id, "primary_group_id": None})
    values["posters"] = posters
    values["last_posted_at"] = values["last_posted_at"] or values["created_at"]
    return _fill(shapes.TOPIC_LIST_ITEM, values)


CHUNK_SIZE = 20


def serialize_topic_view(session, topic: Topic, viewer: User | None, can_moderate: bool,
                         print_all: bool = False) -> dict:
    """GET /t/{id}.json: like Discourse, ``posts`` holds the first 20 posts (1000 with
    ``print=true``) and ``stream`` every post id; fetch the rest with /t/{id}/posts.json."""
    values = _topic_common(session, topic)
    posts = visible_posts(session, topic, viewer)
    chunk = posts[:1000 if print_all else CHUNK_SIZE]
    data = _fill(shapes.TOPIC_VIEW, values)
    data["post_stream"] = {"posts": [serialize_post(session, p, viewer, "topic") for p in chunk],
                           "stream": [p.id for p in posts]}
    data["tags"] = tag_objects(session, topic)
    data["timeline_lookup"] = [[1, 0]] if posts else []
    data["draft_key"] = f"topic_{topic.id}"
    data["chunk_size"] = CHUNK_SIZE
    data["deleted_by"] = None
    data["bookmarked"] = False
    data["has_deleted"] = any(p.deleted_at for p in values["_posts"])
    last = values["_last"]
    details = data["details"]
    details.update({
        "can_edit": can_moderate, "notification_level": 1, "can_move_posts": can_moderate,
        "can_delete": can_moderate, "can_create_post": not topic.closed or can_moderate,
        "can_reply_as_new_topic": True, "can_close_topic": can_moderate,
        "can_archive_topic": can_moderate, "can_split_merge_topic": can_moderate,
        "can_toggle_topic_visibility": can_moderate, "can_pin_unpin_topic": can_moderate,
        "can_moderate_category": can_moderate, "can_remove_self_id": viewer.id if viewer else 0,
        "created_by": user_basic(topic.user),
        "last_poster": user_basic(last.user if last else topic.user),
    })
    data["external_id"] = topic.external_id  # Discourse returns it; the spec omits it
    return data


def serialize_basic_topic(session, topic: Topic) -> dict:
    count = session.scalar(select(func.count(Post.id)).where(Post.topic_id == topic.id,
                                                              Post.deleted_at.is_(None)))
    return {"id": topic.id, "title": topic.title, "fancy_title": topic.title,
            "slug": topic.slug, "posts_count": count}


# ------------------------------------------------------------------ webhook payloads
def webhook_post(session, post: Post) -> dict:
    """The ``post`` object of a post_* webhook (Discourse's WebHookPostSerializer)."""
    topic = post.topic
    category = topic.category
    data = _post_values(session, post, None)
    keep = list(shapes.POST_SHOW) + ["name", "display_username"]
    payload = {key: data[key] for key in keep if key in data}
    payload.update({
        "raw": post.raw, "topic_title": topic.title, "topic_slug": topic.slug,
        "category_id": topic.category_id, "category_slug": category.slug if category else None,
        "topic_archetype": topic.archetype, "topic_posts_count": data["posts_count"],
        "topic_filtered_posts_count": data["posts_count"],
        "post_type": post.post_type, "hidden": post.hidden,
    })
    return payload


def webhook_topic(session, topic: Topic) -> dict:
    """The ``topic`` object of a topic_* webhook (Discourse's WebHookTopicViewSerializer)."""
    values = _topic_common(session, topic)
    keys = ("id", "title", "fancy_title", "posts_count", "created_at", "views", "reply_count",
            "like_count", "last_posted_at", "visible", "closed", "archived", "archetype", "slug",
            "category_id", "word_count", "deleted_at", "user_id", "featured_link",
            "pinned_globally", "pinned_at", "pinned_until", "unpinned", "pinned",
            "highest_post_number", "participant_count", "thumbnails")
    payload = {key: values[key] for key in keys}
    last = values["_last"]
    payload.update({
        "deleted_by": None, "bookmarked": False, "tags": tag_names(session, topic),
        "tags_descriptions": {}, "external_id": topic.external_id,
        "created_by": user_basic(topic.user),
        "last_poster": user_basic(last.user if last else topic.user),
    })
    return payload
