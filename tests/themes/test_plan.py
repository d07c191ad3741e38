"""plan(desired, actual) on hand-built states: no forum, no database."""
from __future__ import annotations

import copy

from forumsync.themes.changes import (AddOwners, CreateCategory, CreateGroup, EnableSetting,
                                      RenameGroup, UpdateCategory)
from forumsync.themes.desired import REQUIRED_SETTINGS, Desired, DesiredTheme, category_target
from forumsync.themes.forum_state import (Actual, ActualCategory, ActualGroup, match_parent,
                                          match_themes)
from forumsync.themes.plan import plan

SVE = DesiredTheme(slug="sve", name="SVE", description="Thème animé par Meyzieu.", color="0088CC",
                   lead="Meyzieu", lead_emails=["anne@meyzieu.fr"], group="animateurs-sve",
                   group_full_name="Animateurs SVE")
FAMILLE = DesiredTheme(slug="famille", name="Portail famille", description="", color="BF1E2E",
                       lead="", lead_emails=[], group="animateurs-famille",
                       group_full_name="Animateurs Portail famille")
PARENT = {"name": "Club Publik", "slug": "club-publik", "description": "Espace du club."}
PARENT_ID, GROUP_IDS, CATEGORY_IDS = 10, {"sve": 41, "famille": 42}, {"sve": 11, "famille": 12}


def desired(themes=(SVE, FAMILLE)) -> Desired:
    return Desired(parent=dict(PARENT), themes=list(themes), required_settings=dict(REQUIRED_SETTINGS))


def conforming(want: Desired, plugin_fields=True) -> Actual:
    """The forum exactly as a previous run left it, with the memory of that run."""
    ids = {"parent": PARENT_ID, **{f"group:{t.group}": GROUP_IDS[t.slug] for t in want.themes}}
    actual = Actual(memory={"parent": {"category_id": PARENT_ID, "applied": dict(PARENT)},
                            "themes": {}, "groups": {}},
                    plugin_fields=plugin_fields,
                    settings={name: True for name in REQUIRED_SETTINGS},
                    parent=ActualCategory(PARENT_ID, dict(PARENT)),
                    users={"anne@meyzieu.fr": "anne"})
    for theme in want.themes:
        values = category_target(theme, ids, [], plugin_fields, PARENT)
        actual.themes[theme.slug] = ActualCategory(CATEGORY_IDS[theme.slug], dict(values))
        actual.memory["themes"][theme.slug] = {"category_id": CATEGORY_IDS[theme.slug],
                                               "applied": dict(values)}
        leads = {actual.users[e] for e in theme.lead_emails}
        actual.groups[theme.group] = ActualGroup(GROUP_IDS[theme.slug], theme.group_full_name,
                                                 owners=set(leads), members=set(leads))
        actual.memory["groups"][theme.group] = {actual.users[e]: e for e in theme.lead_emails}  # made by that run
    return actual


def test_empty_forum_plans_everything_in_apply_order():
    actual = Actual(memory={}, settings={name: True for name in REQUIRED_SETTINGS},
                    users={"anne@meyzieu.fr": "anne"})
    result = plan(desired(), actual)
    assert [type(c) for c in result.changes] == [
        CreateCategory, CreateGroup, AddOwners, CreateGroup, CreateCategory, CreateCategory]
    parent, sve_group, owners = result.changes[:3]
    assert parent.after == PARENT and parent.drift is False and parent.spec.theme is None
    assert (sve_group.group, sve_group.full_name) == ("animateurs-sve", "Animateurs SVE")
    assert owners.usernames == ["anne"] and owners.before == [] and owners.after == ["anne"]
    sve = result.changes[4]
    # ids not known yet are shown as « to create », and resolved when applied
    assert sve.after["parent_category_id"] == "« Club Publik » (à créer)"
    assert sve.after["moderating_group_ids"] == ["animateurs-sve (à créer)"]
    assert sve.spec.values({"parent": 5, "group:animateurs-sve": 6})["moderating_group_ids"] == [6]
    assert result.ids == {"parent": None, "group:animateurs-sve": None,
                          "group:animateurs-famille": None}
    assert result.warnings == [] and result.missing_accounts == []
    assert not any(c.reported_only for c in result.changes)


def test_forum_as_last_left_plans_zero_changes():
    want = desired()
    actual = conforming(want)
    result = plan(want, actual)
    assert result.changes == [] and result.warnings == []
    assert result.memory == actual.memory
    assert result.before["themes"]["sve"] == result.after["themes"]["sve"]


def test_hand_edit_is_drift_reported_only_unless_repair():
    want = desired()
    actual = conforming(want)
    actual.themes["sve"].values["color"] = "FF0000"
    actual.themes["sve"].values["moderating_group_ids"] = []
    [color, mods] = plan(want, actual).changes
    assert (type(color), color.field, color.before, color.after) == (
        UpdateCategory, "color", "FF0000", "0088CC")
    assert (mods.field, mods.before, mods.after) == ("moderating_group_ids", [], [41])
    assert color.drift and color.reported_only and mods.reported_only
    assert color.describe() == "dérive : catégorie « SVE » (sve) : couleur : « FF0000 » → « 0088CC »"
    repaired = plan(want, actual, repair=True).changes
    assert [(c.field, c.drift, c.reported_only) for c in repaired] == [
        ("color", True, False), ("moderating_group_ids", True, False)]


