"""Webhooks: Discourse headers, HMAC signature, payloads, retries — to a real HTTP receiver."""
import hashlib
import hmac
import json
import threading
import time

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from forumsync.localforum.webhooks import retry_delay_minutes, sign
from tests.fixtures.database import free_port


class Receiver:
    """A werkzeug server on port 0 recording every POST; answers `fail_first` 500s first."""

    def __init__(self, fail_first=0):
        self.received = []
        self.fail_first = fail_first
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/discourse"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @Request.application
    def app(self, request):
        self.received.append((dict(request.headers), request.get_data()))
        if self.fail_first > 0:
            self.fail_first -= 1
            return Response("boom", status=500)
        return Response("ok")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def events(received):
    return [(h["X-Discourse-Event"], json.loads(body)) for h, body in received]


def test_topic_and_post_created_are_signed(make_localforum, receiver):
    forum = make_localforum(webhook_url=receiver.url)
    category = forum.create_category("Club")
    post = forum.client().create_post("Bonjour **liste** et forum", category_id=category["id"],
                                      title="Nouveau sujet du club")
    forum.wait_webhooks()
    assert [e for e, _ in events(receiver.received)] == ["topic_created", "post_created"]
    ids = []
    for headers, body in receiver.received:
        expected = "sha256=" + hmac.new(b"test-webhook-secret", body, hashlib.sha256).hexdigest()
        assert headers["X-Discourse-Event-Signature"] == expected
        assert headers["X-Discourse-Instance"] == forum.url
        assert headers["Content-Type"] == "application/json"
        ids.append(int(headers["X-Discourse-Event-Id"]))
    assert ids == sorted(set(ids))
    topic_headers, topic_body = receiver.received[0]
    assert topic_headers["X-Discourse-Event-Type"] == "topic"
    topic = json.loads(topic_body)["topic"]
    assert topic["id"] == post["topic_id"] and topic["category_id"] == category["id"]
    payload = json.loads(receiver.received[1][1])["post"]
    assert receiver.received[1][0]["X-Discourse-Event-Type"] == "post"
    assert payload["id"] == post["id"] and payload["post_number"] == 1
    assert payload["raw"] == "Bonjour **liste** et forum"
    assert payload["cooked"] == "<p>Bonjour <strong>liste</strong> et forum</p>"
    assert payload["topic_title"] == "Nouveau sujet du club" and payload["category_id"] == category["id"]
    assert payload["topic_archetype"] == "regular" and payload["post_type"] == 1
    assert payload["username"] == "system" and payload["reply_to_post_number"] is None
    assert forum.webhooks_sent[1]["payload"] == {"post": payload}


def test_edits_moves_and_status_fire_topic_edited(make_localforum, receiver):
    forum = make_localforum(webhook_url=receiver.url)
    first = forum.create_category("Un")
    second = forum.create_category("Deux")
    client = forum.client()
    post = client.create_post("Le texte du premier message.", category_id=first["id"],
                              title="Sujet du premier message")
    client.update_post(post["id"], "Le texte modifié du premier message.")
    client.update_topic(f"/t/-/{post['topic_id']}", "Sujet renommé du message", category_id=second["id"])
    client.update_topic_status(post["topic_id"], "closed", True)
    forum.wait_webhooks()
    received = events(receiver.received)
    # closing adds a small-action post (TopicStatusUpdater → add_moderator_post)
    assert [e for e, _ in received] == ["topic_created", "post_created", "post_edited",
                                        "topic_edited", "post_created", "topic_edited"]
    assert received[2][1]["post"]["raw"] == "Le texte modifié du premier message."
    assert received[3][1]["topic"]["title"] == "Sujet renommé du message"
    assert received[3][1]["topic"]["category_id"] == second["id"]
    assert received[4][1]["post"]["post_type"] == 3
    assert received[5][1]["topic"]["closed"] is True


def test_pm_and_whisper_payloads(make_localforum, receiver):
    forum = make_localforum(webhook_url=receiver.url)
    forum.create_user("carole", "carole@example.org")
    category = forum.create_category("Club")
    client = forum.client()
    client.create_post("Un message privé.", title="Message privé à Carole", archetype="private_message",
                       target_recipients="carole")
    topic = client.create_post("Un message public du club.", category_id=category["id"],
                               title="Sujet public du club")
    client.create_post("Chut, ceci est un murmure.", topic_id=topic["topic_id"], post_type=4)
    forum.wait_webhooks()
    posts = [p["post"] for e, p in events(receiver.received) if e == "post_created"]
    assert [(p["topic_archetype"], p["post_type"]) for p in posts] == [
        ("private_message", 1), ("regular", 1), ("regular", 4)]


