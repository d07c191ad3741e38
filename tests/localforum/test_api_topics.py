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


def new_topic(api, category, title="Un sujet de test du forum", raw="Bonjour **à tous**, une question.", **extra):
    response = api.post("/posts.json", json={"title": title, "raw": raw,
                                             "category": category["id"], **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_create_topic_json_body_returns_discourse_post(api, category):
    response = api.post("/posts.json", json={"title": "Première question du club", "raw": "Texte *riche* du message",
                                             "category": category["id"],
                                             "created_at": "2024-03-01T10:00:00+01:00",
                                             "external_id": "ml-abc123", "tags": ["sve", "Open Data"]})
    assert response.headers["Content-Type"] == JSON_TYPE
    post = response.json()
    assert post["post_number"] == 1
    assert post["username"] == "system"
    assert post["cooked"] == "<p>Texte <em>riche</em> du message</p>"
    assert post["raw"] == "Texte *riche* du message"
    assert post["created_at"] == "2024-03-01T09:00:00.000Z"
    topic = api.get(f"/t/{post['topic_id']}.json").json()
    assert topic["title"] == "Première question du club"
    assert topic["category_id"] == category["id"]
    assert topic["external_id"] == "ml-abc123"
    assert [t["name"] for t in topic["tags"]] == ["open-data", "sve"]
    assert topic["post_stream"]["stream"] == [post["id"]]


def test_create_topic_form_body_without_json_suffix(localforum, category):
    client = localforum.client()  # pydiscourse: POST /posts, form-encoded, tags[]
    post = client.create_post("Corps du message envoyé par formulaire", category_id=category["id"],
                              title="Sujet par formulaire", tags=["famille"])
    topic = client.topic("x", post["topic_id"])
    assert [t["name"] for t in topic["tags"]] == ["famille"]
    assert ("POST", "/posts") in localforum.requests


def test_reply_and_topic_view(api, category):
    first = new_topic(api, category)
    reply = api.post("/posts", data={"topic_id": first["topic_id"], "raw": "Une réponse au premier message",
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
    post = new_topic(api, category, raw="Avant la correction du texte")
    shown = api.get(f"/posts/{post['id']}.json").json()
    assert shown["raw"] == "Avant la correction du texte" and shown["cooked"] == "<p>Avant la correction du texte</p>"
    updated = api.put(f"/posts/{post['id']}.json",
                      json={"post": {"raw": "Après la correction du texte", "edit_reason": "correction"}}).json()["post"]
    assert updated["raw"] == "Après la correction du texte" and updated["version"] == 2
    assert updated["edit_reason"] == "correction"
    # pydiscourse: PUT /posts/{id} with form post[raw]
    again = localforum.client().update_post(post["id"], "Encore une correction du texte", "bis")["post"]
    assert again["cooked"] == "<p>Encore une correction du texte</p>"


def test_external_id_redirects(api, category):
    post = new_topic(api, category, external_id="wcs-demarche-42")
    response = api.get("/t/external_id/wcs-demarche-42.json")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/t/un-sujet-de-test-du-forum/{post['topic_id']}.json")
    assert api.get("/t/external_id/inconnu.json").status_code == 404


def test_external_id_validation(api, category):
    new_topic(api, category, external_id="dup-1")
    response = api.post("/posts.json", json={"title": "Autre sujet du club", "raw": "Un autre message du club.",
                                             "category": category["id"], "external_id": "dup-1"})
    assert response.status_code == 422
    assert response.json()["errors"] == ["External ID has already been taken"]
    bad = api.post("/posts.json", json={"title": "Encore un autre sujet", "raw": "Un autre message du club.",
                                        "category": category["id"], "external_id": "espace interdite"})
    assert bad.status_code == 422


def test_retitle_and_move_topic(api, localforum, category):
    other = localforum.create_category("Autre catégorie")
    post = new_topic(api, category)
    response = api.put(f"/t/-/{post['topic_id']}.json",
                       json={"title": "Titre corrigé du sujet", "category_id": other["id"]})
    assert response.json()["basic_topic"]["title"] == "Titre corrigé du sujet"
    view = api.get(f"/t/{post['topic_id']}.json").json()
    assert view["category_id"] == other["id"] and view["slug"] == "titre-corrige-du-sujet"
    # pydiscourse spelling: PUT /t/{slug}/{id} form-encoded
    localforum.client().update_topic(f"/t/titre-corrige-du-sujet/{post['topic_id']}", "Troisième titre du sujet")
    assert api.get(f"/t/{post['topic_id']}.json").json()["title"] == "Troisième titre du sujet"


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
    post = client.create_post("Un sujet que l'on va fermer.", category_id=category["id"],
                              title="Sujet bientôt fermé")
    client.update_topic_status(post["topic_id"], "closed", True)
    assert client.topic("x", post["topic_id"])["closed"] is True
    assert ("PUT", f"/t/{post['topic_id']}/status") in localforum.requests


def test_closed_topic_refuses_members_but_not_staff(api, localforum, category):
    localforum.create_user("alice", "alice@example.org")
    post = new_topic(api, category)
    api.put(f"/t/{post['topic_id']}/status.json", json={"status": "closed", "enabled": "true"})
    alice = SpecClient(localforum, "alice")
    refused = alice.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "Encore moi, dans un sujet fermé."})
    assert refused.status_code == 403
    assert refused.json()["error_type"] == "invalid_access"
    assert api.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "Réponse de l'équipe du forum."}).status_code == 200


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
    other = new_topic(api, category, title="Deuxième sujet à effacer")
    assert localforum.client().delete_topic(other["topic_id"]) is None


