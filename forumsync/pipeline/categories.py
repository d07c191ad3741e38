"""Theme slug → forum category id, from one cached ``category_list()`` per gateway.

Provisioning makes one subcategory per theme (slug = theme slug) under ``PARENT_CATEGORY``.
Publishing a topic must not cost a category lookup each time, so the list is read once per
process (per gateway) and re-read at most every ``REFRESH_SECONDS`` when a slug is missing
(a theme provisioned while the worker runs).
"""
from __future__ import annotations

import logging
import threading
import time
import weakref

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _Categories:
    def __init__(self, categories: list[dict]):
        self.read_at = time.monotonic()
        self.by_id = {c["id"]: c for c in categories}
        self.categories = categories


def _load(forum, refresh: bool = False) -> _Categories:
    with _lock:
        entry = _cache.get(forum)
    if entry is None or (refresh and time.monotonic() - entry.read_at > REFRESH_SECONDS):
        entry = _Categories(forum.category_list())
        with _lock:
            _cache[forum] = entry
    return entry


def forget(forum) -> None:
    """Drop the cached list (tests that create categories, provisioning)."""
    with _lock:
        _cache.pop(forum, None)


def _parent_id(settings, entry: _Categories) -> int | None:
    wanted = settings.PARENT_CATEGORY.strip().lower()
    for category in entry.categories:
        if not category.get("parent_category_id") and (
                (category.get("name") or "").strip().lower() == wanted
                or (category.get("slug") or "") == wanted):
            return category["id"]
    return None


def _find(settings, entry: _Categories, slug: str) -> int | None:
    parent = _parent_id(settings, entry)
    if parent is None:
        return None
    for category in entry.categories:
        if category.get("slug") == slug and category.get("parent_category_id") == parent:
            return category["id"]
    return None


def theme_category_id(ctx, theme: str | None) -> int | None:
    """The category of THEME, else of the default theme, else uncategorised (logged)."""
    for slug in dict.fromkeys(s for s in (theme, ctx.settings.DEFAULT_THEME) if s):
        found = _find(ctx.settings, _load(ctx.forum), slug)
        if found is None:
            found = _find(ctx.settings, _load(ctx.forum, refresh=True), slug)
        if found is not None:
            return found
    log.warning("aucune catégorie pour le thème %r sous « %s » : sujet publié sans catégorie "
                "(lancez forumsync provision)", theme, ctx.settings.PARENT_CATEGORY)
    # Discourse's own "uncategorized" (the plugin endpoint needs an explicit category id).
    return next((c["id"] for c in _load(ctx.forum).categories
                 if c.get("slug") == "uncategorized"), None)


def theme_of_category(ctx, category_id: int | None) -> str | None:
    """The theme slug of a category (where a lead moved a topic), or None."""
    if category_id is None:
        return None
    entry = _load(ctx.forum)
    if category_id not in entry.by_id:
        entry = _load(ctx.forum, refresh=True)
    category = entry.by_id.get(category_id)
    if category and ctx.settings.theme(category.get("slug") or ""):
        return category["slug"]
    return None
