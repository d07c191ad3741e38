"""What the settings ask of the forum: the parent category, one category and lead group per theme.

Pure functions of the settings (no forum, no database): ``themes.plan`` compares their result
with what ``themes.forum_state`` read from the forum.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from ..raw_form import stored_raw

GROUP_PREFIX = "animateurs-"
GROUP_NAME_MAX = 20  # Discourse's default max_username_length, which group names obey
THEME_FIELD = "forumsync_theme"
LEAD_FIELD = "forumsync_lead"
CUSTOM_FIELDS = (THEME_FIELD, LEAD_FIELD)
CATEGORY_FIELDS_FEATURE = "category_fields"
MODERATION_SETTING = "enable_category_group_moderation"
# Forum settings forumsync needs on, with why (French, shown in warnings).
REQUIRED_SETTINGS = {
    # CategoriesController#category_params drops moderating_group_ids while it is off
    MODERATION_SETTING: "sans lui les groupes d'animateurs ne peuvent pas modérer leurs catégories",
    # Jobs::EmitWebHookEvent retries a delivery forumsync answered with an error only with it
    "retry_web_hook_events": "sans lui un webhook refusé par forumsync (erreur passagère) "
                             "n'est jamais renvoyé par le forum",
}
TEXT_COLOR = "FFFFFF"
PARENT_COLOR = "0088CC"
# Stable palette for themes without a `color` (Discourse's own category colours).
PALETTE = ("0088CC", "BF1E2E", "F1592A", "F7941D", "9EB83B", "3AB54A", "12A89D", "25AAE2",
           "652D90", "ED207B", "8C6238", "231F20", "92278F", "B3B5B4", "E45735", "AB9364")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "categorie"


def group_name(slug: str) -> str:
    """``animateurs-{slug}``, cut to Discourse's 20 characters (at a word when possible)."""
    name = GROUP_PREFIX + slug
    if len(name) <= GROUP_NAME_MAX:
        return name
    cut = name[:GROUP_NAME_MAX]
    if name[GROUP_NAME_MAX] != "-" and "-" in cut[len(GROUP_PREFIX):]:
        cut = cut[:cut.rindex("-")]
    return cut.rstrip("-_.")


def lead_group(theme: dict) -> str:
    """The lead group of THEME: its ``group`` setting, else ``group_name`` of its slug."""
    return theme.get("group") or group_name(theme["slug"])


def theme_color(theme: dict) -> str:
    if theme.get("color"):
        return str(theme["color"]).lstrip("#").upper()
    digest = hashlib.sha1(theme["slug"].encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def theme_description(theme: dict) -> str:
    parts = []
    if theme.get("lead"):
        parts.append(f"Thème animé par {theme['lead']}.")
    if theme.get("description"):
        text = theme["description"].strip()
        parts.append(text if text.endswith((".", "!", "?", "…")) else text + ".")
    # as the forum stores it (a French no-break space before ":" is a plain one there): what
    # the About topic will say, so the next run sees no change (red team, 44th pass)
    return stored_raw(" ".join(parts))


def parent_description(settings) -> str:
    return (f"Espace « {settings.PARENT_CATEGORY} » : un sous-thème par sujet, chacun animé "
            f"par une collectivité.")


@dataclass
class DesiredTheme:
    slug: str
    name: str
    description: str
    color: str
    lead: str
    lead_emails: list[str]
    group: str
    group_full_name: str


@dataclass
class Desired:
    """The whole desired state: parent category values, then the themes in settings order."""

    parent: dict  # {"name", "slug", "description"}
    themes: list[DesiredTheme]
    required_settings: dict[str, str]  # forum setting -> why it must be on (French)


def desired_themes(settings) -> list[DesiredTheme]:
    out = []
    for theme in settings.THEMES:
        out.append(DesiredTheme(
            slug=theme["slug"], name=theme["name"], description=theme_description(theme),
            color=theme_color(theme), lead=theme.get("lead") or "",
            lead_emails=list(theme.get("lead_emails") or []), group=lead_group(theme),
            group_full_name=f"Animateurs {theme['name']}"))
    return out


def desired_state(settings) -> Desired:
    name = settings.PARENT_CATEGORY
    parent = {"name": name, "slug": slugify(name), "description": parent_description(settings)}
    return Desired(parent=parent, themes=desired_themes(settings),
                   required_settings=dict(REQUIRED_SETTINGS))


def category_target(theme: DesiredTheme | None, ids: dict, current_mods: list,
                    plugin_fields: bool, parent: dict) -> dict:
    """The values a category should have, given the ids known so far (IDS maps ``parent`` and
    ``group:<name>`` to a forum id, None while not created). THEME None: the parent."""
    if theme is None:
        return dict(parent)
    values = {"name": theme.name, "slug": theme.slug, "description": theme.description,
              "color": theme.color, "parent_category_id": ids.get("parent"),
              "moderating_group_ids": sorted({*current_mods, ids.get(f"group:{theme.group}")}
                                             - {None}),
              # a list's mirror: PostAlerter mails no staged list member a second copy
              # of a list post (plugin/README.md, docs/themes.md)
              "mailinglist_mirror": True}
    if plugin_fields:
        values[THEME_FIELD] = theme.slug
        values[LEAD_FIELD] = theme.lead or None
    return values
