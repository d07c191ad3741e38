"""Read, once and before planning, the part of the forum that provisioning compares.

Every forum read of ``forumsync provision`` happens here; ``themes.plan`` then works on the
``Actual`` snapshot without I/O. Matching a theme to its category is pure (``match_categories``)
but done while reading: only the matched categories are fetched in full.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ..forum.gateway import ForumNotFound, ForumRejected
from .desired import CATEGORY_FIELDS_FEATURE, CUSTOM_FIELDS, THEME_FIELD, Desired


@dataclass
class ActualCategory:
    id: int
    values: dict  # category_values(), description read from the About topic


@dataclass
class ActualGroup:
    id: int
    full_name: str | None
    owners: set[str]
    members: set[str]


@dataclass
class Actual:
    """The forum as read before planning, and what we last applied (``memory``)."""

    memory: dict                                  # StateValue themes.provision
    plugin_fields: bool = False                   # the plugin stores category custom fields
    settings: dict[str, object] = field(default_factory=dict)       # site setting -> value
    setting_errors: dict[str, str] = field(default_factory=dict)    # unreadable: why
    parent: ActualCategory | None = None
    themes: dict[str, ActualCategory | None] = field(default_factory=dict)
    groups: dict[str, ActualGroup | None] = field(default_factory=dict)
    users: dict[str, str | None] = field(default_factory=dict)  # lead email -> username


def _plain(text) -> str:
    text = re.sub(r"<[^>]+>", " ", text or "")
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "t", "1", "yes")


def category_values(category: dict) -> dict:
    """The fields we manage, as the forum shows them."""
    description = category.get("description_text")
    if description is None:
        description = category.get("description")
    custom = category.get("custom_fields") or {}
    values = {
        "name": category.get("name"),
        "slug": category.get("slug"),
        "description": _plain(description),
        "color": (category.get("color") or "").upper(),
        "parent_category_id": category.get("parent_category_id"),
        "moderating_group_ids": sorted(int(g) for g in category.get("moderating_group_ids") or []),
        # CategorySerializer's mailinglist_mirror (absent from some list items: None, unknown)
        "mailinglist_mirror": (None if category.get("mailinglist_mirror") is None
                               else truthy(category.get("mailinglist_mirror"))),
    }
    for key in CUSTOM_FIELDS:
        values[key] = custom.get(key, category.get(key))
    return values


def match_parent(categories: list[dict], memory: dict, parent: dict) -> dict | None:
    """The recorded parent category, else a top-level one with the parent's slug or name."""
    by_id = {c["id"]: c for c in categories}
    known_id = (memory.get("parent") or {}).get("category_id")
    found = by_id.get(known_id) if known_id else None
    if found is None:
        found = next((c for c in categories if not c.get("parent_category_id")
                      and (c.get("slug") == parent["slug"] or c.get("name") == parent["name"])),
                     None)
    return found


def match_themes(categories: list[dict], memory: dict, desired: Desired,
                 parent_id: int | None) -> dict[str, dict | None]:
    """Each theme's category: the recorded id, then custom field, then slug, then name under
    the parent; a category is given to one theme at most (settings order)."""
    by_id = {c["id"]: c for c in categories}
    claimed: set[int] = set()
    out: dict[str, dict | None] = {}
    for theme in desired.themes:
        known_id = ((memory.get("themes") or {}).get(theme.slug) or {}).get("category_id")
        found = by_id.get(known_id) if known_id else None
        if found is None:
            candidates = [c for c in categories if c["id"] not in claimed]
            under_parent = [c for c in candidates if parent_id is not None
                            and c.get("parent_category_id") == parent_id]
            found = (next((c for c in candidates if (c.get("custom_fields") or {}).get(
                          THEME_FIELD, c.get(THEME_FIELD)) == theme.slug), None)
                     or next((c for c in under_parent if c.get("slug") == theme.slug), None)
                     or next((c for c in under_parent if c.get("name") == theme.name), None))
        if found is not None:
            claimed.add(found["id"])
        out[theme.slug] = found
    return out


def _full_category(gw, category: dict) -> dict:
    """List items lack some fields (custom fields, moderating groups): ask for the rest."""
    if "custom_fields" in category and "moderating_group_ids" in category and (
            "description_text" in category or "description" in category):
        return category
    try:
        return gw.category_get(category["id"])
    except ForumNotFound:
        return category


def _read_category(gw, category: dict) -> ActualCategory:
    """category_values, with the description read where Discourse keeps it: the first
    post of the category's About topic (category_params never accepts one)."""
    full = _full_category(gw, category)
    values = category_values(full)
    try:
        values["description"] = (gw.category_description_get(full) or "").strip()
    except ForumNotFound:
        values["description"] = ""
    return ActualCategory(category["id"], values)


def _read_group(gw, name: str) -> ActualGroup | None:
    group = gw.group_get(name)
    if group is None:
        return None
    listing = gw.group_members(name)
    return ActualGroup(id=group["id"], full_name=group.get("full_name"),
                       owners={m["username"] for m in listing["owners"]},
                       members={m["username"] for m in listing["members"]})


def read_actual(gw, desired: Desired, memory: dict) -> Actual:
    """Every read provisioning needs, in one pass (no write)."""
    actual = Actual(memory=memory, plugin_fields=gw.has_feature(CATEGORY_FIELDS_FEATURE))
    try:  # one request for all of them
        listed = gw.site_settings_get(desired.required_settings) if desired.required_settings else {}
        actual.settings.update({name: listed.get(name) for name in desired.required_settings})
    except ForumRejected as exc:
        actual.setting_errors.update({name: str(exc) for name in desired.required_settings})
    categories = gw.facts.categories(refresh=True)  # the gateway's list, at most 30 s old
    parent = match_parent(categories, memory, desired.parent)
    if parent is not None:
        actual.parent = _read_category(gw, parent)
    for theme in desired.themes:
        actual.groups[theme.group] = _read_group(gw, theme.group)
        for email in theme.lead_emails:
            if email not in actual.users:
                user = gw.user_by_email(email)
                actual.users[email] = (None if user is None or user.get("staged")
                                       else user["username"])
    matched = match_themes(categories, memory, desired, parent["id"] if parent else None)
    for slug, category in matched.items():
        actual.themes[slug] = _read_category(gw, category) if category is not None else None
    return actual