def test_retries_are_new_deliveries_with_discourse_attempts_and_backoff(make_localforum):
    """emit_web_hook_event.rb: with retry_web_hook_events on, a 5xx is retried MAX_RETRY_COUNT
    (4) times, 5 ** (n - 1) minutes apart, each retry a new WebHookEvent (new event id)."""
    receiver = Receiver(fail_first=100)
    try:
        forum = make_localforum(webhook_url=receiver.url)
        forum.set_site_setting("retry_web_hook_events", True)
        forum.forum.deliverer.minute = 0.02  # one Discourse "minute" of backoff = 20 ms
        category = forum.create_category("Club")
        forum.client().create_post("Un message assez long pour Discourse.",
                                   category_id=category["id"], title="Un titre assez long")
        forum.wait_webhooks(20)
        topic_attempts = [s for s in forum.webhooks_sent if s["event"] == "topic_created"]
        assert len(topic_attempts) == 1 + 4
        ids = [a["headers"]["X-Discourse-Event-Id"] for a in topic_attempts]
        assert len(set(ids)) == 5  # every retry is a new delivery id
        assert {a["delivery"] for a in topic_attempts} == {topic_attempts[0]["delivery"]}
        assert len({a["body"] for a in topic_attempts}) == 1  # the body built once
    finally:
        receiver.stop()
    assert [retry_delay_minutes(n) for n in (1, 2, 3, 4)] == [1, 5, 25, 125]


def test_retry_then_success(make_localforum):
    receiver = Receiver(fail_first=2)
    try:
        forum = make_localforum(webhook_url=receiver.url)
        forum.set_site_setting("retry_web_hook_events", True)
        forum.forum.deliverer.minute = 0.01
        category = forum.create_category("Club")
        forum.client().create_post("Un message assez long pour Discourse.",
                                   category_id=category["id"], title="Un titre assez long")
        forum.wait_webhooks(20)
        statuses = [(s["event"], s["status"]) for s in forum.webhooks_sent]
        assert statuses.count(("topic_created", 500)) + statuses.count(("post_created", 500)) == 2
        assert {e for e, s in statuses if s == 200} == {"topic_created", "post_created"}
    finally:
        receiver.stop()


def test_no_retry_by_default_nor_on_404_nor_without_an_answer(make_localforum):
    """Discourse's retry_web_hook_events is off by default; 404/410 and a connection error
    (status -1, no response) are never retried."""
    receiver = Receiver(fail_first=100)
    try:
        forum = make_localforum(webhook_url=receiver.url)
        assert _statuses_after_one_topic(forum) == [500, 500]
    finally:
        receiver.stop()
    dead = make_localforum(webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/discourse")
    dead.set_site_setting("retry_web_hook_events", True)
    assert _statuses_after_one_topic(dead) == [None, None]


def _statuses_after_one_topic(forum) -> list:
    """Open one topic (two events: topic_created, post_created); the statuses of the deliveries."""
    forum.forum.deliverer.minute = 0.01
    category = forum.create_category("Club")
    forum.client().create_post("Un message assez long pour Discourse.",
                               category_id=category["id"], title="Un titre assez long")
    forum.wait_webhooks(5)  # every attempt due within 5 s (retries, if any, all due within 1.4 s)
    time.sleep(0.2)  # negative check (no further attempt): a short sleep is enough
    return [s["status"] for s in forum.webhooks_sent]


@pytest.mark.slow  # 2,500 refused connections: the fast lane has the other delivery tests
def test_dead_webhook_url_burns_no_cpu(make_localforum):
    """2,500 queued events, receiver answering 503 (retried, far in the future) or a closed
    port: after the first round the deliverer sleeps until the earliest due time instead of
    reading the whole table in a loop."""
    import resource

    forum = make_localforum(webhook_url=None)
    forum.set_site_setting("retry_web_hook_events", True)
    from forumsync.localforum import webhook_events as lf_webhook_events
    with forum.session() as s:
        for n in range(2500):
            lf_webhook_events.queue_event(s, "post_created", "post", {"post": {"id": n}})
    forum.set_webhook_url(f"http://127.0.0.1:{free_port()}/webhooks/discourse")
    assert forum.wait_webhooks(120) is not None
    assert len(forum.webhooks_sent) == 2500  # each tried once (no answer: no retry)
    deliverer = forum.forum.deliverer
    loops = deliverer.loops
    start = resource.getrusage(resource.RUSAGE_SELF).ru_utime + \
        resource.getrusage(resource.RUSAGE_SELF).ru_stime
    time.sleep(3)  # negative check (no loop, no CPU burnt): a fixed time is enough
    used = resource.getrusage(resource.RUSAGE_SELF).ru_utime + \
        resource.getrusage(resource.RUSAGE_SELF).ru_stime - start
    assert deliverer.loops - loops <= 1
    assert used < 0.5, f"{used:.2f} s of CPU in 3 s with nothing due"


def test_pending_retries_wait_for_their_due_time(make_localforum):
    """A receiver answering 503: the next attempt is a real minute away; meanwhile the
    thread does not wake up (one indexed MIN query decides how long it sleeps)."""
    receiver = Receiver(fail_first=10_000)
    try:
        forum = make_localforum(webhook_url=None)
        forum.set_site_setting("retry_web_hook_events", True)
        from forumsync.localforum import webhook_events as lf_webhook_events
        with forum.session() as s:
            for n in range(300):
                lf_webhook_events.queue_event(s, "post_created", "post", {"post": {"id": n}})
        forum.set_webhook_url(receiver.url)
        forum.wait_webhooks(60)
        assert len(forum.webhooks_sent) == 300
        loops = forum.forum.deliverer.loops
        time.sleep(2)  # negative check (the thread does not wake up): a fixed time is enough
        assert forum.forum.deliverer.loops == loops
        assert len(forum.webhooks_sent) == 300
    finally:
        receiver.stop()


def test_disabled_webhooks_send_nothing(localforum):
    category = localforum.create_category("Club")
    localforum.client().create_post("Un message sans webhook.", category_id=category["id"],
                                    title="Sujet sans webhook")
    assert localforum.webhooks_sent == []
    assert not localforum.forum.deliverer.enabled


def test_sign_matches_hmac():
    assert sign("s", b"{}") == "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()


def test_webhook_url_set_after_start_delivers_queued_events(localforum, receiver):
    category = localforum.create_category("Club")
    localforum.client().create_post("Un message écrit avant l'URL.", category_id=category["id"],
                                    title="Avant l'URL du webhook")
    localforum.set_webhook_url(receiver.url)
    localforum.wait_webhooks()
    assert [e for e, _ in events(receiver.received)] == ["topic_created", "post_created"]


def _move(forum, topic_id, **body):
    import requests

    answer = requests.post(f"{forum.url}/t/{topic_id}/move-posts.json", json=body,
                           headers=forum.headers(), timeout=10)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["url"].rsplit("/", 1)[1])


