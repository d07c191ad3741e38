"""The local forum's discourse-forumsync endpoints and the gateway, against the contract
fixtures the Ruby plugin's specs also check (plugin/spec/fixtures/contract/)."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from forumsync.forum.gateway import ForumGateway, ForumRejected
from forumsync.localforum import plugin_api, plugin_params
from forumsync.localforum.models import Post, User
from tests.themes import contract

ENDPOINTS = ["capabilities", "posts_create", "posts_by_message_id", "staged_senders"]


def run_contract(forum, name: str, encoding: str = "json") -> dict:
    """Run every case of NAME in order against FORUM; returns the bodies by case name."""
    spec = contract.load(name)
    variables = {}
    if "category" in spec.get("setup", {}):
        variables["category_id"] = forum.create_category(**spec["setup"]["category"])["id"]
    for setting, value in spec.get("setup", {}).get("site_settings", {}).items():
        forum.set_site_setting(setting, value)
    forum.create_user("membre", "membre@example.org", "Simple membre")
    bodies: dict = {}
    problems: list[str] = []
    for item in spec["cases"]:
        request = item["request"]
        params = {k: contract.resolve(v, bodies, variables) for k, v in request["params"].items()}
        headers = forum.headers("membre" if item.get("auth") == "user" else None)
        url = forum.url + request["path"]
        if request["method"] == "GET":
            response = requests.get(url, params=params, headers=headers, timeout=10)
        elif encoding == "json":
            response = requests.post(url, json=params, headers=headers, timeout=10)
        else:
            response = requests.post(url, data={k: str(v) for k, v in params.items()},
                                     headers=headers, timeout=10)
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        problems += contract.check_response(response.status_code, body, item["response"], bodies,
                                            variables, where=f"{name}/{item['name']}")
        bodies[item["name"]] = body
    assert problems == []
    return bodies


@pytest.mark.parametrize("name", ENDPOINTS)
def test_local_forum_follows_the_contract(localforum, name):
    run_contract(localforum, name)


def test_posts_contract_with_form_encoded_bodies(localforum):
    run_contract(localforum, "posts_create", encoding="form")


def test_staged_users_and_posts_created_once(localforum):
    bodies = run_contract(localforum, "posts_create")
    with localforum.session() as s:
        staged = s.scalars(select(User).where(User.staged.is_(True)).order_by(User.id)).all()
        assert [(u.email, u.active) for u in staged] == [
            ("marie.curie@example.org", False), ("jean.martin@mairie.example.fr", False)]
        topic_id = bodies["new_topic"]["topic_id"]
        posts = s.scalars(select(Post).where(Post.topic_id == topic_id).order_by(Post.post_number)).all()
        assert [(p.post_number, p.user.email) for p in posts] == [
            (1, "marie.curie@example.org"), (2, "jean.martin@mairie.example.fr"),
            (3, "marie.curie@example.org")]
        assert posts[0].topic.external_id == "ml-0123456789abcdef0123456789abcdef01234567"
        assert s.get(plugin_api.MessageIdLink, "sve-1@listes.example.org").post_id == posts[0].id


def test_staged_user_cannot_post_through_the_regular_api(localforum):
    run_contract(localforum, "posts_create")
    with localforum.session() as s:
        marie = s.scalar(select(User).where(User.email == "marie.curie@example.org"))
        username = marie.username
    response = requests.post(localforum.url + "/posts.json", headers=localforum.headers(username),
                             json={"topic_id": 1, "raw": "Je poste moi-même"}, timeout=10)
    assert response.status_code == 403


@pytest.mark.parametrize("row", contract.load("message_id")["cases"], ids=lambda r: repr(r["input"]))
def test_message_id_normalisation_table(row):
    assert plugin_params.normalize_message_id(row["input"]) == row["normalized"]


def test_message_id_maximum_length():
    limit = contract.load("message_id")["max_length"]
    ok = "a" * (limit - 12) + "@example.org"
    assert plugin_params.normalize_message_id(f"<{ok}>") == ok
    assert plugin_params.normalize_message_id(f"<a{ok}>") is None


# ------------------------------------------------------------------ through the gateway
def gateway(forum) -> ForumGateway:
    return ForumGateway(forum.url, forum.api_key, forum.username, retries=0)


def test_gateway_capabilities_match_the_contract(localforum):
    gw = gateway(localforum)
    expected = contract.case("capabilities", "capabilities")["response"]
    body = gw.capabilities()
    assert contract.check_response(200, body, expected, {}, {}) == []
    assert gw.capabilities() is body  # cached: one request
    assert gw.stats["GET"] == 1


def test_gateway_staged_posts_match_the_contract(localforum):
    gw = gateway(localforum)
    category_id = localforum.create_category("SVE", slug="sve")["id"]
    variables = {"category_id": category_id}
    bodies: dict = {}
    for name in ("new_topic", "repeat", "reply"):
        item = contract.case("posts_create", name)
        p = {k: contract.resolve(v, bodies, variables) for k, v in item["request"]["params"].items()}
        body = gw.staged_post_create(
            email=p["email"], name=p.get("name"), raw=p["raw"], message_id=p["message_id"],
            topic_id=p.get("topic_id"), title=p.get("title"), category_id=p.get("category_id"),
            reply_to_post_number=p.get("reply_to_post_number"), created_at=p.get("created_at"),
            external_id=p.get("external_id"))
        expected = dict(item["response"], status=200)  # the gateway does not expose the status
        assert contract.check_response(200, body, expected, bodies, variables, where=name) == []
        bodies[name] = body
    assert gw.stats["writes"] == 3
    with localforum.session() as s:
        assert s.scalar(select(Post.id).where(Post.topic_id == bodies["new_topic"]["topic_id"],
                                              Post.post_number == 3)) is None


def test_gateway_lookup_matches_the_contract(localforum):
    gw = gateway(localforum)
    category_id = localforum.create_category("Open data", slug="open-data")["id"]
    create = contract.case("posts_by_message_id", "create")["request"]["params"]
    created = gw.staged_post_create(
        email=create["email"], name=create["name"], raw=create["raw"], title=create["title"],
        category_id=category_id, message_id=create["message_id"], created_at=create["created_at"])
    bodies = {"create": created}
    found = contract.case("posts_by_message_id", "found")
    body = gw.post_by_message_id(found["request"]["params"]["message_id"])
    assert contract.check_response(200, body, found["response"], bodies, {}) == []
    assert gw.post_by_message_id("<inconnu@example.org>") is None


POST_FILES = contract.load("post_files")


@pytest.mark.parametrize("row", POST_FILES["cases"], ids=lambda row: row["name"])
def test_post_files_table(row):
    files = plugin_params.PostFiles(row["raw"], row["files"])
    assert files.errors == row["errors"]
    if row["result"] is not None:
        assert files.substitute(row["urls"]) == row["result"]


def test_post_files_maximum_matches_the_contract():
    assert plugin_params.MAX_FILES == POST_FILES["max_files"]


def test_gateway_sends_files_with_the_post_in_one_call(localforum):
    gw = gateway(localforum)
    category_id = localforum.create_category("Portail famille", slug="portail-famille")["id"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    body = gw.staged_post_create(
        email="agent@meyzieu.fr", name="Agent Meyzieu", title="Inscriptions périscolaires",
        raw="La maquette :\n\n![maquette.png](forumsync-file:0)\n\n[réglement.pdf|attachment](forumsync-file:1)",
        category_id=category_id, message_id="<files-1@meyzieu.fr>", tags=["famille"],
        files=[("maquette.png", png, "image/png"), ("réglement.pdf", b"%PDF-1.4 x", "application/pdf")])
    assert gw.stats["writes"] == 1 and body["created"] is True
    post = gw.post_get(body["id"])
    assert "forumsync-file" not in post["raw"]
    assert post["raw"].count("](upload://") == 2
    assert "/uploads/" in post["cooked"]
    topic = gw.topic_get(body["topic_id"])
    assert topic["tags"] == ["famille"] or [t.get("name") for t in topic["tags"]] == ["famille"]
    again = gw.staged_post_create(
        email="agent@meyzieu.fr", name="Agent Meyzieu", title="Inscriptions périscolaires",
        raw="![maquette.png](forumsync-file:0)", category_id=category_id,
        message_id="<files-1@meyzieu.fr>", files=[("maquette.png", png, "image/png")])
    assert again["created"] is False and again["id"] == body["id"]


def test_plugin_refuses_a_post_whose_file_is_too_big_and_creates_nothing(localforum):
    gw = gateway(localforum)
    category_id = localforum.create_category("Open data", slug="open-data")["id"]
    localforum.set_site_setting("max_attachment_size_kb", 1)
    with pytest.raises(ForumRejected) as refused:
        gw.staged_post_create(
            email="agent@grandlyon.com", name="Agent", title="Jeu de données",
            raw="[donnees.csv|attachment](forumsync-file:0)", category_id=category_id,
            message_id="<big-1@grandlyon.com>", files=[("donnees.csv", b"a;b\n" * 1000, "text/csv")])
    assert refused.value.status == 422
    assert "« donnees.csv » refusée par le forum" in refused.value.errors[0]
    assert "1 Ko" in refused.value.errors[0]
    assert gw.post_by_message_id("<big-1@grandlyon.com>") is None
    with localforum.session() as s:
        assert s.scalar(select(User.id).where(User.email == "agent@grandlyon.com")) is None
