"""The forum gateway against the local forum over real HTTP: retries, 429, timeouts, lookups."""
import time

import pytest

from forumsync.forum.gateway import ForumGateway, ForumNotFound, ForumRejected, ForumUnavailable
from tests.fixtures.database import free_port


@pytest.fixture
def gateway(localforum):
    return ForumGateway(localforum.url, localforum.api_key, localforum.username, timeout=30,
                        retries=3, max_wait=5, backoff=0.01)


@pytest.fixture
def category(localforum):
    return localforum.create_category("Tests", slug="tests")


def test_topic_create_and_lookup_by_external_id(gateway, category):
    post = gateway.topic_create("Démarche d'état civil", "Bonjour à tous, une question…",
                                category["id"], external_id="ml-abc123",
                                created_at="2024-03-12T10:15:00+01:00")
    assert post["post_number"] == 1
    topic = gateway.topic_by_external_id("ml-abc123")
    assert topic["id"] == post["topic_id"]
    assert topic["title"] == "Démarche d'état civil"
    assert gateway.topic_by_external_id("ml-unknown") is None


def test_reply_and_post_get(gateway, category):
    first = gateway.topic_create("Sujet de test assez long", "Premier message du sujet.", category["id"])
    reply = gateway.post_create(first["topic_id"], "Une **réponse** au premier message", reply_to_post_number=1)
    assert reply["post_number"] == 2
    fetched = gateway.post_get(reply["id"])
    assert fetched["raw"] == "Une **réponse** au premier message" and "<strong>réponse</strong>" in fetched["cooked"]
    stream = gateway.topic_get(first["topic_id"])["post_stream"]["posts"]
    assert [p["post_number"] for p in stream] == [1, 2]


def test_user_by_email_is_url_encoded_exact_and_cached(gateway, localforum):
    localforum.create_user("marie", "marie+club@meyzieu.fr", "Marie Dupont")
    localforum.create_user("mariebis", "marie@meyzieu.fr", "Marie Bis")
    user = gateway.user_by_email("Marie+Club@meyzieu.fr")
    assert user is not None and user["username"] == "marie"
    before = gateway.stats["requests"]
    assert gateway.user_by_email("marie+club@meyzieu.fr")["username"] == "marie"
    assert gateway.stats["requests"] == before  # cached
    assert gateway.user_by_email("personne@exemple.fr") is None


def test_retries_5xx_then_succeeds(gateway, localforum, category):
    localforum.faults.fail(500, count=2)
    post = gateway.topic_create("Reprise après erreurs", "Le contenu du message.", category["id"])
    assert post["id"]
    assert gateway.stats["POST"] == 3


def test_gives_up_after_bounded_retries(gateway, localforum):
    localforum.faults.fail(502, count=50)
    with pytest.raises(ForumUnavailable) as info:
        gateway.topic_get(1)
    assert info.value.status == 502
    assert gateway.stats["GET"] == 4  # 1 + 3 retries


def test_no_retry_on_4xx_and_messages_kept(gateway, localforum):
    with pytest.raises(ForumNotFound):
        gateway.topic_get(99999)
    assert gateway.stats["GET"] == 1
    bad = ForumGateway(localforum.url, "wrong-key", localforum.username, retries=3)
    with pytest.raises(ForumRejected) as info:
        bad.topic_get(1)
    assert info.value.status == 403 and info.value.errors
    assert bad.stats["GET"] == 1


def test_honours_retry_after_on_429(gateway, localforum, category):
    localforum.faults.rate_limit(retry_after=1, count=1)
    started = time.monotonic()
    post = gateway.topic_create("Après une limite de débit", "Le contenu du message.", category["id"])
    assert post["id"] and time.monotonic() - started >= 0.9
    assert gateway.stats["POST"] == 2


def test_429_longer_than_max_wait_is_unavailable(localforum):
    gateway = ForumGateway(localforum.url, localforum.api_key, localforum.username, max_wait=2)
    localforum.faults.rate_limit(retry_after=30, count=1)
    with pytest.raises(ForumUnavailable) as info:
        gateway.category_list()
    assert info.value.status == 429


