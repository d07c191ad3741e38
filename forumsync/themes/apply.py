"""Apply a provisioning plan: one gateway call per change (the fields of one category together).

Ids the plan could not know (a parent or group created a moment earlier) are resolved as the
changes run. Progress goes to the caller's callback ``progress(stage, done, total)``; this
module prints nothing.
"""
from __future__ import annotations

from typing import Callable

from .changes import (AddOwners, Change, CreateCategory, CreateGroup, EnableSetting, RemoveLeads,
                      RenameGroup, UpdateCategory)
from .desired import CUSTOM_FIELDS, PARENT_COLOR, TEXT_COLOR
from .plan import Plan

Progress = Callable[[str, int, int], None]
STAGE_CHANGES = "changes"


class _Run:
    """The ids and memory one apply updates as it goes."""

    def __init__(self, gw, plan: Plan, todo: list[Change]):
        self.gw, self.ids, self.memory, self.todo = gw, dict(plan.ids), plan.memory, todo
        self.updated: set[str] = set()

    def category_memory(self, spec) -> dict:
        if spec.theme is None:
            return self.memory["parent"]
        return self.memory["themes"].setdefault(spec.key, {})

    def enable_setting(self, change: EnableSetting) -> None:
        self.gw.site_setting_set(change.name, True)

    def create_category(self, change: CreateCategory) -> None:
        spec, gw = change.spec, self.gw
        values = spec.values(self.ids)
        if spec.theme is None:
            created = gw.category_create(values["name"], slug=values["slug"], color=PARENT_COLOR,
                                         text_color=TEXT_COLOR, description=values["description"])
            self.ids["parent"] = created["id"]
        else:
            theme = spec.theme
            custom = {k: values[k] for k in CUSTOM_FIELDS if k in values and values[k]}
            created = gw.category_create(
                theme.name, slug=theme.slug, color=theme.color, text_color=TEXT_COLOR,
                parent_category_id=values["parent_category_id"], description=theme.description,
                moderating_group_ids=values["moderating_group_ids"] or None,
                custom_fields=custom or None, mailinglist_mirror=values["mailinglist_mirror"])
        memory = self.category_memory(spec)
        memory.clear()
        memory.update(category_id=created["id"], applied=values)

    def update_category(self, change: UpdateCategory) -> None:
        """The first field of a category writes them all (one call); the others are done."""
        spec = change.spec
        if spec.key in self.updated:
            return
        self.updated.add(spec.key)
        fields = [c for c in self.todo if isinstance(c, UpdateCategory) and c.spec.key == spec.key]
        values = spec.values(self.ids)
        payload: dict = {"name": values["name"]}
        custom = {}
        for c in fields:
            if c.field == "parent_category_id" and not isinstance(values[c.field], int):
                continue  # the parent is missing and not recreated (unrepaired drift)
            if c.sent_as == "custom":
                custom[c.field] = values[c.field]
            elif c.sent_as == "param":
                payload[c.field] = values[c.field]
        if custom:
            payload["custom_fields"] = custom
        if len(payload) > 1 or any(c.field == "name" for c in fields):
            self.gw.category_update(change.category_id, **payload)
        if any(c.sent_as == "about" for c in fields):
            self.gw.category_description_set(change.category_id, values["description"] or "")
        self.category_memory(spec)["applied"] = values

    def create_group(self, change: CreateGroup) -> None:
        created = self.gw.group_create(change.group, change.full_name)
        self.ids[f"group:{change.group}"] = created["id"]

    def rename_group(self, change: RenameGroup) -> None:
        self.gw.group_update(change.group_id, full_name=change.full_name)

    def add_owners(self, change: AddOwners) -> None:
        self.gw.group_members_add(self.ids[f"group:{change.group}"], change.usernames, owners=True)

    def remove_leads(self, change: RemoveLeads) -> None:
        self.gw.group_members_remove(self.ids[f"group:{change.group}"], change.usernames)


_EXECUTE = {EnableSetting: _Run.enable_setting, CreateCategory: _Run.create_category,
            UpdateCategory: _Run.update_category, CreateGroup: _Run.create_group,
            RenameGroup: _Run.rename_group, AddOwners: _Run.add_owners, RemoveLeads: _Run.remove_leads}


def apply(gw, plan: Plan, progress: Progress | None = None) -> list[Change]:
    """Execute the plan's changes in order (unrepaired drift is skipped); returns those done.
    ``plan.memory`` is completed with what was created or written."""
    report = progress if callable(progress) else (lambda stage, done, total: None)
    todo = [c for c in plan.changes if not c.reported_only]
    run = _Run(gw, plan, todo)
    report(STAGE_CHANGES, 0, len(todo))
    for done, change in enumerate(todo, 1):
        _EXECUTE[type(change)](run, change)
        report(STAGE_CHANGES, done, len(todo))
    return todo
