"""Categories of the local forum: creation with Discourse's About topic, update, deletion."""
from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from .errors import invalid
from .models import Category, Post, Topic, User, utcnow
from .parsing import slugify
from .post_rules import REGULAR
from .uploads import cook_for


def category_by_slug(session, slug: str, parent_id: int | None = None) -> Category | None:
    query = select(Category).where(Category.slug == slug)
    if parent_id is not None:
        query = query.where(Category.parent_category_id == parent_id)
    return session.scalars(query.order_by(Category.id)).first()


def _parse_permissions(value) -> dict:
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid("permissions is invalid") from None
    if not isinstance(value, dict):
        raise invalid("permissions is invalid")
    out = {}
    for group, permission in value.items():
        try:
            out[str(group)] = int(permission)
        except (TypeError, ValueError):
            raise invalid(f"Invalid permission for group {group}") from None
    return out


def _check_permissions_compatibility(parent: dict | None, child: dict) -> None:
    """Category#permissions_compatibility_validator, #check_permissions_compatibility (run when
    permissions are given): unless everyone may see the parent, a group a subcategory grants
    must be granted by the parent too (a subcategory is never more visible than its parent)."""
    parent = parent or {"everyone": 1}
    if "everyone" in parent:
        return
    extra = sorted(set(child) - set(parent))
    if extra:
        raise invalid("Any group that is granted access to a subcategory must also be granted access "
                      f"to the parent category; these are not: {', '.join(extra)}")


def _int_list(value) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)):
        value = [value]
    try:
        return [int(v) for v in value if v not in (None, "")]
    except (TypeError, ValueError):
        raise invalid("moderating_group_ids is invalid") from None


def create_category(session, name: str, *, slug: str | None = None, color: str | None = None,
                    text_color: str | None = None, parent_category_id=None,
                    description: str | None = None, permissions=None, moderating_group_ids=None,
                    custom_fields: dict | None = None, position: int | None = None,
                    mailinglist_mirror=None) -> Category:
    if not name or not str(name).strip():
        raise invalid("Name can't be blank")
    parent_id = int(parent_category_id) if parent_category_id not in (None, "") else None
    if parent_id is not None and session.get(Category, parent_id) is None:
        raise invalid("Parent category does not exist")
    same_parent = (Category.parent_category_id.is_(None) if parent_id is None
                   else Category.parent_category_id == parent_id)
    if session.scalar(select(Category.id).where(func.lower(Category.name) == name.strip().lower(),
                                                same_parent)) is not None:
        raise invalid("Category Name has already been taken")
    slug = slug or slugify(name)
    if session.scalar(select(Category.id).where(Category.slug == slug, same_parent)) is not None:
        raise invalid("Slug is already in use")
    perms = _parse_permissions(permissions) or {"everyone": 1}
    if permissions is not None and parent_id is not None:
        _check_permissions_compatibility(session.get(Category, parent_id).permissions, perms)
    if position is None:
        position = (session.scalar(select(func.max(Category.position))) or 0) + 1
    category = Category(name=name.strip(), slug=slug, color=(color or "0088CC").lstrip("#"),
                        text_color=(text_color or "FFFFFF").lstrip("#"),
                        parent_category_id=parent_id, permissions=perms,
                        moderating_group_ids=_int_list(moderating_group_ids),
                        custom_fields=dict(custom_fields or {}), position=position,
                        mailinglist_mirror=str(mailinglist_mirror).lower() in ("true", "1", "t"))
    session.add(category)
    session.flush()
    _create_about_topic(session, category, description)
    return category


ABOUT_TITLE = "About the {category} category"  # Discourse's category.topic_prefix
ABOUT_PLACEHOLDER = ("(Replace this first paragraph with a brief description of your new "
                     "category. This guidance will appear in the category selection area, so "
                     "try to keep it below 200 characters.)")


