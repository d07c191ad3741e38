"""Theme slug → forum category id, from the gateway's cached category facts.

Provisioning makes one subcategory per theme (slug = theme slug) under ``PARENT_CATEGORY``.
Publishing a topic must not cost a category lookup each time: the list is the gateway's
(``forum.facts``, read once, re-read at most every ``LIST_REFRESH_SECONDS`` when a slug is
missing: a theme provisioned while the worker runs).
"""
from __future__ import annotations

import logging

from ..forum.eligibility import FULL, everyone_may
from .errors import Quarantine

log = logging.getLogger(__name__)
# A category's permissions (GET /c/{id}/show.json) are read again after this long; a category
# webhook forgets them at once (``facts.invalidate_categories``).
PERMISSIONS_MAX_AGE = 300.0


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


def list_topic_category_id(ctx, theme: str | None) -> int:
    """Where list mail opens a topic for THEME: ``theme_category_id``'s category when
    « everyone » may create topics there, else the default theme's. A staged sender's post
    skips Discourse's guardian and the bridge is an admin, so this is checked here (red-team
    pass 14): mail never opens a topic where its sender could not. Neither: ``Quarantine``."""
    tried = []
    for slug in dict.fromkeys(s for s in (theme, ctx.settings.DEFAULT_THEME) if s) or [None]:
        category_id = theme_category_id(ctx, slug)
        if category_id is None or category_id in tried:
            continue
        tried.append(category_id)
        shown = ctx.forum.facts.category_shown(category_id, max_age=PERMISSIONS_MAX_AGE)
        if everyone_may(shown, FULL):
            return category_id
    raise Quarantine("aucune catégorie où tout le monde peut ouvrir un sujet pour ce message "
                     f"(thème « {theme or '—'} », puis thème par défaut ; catégories {tried or '—'}) : "
                     "message retenu, rien n'est publié ; rouvrez la catégorie aux nouveaux sujets "
                     "puis « forumsync inbox retry »")


def theme_of_category(ctx, category_id: int | None) -> str | None:
    """The theme slug of a category (where a lead moved a topic), or None."""
    category = ctx.forum.facts.category_by_id(category_id)
    if category and ctx.settings.theme(category.get("slug") or ""):
        return category["slug"]
    return None
