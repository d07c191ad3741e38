"""The batch endpoint ``POST /forumsync/posts/batch.json``: the local forum and the gateway
against the contract the Ruby plugin's specs also read (plugin/spec/fixtures/contract/
posts_batch.json), plus what the fixture cannot express (closed topics, files, savepoints)."""
from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from forumsync.forum.gateway import ForumGateway, ForumRejected
from forumsync.localforum import plugin_api, plugin_batch
from forumsync.localforum.models import Post, User
from tests.themes import contract

SPEC = contract.load("posts_batch")


def resolve(value, bodies: dict, variables: dict):
    """contract.resolve, plus dotted paths into earlier results: "$batch.posts.0.topic_id"."""
    if isinstance(value, dict):
        return {k: resolve(v, bodies, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, bodies, variables) for v in value]
    if not (isinstance(value, str) and value.startswith("$")):
        return value
    name = value[1:]
    if name in variables:
        return variables[name]
    node = bodies
    for part in name.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def check_items(body, expected_items, bodies, variables, where) -> list[str]:
    problems = []
    results = body.get("posts") or []
    if len(results) != len(expected_items):
        return [f"{where}: {len(results)} results for {len(expected_items)} items"]
    for index, (result, expected) in enumerate(zip(results, expected_items)):
        values = {k: resolve(v, bodies, variables) for k, v in expected.get("values", {}).items()}
        problems += contract.check_response(result.get("status"), result,
                                            dict(expected, values=values), bodies, variables,
                                            where=f"{where}[{index}]")
    return problems


def run_contract(forum) -> dict:
    variables = {"category_id": forum.create_category(**SPEC["setup"]["category"])["id"]}
    forum.create_user("membre", "membre@example.org", "Simple membre")
    bodies: dict = {}
    problems: list[str] = []
    for item in SPEC["cases"]:
        request = item["request"]
        params = resolve(request["params"], bodies, variables)
        headers = forum.headers("membre" if item.get("auth") == "user" else None)
        response = requests.post(forum.url + request["path"], json=params, headers=headers, timeout=10)
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        where = item["name"]
        problems += contract.check_response(response.status_code, body, item["response"], bodies,
                                            variables, where=where)
        bodies[item["name"]] = body  # items may refer to results of their own batch
        if "items" in item:
            problems += check_items(body, item["items"], bodies, variables, where)
    assert problems == []
    return bodies


def test_local_forum_follows_the_batch_contract(localforum):
    bodies = run_contract(localforum)
    results = bodies["batch"]["posts"]
    with localforum.session() as s:
        posts = s.scalars(select(Post).where(Post.topic_id == results[0]["topic_id"])
                          .order_by(Post.post_number)).all()
        assert [(p.post_number, p.user.email, p.reply_to_post_number) for p in posts] == [
            (1, "lea.moreau@example.org", None), (2, "paul.girard@ville.example.fr", 1),
            (3, "lea.moreau@example.org", 2), (4, "paul.girard@ville.example.fr", 3),
            (5, "paul.girard@ville.example.fr", None)]
        # topic_of_message_id: in the earlier item's topic, replying to no post.
        school = bodies["topic_of"]["posts"][0]["topic_id"]
        assert school != results[0]["topic_id"]
        assert [(p.post_number, p.reply_to_post_number) for p in s.scalars(
            select(Post).where(Post.topic_id == school).order_by(Post.post_number))] == [
            (1, None), (2, None), (3, 2)]
        # The refused items left nothing: no user for the bad address, no post for famille-4/7/8,
        # ecole-3/4.
        assert s.scalar(select(func.count()).select_from(User).where(User.staged.is_(True))) == 2
        assert s.scalar(select(func.count()).select_from(plugin_api.MessageIdLink)) == 8


