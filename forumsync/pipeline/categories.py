"""Theme slug → forum category id, from the gateway's cached category facts.

Provisioning makes one subcategory per theme (slug = theme slug) under ``PARENT_CATEGORY``.
Publishing a topic must not cost a category lookup each time: the list is the gateway's
(``forum.facts``, read once, re-read at most every ``LIST_REFRESH_SECONDS`` when a slug is
missing: a theme provisioned while the worker runs).
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def parent_category_id(forum, settings, refresh: bool = False) -> int | None:
    """The top-level category named (or slugged) ``PARENT_CATEGORY``."""
    wanted = settings.PARENT_CATEGORY.strip().lower()
    for category in forum.facts.categories(refresh):
        if not category.get("parent_category_id") and (
                (category.get("name") or "").strip().lower() == wanted
                or (category.get("slug") or "") == wanted):
            return category["id"]
    return None


def _find(forum, settings, slug: str) -> int | None:
    for refresh in (False, True):
        parent = parent_category_id(forum, settings, refresh)
        if parent is None:
            continue
        for category in forum.facts.categories(refresh):
            if category.get("slug") == slug and category.get("parent_category_id") == parent:
                return category["id"]
    return None


def theme_category_id(ctx, theme: str | None) -> int | None:
    """The category of THEME, else of the default theme, else uncategorised (logged)."""
    for slug in dict.fromkeys(s for s in (theme, ctx.settings.DEFAULT_THEME) if s):
        found = _find(ctx.forum, ctx.settings, slug)
        if found is not None:
            return found
    log.warning("aucune catégorie pour le thème %r sous « %s » : sujet publié sans catégorie "
                "(lancez forumsync provision)", theme, ctx.settings.PARENT_CATEGORY)
    # Discourse's own "uncategorized" (the plugin endpoint needs an explicit category id).
    return next((c["id"] for c in ctx.forum.facts.categories()
                 if c.get("slug") == "uncategorized"), None)


def theme_of_category(ctx, category_id: int | None) -> str | None:
    """The theme slug of a category (where a lead moved a topic), or None."""
    category = ctx.forum.facts.category_by_id(category_id)
    if category and ctx.settings.theme(category.get("slug") or ""):
        return category["slug"]
    return None
