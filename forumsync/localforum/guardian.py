"""Who may see, post in and moderate what (Discourse's Guardian, for categories and topics)."""
from __future__ import annotations

from sqlalchemy import func, select

from . import sitesettings
from .groups import user_group_names
from .models import Category, GroupUser, Topic, User


def category_permission(session, user: User | None, category: Category) -> int | None:
    """The best permission type (1 full, 2 reply, 3 see) USER has on CATEGORY, None = none."""
    if user is not None and user.admin:
        return 1
    groups = user_group_names(session, user) if user is not None else {"everyone"}
    perms = [int(p) for g, p in (category.permissions or {}).items() if g in groups]
    best = min(perms) if perms else None
    if user is not None and is_category_moderator(session, user, category):
        best = min(best or 2, 2)
    return best


def is_category_moderator(session, user: User | None, category: Category | None) -> bool:
    """Staff, or a member of one of the category's moderating groups (when enabled)."""
    if user is None:
        return False
    if user.staff:
        return True
    if category is None or not category.moderating_group_ids:
        return False
    if not sitesettings.get(session, "enable_category_group_moderation"):
        return False
    return session.scalar(select(func.count(GroupUser.id)).where(
        GroupUser.user_id == user.id,
        GroupUser.group_id.in_(category.moderating_group_ids))) > 0


def can_see_topic(session, user: User | None, topic: Topic) -> bool:
    if topic.archetype == "private_message":
        if user is None:
            return False
        return user.admin or user.username.lower() in {u.lower() for u in topic.allowed_usernames}
    if topic.category is None:
        return True
    return category_permission(session, user, topic.category) is not None

