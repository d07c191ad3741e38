"""Plan provisioning: compare the desired state with the forum as read, list the changes.

``plan(desired, actual)`` does no I/O: it takes the settings' state (``themes.desired``) and
the forum's state read beforehand (``themes.forum_state``) and returns typed change records
(``themes.changes``). A field where forum ≠ desired = last applied is a hand edit on the forum
(« dérive »): reported, and only written with ``repair=True``. Nothing to change: no record.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .changes import (AddOwners, CategorySpec, Change, CreateCategory, CreateGroup, RemoveLeads,
                      EnableSetting, RenameGroup, UpdateCategory)
from .desired import Desired
from .forum_state import Actual, truthy


@dataclass
class Plan:
    changes: list[Change]
    ids: dict                   # "parent", "group:<name>" -> forum id (None: to be created)
    memory: dict                # the StateValue to record once applied (apply completes it)
    missing_accounts: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    before: dict = field(default_factory=lambda: {"parent": None, "themes": {}, "groups": {}})
    after: dict = field(default_factory=lambda: {"parent": None, "themes": {}, "groups": {}})


def plan(desired: Desired, actual: Actual, *, repair: bool = False,
         dry_run: bool = False) -> Plan:
    """The changes that make ACTUAL match DESIRED, in the order they must be applied:
    forum settings, parent category, lead groups, theme categories."""
    memory = actual.memory
    result = Plan(changes=[], ids={}, memory={
        "parent": dict(memory.get("parent") or {}),
        "themes": {k: dict(v) for k, v in (memory.get("themes") or {}).items()},
        "groups": {k: dict(v) for k, v in (memory.get("groups") or {}).items() if isinstance(v, dict)}})
    _plan_settings(result, desired, actual, dry_run)
    _plan_parent(result, desired, actual, repair)
    for theme in desired.themes:
        _plan_group(result, theme, actual)
    for theme in desired.themes:
        _plan_theme_category(result, desired, theme, actual, repair)
    return result


def _plan_settings(result: Plan, desired: Desired, actual: Actual, dry_run: bool) -> None:
    """A forum setting forumsync needs on: planned as a change (admin key), warned about."""
    for name, why in desired.required_settings.items():
        if name in actual.setting_errors:
            result.warnings.append(f"impossible de lire le réglage « {name} » du forum "
                                   f"({actual.setting_errors[name]}) : vérifiez qu'il est activé.")
            continue
        if truthy(actual.settings.get(name)):
            continue
        result.warnings.append(
            f"le réglage « {name} » du forum est désactivé : {why} ; "
            f"{'il serait activé' if dry_run else 'il est activé'} par le provisionnement.")
        result.changes.append(EnableSetting("réglage du forum", name, False, True, name=name))


def _plan_parent(result: Plan, desired: Desired, actual: Actual, repair: bool) -> None:
    wanted = desired.parent
    label = f"catégorie parente « {wanted['name']} »"
    spec = CategorySpec(key="parent", parent=wanted)
    recorded = actual.memory.get("parent") or {}
    result.after["parent"] = wanted
    if actual.parent is None:
        # recreated even when deleted by hand: every theme category hangs under it
        result.changes.append(CreateCategory(label, None, None, wanted,
                                             drift=bool(recorded.get("category_id")), spec=spec))
        result.ids["parent"] = None
        return
    result.ids["parent"] = actual.parent.id
    result.memory["parent"]["category_id"] = actual.parent.id
    have = {k: actual.parent.values[k] for k in wanted}
    result.before["parent"] = have
    _plan_update(result, label, actual.parent.id, have, wanted, recorded.get("applied"),
                 result.memory["parent"], spec, repair)


def _plan_update(result: Plan, label: str, category_id: int, have: dict, wanted: dict,
                 applied: dict | None, memory: dict, spec: CategorySpec, repair: bool) -> None:
    """Field changes of an existing category; hand edits are drift (repair only)."""
    pending = 0
    for key, want in wanted.items():
        value = have.get(key)
        if value == want or (want is None and value in (None, "", [])):
            continue
        drift = applied is not None and applied.get(key) == want
        change = UpdateCategory(label, key, value, want, drift=drift,
                                reported_only=drift and not repair, spec=spec,
                                category_id=category_id)
        result.changes.append(change)
        pending += not change.reported_only
    if not pending:
        memory["applied"] = dict(wanted)


def _plan_group(result: Plan, theme, actual: Actual) -> None:
    label = f"groupe « {theme.group} »"
    group = actual.groups.get(theme.group)
    result.after["groups"][theme.group] = {"full_name": theme.group_full_name, "owners": []}
    if group is None:
        result.changes.append(CreateGroup(label, None, None, {"full_name": theme.group_full_name},
                                          group=theme.group, full_name=theme.group_full_name))
        result.ids[f"group:{theme.group}"] = None
        members, owners = set(), set()
    else:
        result.ids[f"group:{theme.group}"] = group.id
        if (group.full_name or "") != theme.group_full_name:  # theme renamed
            result.changes.append(RenameGroup(label, "full_name", group.full_name,
                                              theme.group_full_name, group_id=group.id,
                                              full_name=theme.group_full_name))
        members, owners = group.members, group.owners
        result.before["groups"][theme.group] = {"full_name": group.full_name,
                                                "owners": sorted(owners)}
    wanted, named_accounts = [], {}
    for email in theme.lead_emails:
        username = actual.users.get(email)
        if username is None:  # no account, or only a staged one
            result.missing_accounts.append((theme.slug, email))
            continue
        wanted.append(username)
        named_accounts[username] = email
    result.after["groups"][theme.group]["owners"] = sorted(wanted)
    to_add = [u for u in wanted if u not in owners or u not in members]
    if to_add:
        result.changes.append(AddOwners(label, "owners", sorted(owners & set(wanted)),
                                        sorted(wanted), group=theme.group, usernames=to_add))
    # The leads forumsync made members (recorded when applied, with their address) whose
    # address lead_emails no longer names leave the group: a replaced lead kept moderating (31st
    # pass). An account not found this time stays; one already in the group (added by hand) is
    # never recorded, so never taken out (32nd pass).
    made = dict((actual.memory.get("groups") or {}).get(theme.group) or {})
    made_emails = {str(email).lower() for email in made.values()}  # an account renamed since
    made_now = {u: email for u, email in named_accounts.items()
                if u in made or u not in members or email.lower() in made_emails}
    named = {email.lower() for email in theme.lead_emails}
    former = sorted(u for u, email in made.items()
                    if str(email).lower() not in named and u not in wanted and (u in members or u in owners))
    if former:
        result.changes.append(RemoveLeads(label, "owners", sorted(owners & set(made)), sorted(wanted),
                                          group=theme.group, usernames=former))
    kept = {u: email for u, email in made.items() if str(email).lower() in named and u not in made_now}
    result.memory["groups"][theme.group] = {**kept, **made_now}


def _plan_theme_category(result: Plan, desired: Desired, theme, actual: Actual,
                         repair: bool) -> None:
    label = f"catégorie « {theme.name} » ({theme.slug})"
    known = (actual.memory.get("themes") or {}).get(theme.slug) or {}
    found = actual.themes.get(theme.slug)
    memory = result.memory["themes"].setdefault(theme.slug, {})
    spec = CategorySpec(key=theme.slug, theme=theme, plugin_fields=actual.plugin_fields,
                        current_mods=list(found.values["moderating_group_ids"]) if found else [])
    wanted = spec.values(result.ids)
    if wanted["parent_category_id"] is None:
        wanted["parent_category_id"] = f"« {desired.parent['name']} » (à créer)"
    result.after["themes"][theme.slug] = wanted
    if found is None:
        if not wanted["moderating_group_ids"]:
            wanted["moderating_group_ids"] = [f"{theme.group} (à créer)"]
        drift = bool(known.get("category_id"))
        result.changes.append(CreateCategory(label, None, None, wanted, drift=drift,
                                             reported_only=drift and not repair, spec=spec))
        return
    memory["category_id"] = found.id
    result.before["themes"][theme.slug] = {k: found.values.get(k) for k in wanted}
    _plan_update(result, label, found.id, found.values, wanted, known.get("applied"), memory,
                 spec, repair)