def test_moved_replies_fire_no_webhook_but_the_split_note(make_localforum, receiver):
    """PostMover#move updates the post in place (``post_moved`` has no webhook) and
    #to_new_topic creates the topic with Topic.create! (no ``topic_created``); the original
    topic gets a « split_topic » small action (Topic#add_moderator_post: PostCreator)."""
    forum = make_localforum(webhook_url=receiver.url)
    category = forum.create_category("Club")
    client = forum.client()
    first = client.create_post("Premier message du fil d'origine", category_id=category["id"],
                               title="Fil d'origine du club")
    replies = [client.create_post(f"Réponse numéro {i} du fil", topic_id=first["topic_id"])
               for i in range(2)]
    forum.wait_webhooks()
    receiver.received.clear()
    new_id = _move(forum, first["topic_id"], post_ids=[replies[0]["id"]], title="Fil détaché du club")
    forum.wait_webhooks()
    [(name, body)] = events(receiver.received)
    assert name == "post_created"
    note = body["post"]
    assert (note["topic_id"], note["post_type"], note["post_number"]) == (first["topic_id"], 3, 2)
    assert new_id != first["topic_id"]
    moved = client.post_by_id(replies[0]["id"])
    assert (moved["topic_id"], moved["post_number"]) == (new_id, 1)


def test_a_moved_first_post_is_copied_and_moving_all_closes_the_topic(make_localforum, receiver):
    """PostMover#create_first_post: the first post is copied by PostCreator (a new id,
    ``post_created``, the author, raw, date and via_email kept) and stays in its topic;
    moving every post closes the original topic (#close_topic_and_schedule_deletion)."""
    from forumsync.localforum.models import Post

    forum = make_localforum(webhook_url=receiver.url)
    category = forum.create_category("Club")
    client = forum.client()
    first = client.create_post("Message venu de la liste, premier du fil", category_id=category["id"],
                               title="Fil venu de la liste")
    reply = client.create_post("Sa seule réponse, au fil venu de la liste", topic_id=first["topic_id"])
    with forum.session() as session:  # as the plugin writes a list message
        session.get(Post, first["id"]).via_email = True
    forum.wait_webhooks()
    receiver.received.clear()
    new_id = _move(forum, first["topic_id"], post_ids=[first["id"], reply["id"]],
                   title="Fil déplacé en entier")
    forum.wait_webhooks()
    created = [body["post"] for name, body in events(receiver.received) if name == "post_created"]
    copy = next(p for p in created if p["topic_id"] == new_id)
    assert copy["id"] not in (first["id"], reply["id"])
    assert (copy["post_number"], copy["raw"], copy["via_email"]) == (1, "Message venu de la liste, premier du fil", True)
    assert copy["created_at"] == first["created_at"]
    assert "topic_created" not in [name for name, _ in events(receiver.received)]
    original = client.post_by_id(first["id"])
    assert (original["topic_id"], original["post_number"]) == (first["topic_id"], 1)
    assert client.post_by_id(reply["id"])["topic_id"] == new_id
    topic = client.topic("-", first["topic_id"])
    assert topic["closed"] is True
    codes = [p.get("action_code") for p in topic["post_stream"]["posts"]]
    assert "split_topic" in codes and "closed.enabled" in codes
