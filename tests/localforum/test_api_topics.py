"""Topics and posts over real HTTP, each response validated against Discourse's spec."""
import pytest
from pydiscourse.exceptions import DiscourseClientError

from tests.localforum.openapi import SpecClient

JSON_TYPE = "application/json; charset=utf-8"


@pytest.fixture
def api(localforum):
    return SpecClient(localforum)


@pytest.fixture
def category(localforum):
    return localforum.create_category("Club Publik")


def new_topic(api, category, title="Un sujet de test", raw="Bonjour **à tous**", **extra):
    response = api.post("/posts.json", json={"title": title, "raw": raw,
                                             "category": category["id"], **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_create_topic_json_body_returns_discourse_post(api, category):
    response = api.post("/posts.json", json={"title": "Première question", "raw": "Texte *riche*",
                                             "category": category["id"],
                                             "created_at": "2024-03-01T10:00:00+01:00",
                                             "external_id": "ml-abc123", "tags": ["sve", "Open Data"]})
    assert response.headers["Content-Type"] == JSON_TYPE
    post = response.json()
    assert post["post_number"] == 1
    assert post["username"] == "system"
    assert post["cooked"] == "<p>Texte <em>riche</em></p>"
    assert post["raw"] == "Texte *riche*"
    assert post["created_at"] == "2024-03-01T09:00:00.000Z"
    topic = api.get(f"/t/{post['topic_id']}.json").json()
    assert topic["title"] == "Première question"
    assert topic["category_id"] == category["id"]
    assert topic["external_id"] == "ml-abc123"
    assert [t["name"] for t in topic["tags"]] == ["open-data", "sve"]
    assert topic["post_stream"]["stream"] == [post["id"]]


def test_create_topic_form_body_without_json_suffix(localforum, category):
    client = localforum.client()  # pydiscourse: POST /posts, form-encoded, tags[]
    post = client.create_post("Corps du message", category_id=category["id"],
                              title="Sujet par formulaire", tags=["famille"])
    topic = client.topic("x", post["topic_id"])
    assert [t["name"] for t in topic["tags"]] == ["famille"]
    assert ("POST", "/posts") in localforum.requests


def test_reply_and_topic_view(api, category):
    first = new_topic(api, category)
    reply = api.post("/posts", data={"topic_id": first["topic_id"], "raw": "Une réponse",
                                     "reply_to_post_number": "1"}, spec=False).json()
    assert reply["post_number"] == 2
    assert reply["reply_to_post_number"] == 1
    view = api.get(f"/t/{first['topic_id']}.json").json()
    assert [p["post_number"] for p in view["post_stream"]["posts"]] == [1, 2]
    assert view["post_stream"]["posts"][1]["reply_to_post_number"] == 1
    assert view["posts_count"] == 2
    assert view["closed"] is False and view["archived"] is False and view["visible"] is True
    assert view["deleted_at"] is None
    by_slug = api.get(f"/t/{view['slug']}/{view['id']}.json", spec=False).json()
    assert by_slug["id"] == view["id"]
    bare = api.get(f"/t/{view['id']}", spec=False)  # no .json: same JSON, same content type
    assert bare.headers["Content-Type"] == JSON_TYPE and bare.json()["id"] == view["id"]


def test_get_and_update_post(api, localforum, category):
    post = new_topic(api, category, raw="Avant")
    shown = api.get(f"/posts/{post['id']}.json").json()
    assert shown["raw"] == "Avant" and shown["cooked"] == "<p>Avant</p>"
    updated = api.put(f"/posts/{post['id']}.json",
                      json={"post": {"raw": "Après", "edit_reason": "correction"}}).json()["post"]
    assert updated["raw"] == "Après" and updated["version"] == 2
    assert updated["edit_reason"] == "correction"
    # pydiscourse: PUT /posts/{id} with form post[raw]
    again = localforum.client().update_post(post["id"], "Encore", "bis")["post"]
    assert again["cooked"] == "<p>Encore</p>"


def test_external_id_redirects(api, category):
    post = new_topic(api, category, external_id="wcs-demarche-42")
    response = api.get("/t/external_id/wcs-demarche-42.json")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/t/un-sujet-de-test/{post['topic_id']}.json")
    assert api.get("/t/external_id/inconnu.json").status_code == 404


def test_external_id_validation(api, category):
    new_topic(api, category, external_id="dup-1")
    response = api.post("/posts.json", json={"title": "Autre", "raw": "x",
                                             "category": category["id"], "external_id": "dup-1"})
    assert response.status_code == 422
    assert response.json()["errors"] == ["External ID has already been taken"]
    bad = api.post("/posts.json", json={"title": "Autre", "raw": "x", "category": category["id"],
                                        "external_id": "espace interdite"})
    assert bad.status_code == 422


def test_retitle_and_move_topic(api, localforum, category):
    other = localforum.create_category("Autre catégorie")
    post = new_topic(api, category)
    response = api.put(f"/t/-/{post['topic_id']}.json",
                       json={"title": "Titre corrigé", "category_id": other["id"]})
    assert response.json()["basic_topic"]["title"] == "Titre corrigé"
    view = api.get(f"/t/{post['topic_id']}.json").json()
    assert view["category_id"] == other["id"] and view["slug"] == "titre-corrige"
    # pydiscourse spelling: PUT /t/{slug}/{id} form-encoded
    localforum.client().update_topic(f"/t/titre-corrige/{post['topic_id']}", "Troisième titre")
    assert api.get(f"/t/{post['topic_id']}.json").json()["title"] == "Troisième titre"


@pytest.mark.parametrize("status", ["closed", "archived", "visible", "pinned"])
def test_topic_status(api, category, status):
    post = new_topic(api, category)
    enabled = status != "visible"
    response = api.put(f"/t/{post['topic_id']}/status.json",
                       json={"status": status, "enabled": "true" if enabled else "false"})
    assert response.json() == {"success": "OK", "topic_status_update": None}
    view = api.get(f"/t/{post['topic_id']}.json").json()
    assert view[status] is enabled


def test_status_via_pydiscourse(localforum, category):
    client = localforum.client()
    post = client.create_post("x", category_id=category["id"], title="Fermer")
    client.update_topic_status(post["topic_id"], "closed", True)
    assert client.topic("x", post["topic_id"])["closed"] is True
    assert ("PUT", f"/t/{post['topic_id']}/status") in localforum.requests


def test_closed_topic_refuses_members_but_not_staff(api, localforum, category):
    localforum.create_user("alice", "alice@example.org")
    post = new_topic(api, category)
    api.put(f"/t/{post['topic_id']}/status.json", json={"status": "closed", "enabled": "true"})
    alice = SpecClient(localforum, "alice")
    refused = alice.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "Encore moi"})
    assert refused.status_code == 403
    assert refused.json()["error_type"] == "invalid_access"
    assert api.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "Staff"}).status_code == 200


