"""Helpers shared by the community jobs: categories and groups on the forum, external ids,
and a "due" check so that scheduled jobs run once per interval even with several workers."""
from __future__ import annotations

import hashlib
import logging
import unicodedata
from datetime import timedelta

from ..models import StateValue, utcnow

log = logging.getLogger(__name__)

# Category names (French: the forum's users read them).
PRESENTATIONS_CATEGORY = "Présentations"
DIRECTORY_CATEGORY = "Annuaire des collectivités"
CENSUS_CATEGORY = "Recensement des logiciels métier"
RELEASES_CATEGORY = "Évolutions"

CATEGORY_DESCRIPTIONS = {
    PRESENTATIONS_CATEGORY: "Les nouveaux membres du club se présentent : collectivité, projet, thèmes d'intérêt.",
    DIRECTORY_CATEGORY: "Une fiche par collectivité du club : projet Publik et thèmes animés.",
    CENSUS_CATEGORY: "Recensement des logiciels métier utilisés par les collectivités (réservé aux membres).",
    RELEASES_CATEGORY: "Les notes de version de Publik et des briques du club, publiées automatiquement.",
}


def external_id(prefix: str, *parts: str) -> str:
    """A Discourse-safe external id (≤ 50 chars, [\\w-]+) stable for the given parts."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]
    return f"{prefix}-{digest}"


def fold(text: str) -> str:
    """Lower-cased, accent-free form of a name, to compare category names."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()


def find_category(forum, name: str) -> dict | None:
    """The top-level category named NAME (case and accents aside). Never a subcategory: the
    catalogue makes one for each w.c.s. category name, which any form's author chooses, and
    one named like the members-only census received the census (red team, twelfth pass)."""
    wanted = fold(name)
    for category in forum.category_list():
        if category.get("parent_category_id") is None and fold(category.get("name", "")) == wanted:
            return category
    return None


def ensure_category(forum, name: str, *, permissions: dict | None = None,
                    dry_run: bool = False) -> int | None:
    """The id of the category named NAME, created if missing (None in a dry run that would create)."""
    category = find_category(forum, name)
    if category is not None:
        return category["id"]
    if dry_run:
        return None
    created = forum.category_create(name, description=CATEGORY_DESCRIPTIONS.get(name),
                                    permissions=permissions)
    log.info("catégorie « %s » créée (id %s)", name, created["id"])
    return created["id"]


def ensure_group(forum, name: str, full_name: str = "", *, dry_run: bool = False) -> dict | None:
    group = forum.group_get(name)
    if group is not None or dry_run:
        return group
    log.info("groupe « %s » créé", name)
    return forum.group_create(name, full_name=full_name)


def claim_due(session, key: str, minutes: float, *, now=None) -> bool:
    """True (and the run recorded) when the job KEY has not run for MINUTES.

    The state row is locked (FOR UPDATE on PostgreSQL; SQLite transactions are serialised
    by BEGIN IMMEDIATE) so two workers never both claim the same run.
    """
    now = now or utcnow()
    row = session.get(StateValue, key, with_for_update=True)
    if row is not None:
        last = row.value.get("at") if isinstance(row.value, dict) else None
        if last:
            from datetime import datetime

            try:
                if now - datetime.fromisoformat(last) < timedelta(minutes=minutes):
                    return False
            except ValueError:  # an unreadable record counts as never run
                pass
        row.value = {"at": now.isoformat()}
        row.updated_at = now
    else:
        session.add(StateValue(key=key, value={"at": now.isoformat()}, updated_at=now))
    return True
