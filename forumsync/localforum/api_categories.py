"""Categories: list, show, create, update, and a category's topic list."""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from . import serialize_common, serialize_topics, serializers, shapes, sitesettings
from .categories import create_category, update_category
from .errors import forbidden, not_found
from .guardian import category_permission
from .http import api_route, as_bool, current_user, forum, json_response, params
from .models import Category, Topic, User

bp = Blueprint("localforum_categories", __name__)
PER_PAGE = 30
CATEGORIES_PER_PAGE = 20          # CategoryList::CATEGORIES_PER_PAGE
SUBCATEGORIES_PER_CATEGORY = 5    # CategoryList::SUBCATEGORIES_PER_CATEGORY
MAX_UNOPTIMIZED_CATEGORIES = 1000  # CategoryList::MAX_UNOPTIMIZED_CATEGORIES


def visible_categories(session, user: User) -> list[tuple[Category, int]]:
    out = []
    for category in session.scalars(select(Category).order_by(Category.position, Category.id)):
        permission = category_permission(session, user, category)
        if permission is not None:
            out.append((category, permission))
    return out


def _visible_category(session, user: User, category_id) -> tuple[Category, int]:
    """The category and USER's permission on it: 404 unknown, 403 not visible to USER."""
    category = session.get(Category, category_id)
    if category is None:
        raise not_found()
    permission = category_permission(session, user, category)
    if permission is None:
        raise forbidden()
    return category, permission


def _staff(session) -> User:
    """The acting user when staff (categories are created and changed by staff), else 403."""
    user = current_user(session)
    if not user.staff:
        raise forbidden()
    return user


@api_route(bp, "/categories", methods=["GET"])
def category_list():
    p = params()
    with forum().store.session() as session:
        user = current_user(session)
        visible = visible_categories(session, user)
        parent_id = p.get("parent_category_id")
        parent_id = int(parent_id) if parent_id not in (None, "") else None
        page = max(1, int(p.get("page") or 1))
        level = [(c, perm) for c, perm in visible if c.parent_category_id == parent_id]
        if _paginate(session, visible, parent_id):
            return json_response(_lazy_page(session, user, visible, level, page, parent_id))
        items = []
        if page > 1:  # CategoryList#find_categories: without lazy loading all is on page 1
            level = []
        for category, permission in level:
            item = serializers.serialize_category(session, category, permission,
                                                  shapes.CATEGORY_LIST_ITEM)
            if as_bool(p.get("include_subcategories")):
                item["subcategory_list"] = [
                    serializers.serialize_category(session, child, child_permission,
                                                   shapes.CATEGORY_LIST_ITEM)
                    for child, child_permission in visible
                    if child.parent_category_id == category.id]
            items.append(item)
        return json_response({"category_list": {"can_create_category": user.staff,
                                                "can_create_topic": True, "categories": items}})


def _paginate(session, visible, parent_id) -> bool:
    """CategoryList#paginate_results?: lazy-loaded categories, or more than 1000 visible."""
    if sitesettings.get(session, "lazy_load_categories"):
        return True
    count = sum(1 for c, _ in visible if parent_id is None or c.parent_category_id == parent_id)
    return count > MAX_UNOPTIMIZED_CATEGORIES


def _lazy_page(session, user, visible, level, page, parent_id) -> dict:
    """One page of CATEGORIES_PER_PAGE categories of LEVEL; at the top level each is followed
    by at most SUBCATEGORIES_PER_CATEGORY of its children, flat (no subcategory_list)."""
    chosen = level[(page - 1) * CATEGORIES_PER_PAGE:page * CATEGORIES_PER_PAGE]
    items = []
    for category, permission in chosen:
        items.append(serializers.serialize_category(session, category, permission,
                                                    shapes.CATEGORY_LIST_ITEM))
    if parent_id is None:
        for category, _ in chosen:
            children = [(c, perm) for c, perm in visible if c.parent_category_id == category.id]
            for child, permission in children[:SUBCATEGORIES_PER_CATEGORY]:
                items.append(serializers.serialize_category(session, child, permission,
                                                            shapes.CATEGORY_LIST_ITEM))
    return {"category_list": {"can_create_category": user.staff, "can_create_topic": True,
                              "categories": items}}