def _create_about_topic(session, category: Category, description: str | None) -> None:
    """Category#create_category_definition: a pinned "About" topic whose first post holds the
    description (the model's ``description`` when given, else the placeholder); no webhook."""
    author = session.scalar(select(User).where(User.admin.is_(True)).order_by(User.id))
    if author is None:
        return
    now = utcnow()
    title = ABOUT_TITLE.format(category=category.name)
    topic = Topic(title=title, slug=slugify(title), category_id=category.id, user_id=author.id,
                  pinned_at=now, created_at=now, bumped_at=now, updated_at=now)
    session.add(topic)
    session.flush()
    raw = description or ABOUT_PLACEHOLDER
    post = Post(topic_id=topic.id, user_id=author.id, post_number=1, post_type=REGULAR, raw=raw,
                cooked=cook_for(session, raw, author), created_at=now, updated_at=now)
    session.add(post)
    category.topic_id = topic.id
    category.description = category_description_from(post.cooked)
    session.flush()


def delete_category(session, category: Category) -> None:
    """Category#destroy: refused while it holds topics besides its About topic (Discourse's
    "can't delete a category with topics"); the About topic goes with it."""
    others = session.scalar(select(func.count(Topic.id)).where(
        Topic.category_id == category.id, Topic.id != category.topic_id,
        Topic.deleted_at.is_(None)))
    if others:
        raise invalid("Can't delete this category because it has topics.")
    if category.topic_id is not None:
        for post in session.scalars(select(Post).where(Post.topic_id == category.topic_id)):
            session.delete(post)
        session.flush()
        topic = session.get(Topic, category.topic_id)
        if topic is not None:
            session.delete(topic)
        session.flush()
    session.delete(category)
    session.flush()


def category_description_from(cooked: str) -> str | None:
    """PostRevisor#update_category_description: the first paragraph's inner HTML, images
    removed; None while it is still the placeholder."""
    match = re.search(r"<p>(.*?)</p>", cooked or "", re.S)
    if match is None:
        return None
    inner = re.sub(r"<img[^>]*>", "", match.group(1)).strip()
    if not inner or inner.startswith(ABOUT_PLACEHOLDER[:50]):
        return None
    return inner


def update_category(session, category: Category, **fields) -> Category:
    if "name" in fields and fields["name"]:
        category.name = str(fields["name"]).strip()
    if fields.get("slug"):
        category.slug = fields["slug"]
    for key in ("color", "text_color"):
        if fields.get(key):
            setattr(category, key, str(fields[key]).lstrip("#"))
    if "position" in fields and fields["position"] not in (None, ""):
        category.position = int(fields["position"])
    if "parent_category_id" in fields:
        value = fields["parent_category_id"]
        parent_id = int(value) if value not in (None, "") else None
        if parent_id == category.id:
            raise invalid("A category cannot be its own parent")
        if parent_id is not None and session.get(Category, parent_id) is None:
            raise invalid("Parent category does not exist")
        category.parent_category_id = parent_id
    if "permissions" in fields and fields["permissions"] is not None:
        perms = _parse_permissions(fields["permissions"]) or {"everyone": 1}
        if category.parent_category_id is not None:
            _check_permissions_compatibility(session.get(Category, category.parent_category_id).permissions, perms)
        else:
            children = session.scalars(select(Category.permissions)
                                       .where(Category.parent_category_id == category.id)).all()
            _check_permissions_compatibility(perms, {g: 1 for child in children for g in child or {}})
        category.permissions = perms
    if "mailinglist_mirror" in fields and fields["mailinglist_mirror"] is not None:
        category.mailinglist_mirror = str(fields["mailinglist_mirror"]).lower() in ("true", "1", "t")
    if "moderating_group_ids" in fields:
        category.moderating_group_ids = _int_list(fields["moderating_group_ids"])
    if fields.get("custom_fields"):
        merged = dict(category.custom_fields or {})
        merged.update(fields["custom_fields"])
        category.custom_fields = merged
    session.flush()
    return category