def test_delete_topic_is_soft_and_blocks_replies(api, localforum, category):
    localforum.create_user("bob", "bob@example.org")
    post = new_topic(api, category)
    response = api.delete(f"/t/{post['topic_id']}.json")
    assert response.status_code == 200
    bob = SpecClient(localforum, "bob")
    assert bob.get(f"/t/{post['topic_id']}.json").status_code == 404
    assert bob.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "x"}).status_code == 404
    # staff still sees it, marked deleted
    assert api.get(f"/t/{post['topic_id']}.json").json()["deleted_at"] is not None
    # pydiscourse: DELETE /t/{id} (empty body accepted)
    other = new_topic(api, category, title="Deuxième")
    assert localforum.client().delete_topic(other["topic_id"]) is None


def test_validation_lengths(api, localforum, category):
    localforum.set_site_setting("min_topic_title_length", 15)
    localforum.set_site_setting("min_first_post_length", 20)
    response = api.post("/posts.json", json={"title": "Court", "raw": "trop court",
                                             "category": category["id"]})
    assert response.status_code == 422
    assert response.json()["errors"] == ["Title is too short (minimum is 15 characters)",
                                         "Body is too short (minimum is 20 characters)"]
    with pytest.raises(DiscourseClientError):
        localforum.client().create_post("x", category_id=category["id"], title="Court")
    assert api.post("/posts.json", json={"title": "x"}).status_code == 400  # raw missing


def test_default_lengths_accept_list_mail(api, category):
    assert new_topic(api, category, title="?", raw="+1")["post_number"] == 1


def test_private_message_and_whisper(api, localforum, category):
    localforum.create_user("carole", "carole@example.org")
    localforum.create_user("denis", "denis@example.org")
    pm = api.post("/posts.json", json={"title": "Entre nous", "raw": "Message privé",
                                       "archetype": "private_message",
                                       "target_recipients": "carole"}).json()
    view = api.get(f"/t/{pm['topic_id']}.json").json()
    assert view["archetype"] == "private_message"
    assert SpecClient(localforum, "denis").get(f"/t/{pm['topic_id']}.json").status_code == 403
    assert SpecClient(localforum, "carole").get(f"/t/{pm['topic_id']}.json").status_code == 200
    post = new_topic(api, category)
    whisper = api.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "Chut",
                                            "post_type": 4}).json()
    assert whisper["post_type"] == 4
    seen_by_member = SpecClient(localforum, "denis").get(f"/t/{post['topic_id']}.json").json()
    assert [p["post_number"] for p in seen_by_member["post_stream"]["posts"]] == [1]
    refused = SpecClient(localforum, "denis").post(
        "/posts.json", json={"topic_id": post["topic_id"], "raw": "Chut", "post_type": 4})
    assert refused.status_code == 403