def test_validation_lengths(api, localforum, category):
    localforum.set_site_setting("min_topic_title_length", 15)
    localforum.set_site_setting("min_first_post_length", 20)
    response = api.post("/posts.json", json={"title": "Court", "raw": "trop court",
                                             "category": category["id"]})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "Title is too short (minimum is 15 characters)",
        # 5 distinct letters: under title_min_entropy (10), TextSentinel#seems_meaningful?
        "Title seems unclear, most of the words contain the same letters over and over?",
        "Body is too short (minimum is 20 characters)"]
    with pytest.raises(DiscourseClientError):
        localforum.client().create_post("x", category_id=category["id"], title="Court")
    assert api.post("/posts.json", json={"title": "x"}).status_code == 400  # raw missing


def test_default_lengths_are_discourse_defaults(api, category):
    """config/site_settings.yml: min_topic_title_length 15, min_first_post_length 20,
    min_post_length 20, allow_duplicate_topic_titles false; HTML comments do not count
    (StrippedLengthValidator.get_sanitized_value)."""
    short = api.post("/posts.json", json={"title": "?", "raw": "+1", "category": category["id"]})
    assert short.status_code == 422
    assert short.json()["errors"] == [
        "Title is too short (minimum is 15 characters)",
        # TextSentinel: « ? » has no letter or digit, « +1 » 2 distinct bytes (body_min_entropy 7)
        "Title seems unclear, most of the words contain the same letters over and over?",
        "Body is too short (minimum is 20 characters)",
        "Body seems unclear, is it a complete sentence?"]
    first = new_topic(api, category, title="Quinze lettres!")  # exactly 15
    commented = api.post("/posts.json", json={"topic_id": first["topic_id"],
                                              "raw": "+1 <!-- un commentaire assez long -->"})
    assert commented.status_code == 422
    assert commented.json()["errors"] == ["Body is too short (minimum is 20 characters)"]
    again = api.post("/posts.json", json={"title": "quinze LETTRES!", "raw": "Un autre message du club.",
                                          "category": category["id"]})
    assert again.status_code == 422
    assert again.json()["errors"] == ["Title has already been used"]


def test_private_message_and_whisper(api, localforum, category):
    localforum.create_user("carole", "carole@example.org")
    localforum.create_user("denis", "denis@example.org")
    pm = api.post("/posts.json", json={"title": "Entre nous, en privé", "raw": "Message privé entre nous deux.",
                                       "archetype": "private_message",
                                       "target_recipients": "carole"}).json()
    view = api.get(f"/t/{pm['topic_id']}.json").json()
    assert view["archetype"] == "private_message"
    assert SpecClient(localforum, "denis").get(f"/t/{pm['topic_id']}.json").status_code == 403
    assert SpecClient(localforum, "carole").get(f"/t/{pm['topic_id']}.json").status_code == 200
    post = new_topic(api, category)
    whisper = api.post("/posts.json", json={"topic_id": post["topic_id"], "raw": "Chut, ceci est un murmure.",
                                            "post_type": 4}).json()
    assert whisper["post_type"] == 4
    seen_by_member = SpecClient(localforum, "denis").get(f"/t/{post['topic_id']}.json").json()
    assert [p["post_number"] for p in seen_by_member["post_stream"]["posts"]] == [1]
    refused = SpecClient(localforum, "denis").post(
        "/posts.json", json={"topic_id": post["topic_id"], "raw": "Chut, ceci est un murmure.", "post_type": 4})
    assert refused.status_code == 403


