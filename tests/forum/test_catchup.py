"""Catch-up (forum/catchup.py): a post whose webhook never reached forumsync still reaches the
list, once; the real webhook arriving later adds nothing; eligibility rules are unchanged.
Against the local forum, which gives up on a dead receiver as Discourse does."""
import email.utils
import json
from datetime import timedelta

import requests
from sqlalchemy import select

from forumsync.forum import catchup
from forumsync.forum.webhooks import signature
from forumsync.localforum.models import Post
from forumsync.models import PostLink, get_state
from forumsync.testing.settings import free_port
from tests.outbound.test_round_trip import _move, as_list_copy, member_mail, pipeline


def _dead_forumsync(bridge):
    """forumsync down: the forum's deliveries find nobody listening."""
    bridge.forum.set_webhook_url(f"http://127.0.0.1:{free_port()}/webhooks/discourse")


def _forumsync_back(bridge):
    bridge.forum.set_webhook_url(f"{bridge.web_url}/webhooks/discourse")


def _catch_up_now(bridge):
    """The worker's next round is a catch-up round (as at start), then everything is drained."""
    catchup._last_round.pop(bridge.ctx.db.url, None)
    bridge.process()


def _post_events(bridge, post_id):
    return [e for e in bridge.events()
            if e.event == "post_created" and json.loads(e.payload)["post"]["id"] == post_id]


def _lost_webhooks(bridge):
    """Wait for the forum to give up; returns its failed deliveries (no retry left)."""
    sent = bridge.forum.wait_webhooks()
    with bridge.forum.session() as s:
        from forumsync.localforum.models import WebhookDelivery

        states = {d.state for d in s.scalars(select(WebhookDelivery).where(WebhookDelivery.state != "delivered"))}
    assert states <= {"failed"}, states  # nothing pending: the forum will never send them again
    return [w for w in sent if w["status"] is None]