def test_move_posts_to_new_and_existing_topic(api, category):
    first = new_topic(api, category, title="Fil d'origine")
    replies = [api.post("/posts.json", json={"topic_id": first["topic_id"], "raw": f"r{i}",
                                             "reply_to_post_number": 1}).json() for i in range(3)]
    moved = api.post(f"/t/{first['topic_id']}/move-posts.json", spec=False,
                     json={"post_ids": [replies[1]["id"], replies[2]["id"]], "title": "Nouveau fil"})
    assert moved.status_code == 200 and moved.json()["success"] == "OK"
    new_id = int(moved.json()["url"].rsplit("/", 1)[1])
    new_view = api.get(f"/t/{new_id}.json").json()
    assert [p["raw"] if "raw" in p else p["cooked"] for p in new_view["post_stream"]["posts"]] == [
        "<p>r1</p>", "<p>r2</p>"]
    assert [p["post_number"] for p in new_view["post_stream"]["posts"]] == [1, 2]
    back = api.post(f"/t/{new_id}/move-posts", spec=False,
                    data={"post_ids[]": [replies[2]["id"]], "destination_topic_id": first["topic_id"]})
    assert back.status_code == 200
    origin = api.get(f"/t/{first['topic_id']}.json").json()
    assert [p["post_number"] for p in origin["post_stream"]["posts"]] == [1, 2, 3]
    assert api.get(f"/posts/{replies[2]['id']}.json").json()["topic_id"] == first["topic_id"]


def test_topic_posts_and_by_number(api, category):
    first = new_topic(api, category)
    reply = api.post("/posts.json", json={"topic_id": first["topic_id"], "raw": "deux"}).json()
    posts = api.get(f"/t/{first['topic_id']}/posts.json",
                    params={"post_ids[]": [reply["id"]]}).json()
    assert [p["id"] for p in posts["post_stream"]["posts"]] == [reply["id"]]
    by_number = api.get(f"/posts/by_number/{first['topic_id']}/2.json", spec=False).json()
    assert by_number["id"] == reply["id"]


def test_category_permissions_gate_posting(api, localforum):
    localforum.create_user("eve", "eve@example.org")
    members_only = localforum.create_category("Membres", permissions={"membres": 1})
    eve = SpecClient(localforum, "eve")
    refused = eve.post("/posts.json", json={"title": "t", "raw": "r", "category": members_only["id"]})
    assert refused.status_code == 403
    localforum.create_group("membres", usernames=["eve"])
    ok = eve.post("/posts.json", json={"title": "t", "raw": "r", "category": members_only["id"]})
    assert ok.status_code == 200, ok.text


def test_long_topic_is_chunked_like_discourse(api, localforum, category):
    first = new_topic(api, category)
    with localforum.session() as s:
        from forumsync.localforum import store

        admin = store.user_by_username(s, "system")
        for i in range(24):
            store.create_post(s, admin, f"réponse {i}", topic_id=first["topic_id"])
    view = api.get(f"/t/{first['topic_id']}.json").json()
    assert len(view["post_stream"]["posts"]) == 20
    assert len(view["post_stream"]["stream"]) == 25 and view["posts_count"] == 25
    rest = api.get(f"/t/{first['topic_id']}/posts.json",
                   params={"post_ids[]": view["post_stream"]["stream"][20:]}).json()
    assert [p["post_number"] for p in rest["post_stream"]["posts"]] == [21, 22, 23, 24, 25]
    printed = api.get(f"/t/{first['topic_id']}.json", params={"print": "true"}).json()
    assert len(printed["post_stream"]["posts"]) == 25


def test_concurrent_replies_get_distinct_numbers(localforum, category):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    first = localforum.client().create_post("départ", category_id=category["id"], title="Course")

    def reply(i):
        return requests.post(localforum.url + "/posts.json", headers=localforum.headers(),
                             json={"topic_id": first["topic_id"], "raw": f"r{i}"}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(reply, range(16)))
    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["post_number"] for r in responses) == list(range(2, 18))


def test_delete_post(api, localforum, category):
    localforum.create_user("bob", "bob@example.org")
    first = new_topic(api, category)
    reply = api.post("/posts.json", json={"topic_id": first["topic_id"], "raw": "à effacer"}).json()
    assert api.delete(f"/posts/{reply['id']}.json").status_code == 200
    bob = SpecClient(localforum, "bob")
    assert bob.get(f"/posts/{reply['id']}.json").status_code == 404
    view = bob.get(f"/t/{first['topic_id']}.json").json()
    assert view["post_stream"]["stream"] == [first["id"]]
    api.delete(f"/posts/{first['id']}", spec=False)  # first post: the whole topic goes
    assert bob.get(f"/t/{first['topic_id']}.json").status_code == 404