def test_real_rate_limit_mode(make_localforum):
    forum = make_localforum(rate_limit=3)
    gateway = ForumGateway(forum.url, forum.api_key, forum.username, max_wait=0)
    for _ in range(3):
        gateway.tag_list()
    with pytest.raises(ForumUnavailable) as info:
        gateway.tag_list()
    assert info.value.status == 429


def test_read_timeout_is_unavailable(localforum):
    gateway = ForumGateway(localforum.url, localforum.api_key, localforum.username, timeout=0.3,
                           retries=1, backoff=0.01)
    held = localforum.faults.hold(count=2)  # answered only after the gateway gave up
    with pytest.raises(ForumUnavailable):
        gateway.category_list()
    assert gateway.stats["GET"] == 2
    held.release()
    assert held.wait_finished(2)


def test_server_down_is_unavailable():
    gateway = ForumGateway(f"http://127.0.0.1:{free_port()}", "k", "system", retries=2,
                           backoff=0.01)
    with pytest.raises(ForumUnavailable, match="injoignable"):
        gateway.category_list()
    assert gateway.stats["requests"] == 3


def test_categories_groups_and_status(gateway, localforum):
    parent = gateway.category_create("Club Publik", slug="club-publik")
    child = gateway.category_create("SVE", slug="sve", parent_category_id=parent["id"])
    slugs = {c["slug"] for c in gateway.category_list()}
    assert {"club-publik", "sve"} <= slugs
    gateway.category_update(child["id"], name="SVE et saisine")
    assert gateway.category_get(child["id"])["name"] == "SVE et saisine"
    group = gateway.group_create("animateurs-sve", "Animateurs SVE")
    localforum.create_user("lea", "lea@meyzieu.fr")
    gateway.group_members_add(group["id"], ["lea"], owners=True)
    members = gateway.group_members("animateurs-sve")
    assert [o["username"] for o in members["owners"]] == ["lea"]
    post = gateway.topic_create("Un sujet à fermer", "Le contenu du message.", child["id"])
    gateway.topic_status_set(post["topic_id"], "closed", True)
    assert gateway.topic_get(post["topic_id"])["closed"] is True
    gateway.topic_update(post["topic_id"], category_id=parent["id"])
    assert gateway.topic_get(post["topic_id"])["category_id"] == parent["id"]


def test_upload_and_as_user(gateway, localforum, category):
    localforum.create_user("paul", "paul@grandlyon.com", "Paul")
    upload = gateway.upload_create("compte-rendu.pdf", b"%PDF-1.4 test", "application/pdf")
    assert upload["short_url"].startswith("upload://")
    post = gateway.as_user("paul").topic_create("Sujet écrit par Paul", "Le contenu du message de Paul.", category["id"])
    assert post["username"] == "paul"
    assert gateway.stats["POST"] == 2  # stats are shared with the clone


def test_user_email_get_for_admins_only(gateway, localforum):
    from tests.localforum.openapi import validate

    localforum.create_user("claire", "claire@grandlyon.com", "Claire")
    assert gateway.user_email_get("claire") == "claire@grandlyon.com"
    assert gateway.user_email_get("personne") is None
    response = gateway.session.get(f"{localforum.url}/u/claire/emails.json",
                                   headers=localforum.headers())
    validate(response)
    with pytest.raises(ForumRejected) as info:
        gateway.as_user("claire").user_email_get("claire")
    assert info.value.status == 403


def test_owners_are_sent_as_top_level_usernames(gateway, localforum):
    """GroupsController#add_owners reads ``usernames`` at the top level (a nested one adds
    nobody on Discourse and on the local forum)."""
    group = gateway.group_create("animateurs-od", "Animateurs open data")
    localforum.create_user("jules", "jules@montpellier3m.fr")
    answer = gateway.group_members_add(group["id"], ["jules"], owners=True)
    assert answer["usernames"] == ["jules"]
    assert [o["username"] for o in gateway.group_members("animateurs-od")["owners"]] == ["jules"]