def test_move_posts_to_new_and_existing_topic(api, category):
    first = new_topic(api, category, title="Fil d'origine du club")
    replies = [api.post("/posts.json", json={"topic_id": first["topic_id"], "raw": f"Réponse numéro {i} au fil",
                                             "reply_to_post_number": 1}).json() for i in range(3)]
    moved = api.post(f"/t/{first['topic_id']}/move-posts.json", spec=False,
                     json={"post_ids": [replies[1]["id"], replies[2]["id"]], "title": "Nouveau fil du club"})
    assert moved.status_code == 200 and moved.json()["success"] == "OK"
    new_id = int(moved.json()["url"].rsplit("/", 1)[1])
    new_view = api.get(f"/t/{new_id}.json").json()
    assert [p["raw"] if "raw" in p else p["cooked"] for p in new_view["post_stream"]["posts"]] == [
        "<p>Réponse numéro 1 au fil</p>", "<p>Réponse numéro 2 au fil</p>"]
    assert [p["post_number"] for p in new_view["post_stream"]["posts"]] == [1, 2]
    back = api.post(f"/t/{new_id}/move-posts", spec=False,
                    data={"post_ids[]": [replies[2]["id"]], "destination_topic_id": first["topic_id"]})
    assert back.status_code == 200
    origin = api.get(f"/t/{first['topic_id']}.json").json()
    # PostMover#create_moderator_post_in_original_topic: a « split_topic » small action where
    # the first moved post was (number 3), the post moved back at the end
    assert [(p["post_number"], p["post_type"], p.get("action_code"))
            for p in origin["post_stream"]["posts"]] == [(1, 1, None), (2, 1, None), (3, 3, "split_topic"),
                                                         (4, 1, None)]
    assert api.get(f"/posts/{replies[2]['id']}.json").json()["topic_id"] == first["topic_id"]


def test_topic_posts_and_by_number(api, category):
    first = new_topic(api, category)
    reply = api.post("/posts.json", json={"topic_id": first["topic_id"], "raw": "Deuxième message du sujet."}).json()
    posts = api.get(f"/t/{first['topic_id']}/posts.json",
                    params={"post_ids[]": [reply["id"]]}).json()
    assert [p["id"] for p in posts["post_stream"]["posts"]] == [reply["id"]]
    by_number = api.get(f"/posts/by_number/{first['topic_id']}/2.json", spec=False).json()
    assert by_number["id"] == reply["id"]


def test_category_permissions_gate_posting(api, localforum):
    localforum.create_user("eve", "eve@example.org")
    members_only = localforum.create_category("Membres", permissions={"membres": 1})
    eve = SpecClient(localforum, "eve")
    refused = eve.post("/posts.json", json={"title": "Sujet réservé aux membres", "raw": "Message réservé aux membres.",
                                            "category": members_only["id"]})
    assert refused.status_code == 403
    localforum.create_group("membres", usernames=["eve"])
    ok = eve.post("/posts.json", json={"title": "Sujet réservé aux membres", "raw": "Message réservé aux membres.",
                                       "category": members_only["id"]})
    assert ok.status_code == 200, ok.text


def test_long_topic_is_chunked_like_discourse(api, localforum, category):
    first = new_topic(api, category)
    with localforum.session() as s:
        from forumsync.localforum import posts as lf_posts, users as lf_users

        admin = lf_users.user_by_username(s, "system")
        for i in range(24):
            lf_posts.create_post(s, admin, f"Réponse numéro {i} du long sujet", topic_id=first["topic_id"])
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

    first = localforum.client().create_post("Premier message, départ de la course.", category_id=category["id"],
                                            title="Course aux numéros")

    def reply(i):
        return requests.post(localforum.url + "/posts.json", headers=localforum.headers(),
                             json={"topic_id": first["topic_id"], "raw": f"Réponse concurrente numéro {i}"}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(reply, range(16)))
    assert all(r.status_code == 200 for r in responses)
    assert sorted(r.json()["post_number"] for r in responses) == list(range(2, 18))


def test_delete_post(api, localforum, category):
    localforum.create_user("bob", "bob@example.org")
    first = new_topic(api, category)
    reply = api.post("/posts.json", json={"topic_id": first["topic_id"], "raw": "Réponse à effacer bientôt."}).json()
    assert api.delete(f"/posts/{reply['id']}.json").status_code == 200
    bob = SpecClient(localforum, "bob")
    assert bob.get(f"/posts/{reply['id']}.json").status_code == 404
    view = bob.get(f"/t/{first['topic_id']}.json").json()
    assert view["post_stream"]["stream"] == [first["id"]]
    api.delete(f"/posts/{first['id']}", spec=False)  # first post: the whole topic goes
    assert bob.get(f"/t/{first['topic_id']}.json").status_code == 404
