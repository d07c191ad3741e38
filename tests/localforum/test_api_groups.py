"""Groups over real HTTP, validated against Discourse's spec."""
import pytest
from pydiscourse.exceptions import DiscourseClientError

from tests.localforum.openapi import SpecClient


@pytest.fixture
def api(localforum):
    return SpecClient(localforum)


def test_create_list_show_group(api, localforum):
    created = api.post("/admin/groups.json", json={"group": {
        "name": "animateurs-sve", "full_name": "Animateurs SVE"}}).json()["basic_group"]
    assert created["name"] == "animateurs-sve" and created["full_name"] == "Animateurs SVE"
    names = [g["name"] for g in api.get("/groups.json").json()["groups"]]
    assert "animateurs-sve" in names
    shown = api.get("/groups/animateurs-sve.json").json()["group"]
    assert shown["id"] == created["id"]
    assert api.get(f"/groups/by-id/{created['id']}.json").json()["group"]["name"] == "animateurs-sve"
    assert api.get("/groups/inconnu.json").status_code == 404
    # pydiscourse: POST /admin/groups (JSON, extra legacy fields ignored)
    other = localforum.client().create_group("membres")["basic_group"]
    assert other["name"] == "membres"
    assert api.post("/admin/groups.json", json={"group": {"name": "membres"}}).status_code == 422


def test_members_and_owners(api, localforum):
    for name in ("alice", "bob", "carole"):
        localforum.create_user(name, f"{name}@example.org")
    group = localforum.create_group("meyzieu")
    added = api.put(f"/groups/{group['id']}/members.json", json={"usernames": "alice,bob"}).json()
    assert added == {"success": "OK", "usernames": ["alice", "bob"], "emails": []}
    again = api.put(f"/groups/{group['id']}/members.json", json={"usernames": "alice"})
    assert again.status_code == 422  # like Discourse: already a member
    owners = api.put(f"/groups/{group['id']}/owners.json", spec=False,
                     data={"usernames": "carole"}).json()
    assert owners["usernames"] == ["carole"]
    members = api.get("/groups/meyzieu/members.json").json()
    assert [m["username"] for m in members["members"]] == ["alice", "bob", "carole"]
    assert [o["username"] for o in members["owners"]] == ["carole"]
    assert members["meta"]["total"] == 3
    removed = api.delete(f"/groups/{group['id']}/members.json", json={"usernames": "bob"})
    assert removed.json()["usernames"] == ["bob"]
    client = localforum.client()
    assert [m["username"] for m in client.group_members("meyzieu")] == ["alice", "carole"]
    assert [o["username"] for o in client.group_owners("meyzieu")] == ["carole"]
    client.add_group_members(group["id"], ["bob"])
    with pytest.raises(DiscourseClientError):
        client.add_group_member(group["id"], "personne")


def test_group_owner_manages_members_others_cannot(localforum):
    localforum.create_user("owner", "owner@example.org")
    localforum.create_user("member", "member@example.org")
    group = localforum.create_group("equipe", owners=["owner"])
    outsider = SpecClient(localforum, "member")
    assert outsider.put(f"/groups/{group['id']}/members.json",
                        json={"usernames": "member"}).status_code == 403
    owner = SpecClient(localforum, "owner")
    assert owner.put(f"/groups/{group['id']}/members.json",
                     json={"usernames": "member"}).status_code == 200


def test_delete_group(api, localforum):
    group = localforum.create_group("temporaire")
    assert api.delete(f"/admin/groups/{group['id']}.json").json() == {"success": "OK"}
    assert api.get("/groups/temporaire.json").status_code == 404


def test_update_group(api, localforum):
    localforum.create_user("alice", "alice@example.org")
    group = localforum.create_group("equipe")
    response = api.put(f"/groups/{group['id']}.json", json={"group": {
        "name": "equipe", "full_name": "L'équipe", "usernames": "alice"}})
    assert response.json() == {"success": "OK"}
    shown = api.get("/groups/equipe.json").json()["group"]
    assert shown["full_name"] == "L'équipe"
    members = api.get("/groups/equipe/members.json").json()["members"]
    assert [m["username"] for m in members] == ["alice"]
