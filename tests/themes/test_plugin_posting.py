"""The plugin's posting path on the local forum, as strict as Discourse (issue 13, plugin):
staged users made by Email::Receiver#find_or_create_user's rules, one transaction per post
(nothing left behind on a refusal), refusals as 422 with their reason, future dates capped.
The Discourse side of the same rules: plugin/spec/requests/forumsync_posting_spec.rb."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from forumsync.forum.gateway import ForumGateway, ForumRejected
from forumsync.localforum import plugin_api, plugin_params, staged_users
from forumsync.localforum.models import Post, Topic, User


def gateway(forum) -> ForumGateway:
    return ForumGateway(forum.url, forum.api_key, forum.username, retries=0)


def post(forum, **params):
    return requests.post(forum.url + "/forumsync/posts.json", json=params, headers=forum.headers(),
                         timeout=10)


def new_topic(category_id, email, message_id, **extra):
    return dict({"email": email, "title": f"Sujet {message_id}", "raw": "Bonjour,\n\ntexte.",
                 "category_id": category_id, "message_id": f"<{message_id}@liste.example.org>"},
                **extra)


def count(forum, model, *where) -> int:
    with forum.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def category_id(localforum):
    return localforum.create_category("Passerelle", slug="passerelle")["id"]


def test_refused_post_leaves_no_staged_user_and_no_message_id(localforum, category_id):
    """Discourse: a unique index (topics.external_id) raises inside PostCreator; the plugin's
    transaction rolls the new staged user back and answers 422 post_refused."""
    first = post(localforum, **new_topic(category_id, "marie@x.fr", "a", external_id="ml-same"))
    assert first.status_code == 201
    refused = post(localforum, **new_topic(category_id, "nouveau@x.fr", "b", external_id="ml-same"))
    assert refused.status_code == 422
    body = refused.json()
    assert body["error_type"] == "post_refused"
    assert body["errors"][0].startswith("Le forum a refusé le message : ")
    assert count(localforum, User, User.email == "nouveau@x.fr") == 0
    with localforum.session() as s:
        assert s.get(plugin_api.MessageIdLink, "b@liste.example.org") is None
    assert count(localforum, Topic, Topic.external_id == "ml-same") == 1


def test_refusal_reaches_forumsync_as_a_422_with_the_reason(localforum, category_id):
    gw = gateway(localforum)
    with pytest.raises(ForumRejected) as refused:
        gw.staged_post_create(email="agent@mailinator.com", name="Agent", raw="Bonjour",
                              message_id="<jetable@x.fr>", title="Jetable", category_id=category_id)
    assert refused.value.status == 422
    assert refused.value.errors == [
        "L'adresse « agent@mailinator.com » n'est pas acceptée par le forum (domaines autorisés "
        "ou bloqués dans ses réglages)."]
    assert count(localforum, User, User.email == "agent@mailinator.com") == 0
    assert gw.post_by_message_id("<jetable@x.fr>") is None


def test_staging_disabled_is_a_clear_refusal_but_known_staged_senders_still_post(localforum, category_id):
    localforum.create_user("paul", "paul@x.fr", "Paul", staged=True, active=False)
    localforum.set_site_setting("enable_staged_users", False)
    refused = post(localforum, **new_topic(category_id, "inconnu@x.fr", "c"))
    assert refused.status_code == 422 and refused.json()["error_type"] == "sender_refused"
    assert "enable_staged_users" in refused.json()["errors"][0]
    known = post(localforum, **new_topic(category_id, "PAUL@x.fr", "d"))
    assert known.status_code == 201 and known.json()["username"] == "paul"


@pytest.mark.parametrize("kind", [dict(admin=True), dict(moderator=True), dict(), dict(active=False, admin=True)])
def test_an_account_that_is_not_staged_never_posts_through_the_staged_door(localforum, category_id, kind):
    """forumsync sends here the senders it found no usable account for; Discourse's
    User.find_by_email also matches secondary addresses: only staged users post here
    (StagedUserResolver#check_existing!), whatever the account's role or state."""
    localforum.create_user("chef", "chef@x.fr", "Chef", **kind)
    refused = post(localforum, **new_topic(category_id, "Chef@X.fr", "e"))
    assert refused.status_code == 422 and refused.json()["error_type"] == "sender_refused"
    assert "pas d'un utilisateur intermédiaire" in refused.json()["errors"][0]
    with localforum.session() as s:
        chef = s.scalar(select(User).where(User.username == "chef"))
        assert s.scalar(select(func.count(Post.id)).where(Post.user_id == chef.id)) == 0


def test_allowed_email_domains_win_over_blocked_ones(localforum, category_id):
    localforum.set_site_setting("allowed_email_domains", "meyzieu.fr|grandlyon.com")
    assert post(localforum, **new_topic(category_id, "a@services.meyzieu.fr", "e")).status_code == 201
    refused = post(localforum, **new_topic(category_id, "b@example.org", "f"))
    assert refused.status_code == 422 and refused.json()["error_type"] == "sender_refused"


def test_future_date_is_capped_to_now(localforum, category_id):
    future = (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()
    before = datetime.now(timezone.utc)
    body = post(localforum, **new_topic(category_id, "futur@x.fr", "g", created_at=future)).json()
    created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=5) <= created <= datetime.now(timezone.utc) + timedelta(seconds=1)
    past = post(localforum, **new_topic(category_id, "passe@x.fr", "h",
                                        created_at="2024-03-01T10:00:00Z")).json()
    assert past["created_at"].startswith("2024-03-01T10:00:00")


def test_two_first_mails_of_a_new_sender_at_once_make_one_staged_user(localforum, category_id):
    barrier = threading.Barrier(4)
    answers = []

    def send(n):
        barrier.wait()
        answers.append(post(localforum, **new_topic(category_id, "Nouvelle@Mairie.fr", f"race-{n}",
                                                     name="Nouvelle Venue")))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [201] * 4
    assert len({a.json()["user_id"] for a in answers}) == 1
    assert count(localforum, User, User.email == "nouvelle@mairie.fr") == 1
    assert answers[0].json()["username"] == "Nouvelle_Venue"


def test_usernames_avoid_groups_reserved_names_and_existing_users(localforum, category_id):
    localforum.create_group("bistro")
    localforum.set_site_setting("reserved_usernames", "admin|equipe-*")
    localforum.create_user("paul_martin", "autre@x.fr", "Autre")
    names = [post(localforum, **new_topic(category_id, email, mid, name=name)).json()["username"]
             for email, mid, name in [("b@x.fr", "i", "Bistro"), ("a@x.fr", "j", "Admin"),
                                      ("p@x.fr", "k", "Paul Martin"), ("q@x.fr", "l", "Paul Martin")]]
    assert names == ["Bistro1", "Admin1", "Paul_Martin1", "Paul_Martin2"]
    # every "equipe-…" name is reserved, numbered ones too: the suggester's random last resort
    web = post(localforum, **new_topic(category_id, "w@x.fr", "r", name="Equipe-Web")).json()
    assert re.fullmatch(r"[0-9a-f]{20}", web["username"])


def test_usernames_follow_the_configured_lengths(localforum, category_id):
    localforum.set_site_setting("max_username_length", 10)
    localforum.set_site_setting("min_username_length", 4)
    long = post(localforum, **new_topic(category_id, "x@y.fr", "m", name="Anne-Sophie Marchand")).json()
    short = post(localforum, **new_topic(category_id, "z@y.fr", "n", name="Al")).json()
    assert (long["username"], short["username"]) == ("Anne-Sophi", "Al11")


@pytest.mark.parametrize("name, expected", [
    ("Marie Curie", "Marie_Curie"), ("Jean-Pierre-Marie de La Tour", "Jean-Pierre-Marie_de_La_Tour"),
    ("***", ""), ("Élodie Müller", "Elodie_Muller"), ("Straße", "Strasse"), ("a..b", "a_b"),
    ("rapport.json", "rapport"), ("__init__", "_init"), ("-lead", "lead"), ("李 Wei", "_Wei"),
])
def test_sanitize_username_as_user_name_suggester(name, expected):
    assert staged_users.sanitize_username(name) == expected


@pytest.mark.parametrize("email, valid", [
    ("marie.curie@mairie.example.fr", True), ("o'brien+liste@example.org", True),
    ("jean..x@example.org", False), (".jean@example.org", False), ("jean.@example.org", False),
    ("frank@invalid_host.com", False), ("élodie@example.org", False), ("a@b", False),
    ("te=?utf-8?q?st?=@discourse.org", False), ("a" * 65 + "@example.org", False),
])
def test_email_addresses_as_email_address_validator(email, valid):
    assert staged_users.email_valid(email) is valid


def test_suggest_name_as_user_suggest_name():
    assert staged_users.suggest_name("marie.curie@x.fr") == "Marie Curie"
    assert staged_users.suggest_name("jean-christophe@x.fr") == "Jean Christophe"
    assert staged_users.suggest_name("") == ""


def test_staged_user_does_not_take_over_a_post_count_when_its_post_is_refused(localforum, category_id):
    """The staged user made for a refused post is rolled back with it, so a later mail of the
    same sender gets the same username, not a numbered one."""
    post(localforum, **new_topic(category_id, "x@x.fr", "o", external_id="ml-taken"))
    post(localforum, **new_topic(category_id, "claire@x.fr", "p", name="Claire", external_id="ml-taken"))
    again = post(localforum, **new_topic(category_id, "claire@x.fr", "q", name="Claire")).json()
    assert again["username"] == "Claire"
    assert count(localforum, Post, Post.user_id == again["user_id"]) == 1


@pytest.mark.postgres
def test_concurrent_creation_retries_the_unique_violation_on_postgresql(postgres_server):
    """Email::Receiver#find_or_create_user's race, for real: B looks the sender up before A
    commits, its insert then waits on the unique index and fails when A commits; B retries in
    its savepoint and finds A's user (READ COMMITTED), its transaction still usable."""
    from forumsync.localforum.store import LocalForumStore

    forum_store = LocalForumStore(postgres_server.create_database(empty=True))
    try:
        outcome = {}
        a_session = forum_store.sessionmaker()
        a_session.begin()
        a_user, a_created = staged_users.find_or_create(a_session, "meme@x.fr", "Même Personne")

        def other_request():
            with forum_store.session() as b_session:
                user, created = staged_users.find_or_create(b_session, "meme@x.fr", "Même Personne")
                outcome.update(id=user.id, created=created)

        b = threading.Thread(target=other_request)
        b.start()
        b.join(1.0)
        assert b.is_alive()  # B waits on the unique index held by A's uncommitted row
        a_session.commit()
        b.join(60)
        assert not b.is_alive()
        assert outcome == {"id": a_user.id, "created": False} and a_created
        with forum_store.session() as s:
            assert s.scalar(select(func.count()).select_from(User).where(User.email == "meme@x.fr")) == 1
    finally:
        a_session.close()
        forum_store.dispose()


def test_local_forum_messages_are_the_plugins_french_sentences():
    """plugin_params.MESSAGES and staged_users.MESSAGES copy plugin/config/locales/server.fr.yml:
    the same refusal reads the same on both forums."""
    import json

    from tests.conftest import ROOT

    text = (ROOT / "plugin/config/locales/server.fr.yml").read_text("utf-8")
    errors = text.split("\n    errors:\n", 1)[1].split("\n    batch:", 1)[0]
    # the file's values are double-quoted YAML scalars, i.e. JSON strings
    plugin = {m.group(1): json.loads(m.group(2)).replace("%{", "{")
              for m in re.finditer(r'^      (\w+): (".*")$', errors, re.M)}
    assert len(plugin) >= 20
    copies = {**plugin_params.MESSAGES, **staged_users.MESSAGES}
    assert {key: plugin.get(key) for key in copies} == copies


def test_a_staged_post_is_written_only_where_everyone_may(localforum, category_id):
    """Staged posts skip the guardian (as a staged sender's mail does in Discourse): the plugin
    refuses a reply where everyone may only read, a topic where everyone may only reply, and a
    staff-only category (StagedPostCreator#refuse_unless_everyone_may!; forumsync checks
    first, this holds when a category changed meanwhile). Nothing is left behind."""
    topic = post(localforum, **new_topic(category_id, "a@meyzieu.fr", "ev-0")).json()["topic_id"]
    with localforum.session() as s:
        category = s.get(Topic, topic).category
        category.permissions = {"everyone": 3, "staff": 1}
    staff_only = localforum.create_category("Bureau", slug="bureau", permissions={"staff": 1})["id"]
    reply_only = localforum.create_category("Échanges", slug="echanges", permissions={"everyone": 2})["id"]
    refused = [post(localforum, email="b@meyzieu.fr", raw="Une réponse", topic_id=topic,
                    message_id="<ev-1@liste.example.org>"),
               post(localforum, **new_topic(staff_only, "b@meyzieu.fr", "ev-2")),
               post(localforum, **new_topic(reply_only, "b@meyzieu.fr", "ev-3"))]
    assert [(r.status_code, r.json().get("error_type")) for r in refused] == [(422, "category_closed")] * 3
    assert "tout le monde n'y a pas ce droit" in refused[0].json()["errors"][0]
    assert count(localforum, Post, Post.topic_id == topic) == 1
    assert count(localforum, User, User.email == "b@meyzieu.fr") == 0


def test_a_staged_reply_is_never_written_in_a_closed_or_archived_topic(localforum, category_id):
    """Only staff post in a closed or archived topic (TopicGuardian#can_create_post_on_topic?);
    a staged post skips the guardian, so the plugin refuses it: 422 ``topic_closed``, and
    forumsync decides the place again (red-team pass 18)."""
    gw = gateway(localforum)
    for index, status in enumerate(("closed", "archived")):
        topic = post(localforum, **new_topic(category_id, "a@meyzieu.fr", f"cl-{index}")).json()["topic_id"]
        gw.topic_status_set(topic, status, True)
        answer = post(localforum, email="b@meyzieu.fr", raw="Une réponse", topic_id=topic,
                      message_id=f"<cl-r{index}@liste.example.org>")
        assert (answer.status_code, answer.json().get("error_type")) == (422, "topic_closed")
        assert count(localforum, Post, Post.topic_id == topic, Post.post_type == 1) == 1


def test_a_staged_reply_is_never_written_in_a_private_message(localforum):
    """A private message has no category everyone may write in: the plugin refuses a staged
    reply there (``category_closed``), even when forumsync's own view of the topic is stale
    (a topic converted to a private message, which the ``topic_edited`` webhook does not
    record: red-team pass 18)."""
    localforum.create_user("carole", "carole@example.org")
    pm = requests.post(localforum.url + "/posts.json", headers=localforum.headers(), timeout=10, json={
        "title": "Entre nous, en privé", "raw": "Message privé entre nous deux.",
        "archetype": "private_message", "target_recipients": "carole"}).json()
    answer = post(localforum, email="b@meyzieu.fr", raw="Une réponse", topic_id=pm["topic_id"],
                  message_id="<pm-r@liste.example.org>")
    assert (answer.status_code, answer.json().get("error_type")) == (422, "category_closed")
    assert count(localforum, Post, Post.topic_id == pm["topic_id"]) == 1


def test_a_message_id_whose_post_a_moderator_deleted_is_not_posted_again(localforum, category_id):
    """Red team, 46th pass. Discourse: Post is Trashable (default scope without deleted posts)
    and trashing keeps the Message-ID custom field; the plugin's lookup answered nothing for a
    deleted post, so the Message-ID was posted again, and again on every later attempt. Like
    Email::Receiver#process! (a known Message-ID is never handled twice), the plugin now
    answers the deleted post, as the local forum does: 200, created false, nothing written."""
    topic = post(localforum, **new_topic(category_id, "marie@x.fr", "del-1"))
    assert topic.status_code == 201
    first = topic.json()
    reply_params = {"email": "jean@x.fr", "raw": "Une réponse de Jean.", "topic_id": first["topic_id"],
                    "message_id": "<del-2@liste.example.org>"}
    reply = post(localforum, **reply_params).json()
    headers = localforum.headers()
    assert requests.delete(f"{localforum.url}/posts/{reply['id']}.json", headers=headers,
                           timeout=10).status_code == 200
    assert requests.delete(f"{localforum.url}/t/{first['topic_id']}.json", headers=headers,
                           timeout=10).status_code == 200
    posts_before = count(localforum, Post)
    for _ in range(2):
        again = post(localforum, **new_topic(category_id, "marie@x.fr", "del-1"))
        assert again.status_code == 200
        assert again.json()["id"] == first["id"] and again.json()["created"] is False
        again = post(localforum, **reply_params)
        assert again.status_code == 200
        assert again.json()["id"] == reply["id"] and again.json()["created"] is False
    assert count(localforum, Post) == posts_before
    found = requests.get(f"{localforum.url}/forumsync/posts/by-message-id.json",
                         params={"message_id": "<del-1@liste.example.org>"}, headers=headers, timeout=10)
    assert found.status_code == 200
    assert found.json()["id"] == first["id"] and found.json()["deleted_at"]