def test_settings_change_is_not_drift_even_where_the_forum_was_edited():
    actual = conforming(desired())
    actual.themes["famille"].values["color"] = "FF0000"
    recolored = DesiredTheme(**{**vars(FAMILLE), "color": "123ABC"})
    [change] = plan(desired((SVE, recolored)), actual).changes
    assert (change.field, change.before, change.after, change.drift, change.reported_only) == (
        "color", "FF0000", "123ABC", False, False)


def test_renamed_theme_renames_category_and_group():
    actual = conforming(desired())
    renamed = DesiredTheme(**{**vars(SVE), "name": "Saisine", "group_full_name": "Animateurs Saisine"})
    changes = plan(desired((renamed, FAMILLE)), actual).changes
    assert [(type(c), c.field, c.before, c.after) for c in changes] == [
        (RenameGroup, "full_name", "Animateurs SVE", "Animateurs Saisine"),
        (UpdateCategory, "name", "SVE", "Saisine")]
    assert changes[0].group_id == 41 and changes[1].category_id == 11


def test_category_deleted_by_hand_is_drift_to_recreate():
    actual = conforming(desired())
    actual.themes["famille"] = None
    [change] = plan(desired(), actual).changes
    assert isinstance(change, CreateCategory) and change.drift and change.reported_only
    assert change.describe().startswith(
        "dérive : catégorie « Portail famille » (famille) : à recréer (supprimé sur le forum)")
    [change] = plan(desired(), actual, repair=True).changes
    assert not change.reported_only
    assert change.spec.values({"parent": 10, "group:animateurs-famille": 42})[
        "parent_category_id"] == 10


def test_missing_and_new_lead_accounts():
    actual = conforming(desired())
    actual.users["anne@meyzieu.fr"] = None  # no account (or a staged one)
    result = plan(desired(), actual)
    assert result.changes == [] and result.missing_accounts == [("sve", "anne@meyzieu.fr")]
    actual = conforming(desired())
    actual.groups["animateurs-sve"] = ActualGroup(41, "Animateurs SVE", owners=set(), members={"anne"})
    [owners] = plan(desired(), actual).changes
    assert isinstance(owners, AddOwners) and owners.usernames == ["anne"]
    assert owners.describe() == ("groupe « animateurs-sve » : animateurs (membres et "
                                 "propriétaires) à ajouter : anne")


def test_settings_off_or_unreadable():
    actual = conforming(desired())
    actual.settings["retry_web_hook_events"] = "f"
    del actual.settings["enable_category_group_moderation"]
    actual.setting_errors["enable_category_group_moderation"] = "403 interdit"
    dry = plan(desired(), actual, dry_run=True)
    assert [(type(c), c.name) for c in dry.changes] == [(EnableSetting, "retry_web_hook_events")]
    assert "impossible de lire le réglage « enable_category_group_moderation »" in dry.warnings[0]
    assert "(403 interdit)" in dry.warnings[0]
    assert dry.warnings[1].endswith("il serait activé par le provisionnement.")
    assert plan(desired(), actual).warnings[1].endswith("il est activé par le provisionnement.")


def test_without_the_plugin_custom_fields_are_not_compared():
    actual = conforming(desired(), plugin_fields=False)
    assert plan(desired(), actual).changes == []
    actual.plugin_fields = True
    changes = plan(desired(), actual).changes
    assert {(c.spec.key, c.field, c.sent_as) for c in changes} == {
        ("sve", "forumsync_theme", "custom"), ("sve", "forumsync_lead", "custom"),
        ("famille", "forumsync_theme", "custom")}  # famille has no lead: None is left alone


def test_plan_does_not_change_its_inputs():
    want, actual = desired(), conforming(desired())
    actual.themes["sve"].values["name"] = "Autre"
    frozen = copy.deepcopy((vars(want), actual.memory, actual.themes["sve"].values))
    result = plan(want, actual)
    result.memory["themes"]["sve"]["applied"] = {}
    assert copy.deepcopy((vars(want), actual.memory, actual.themes["sve"].values)) == frozen


def test_matching_order_memory_custom_field_slug_name_under_parent():
    categories = [
        {"id": 1, "name": "Club Publik", "slug": "club-publik"},
        {"id": 2, "name": "Autre", "slug": "autre", "parent_category_id": 1,
         "custom_fields": {"forumsync_theme": "sve"}},
        {"id": 3, "name": "SVE", "slug": "sve", "parent_category_id": 1},
        {"id": 4, "name": "Portail famille", "slug": "pf", "parent_category_id": 1},
        {"id": 5, "name": "Portail famille", "slug": "famille"},  # not under the parent
    ]
    want = desired()
    assert match_parent(categories, {}, PARENT)["id"] == 1
    assert {k: v["id"] for k, v in match_themes(categories, {}, want, 1).items()} == {
        "sve": 2, "famille": 4}
    memory = {"themes": {"sve": {"category_id": 3}}}
    assert match_themes(categories, memory, want, 1)["sve"]["id"] == 3
    assert match_themes(categories, {}, want, None) == {"sve": categories[1], "famille": None}
    assert match_parent(categories, {"parent": {"category_id": 4}}, PARENT)["id"] == 4


def test_a_switch_is_shown_in_french():
    from forumsync.themes.changes import _show

    assert (_show(False), _show(True)) == ("non", "oui")  # was « False » → « True »
