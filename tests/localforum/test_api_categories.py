"""Categories over real HTTP, validated against Discourse's spec."""
import pytest

from tests.localforum.openapi import SpecClient


@pytest.fixture
def api(localforum):
    return SpecClient(localforum)


def test_create_category_with_permissions_and_moderators(api, localforum):
    group = localforum.create_group("animateurs-sve")
    localforum.set_site_setting("enable_category_group_moderation", True)  # else dropped
    response = api.post("/categories.json", json={
        "name": "Club Publik", "color": "2B4C7E", "text_color": "FFFFFF",
        "permissions": {"everyone": 1}, "description": "Parent"})
    parent = response.json()["category"]
    assert parent["slug"] == "club-publik" and parent["read_restricted"] is False
    child = api.post("/categories.json", json={
        "name": "SVE", "color": "0088CC", "parent_category_id": parent["id"],
        "permissions": {"membres": 1, "everyone": 3},
        "moderating_group_ids": [group["id"]],
        "custom_fields": {"forumsync_theme": "sve"}}).json()["category"]
    assert child["parent_category_id"] == parent["id"]
    assert child["moderating_group_ids"] == [group["id"]]
    assert child["custom_fields"] == {"forumsync_theme": "sve"}
    assert {(p["group_name"], p["permission_type"]) for p in child["group_permissions"]} == {
        ("membres", 1), ("everyone", 3)}
    shown = api.get(f"/c/{child['id']}/show.json").json()["category"]
    assert shown["parent_category_id"] == parent["id"]


def test_restricted_category(api, localforum):
    created = api.post("/categories.json", json={"name": "Privée", "color": "000000",
                                                 "permissions": {"membres": 1}}).json()["category"]
    assert created["read_restricted"] is True
    localforum.create_user("anne", "anne@example.org")
    anne = SpecClient(localforum, "anne")
    assert anne.get(f"/c/{created['id']}/show.json").status_code == 403
    assert created["id"] not in [c["id"] for c in anne.get("/categories.json").json()
                                 ["category_list"]["categories"]]


def test_create_category_form_body_pydiscourse(localforum):
    client = localforum.client()  # POST /categories, form with permissions[everyone]
    created = client.create_category("Catalogue des démarches", "FF0000")["category"]
    assert created["slug"] == "catalogue-des-demarches"
    assert created["group_permissions"] == [{"permission_type": 1, "group_name": "everyone",
                                             "group_id": 0}]
    sub = client.create_category("Meyzieu", "00FF00", parent="Catalogue des démarches")["category"]
    assert sub["parent_category_id"] == created["id"]


def test_update_category(api, localforum):
    localforum.set_site_setting("enable_category_group_moderation", True)  # else dropped
    parent = localforum.create_category("Parent")
    category = localforum.create_category("Thème", custom_fields={"a": "1"})
    response = api.put(f"/categories/{category['id']}.json", json={
        "name": "Thème renommé", "parent_category_id": parent["id"],
        "permissions": {"everyone": 2}, "moderating_group_ids": [1],
        "custom_fields": {"b": "2"}})
    body = response.json()
    assert body["success"] == "OK"
    updated = body["category"]
    assert updated["name"] == "Thème renommé" and updated["parent_category_id"] == parent["id"]
    assert updated["custom_fields"] == {"a": "1", "b": "2"}
    assert updated["moderating_group_ids"] == [1]
    # pydiscourse: PUT /categories/{id} with JSON
    localforum.client().update_category(category["id"], name="Encore")
    assert api.get(f"/c/{category['id']}/show.json").json()["category"]["name"] == "Encore"


def test_duplicate_category_name_is_refused(api, localforum):
    localforum.create_category("Doublon")
    response = api.post("/categories.json", json={"name": "Doublon", "color": "000000"})
    assert response.status_code == 422
    assert response.json()["errors"] == ["Category Name has already been taken"]


def test_list_with_subcategories(api, localforum):
    parent = localforum.create_category("Club Publik")
    child = localforum.create_category("SVE", parent="Club Publik")
    top = api.get("/categories.json").json()["category_list"]["categories"]
    assert child["id"] not in [c["id"] for c in top]
    item = next(c for c in top if c["id"] == parent["id"])
    assert item["subcategory_ids"] == [child["id"]] and item["has_children"] is True
    nested = api.get("/categories.json", params={"include_subcategories": "true"}).json()
    item = next(c for c in nested["category_list"]["categories"] if c["id"] == parent["id"])
    assert [c["id"] for c in item["subcategory_list"]] == [child["id"]]
    assert item["subcategory_list"][0]["parent_category_id"] == parent["id"]


def test_category_topic_list(api, localforum):
    parent = localforum.create_category("Club Publik")
    child = localforum.create_category("SVE", parent=parent["id"])
    for title, category in (("Sujet dans le parent", parent), ("Sujet dans l'enfant", child)):
        api.post("/posts.json", json={"title": title, "raw": "Un message classé dans la catégorie.",
                                      "category": category["id"]})
    listing = api.get(f"/c/club-publik/{parent['id']}.json").json()
    # each category's pinned About topic is listed too, first, as on Discourse
    titles = [t["title"] for t in listing["topic_list"]["topics"]]
    assert sorted(titles[:2]) == ["About the Club Publik category", "About the SVE category"]
    assert sorted(titles[2:]) == ["Sujet dans l'enfant", "Sujet dans le parent"]
    assert listing["users"][0]["username"] == "system"
    only = api.get(f"/c/club-publik/{parent['id']}/none.json", spec=False).json()
    assert [t["title"] for t in only["topic_list"]["topics"]] == [
        "About the Club Publik category", "Sujet dans le parent"]
    child_list = localforum.client().category_topics(child["id"])  # /c/{id}.json → 301
    assert [t["title"] for t in child_list["topic_list"]["topics"]] == [
        "About the SVE category", "Sujet dans l'enfant"]


def test_members_cannot_create_categories(localforum):
    localforum.create_user("membre", "membre@example.org")
    response = SpecClient(localforum, "membre").post("/categories.json",
                                                     json={"name": "Non", "color": "000000"})
    assert response.status_code == 403