def test_post_lost_while_forumsync_was_down_reaches_the_list_once(bridge):
    first = bridge.topic("marie", "Sujet avant la panne", "Premier message, webhook reçu.")
    bridge.process()
    assert len(bridge.mails()) == 1
    _dead_forumsync(bridge)
    reply = bridge.reply("paul", first["topic_id"], "Réponse écrite pendant la panne de forumsync.")
    lost = _lost_webhooks(bridge)
    assert [w["payload"]["post"]["id"] for w in lost] == [reply["id"]]
    _forumsync_back(bridge)
    bridge.process()
    assert len(bridge.mails()) == 1  # no webhook, no catch-up due yet: still lost

    _catch_up_now(bridge)
    mails = bridge.mails()
    assert [m["Message-ID"] for m in mails] == [f"<discourse/post/{first['id']}@127.0.0.1>",
                                                f"<discourse/post/{reply['id']}@127.0.0.1>"]
    assert mails[1]["In-Reply-To"] == f"<discourse/post/{first['id']}@127.0.0.1>"
    [event] = _post_events(bridge, reply["id"])
    assert event.state == "done" and "#catchup-" in event.delivery_id

    # The real webhook comes after all (a redelivery from the forum's admin page): « déjà reçu »
    webhook = lost[0]
    headers = {**webhook["headers"], "X-Discourse-Event-Id": "999"}
    answer = requests.post(f"{bridge.web_url}/webhooks/discourse", data=webhook["body"],
                           headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.json()["statut"] == "déjà reçu"
    _catch_up_now(bridge)  # and another catch-up round finds nothing new either
    assert len(bridge.mails()) == 2
    assert len(_post_events(bridge, reply["id"])) == 1


def test_catch_up_before_the_late_webhook_mails_once(bridge):
    """The webhook is only late (not lost): catch-up stores the post first, the webhook is then
    recognised as the same event and nothing is mailed twice."""
    first = bridge.topic("marie", "Sujet au webhook en retard", "Premier message du sujet.")
    bridge.process()
    _dead_forumsync(bridge)
    reply = bridge.reply("paul", first["topic_id"], "Réponse dont le webhook arrive après.")
    lost = _lost_webhooks(bridge)
    _forumsync_back(bridge)
    _catch_up_now(bridge)
    body = lost[0]["body"]
    headers = {**lost[0]["headers"], "X-Discourse-Event-Id": "1234",
               "X-Discourse-Event-Signature": signature(bridge.settings.FORUM_WEBHOOK_SECRET, body)}
    answer = requests.post(f"{bridge.web_url}/webhooks/discourse", data=body, headers=headers, timeout=10)
    assert answer.json()["statut"] == "déjà reçu"
    bridge.process()
    assert [m["Message-ID"] for m in bridge.mails()].count(f"<discourse/post/{reply['id']}@127.0.0.1>") == 1


def test_webhook_received_first_then_catch_up_adds_nothing(bridge):
    first = bridge.topic("marie", "Sujet reçu normalement", "Premier message, webhook reçu.")
    bridge.process()
    reply = bridge.reply("paul", first["topic_id"], "Réponse reçue par webhook.")
    bridge.process()
    before = len(bridge.events())
    _catch_up_now(bridge)
    assert len(bridge.events()) == before
    assert len(bridge.mails()) == 2
    with bridge.ctx.db.session() as s:
        assert get_state(s, catchup.STATE_KEY)["floor"] >= reply["id"]


def test_catch_up_keeps_the_eligibility_rules(bridge):
    """Posts lost during the outage that the list must not get: one that came from the list
    (linked), one in a restricted category, one by the bridge account. None is mailed."""
    bridge.process()  # the first round: the high-water mark is the forum's newest post
    _dead_forumsync(bridge)
    from_list = bridge.topic("marie", "Sujet venu de la liste", "Publié par le pipeline.")
    with bridge.ctx.db.session() as s:
        s.add(PostLink(message_id="abc@meyzieu.fr", post_id=from_list["id"],
                       topic_id=from_list["topic_id"], post_number=1, origin="list"))
    restricted = bridge.topic("modo", "Recensement confidentiel", "Liste des éditeurs, confidentielle.",
                              category="restricted")
    by_bridge = bridge.topic(None, "Sujet publié par la passerelle", "Message de la passerelle elle-même.")
    _lost_webhooks(bridge)
    _forumsync_back(bridge)
    _catch_up_now(bridge)
    assert bridge.mails() == []
    assert _post_events(bridge, from_list["id"]) == []  # linked: already seen, not even queued
    [event] = _post_events(bridge, restricted["id"])
    assert event.state == "skipped" and "accès restreint" in event.reason
    [event] = _post_events(bridge, by_bridge["id"])
    assert event.state == "skipped"


def test_one_request_per_round_and_a_long_gap_over_several_rounds(bridge, monkeypatch):
    """A gap longer than a page is read page by page, one request a round (``before``)."""
    bridge.process()
    monkeypatch.setattr(catchup, "PAGE_SIZE", 2)  # as if the forum's pages held 2 posts
    forum = bridge.ctx.forum
    calls = []
    original = type(forum).posts_latest

    def latest(self, before=None):
        calls.append(before)
        return original(self, before)[:2]

    monkeypatch.setattr(type(forum), "posts_latest", latest)
    _dead_forumsync(bridge)
    first = bridge.topic("marie", "Sujet écrit pendant une longue panne", "Premier message du sujet, assez long.")
    replies = [bridge.reply("paul", first["topic_id"], f"Réponse n° {n} pendant la panne.") for n in (1, 2)]
    _lost_webhooks(bridge)
    _forumsync_back(bridge)
    for _ in range(3):
        _catch_up_now(bridge)
    assert calls == [None, replies[0]["id"], None]
    assert sorted(m["Message-ID"] for m in bridge.mails()) == sorted(
        f"<discourse/post/{p['id']}@127.0.0.1>" for p in [first, *replies])


def test_forum_answers_latest_posts_as_discourse(bridge):
    """GET /posts.json (PostsController#latest, LatestPostsQuery#public_posts): regular, visible,
    undeleted posts of non-private topics, newest first; ``before`` pages down."""
    first = bridge.topic("marie", "Sujet pour la liste des derniers messages", "Premier message du sujet, assez long.")
    whisper = bridge.reply("modo", first["topic_id"], "Note interne réservée à l'équipe.", whisper=True)
    hidden = bridge.reply("paul", first["topic_id"], "Message bientôt masqué.")
    kept = bridge.reply("paul", first["topic_id"], "Message visible de tous les lecteurs.")
    pm = bridge.gateway("marie").topic_create("Question privée", "Entre nous, Paul…", None,
                                              archetype="private_message", target_recipients="paul")
    from forumsync.localforum.models import Post

    with bridge.forum.session() as s:
        s.get(Post, hidden["id"]).hidden = True
    url = f"{bridge.forum.url}/posts.json"
    answer = requests.get(url, headers=bridge.forum.headers(), timeout=5).json()
    ids = [p["id"] for p in answer["latest_posts"]]
    assert ids == sorted(ids, reverse=True) and ids[:2] == [kept["id"], first["id"]]
    assert not {whisper["id"], hidden["id"], pm["id"]} & set(ids)
    below = requests.get(url, params={"before": kept["id"]}, headers=bridge.forum.headers(), timeout=5).json()
    assert [p["id"] for p in below["latest_posts"]][0] == first["id"]
    for junk in ("0", "-3", "abc"):  # params[:before].to_i <= 0: no lower bound
        again = requests.get(url, params={"before": junk}, headers=bridge.forum.headers(), timeout=5).json()
        assert [p["id"] for p in again["latest_posts"]] == ids
    assert bridge.ctx.forum.posts_latest(first["id"] + 1)[0]["id"] == first["id"]


def test_a_failing_catch_up_never_holds_the_events_back(bridge):
    """The forum refuses the catch-up's read (403): the webhooks already stored are handled all
    the same, and the next round reads again."""
    bridge.forum.faults.fail(403, count=1, method="GET", path="^/posts(\\.json)?$")
    first = bridge.topic("marie", "Sujet reçu malgré un rattrapage refusé", "Premier message du sujet.")
    _catch_up_now(bridge)
    assert [m["Message-ID"] for m in bridge.mails()] == [f"<discourse/post/{first['id']}@127.0.0.1>"]
    with bridge.ctx.db.session() as s:
        assert get_state(s, catchup.STATE_KEY) is None  # nothing recorded from a refused read
    _catch_up_now(bridge)
    with bridge.ctx.db.session() as s:
        assert get_state(s, catchup.STATE_KEY)["floor"] >= first["id"]


def test_forum_down_during_catch_up_postpones_the_round(bridge, caplog):
    """The forum answers 503 to the catch-up's read (after the gateway's retries): the round is
    postponed with a log line, nothing is recorded, and the next round still finds the post whose
    webhook was lost."""
    first = bridge.topic("marie", "Sujet avant une double panne", "Premier message, webhook reçu.")
    bridge.process()
    _dead_forumsync(bridge)
    reply = bridge.reply("paul", first["topic_id"], "Réponse perdue puis rattrapée.")
    _lost_webhooks(bridge)
    _forumsync_back(bridge)
    bridge.forum.faults.fail(503, seconds=120, method="GET", path="^/posts(\\.json)?$")
    caplog.set_level("INFO", logger="forumsync.forum.catchup")
    _catch_up_now(bridge)
    assert "rattrapage du forum reporté" in caplog.text
    assert len(bridge.mails()) == 1
    assert _post_events(bridge, reply["id"]) == []
    bridge.forum.faults.clear()
    _catch_up_now(bridge)
    assert len(_post_events(bridge, reply["id"])) == 1
    assert [m["Message-ID"] for m in bridge.mails()][-1] == f"<discourse/post/{reply['id']}@127.0.0.1>"


def test_a_staff_first_post_moved_while_forumsync_was_down_is_not_emailed(sqlite_bridge):
    """Red team, 30th pass: catch-up read the copy of a moved first post as a post written
    then (its dates are the live post's): a staff-only note moved into a public topic while
    forumsync was down went to the list. A catch-up post dated before the floor was read is a copy."""
    b = sqlite_bridge
    public = b.topic("paul", "Calendrier des échéances de la SVE", "Le calendrier partagé du club.")
    secret = b.topic("modo", "Note interne de l'équipe de modération",
                     "Note interne : ne pas diffuser hors de l'équipe.", category="restricted")
    b.process()
    assert len(b.sink.messages) == 1
    with b.forum.session() as s:  # the note was written two hours ago
        post = s.get(Post, secret["id"])
        post.created_at -= timedelta(hours=2)
        post.updated_at = post.created_at
    _moved_during_an_outage_stays_off_the_list(b, secret, public)  # the floor: a first round


# Red team, 31st pass: the floor's date was its post's — a list post carries its mail's date.
def _list_mail_dated_ahead(hours=2):
    raw = member_mail("Marie Dupré <marie.dupre@meyzieu.fr>", "club@listes.example.org",
                      "[SVE] Horloge du poste en avance", "Notre serveur de messagerie a l'heure d'été.\n")
    ahead = email.utils.format_datetime(email.utils.localtime() + timedelta(hours=hours))
    raw = raw.replace(b"Date: ", b"X-Old-Date: ", 1).replace(b"\n\n", f"\nDate: {ahead}\n\n".encode(), 1)
    return as_list_copy(raw)


def test_forum_reply_after_a_future_dated_list_post_is_relayed_by_catch_up(sqlite_bridge):
    """A list mail dated 2 hours ahead (a sender's clock) was the floor: a forum reply written
    during a webhook outage was read as a copy (dated before the floor) and withheld."""
    b = sqlite_bridge
    row = pipeline(b, _list_mail_dated_ahead())
    assert row.state == "published", row.reason
    b.process()
    _catch_up_now(b)  # the floor: the list post (its webhook was received)
    topic_id = b.gateway().post_get(row.post_id)["topic_id"]
    _dead_forumsync(b)
    reply = b.reply("paul", topic_id, "Réponse écrite sur le forum pendant la panne du récepteur.")
    _lost_webhooks(b)
    _forumsync_back(b)
    _catch_up_now(b)
    sent = [m["Message-ID"] for m in b.mails()]
    event = [e for e in b.events() if e.event == "post_created" and f'"id": {reply["id"]},' in e.payload]
    assert f"<discourse/post/{reply['id']}@127.0.0.1>" in sent, [(e.state, e.reason) for e in event]



def test_staff_note_moved_after_a_held_list_message_is_not_emailed(sqlite_bridge):
    """A list message held an hour by the list's moderator was the floor, dated an hour back:
    the copy of a staff note moved during a webhook outage was dated after it and relayed."""
    b = sqlite_bridge
    public = b.topic("paul", "Calendrier des échéances de la SVE", "Le calendrier partagé du club.")
    secret = b.topic("modo", "Note interne de l'équipe de modération",
                     "Note interne : ne pas diffuser hors de l'équipe.", category="restricted")
    with b.forum.session() as s:  # the note was written half an hour ago: after the held mail's date
        post = s.get(Post, secret["id"])
        post.created_at -= timedelta(minutes=30)
        post.updated_at = post.created_at
    b.process()
    assert len(b.sink.messages) == 1
    # a list message written an hour ago, released by the list's moderator now
    raw = member_mail("Marie Dupré <marie.dupre@meyzieu.fr>", "club@listes.example.org",
                      "[SVE] Message retenu en modération", "Retenu une heure par le modérateur de la liste.\n")
    held = email.utils.format_datetime(email.utils.localtime() - timedelta(hours=1))
    raw = raw.replace(b"Date: ", b"X-Old-Date: ", 1).replace(b"\n\n", f"\nDate: {held}\n\n".encode(), 1)
    row = pipeline(b, as_list_copy(raw))
    assert row.state == "published", row.reason
    b.process()
    _moved_during_an_outage_stays_off_the_list(b, secret, public)  # the floor: the list post


def test_a_cycle_begun_by_the_previous_release_gives_its_floor_no_date(sqlite_bridge):
    """Red team, 32nd pass: a catch-up spread over pages, begun by a release that recorded no
    date, was dated by its last page: a post written during the cycle, above the floor it set,
    was then read as a copy (dated before the floor) and withheld. Such a floor gets no date."""
    b = sqlite_bridge
    # a raw of its own each: Paul (not staff) may not post one raw twice in unique_posts_mins
    posts = [b.topic("paul", f"Sujet du forum numéro {n} pour le rattrapage", f"Un message du forum, le {n}.")
             for n in range(3)]
    b.process()
    ids = sorted(p["id"] for p in posts)
    with b.ctx.db.session() as s:  # the old format, in the middle of a cycle
        from forumsync.models import set_state

        set_state(s, catchup.STATE_KEY, {"floor": ids[0] - 1, "top": ids[-1], "before": ids[-1]})
    _catch_up_now(b)
    with b.ctx.db.session() as s:
        state = get_state(s, catchup.STATE_KEY)
    assert state["floor"] == ids[-1] and state.get("seen_at") is None, state
    _catch_up_now(b)  # the next cycle, begun now, dates its floor
    with b.ctx.db.session() as s:
        assert get_state(s, catchup.STATE_KEY).get("seen_at"), get_state(s, catchup.STATE_KEY)


def _moved_during_an_outage_stays_off_the_list(b, secret, public):
    """A catch-up round sets the floor; SECRET's first post is moved into PUBLIC while forumsync
    receives no webhook; catch-up then runs: nothing of the note reaches the list."""
    _catch_up_now(b)
    _dead_forumsync(b)
    _move(b, secret["topic_id"], post_ids=[secret["id"]], destination_topic_id=public["topic_id"])
    _lost_webhooks(b)
    _forumsync_back(b)
    _catch_up_now(b)
    assert not any("Note interne" in m.get_body(("plain",)).get_content() for m in b.mails()), \
        [m["Subject"] for m in b.mails()]
