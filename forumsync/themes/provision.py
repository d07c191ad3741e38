"""Make the forum match the themes of the settings (categories, lead groups, moderation).

mailman2discourse style: the desired state is computed from the settings, compared with the
forum's actual state, and turned into a list of ``Change`` (object, before, after). A dry run
prints them; ``apply`` makes exactly the write calls they need, so a second run writes nothing.

What we last applied is remembered in a StateValue (``themes.provision``): it maps each theme
to its category id (so a renamed theme renames its category) and tells a settings change
(desired ≠ last applied: applied) from a hand edit on the forum (actual ≠ last applied =
desired: a drift, « dérive », reported and only repaired with ``repair=True``).
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

from ..forum.gateway import ForumNotFound, ForumRejected
from ..models import get_state, set_state

STATE_KEY = "themes.provision"
GROUP_PREFIX = "animateurs-"
GROUP_NAME_MAX = 20  # Discourse's default max_username_length, which group names obey
THEME_FIELD = "forumsync_theme"
LEAD_FIELD = "forumsync_lead"
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
# Stable palette for themes without a `color` (Discourse's own category colours).
PALETTE = ("0088CC", "BF1E2E", "F1592A", "F7941D", "9EB83B", "3AB54A", "12A89D", "25AAE2",
           "652D90", "ED207B", "8C6238", "231F20", "92278F", "B3B5B4", "E45735", "AB9364")
# Category fields compared with the forum, in display order, with their French label.
FIELD_LABELS = {
    "name": "nom", "slug": "identifiant", "description": "description", "color": "couleur",
    "parent_category_id": "catégorie parente", "moderating_group_ids": "groupes modérateurs",
    THEME_FIELD: "champ forumsync_theme", LEAD_FIELD: "champ forumsync_lead",
    "full_name": "nom complet", "owners": "animateurs",
}
CUSTOM_FIELDS = (THEME_FIELD, LEAD_FIELD)


# ------------------------------------------------------------------ desired state
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
    return " ".join(parts)


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


def desired_themes(settings) -> list[DesiredTheme]:
    out = []
    for theme in settings.THEMES:
        out.append(DesiredTheme(
            slug=theme["slug"], name=theme["name"], description=theme_description(theme),
            color=theme_color(theme), lead=theme.get("lead") or "",
            lead_emails=list(theme.get("lead_emails") or []), group=group_name(theme["slug"]),
            group_full_name=f"Animateurs {theme['name']}"))
    return out


# ------------------------------------------------------------------ changes
def _show(value) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return f"« {value} »"


@dataclass(eq=False)
class Change:
    """One difference between the forum and the settings, and how to remove it."""

    object: str                  # French label: "catégorie « SVE » (sve)"
    field: str | None            # None: the whole object (created)
    before: Any
    after: Any
    drift: bool = False          # the forum was edited by hand since our last run
    apply: Callable[[], None] | None = field(default=None, repr=False, compare=False)

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


@dataclass
class ProvisionResult:
    changes: list[Change]                    # every difference found
    applied: list[Change]                    # those applied (none in a dry run)
    missing_accounts: list[tuple[str, str]]  # (theme slug, lead email) with no forum account
    warnings: list[str]
    before: dict
    after: dict
    dry_run: bool
    repair: bool

    @property
    def drift(self) -> list[Change]:
        return [c for c in self.changes if c.drift]

    @property
    def pending_drift(self) -> list[Change]:
        return [c for c in self.drift if c not in self.applied]

    def report(self) -> list[str]:
        """The French diff and notes, one line each."""
        lines = []
        if not self.changes:
            lines.append("Le forum est déjà conforme aux thèmes des réglages.")
        else:
            title = ("Modifications prévues (essai, rien n'est écrit) :" if self.dry_run
                     else "Modifications :")
            lines.append(title)
            for change in self.changes:
                mark = ""
                if change.drift and not self.repair:
                    mark = " (non réparée : relancer avec --repair)"
                elif not self.dry_run and change in self.applied:
                    mark = " ✓"
                lines.append(f"  - {change.describe()}{mark}")
        for slug, email in self.missing_accounts:
            lines.append(f"Compte absent du forum (thème {slug}) : {email} — non créé, "
                         f"à inviter puis relancer « forumsync provision ».")
        for warning in self.warnings:
            lines.append(f"Attention : {warning}")
        return lines


# ------------------------------------------------------------------ reading the forum
def _plain(text) -> str:
    text = re.sub(r"<[^>]+>", " ", text or "")
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


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
                               else _truthy(category.get("mailinglist_mirror"))),
    }
    for key in CUSTOM_FIELDS:
        values[key] = custom.get(key, category.get(key))
    return values


def _truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "t", "1", "yes")


class Provisioner:
    """Plans (and applies) the changes; one instance per run."""

    def __init__(self, ctx, *, repair: bool = False, dry_run: bool = False):
        self.ctx = ctx
        self.dry_run = dry_run
        self.settings = ctx.settings
        self.gw = ctx.forum
        self.repair = repair
        self.changes: list[Change] = []
        self.missing: list[tuple[str, str]] = []
        self.warnings: list[str] = []
        self.before: dict = {"parent": None, "themes": {}, "groups": {}}
        self.after: dict = {"parent": None, "themes": {}, "groups": {}}
        with ctx.db.session() as session:
            self.state = get_state(session, STATE_KEY, None) or {"parent": {}, "themes": {}}
        self.new_state = {"parent": dict(self.state.get("parent") or {}),
                          "themes": {k: dict(v) for k, v in (self.state.get("themes") or {}).items()}}
        # ids known now or once an earlier change has been applied
        self.ids: dict[str, int | None] = {}

    # -------------------------------------------------------------- planning
    def plan(self) -> list[Change]:
        caps = self.gw.capabilities()
        self.plugin_fields = bool(caps) and CATEGORY_FIELDS_FEATURE in (caps.get("features") or [])
        self._check_moderation_setting()
        categories = self.gw.category_list()
        by_id = {c["id"]: c for c in categories}
        self._plan_parent(categories, by_id)
        themes = desired_themes(self.settings)
        for theme in themes:
            self._plan_group(theme)
        claimed: set[int] = set()
        for theme in themes:
            self._plan_theme_category(theme, categories, by_id, claimed)
        return self.changes

    def _check_moderation_setting(self):
        for name, why in REQUIRED_SETTINGS.items():
            self._require_setting(name, why)

    def _require_setting(self, name: str, why: str):
        """A forum setting forumsync needs on: planned as a change (admin key), warned about."""
        try:
            value = self.gw.site_setting_get(name)
        except ForumRejected as exc:
            self.warnings.append(f"impossible de lire le réglage « {name} » du "
                                 f"forum ({exc}) : vérifiez qu'il est activé.")
            return
        if _truthy(value):
            return
        self.warnings.append(
            f"le réglage « {name} » du forum est désactivé : {why} ; "
            f"{'il serait activé' if self.dry_run else 'il est activé'} par le provisionnement.")
        change = Change("réglage du forum", name, False, True)
        change.apply = lambda: self.gw.site_setting_set(name, True)
        self.changes.append(change)

    def _plan_parent(self, categories, by_id):
        name = self.settings.PARENT_CATEGORY
        desired = {"name": name, "slug": slugify(name), "description": parent_description(self.settings)}
        known_id = (self.state.get("parent") or {}).get("category_id")
        actual = by_id.get(known_id) if known_id else None
        if actual is None:
            actual = next((c for c in categories if not c.get("parent_category_id")
                           and (c.get("slug") == desired["slug"] or c.get("name") == name)), None)
        label = f"catégorie parente « {name} »"
        state = self.new_state["parent"]
        if actual is None:
            drift = bool(known_id)
            change = Change(label, None, None, desired, drift=drift)

            def create():
                created = self.gw.category_create(
                    name, slug=desired["slug"], color="0088CC", text_color=TEXT_COLOR,
                    description=desired["description"])
                self.ids["parent"] = created["id"]
                state.update(category_id=created["id"], applied=desired)

            change.apply = create
            self.changes.append(change)
            self.ids["parent"] = None
            self.after["parent"] = desired
            return
        self.ids["parent"] = actual["id"]
        state["category_id"] = actual["id"]
        full = self._full_category(actual)
        values = {k: self._actual_values(full)[k] for k in desired}
        self.before["parent"] = values
        self.after["parent"] = desired
        self._plan_category_update(label, actual["id"], values, desired,
                                   (self.state.get("parent") or {}).get("applied"), state)

    def _full_category(self, category: dict) -> dict:
        """List items lack some fields (custom fields, moderating groups): ask for the rest."""
        if "custom_fields" in category and "moderating_group_ids" in category and (
                "description_text" in category or "description" in category):
            return category
        try:
            return self.gw.category_get(category["id"])
        except ForumNotFound:
            return category

    def _actual_values(self, category: dict) -> dict:
        """category_values, with the description read where Discourse keeps it: the first
        post of the category's About topic (category_params never accepts one)."""
        values = category_values(category)
        try:
            values["description"] = (self.gw.category_description_get(category) or "").strip()
        except ForumNotFound:
            values["description"] = ""
        return values

    def _plan_category_update(self, label, category_id, actual: dict, desired: dict,
                              applied: dict | None, state: dict, resolve=None):
        """Field changes of an existing category; hand edits are drift (repair only)."""
        pending = []
        for key, want in desired.items():
            have = actual.get(key)
            if have == want or (want is None and have in (None, "", [])):
                continue
            drift = applied is not None and applied.get(key) == want
            change = Change(label, key, have, want, drift=drift)
            self.changes.append(change)
            if drift and not self.repair:
                continue
            pending.append(change)
        if not pending:
            state["applied"] = dict(desired)
            return
        fields = [c.field for c in pending]

        def update():
            values = resolve() if resolve else dict(desired)
            payload: dict = {"name": values["name"]}
            custom = {}
            for key in fields:
                if key == "parent_category_id" and not isinstance(values[key], int):
                    continue  # the parent is missing and not recreated (unrepaired drift)
                if key == "description":
                    continue  # not a category parameter: the About topic's first post
                if key in CUSTOM_FIELDS:
                    custom[key] = values[key]
                else:
                    payload[key] = values[key]
            if custom:
                payload["custom_fields"] = custom
            if len(payload) > 1 or "name" in fields:
                self.gw.category_update(category_id, **payload)
            if "description" in fields:
                self.gw.category_description_set(category_id, values["description"] or "")
            state["applied"] = values

        pending[0].apply = update  # one write call for all the fields of this category
        for change in pending[1:]:
            change.apply = _noop

    def _plan_group(self, theme: DesiredTheme):
        label = f"groupe « {theme.group} »"
        group = self.gw.group_get(theme.group)
        self.after["groups"][theme.group] = {"full_name": theme.group_full_name, "owners": []}
        if group is None:
            change = Change(label, None, None, {"full_name": theme.group_full_name})

            def create(theme=theme):
                created = self.gw.group_create(theme.group, theme.group_full_name)
                self.ids[f"group:{theme.group}"] = created["id"]

            change.apply = create
            self.changes.append(change)
            self.ids[f"group:{theme.group}"] = None
            members, owners = set(), set()
        else:
            self.ids[f"group:{theme.group}"] = group["id"]
            self.before["groups"][theme.group] = {"full_name": group.get("full_name")}
            if (group.get("full_name") or "") != theme.group_full_name:  # theme renamed
                change = Change(label, "full_name", group.get("full_name"), theme.group_full_name)

                def rename(group_id=group["id"], full_name=theme.group_full_name):
                    self.gw.group_update(group_id, full_name=full_name)

                change.apply = rename
                self.changes.append(change)
            listing = self.gw.group_members(theme.group)
            members = {m["username"] for m in listing["members"]}
            owners = {m["username"] for m in listing["owners"]}
            self.before["groups"][theme.group]["owners"] = sorted(owners)
        wanted = []
        for email in theme.lead_emails:
            user = self.gw.user_by_email(email)
            if user is None or user.get("staged"):
                self.missing.append((theme.slug, email))
                continue
            wanted.append(user["username"])
        self.after["groups"][theme.group]["owners"] = sorted(wanted)
        to_add = [u for u in wanted if u not in owners or u not in members]
        if to_add:
            change = Change(label, "owners", sorted(owners & set(wanted)), sorted(wanted))
            change.describe = lambda to_add=to_add, label=label: (
                f"{label} : animateurs (membres et propriétaires) à ajouter : {', '.join(to_add)}")

            def add(theme=theme, to_add=to_add):
                self.gw.group_members_add(self.ids[f"group:{theme.group}"], to_add, owners=True)

            change.apply = add
            self.changes.append(change)

    def _plan_theme_category(self, theme: DesiredTheme, categories, by_id, claimed: set):
        label = f"catégorie « {theme.name} » ({theme.slug})"
        known = (self.state.get("themes") or {}).get(theme.slug) or {}
        known_id = known.get("category_id")
        parent_id = self.ids.get("parent")
        actual = by_id.get(known_id) if known_id else None
        if actual is None:
            candidates = [c for c in categories if c["id"] not in claimed]
            actual = (next((c for c in candidates
                            if (c.get("custom_fields") or {}).get(THEME_FIELD, c.get(THEME_FIELD)) == theme.slug), None)
                      or next((c for c in candidates if parent_id is not None
                               and c.get("parent_category_id") == parent_id
                               and c.get("slug") == theme.slug), None)
                      or next((c for c in candidates if parent_id is not None
                               and c.get("parent_category_id") == parent_id
                               and c.get("name") == theme.name), None))
        state = self.new_state["themes"].setdefault(theme.slug, {})

        def desired_values():
            values = {"name": theme.name, "slug": theme.slug, "description": theme.description,
                      "color": theme.color, "parent_category_id": self.ids.get("parent"),
                      "moderating_group_ids": sorted({*current_mods, self.ids[f"group:{theme.group}"]}
                                                     - {None}),
                      # a list's mirror: PostAlerter mails no staged list member a second copy
                      # of a list post (plugin/README.md, docs/themes.md)
                      "mailinglist_mirror": True}
            if self.plugin_fields:
                values[THEME_FIELD] = theme.slug
                values[LEAD_FIELD] = theme.lead or None
            return values

        if actual is None:
            current_mods: list = []
            desired = desired_values()
            if desired["parent_category_id"] is None:
                desired["parent_category_id"] = f"« {self.settings.PARENT_CATEGORY} » (à créer)"
            if not desired["moderating_group_ids"]:
                desired["moderating_group_ids"] = [f"{theme.group} (à créer)"]
            self.after["themes"][theme.slug] = desired
            drift = bool(known_id)
            change = Change(label, None, None, desired, drift=drift)
            self.changes.append(change)
            if drift and not self.repair:
                return

            def create():
                values = desired_values()
                custom = {k: values[k] for k in CUSTOM_FIELDS if k in values and values[k]}
                created = self.gw.category_create(
                    theme.name, slug=theme.slug, color=theme.color, text_color=TEXT_COLOR,
                    parent_category_id=values["parent_category_id"],
                    description=theme.description,
                    moderating_group_ids=values["moderating_group_ids"] or None,
                    custom_fields=custom or None,
                    mailinglist_mirror=values["mailinglist_mirror"])
                state.clear()
                state.update(category_id=created["id"], applied=values)

            change.apply = create
            return
        claimed.add(actual["id"])
        state["category_id"] = actual["id"]
        full = self._full_category(actual)
        have = self._actual_values(full)
        current_mods = list(have["moderating_group_ids"])
        desired = desired_values()
        if desired["parent_category_id"] is None:
            desired["parent_category_id"] = f"« {self.settings.PARENT_CATEGORY} » (à créer)"
        self.before["themes"][theme.slug] = {k: have.get(k) for k in desired}
        self.after["themes"][theme.slug] = desired
        self._plan_category_update(label, actual["id"], have, desired, known.get("applied"),
                                   state, resolve=desired_values)

    # -------------------------------------------------------------- applying
    def apply(self) -> list[Change]:
        applied = []
        for change in self.changes:
            if change.apply is None:
                continue
            change.apply()
            applied.append(change)
        with self.ctx.db.session() as session:
            set_state(session, STATE_KEY, self.new_state)
        return applied


def _noop():
    return None


def provision(ctx, *, dry_run: bool = False, repair: bool = False) -> ProvisionResult:
    """Compare the forum with the themes of the settings and (unless DRY_RUN) fix it.

    Returns the changes with their (before, after); a second run finds none."""
    provisioner = Provisioner(ctx, repair=repair, dry_run=dry_run)
    changes = provisioner.plan()
    applied = [] if dry_run else provisioner.apply()
    return ProvisionResult(changes=changes, applied=applied, missing_accounts=provisioner.missing,
                           warnings=provisioner.warnings, before=provisioner.before,
                           after=provisioner.after, dry_run=dry_run, repair=repair)


def category_id_for_theme(ctx, slug: str) -> int | None:
    """The forum category of theme SLUG as provisioning last recorded it (no forum call)."""
    with ctx.db.session() as session:
        state = get_state(session, STATE_KEY, None) or {}
    return ((state.get("themes") or {}).get(slug) or {}).get("category_id")