def test_category_description_is_written_in_the_about_topic_once(gateway):
    created = gateway.category_create("Famille", slug="famille",
                                      description="Le portail famille et ses démarches.")
    assert gateway.category_description_get(created["id"]) == "Le portail famille et ses démarches."
    assert gateway.category_get(created["id"])["description_text"] == (
        "Le portail famille et ses démarches.")
    writes = gateway.stats["writes"]
    assert gateway.category_description_set(created["id"], "Le portail famille et ses démarches.") is False
    assert gateway.stats["writes"] == writes
    assert gateway.category_description_set(created["id"], "Un autre texte pour le portail famille.") is True
    assert gateway.stats["writes"] == writes + 1
    # French typography: Discourse stores no-break and thin spaces as plain ones (TextCleaner);
    # the same description written again is no change
    french = "Portail\u00a0famille\u202f: les démarches\n"
    assert gateway.category_description_set(created["id"], french) is True
    assert gateway.category_description_get(created["id"]) == "Portail famille : les démarches"
    assert gateway.category_description_set(created["id"], french) is False
    assert gateway.stats["writes"] == writes + 2


def test_category_list_reads_every_page_of_lazy_loaded_categories(gateway, localforum):
    localforum.set_site_setting("lazy_load_categories", True)
    parent = localforum.create_category("Club Publik")
    for n in range(23):
        localforum.create_category(f"Racine {n:02d}")
    for n in range(8):
        localforum.create_category(f"Thème {n}", parent=parent["id"])
    listed = gateway.category_list()
    names = [c["name"] for c in listed]
    assert len(names) == len(set(names)) == 1 + 1 + 23 + 8  # with Uncategorized
    assert sum(1 for c in listed if c.get("parent_category_id") == parent["id"]) == 8


@pytest.mark.slow  # waits out Discourse's one-minute window (about a minute)
def test_paced_by_the_site_wide_admin_limiter(make_localforum):
    """A burst over max_admin_api_reqs_per_minute waits Retry-After (extras.wait_seconds) and
    then succeeds; the limit is the forum's, whichever user the key acts as."""
    forum = make_localforum(rate_limit=4)
    forum.create_user("paul", "paul@grandlyon.com", "Paul")
    gateway = ForumGateway(forum.url, forum.api_key, forum.username, max_wait=70)
    paul = gateway.as_user("paul")
    for client in (gateway, paul, gateway, paul):
        client.tag_list()
    started = time.monotonic()
    limited = forum.forum.limiter.refused
    paul.tag_list()
    assert forum.forum.limiter.refused == limited + 1
    assert time.monotonic() - started >= 1


def test_enqueued_post_is_a_typed_pending_result(gateway, localforum):
    from forumsync.forum.gateway import ForumPending

    localforum.create_user("anne", "anne@example.org", "Anne")
    moderated = localforum.create_category("Modérée", custom_fields={"require_topic_approval": "true"})
    with pytest.raises(ForumPending) as info:
        gateway.as_user("anne").topic_create("Sujet soumis à validation", "Texte à valider.",
                                             moderated["id"])
    assert info.value.pending_id and info.value.pending_count == 1
    assert not isinstance(info.value, ForumRejected)  # not a refusal: never re-posted


def test_as_user_acts_as_that_user_and_leaves_the_gateway_as_it_was(gateway, localforum, category):
    localforum.create_user("lea", "lea@meyzieu.fr", "Léa")
    lea = gateway.as_user("lea")
    post = lea.topic_create("Un sujet écrit par Léa", "Le contenu du message de Léa.", category["id"])
    assert lea.post_get(post["id"])["username"] == "lea"
    mine = gateway.topic_create("Un sujet écrit par l'admin", "Le contenu du message.", category["id"])
    assert gateway.post_get(mine["id"])["username"] == localforum.username
    assert lea.session is gateway.session and lea.stats is gateway.stats
    assert gateway.stats["POST"] == 2  # one set of counters for the connection
    gateway.user_by_email("lea@meyzieu.fr")
    before = gateway.stats["requests"]
    assert lea.user_by_email("lea@meyzieu.fr")["username"] == "lea"  # the clone's cache is the gateway's
    assert gateway.stats["requests"] == before
