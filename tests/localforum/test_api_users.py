"""Users over real HTTP, validated against Discourse's spec."""
import pytest

from tests.localforum.openapi import SpecClient


@pytest.fixture
def api(localforum):
    return SpecClient(localforum)


def test_create_user_then_find_by_email(api, localforum):
    response = api.post("/users.json", json={"name": "Alice Martin", "email": "Alice@Example.org",
                                             "username": "alice", "password": "motdepasse-long",
                                             "active": True, "approved": True})
    body = response.json()
    assert body["success"] is True and body["active"] is True
    found = api.get("/admin/users/list/all.json", params={"email": "alice@example.org"}).json()
    assert [(u["username"], u["email"]) for u in found] == [("alice", "alice@example.org")]
    # an empty answer is what Discourse sends, though the spec asks for minItems 1
    assert api.get("/admin/users/list/active.json", params={"email": "nobody@example.org"},
                   spec=False).json() == []


def test_email_filter_is_exact(api, localforum):
    localforum.create_user("bob", "bob@example.org")
    localforum.create_user("bobby", "bob@example.org.evil")
    found = api.get("/admin/users/list/all.json", params={"email": "bob@example.org"}).json()
    assert [u["username"] for u in found] == ["bob"]
    # pydiscourse builds the query string by hand; a "+" must be URL-encoded by the caller
    localforum.create_user("plus", "a+b@example.org")
    encoded = api.get("/admin/users/list/all.json?email=a%2Bb%40example.org").json()
    assert [u["username"] for u in encoded] == ["plus"]


def test_staged_users_listed_with_flag(api, localforum):
    localforum.create_user("staged1", "staged@example.org", staged=True)
    assert api.get("/admin/users/list/active.json", params={"email": "staged@example.org"},
                   spec=False).json() == []
    staged = api.get("/admin/users/list/all.json", params={"email": "staged@example.org"}).json()
    assert staged[0]["staged"] is True and staged[0]["active"] is False


def test_duplicate_user_answers_success_false(api, localforum):
    localforum.create_user("carole", "carole@example.org")
    # Discourse answers 200 with success false (outside the spec's 200 schema)
    body = api.post("/users.json", spec=False, json={
        "name": "C", "email": "carole@example.org", "username": "carole2",
        "password": "x" * 12}).json()
    assert body["success"] is False
    assert "Primary email has already been taken" in body["message"]


def test_get_user(api, localforum):
    localforum.create_user("denis", "denis@example.org", "Denis")
    user = api.get("/u/denis.json").json()["user"]
    assert user["username"] == "denis" and user["name"] == "Denis"
    assert api.get("/u/personne.json").status_code == 404
    assert localforum.client().user("denis")["username"] == "denis"  # /users/{u}.json


def test_user_by_external_id(api, localforum):
    localforum.create_user("ext", "ext@example.org", external_id="sso-42")
    assert api.get("/u/by-external/sso-42.json").json()["user"]["username"] == "ext"


def test_only_staff_list_users(localforum):
    localforum.create_user("eve", "eve@example.org")
    response = SpecClient(localforum, "eve").get("/admin/users/list/all.json")
    assert response.status_code == 403


def test_pydiscourse_create_user_with_honeypot(localforum):
    created = localforum.client().create_user("Zoé", "zoe", "zoe@example.org", "un-mot-de-passe",
                                              active="true")
    assert created["success"] is True and created["active"] is True
    assert localforum.client().user("zoe")["name"] == "Zoé"