@api_route(bp, "/c/<int:category_id>/show", methods=["GET"])
def category_show(category_id):
    with forum().store.session() as session:
        user = current_user(session)
        category, permission = _visible_category(session, user, category_id)
        return json_response({"category": serializers.serialize_category(session, category, permission)})


def _category_fields(session, p: dict) -> dict:
    """CategoriesController#category_params: no ``description`` (it lives in the About
    topic), ``moderating_group_ids`` only while enable_category_group_moderation is on."""
    fields = {}
    for key in ("name", "slug", "color", "text_color", "position", "parent_category_id",
                "permissions", "custom_fields", "mailinglist_mirror"):
        if key in p:
            fields[key] = p[key]
    if sitesettings.get(session, "enable_category_group_moderation") and "moderating_group_ids" in p:
        fields["moderating_group_ids"] = p["moderating_group_ids"]
    return fields


@api_route(bp, "/categories", methods=["POST"])
def category_create():
    p = params()
    with forum().store.session() as session:
        _staff(session)
        fields = _category_fields(session, p)
        name = fields.pop("name", None)
        category = create_category(session, name, **fields)
        return json_response({"category": serializers.serialize_category(session, category, 1)})


@api_route(bp, "/categories/<int:category_id>", methods=["PUT"])
def category_update(category_id):
    p = params()
    with forum().store.session() as session:
        _staff(session)
        category = session.get(Category, category_id)
        if category is None:
            raise not_found()
        update_category(session, category, **_category_fields(session, p))
        return json_response({"success": "OK", "category": serializers.serialize_category(
            session, category, 1, shapes.CATEGORY_UPDATED)})


def _topic_list(category_id: int, include_children: bool):
    p = params()
    page = int(p.get("page") or 0)
    with forum().store.session() as session:
        user = current_user(session)
        category, permission = _visible_category(session, user, category_id)
        ids = [category.id]
        if include_children:
            ids += list(session.scalars(select(Category.id).where(
                Category.parent_category_id == category.id)))
        query = select(Topic).where(Topic.category_id.in_(ids), Topic.deleted_at.is_(None),
                                    Topic.archetype == "regular")
        if not user.staff:
            query = query.where(Topic.visible.is_(True))
        query = query.order_by(Topic.pinned_at.is_(None), Topic.bumped_at.desc(), Topic.id.desc())
        topics = list(session.scalars(query.offset(page * PER_PAGE).limit(PER_PAGE)))
        items = [serialize_topics.serialize_topic_list_item(session, topic) for topic in topics]
        user_ids = {poster["user_id"] for item in items for poster in item["posters"]}
        users = [serialize_common.user_basic(u) for u in
                 session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id))]
        topic_list = {"can_create_topic": permission == 1, "per_page": PER_PAGE, "topics": items}
        if len(topics) == PER_PAGE:
            topic_list["more_topics_url"] = f"/c/{category.slug}/{category.id}?page={page + 1}"
        return json_response({"users": users, "primary_groups": [], "topic_list": topic_list})


@api_route(bp, "/c/<path:slug>/<int:category_id>", methods=["GET"])
def category_topics(slug, category_id):
    return _topic_list(category_id, include_children=True)


@api_route(bp, "/c/<path:slug>/<int:category_id>/none", methods=["GET"])
def category_topics_none(slug, category_id):
    return _topic_list(category_id, include_children=False)


@api_route(bp, "/c/<path:slug>/<int:category_id>/l/latest", methods=["GET"])
def category_topics_latest(slug, category_id):
    return _topic_list(category_id, include_children=True)


@api_route(bp, "/c/<int:category_id>/l/latest", methods=["GET"])
def category_topics_latest_id(category_id):
    return _topic_list(category_id, include_children=True)


@api_route(bp, "/c/<int:category_id>", methods=["GET"])
def category_by_id(category_id):
    """/c/{id}.json (pydiscourse's category_topics) → the canonical /c/{slug}/{id}.json."""
    from flask import redirect, request

    with forum().store.session() as session:
        current_user(session)
        category = session.get(Category, category_id)
        if category is None:
            raise not_found()
        suffix = ".json" if request.path.endswith(".json") else ""
        query = ("?" + request.query_string.decode()) if request.query_string else ""
        return redirect(f"/c/{category.slug}/{category.id}{suffix}{query}", 301)
