"""Typed change records: one difference between the forum and the settings each.

``themes.plan`` builds them (pure), ``themes.apply`` executes them through the gateway. A
record holds data only: what to change and the French words that describe it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .desired import CUSTOM_FIELDS, LEAD_FIELD, THEME_FIELD, DesiredTheme, category_target

# Category fields compared with the forum, in display order, with their French label.
FIELD_LABELS = {
    "name": "nom", "slug": "identifiant", "description": "description", "color": "couleur",
    "parent_category_id": "catégorie parente", "moderating_group_ids": "groupes modérateurs",
    THEME_FIELD: "champ forumsync_theme", LEAD_FIELD: "champ forumsync_lead",
    "full_name": "nom complet", "owners": "animateurs",
}


def _show(value) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool):  # a site setting's switch, in French
        return "oui" if value else "non"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return f"« {value} »"


@dataclass(eq=False)
class Change:
    """One difference between the forum and the settings."""

    object: str                  # French label: "catégorie « SVE » (sve)"
    field: str | None            # None: the whole object (created)
    before: Any
    after: Any
    drift: bool = False          # the forum was edited by hand since our last run
    reported_only: bool = False  # unrepaired drift: shown, never written

    def describe(self) -> str:
        prefix = "dérive : " if self.drift else ""
        if self.field is None:
            verb = "à recréer (supprimé sur le forum)" if self.drift else "à créer"
            details = ""
            if isinstance(self.after, dict) and self.after:
                details = " (" + " ; ".join(
                    f"{FIELD_LABELS.get(k, k)} {_show(v)}" for k, v in self.after.items()
                    if v not in (None, "", [])) + ")"
            return f"{prefix}{self.object} : {verb}{details}"
        label = FIELD_LABELS.get(self.field, self.field)
        return f"{prefix}{self.object} : {label} : {_show(self.before)} → {_show(self.after)}"


@dataclass(eq=False, kw_only=True)
class EnableSetting(Change):
    """Turn a forum site setting on (admin key)."""

    name: str


@dataclass(eq=False, kw_only=True)
class CategorySpec:
    """How to compute a category's values once earlier changes gave their ids."""

    key: str                           # "parent" or the theme slug
    theme: DesiredTheme | None = None  # None: the parent
    parent: dict = field(default_factory=dict)
    current_mods: list = field(default_factory=list)
    plugin_fields: bool = False

    def values(self, ids: dict) -> dict:
        return category_target(self.theme, ids, self.current_mods, self.plugin_fields, self.parent)


@dataclass(eq=False, kw_only=True)
class CreateCategory(Change):
    spec: CategorySpec


@dataclass(eq=False, kw_only=True)
class UpdateCategory(Change):
    """One field of an existing category; the fields of one category are written together."""

    spec: CategorySpec
    category_id: int

    @property
    def sent_as(self) -> str:
        """Where the field goes: the About post, a custom field, or a category parameter."""
        if self.field == "description":
            return "about"
        return "custom" if self.field in CUSTOM_FIELDS else "param"


@dataclass(eq=False, kw_only=True)
class CreateGroup(Change):
    group: str
    full_name: str


@dataclass(eq=False, kw_only=True)
class RenameGroup(Change):
    group_id: int
    full_name: str


@dataclass(eq=False, kw_only=True)
class AddOwners(Change):
    """Lead accounts made members and owners of their theme's group."""

    group: str
    usernames: list[str]

    def describe(self) -> str:
        return (f"{self.object} : animateurs (membres et propriétaires) à ajouter : "
                f"{', '.join(self.usernames)}")


@dataclass(eq=False, kw_only=True)
class RemoveLeads(Change):
    """Accounts forumsync made leads of the group and which ``lead_emails`` no longer names:
    taken out of the group (members added by hand stay)."""

    group: str
    usernames: list[str]

    def describe(self) -> str:
        return (f"{self.object} : anciens animateurs (absents de lead_emails) à retirer du groupe : "
                f"{', '.join(self.usernames)}")
