"""Model → Discourse JSON for users, groups and categories; each function starts from a shape
in ``shapes`` and fills it. Posts and topics are in ``serialize_topics``, uploads in
``serialize_uploads`` (import them from there).

Responses carry exactly the fields Discourse documents for that endpoint; a few fields
Discourse really returns but the OpenAPI spec omits (``parent_category_id``,
``moderating_group_ids``, topic ``external_id``…) are added where Discourse adds them.
"""
from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from . import shapes
from .models import Category, Group, GroupUser, Post, Topic, User
from .serialize_common import AUTOMATIC_GROUPS, avatar_template, fill, iso


# ------------------------------------------------------------------ users
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
    return fill(shapes.USER_FULL, {
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
    item = fill(shapes.ADMIN_USER_LIST_ITEM, {
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
    return fill(shape, {
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
    return fill(shapes.GROUP_MEMBER, {
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
    return _category_extras(category, fill(shape, _category_values(session, category, permission)))


