"""The server's lookup of a cooked ``#hashtag``, as Discourse does it.

lib/pretty_text/helpers.rb#hashtag_lookup: the cooking user (Post#cook passes the post's
``last_editor_id``; none: the system user, an admin) → HashtagAutocompleteService#lookup with
that user's guardian, types in the topic composer's order (category, then tag); a ``::category``
or ``::tag`` suffix asks for that type only. CategoryHashtagDataSource#lookup: a category the
guardian may see, by slug, ``parent:child`` for a subcategory; its text is « Parent > Child ».
TagHashtagDataSource#lookup: a tag by name, only while ``tagging_enabled``.
"""
from __future__ import annotations

from sqlalchemy import func, select

from . import sitesettings
from .guardian import category_permission
from .models import Category, Tag, User

TYPES = ("category", "tag")


def lookup_for(session, user: User | None):
    """The lookup the cooker calls for each ``#slug`` of a post USER last edited (the
    categories and what USER may see of them read once, at the post's first hashtag)."""
    seen: list = []

    def categories():
        if not seen:
            every = session.scalars(select(Category).order_by(
                Category.parent_category_id.is_not(None), Category.parent_category_id, Category.id)).all()
            seen.append(([c for c in every if category_permission(session, user, c) is not None],
                         {c.id: c for c in every}))
        return seen[0]

    def lookup(slug: str) -> dict | None:
        for kind in TYPES:
            if slug.endswith(f"::{kind}"):
                return _find(session, categories, kind, slug[:-len(f"::{kind}")], slug)
        for kind in TYPES:
            found = _find(session, categories, kind, slug, slug)
            if found is not None:
                return found
        return None
    return lookup


def _find(session, categories, kind: str, slug: str, ref: str) -> dict | None:
    """CATEGORIES: () → (the categories the cooking user may see, every category by id)."""
    if kind == "tag":
        if not sitesettings.get(session, "tagging_enabled"):
            return None
        tag = session.scalar(select(Tag).where(func.lower(Tag.name) == slug.lower()))
        if tag is None:
            return None
        return {"relative_url": f"/tag/{tag.name}", "text": tag.name, "type": "tag",
                "slug": tag.name, "ref": ref, "id": tag.id}
    parent_slug, _, child_slug = slug.partition(":")
    visible, by_id = categories()
    if child_slug:
        found = next((c for c in visible if c.slug.lower() == child_slug.lower()
                      and c.parent_category_id in by_id
                      and by_id[c.parent_category_id].slug.lower() == parent_slug.lower()), None)
    else:
        found = next((c for c in visible if c.slug.lower() == slug.lower()), None)
    if found is None:
        return None
    parent = by_id.get(found.parent_category_id)
    return {"relative_url": f"/c/{found.slug}/{found.id}", "type": "category",
            "text": f"{parent.name} > {found.name}" if parent else found.name,
            "slug": found.slug, "ref": ref, "id": found.id}