def test_batch_maximum_is_the_plugin_setting(localforum):
    gw = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0)
    assert gw.capabilities()["batch_max_posts"] == SPEC["max_posts"] == plugin_batch.DEFAULT_MAX_POSTS
    category_id = localforum.create_category("SVE", slug="sve")["id"]
    items = [dict(email=f"agent{i}@meyzieu.fr", raw="Bonjour à tous", title=f"Sujet numéro {i}",
                  category_id=category_id, message_id=f"<max-{i}@meyzieu.fr>") for i in range(4)]
    localforum.set_site_setting(plugin_batch.SETTING, 3)
    with pytest.raises(ForumRejected) as refused:
        gw.staged_posts_batch(items)
    assert refused.value.status == 422
    assert refused.value.errors == ["Trop de messages dans le lot : 4 (au plus 3)."]
    assert [r["status"] for r in gw.staged_posts_batch(items[:3])] == [201, 201, 201]
    assert gw.stats["writes"] == 2


def test_gateway_batch_threads_replies_and_refuses_closed_topics(localforum):
    gw = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0)
    category_id = localforum.create_category("Open data", slug="open-data")["id"]
    localforum.create_user("claire", "cvasseur@grandlyon.com", "Claire Vasseur")
    closed = gw.staged_posts_batch([dict(email="a@grandlyon.com", raw="Sujet à fermer",
                                         title="Un sujet bientôt fermé", category_id=category_id,
                                         message_id="<closed-1@grandlyon.com>")])[0]
    gw.topic_status_set(closed["topic_id"], "closed", True)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    results = gw.staged_posts_batch([
        dict(email="data@grandlyon.com", name="Service données", raw="Le schéma :\n\n![s.png](forumsync-file:0)",
             title="Schéma des délibérations", category_id=category_id, message_id="<od-1@grandlyon.com>",
             created_at="2024-05-02T08:15:00+00:00", files=[("s.png", png, "image/png")]),
        dict(email="x@montpellier3m.fr", raw="Merci !", reply_to_message_id="<od-1@grandlyon.com>",
             message_id="<od-2@montpellier3m.fr>"),
        dict(email="y@montpellier3m.fr", raw="Dans un sujet fermé", topic_id=closed["topic_id"],
             message_id="<od-3@montpellier3m.fr>"),
        dict(email="cvasseur@grandlyon.com", raw="Je suis membre du forum", reply_to_message_id="<od-1@grandlyon.com>",
             message_id="<od-4@grandlyon.com>"),
    ], staged_only=True)
    assert [r["status"] for r in results] == [201, 201, 409, 409]
    assert [r.get("error_type") for r in results[2:]] == ["topic_closed", "active_user"]
    assert results[1]["topic_id"] == results[0]["topic_id"] and results[1]["reply_to_post_number"] == 1
    assert gw.stats["writes"] == 3  # two batches and the status change
    assert "](upload://" in gw.post_get(results[0]["id"])["raw"]
    with localforum.session() as s:
        assert s.scalar(select(func.count()).select_from(Post).where(
            Post.topic_id == closed["topic_id"], Post.post_type == 1)) == 1
        assert s.scalar(select(User.id).where(User.email == "y@montpellier3m.fr")) is None


def test_users_by_email_answers_what_the_admin_list_answers(localforum):
    """One request for many senders, each answered as GET /admin/users/list/all.json?email=
    answers it: the author stage cannot tell a prefetched user from one it asked for."""
    localforum.create_user("claire", "cvasseur@grandlyon.com", "Claire Vasseur")
    asker = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0)
    asker.staged_posts_batch([dict(email="lea.moreau@example.org", raw="Bonjour", title="Un sujet",
                                   category_id=localforum.create_category("SVE", slug="sve")["id"],
                                   message_id="<u-1@example.org>")])
    emails = ["CVasseur@GrandLyon.com", "lea.moreau@example.org", "inconnu@example.org"]
    one_by_one = {e.lower(): asker.user_by_email(e) for e in emails}
    gw = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0)
    assert gw.has_feature("users_by_email")
    assert gw.users_by_email_prefetch(emails + ["cvasseur@grandlyon.com"]) == 3
    requests = gw.stats["requests"]
    assert {e.lower(): gw.user_by_email(e) for e in emails} == one_by_one
    assert gw.stats["requests"] == requests  # all from the cache
    assert one_by_one["lea.moreau@example.org"]["staged"] is True
    assert one_by_one["inconnu@example.org"] is None
    refused = requests_post(localforum, {"emails": []})
    assert refused.status_code == 422
    assert refused.json()["errors"] == ["« emails » doit être une liste de 1 à 200 adresses."]
    assert requests_post(localforum, {"emails": ["a@b.fr"] * 201}).status_code == 422
    assert requests_post(localforum, {"emails": ["a@b.fr"]}, user="membre").status_code == 403


def requests_post(forum, body, user=None):
    if user:
        forum.create_user(user, f"{user}@example.org", "Simple membre")
    return requests.post(forum.url + "/forumsync/users/by-email.json", json=body,
                         headers=forum.headers(user), timeout=10)


def test_a_batch_request_waits_forum_timeout_per_50_posts(localforum):
    """The forum creates a batch's posts one after the other: FORUM_TIMEOUT is the read wait
    for 50 of them (a full batch of 100 gets twice as long), never less than for one post."""
    gw = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0, timeout=3.0)
    category_id = localforum.create_category("SVE", slug="sve")["id"]
    waits = []
    send = gw.session.request

    def spy(method, url, **kwargs):
        if url.endswith("/forumsync/posts/batch.json"):
            waits.append(kwargs["timeout"])
        return send(method, url, **kwargs)

    gw.session.request = spy
    for count in (2, 100):
        items = [dict(email=f"agent{i}@meyzieu.fr", raw="Bonjour à tous", title=f"Sujet numéro {count}-{i}",
                      category_id=category_id, message_id=f"<attente-{count}-{i}@meyzieu.fr>")
                 for i in range(count)]
        assert {r["status"] for r in gw.staged_posts_batch(items)} == {201}
    assert waits == [(3.0, 3.0), (3.0, 6.0)]


def test_a_post_found_again_is_no_target_for_a_reference(localforum):
    """Red team, eleventh and sixteenth passes (the plugin, read): a batch item answered by a
    post found by its Message-ID let later items reply to it by reply_to_message_id, wherever
    that post had been moved since (a restricted category, then a read-only one), and the
    items are created without a guardian. A post found again is never a target; a post the
    batch creates stays one. The plugin does the same (BatchPostsController#result)."""
    gw = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0)
    public = localforum.create_category("Portail famille", slug="portail-famille")["id"]
    annonces = localforum.create_category("Annonces", slug="annonces",
                                          permissions={"everyone": 3, "staff": 1})["id"]
    first = dict(email="a@meyzieu.fr", raw="Inscriptions en ligne", title="Inscriptions à la cantine",
                 category_id=public, message_id="<pf-1@meyzieu.fr>")

    def reply(n):
        return dict(email="b@meyzieu.fr", raw=f"Réponse {n}", reply_to_message_id="<pf-1@meyzieu.fr>",
                    message_id=f"<pf-r{n}@meyzieu.fr>")

    created = gw.staged_posts_batch([first, reply(0)])
    assert [r["status"] for r in created] == [201, 201]  # created here: a target
    again = gw.staged_posts_batch([first, reply(1)])  # found again: no target, even public
    assert [r["status"] for r in again] == [200, 422] and again[1]["error_type"] == "invalid_parameters"
    gw.topic_update(created[0]["topic_id"], category_id=annonces)
    moved = gw.staged_posts_batch([first, reply(2)])
    assert [r["status"] for r in moved] == [200, 422]
    with localforum.session() as s:
        assert s.scalar(select(func.count()).select_from(Post).where(Post.topic_id == created[0]["topic_id"])) == 2
