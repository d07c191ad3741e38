"""Both directions with real parts: a forum post is emailed to the list; the list's copy of it
(the echo) coming back through inbound creates nothing; replies by email land in the topic;
signed reply addresses post as their recipient and refuse forged/expired/mismatched ones."""
import email.utils
import time
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from forumsync.inbound.ingest import ingest
from forumsync.localforum.models import Post
from forumsync.models import InboxMessage, OutboxMail
from forumsync.outbound import compose, outbox
from forumsync.outbound.replykeys import make_reply_address
from forumsync.mail import parse_bytes
from forumsync.pipeline import loop
from forumsync.pipeline.runner import run_pending as run_pipeline


def forum_posts(bridge) -> int:
    with bridge.forum.session() as s:
        return s.scalar(select(func.count(Post.id)))


def pipeline(bridge, raw, channel="lmtp", meta=None):
    result = ingest(bridge.ctx, raw, channel, meta)
    while run_pipeline(bridge.ctx, "test"):
        pass
    with bridge.ctx.db.session() as s:
        return s.get(InboxMessage, result.inbox_id)


def as_list_copy(raw: bytes, strip_ours: bool = False) -> bytes:
    """What a list manager does to a post before distributing it (Mailman-like)."""
    msg = email.message_from_bytes(raw, policy=policy.SMTP)
    subject = str(msg["Subject"])
    del msg["Subject"]
    msg["Subject"] = "[club-publik] " + subject
    msg["List-Id"] = "Club Publik <club.listes.example.org>"
    msg["Precedence"] = "list"
    msg["X-BeenThere"] = "club@listes.example.org"
    if strip_ours:  # a list manager that removes unknown headers: the Message-ID still tells
        del msg["X-Forumsync"]
        del msg["X-Loop"]
    return msg.as_bytes()


def member_mail(sender, to, subject, body, in_reply_to=None, references=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(email.utils.localtime())
    msg["Message-ID"] = email.utils.make_msgid("membre", "grandlyon.fr")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = references or in_reply_to
    msg.set_content(body)
    return msg.as_bytes()


@pytest.mark.parametrize("strip_ours", [False, True])
def test_echo_dropped_and_reply_by_email_threads(bridge, strip_ours):
    first = bridge.topic("marie", "Échéances de la SVE", "Quelles échéances pour la SVE ?")
    bridge.process()
    [(_, _, raw)] = bridge.sink.messages
    posts_before = forum_posts(bridge)

    copy = as_list_copy(raw, strip_ours)
    # the loop stage recognises it on its own (X-Forumsync / X-Loop, else our Message-ID) …
    looped, why = loop.check(bridge.settings, parse_bytes(copy))
    assert looped and "écho" in why
    assert ("X-Forumsync" in why) == (not strip_ours)
    # … and end to end nothing is posted (dedupe already knows our Message-ID from PostLink)
    echo = pipeline(bridge, copy)
    assert echo.state == "dropped" and ("écho" in echo.reason or "doublon" in echo.reason)
    assert forum_posts(bridge) == posts_before

    sent = email.message_from_bytes(raw, policy=policy.default)
    reply = member_mail("Paul Martin <paul@grandlyon.fr>", "club@listes.example.org",
                        "Re: [club-publik] Échéances de la SVE",
                        "Chez nous, la SVE est en place depuis 2023.\n",
                        in_reply_to=sent["Message-ID"])
    row = pipeline(bridge, as_list_copy(reply))
    assert row.state == "published", row.reason
    assert row.topic_id == first["topic_id"]
    post = bridge.gateway().post_get(row.post_id)
    assert post["username"] == "paul" and post["reply_to_post_number"] in (None, 1)
    assert "2023" in post["raw"]
    # that post's own webhook is not sent back to the list
    bridge.process()
    assert len(bridge.sink.messages) == 1
    assert bridge.event_for(row.post_id).state == "skipped"


def _personal(bridge, to="paul@grandlyon.fr", topic_id=None, post_id=None):
    msg = compose.compose_personal(bridge.settings, to=to, subject="Bienvenue au club",
                                   text="Bonjour,\n\nPrésentez-vous en répondant à ce message.",
                                   topic_id=topic_id, post_id=post_id)
    with bridge.ctx.db.session() as s:
        outbox.enqueue(s, f"welcome:{to}:{topic_id}", msg, [to])
    bridge.process()
    sent = email.message_from_bytes(bridge.sink.messages[-1][2], policy=policy.default)
    return sent


def test_reply_to_signed_address_posts_as_recipient(bridge):
    welcome = bridge.topic("modo", "Présentez-vous !", "Dites-nous qui vous êtes.")
    bridge.process()
    sent = _personal(bridge, topic_id=welcome["topic_id"], post_id=welcome["id"])
    address = sent["Reply-To"].addresses[0].addr_spec
    assert address.startswith("bistro+")
    answer = member_mail("Paul Martin <paul@grandlyon.fr>", address, "Re: Bienvenue au club",
                         "Bonjour, je suis Paul, de la Métropole de Lyon.\n",
                         in_reply_to=sent["Message-ID"])
    # some MTAs upper-case the local part
    row = pipeline(bridge, answer, meta={"recipients": [address.upper()]})
    assert row.state == "published", row.reason
    assert row.topic_id == welcome["topic_id"]
    post = bridge.gateway().post_get(row.post_id)
    assert post["username"] == "paul"
    assert post["topic_id"] == welcome["topic_id"]
    assert post["reply_to_post_number"] in (None, 1)


@pytest.mark.parametrize("case", ["forged", "expired", "mismatch"])
def test_bad_signed_address_refused_nothing_posted(bridge, case):
    welcome = bridge.topic("modo", "Présentez-vous ici", "Dites-nous qui vous êtes.")
    bridge.process()
    sender = "paul@grandlyon.fr"
    if case == "forged":
        good = make_reply_address(bridge.settings, sender, welcome["topic_id"])
        local, domain = good.split("@")
        address = local[:-4] + ("aaaa" if not local.endswith("aaaa") else "bbbb") + "@" + domain
    elif case == "expired":
        address = make_reply_address(bridge.settings, sender, welcome["topic_id"],
                                     now=time.time() - 31 * 86400)
    else:
        address = make_reply_address(bridge.settings, "marie.dupre@meyzieu.fr", welcome["topic_id"])
    posts_before = forum_posts(bridge)
    mails_before = len(bridge.sink.messages)
    # Refusals only go to list members or authenticated senders (tests/security/test_backscatter.py)
    from forumsync.models.subscriber import Subscriber

    with bridge.ctx.db.session() as s:
        s.add(Subscriber(source="liste", email=sender, name="Paul Martin", welcome="baseline"))
    answer = member_mail(f"Paul Martin <{sender}>", address, "Re: Bienvenue au club",
                         "Je tente de répondre.\n")
    row = pipeline(bridge, answer, meta={"recipients": [address]})
    assert row.state == "dropped"
    assert "adresse de réponse refusée" in row.reason
    assert forum_posts(bridge) == posts_before
    # the sender is told why, in French, once
    bridge.process()
    assert len(bridge.sink.messages) == mails_before + 1
    mail_from, rcpts, raw = bridge.sink.messages[-1]
    refusal = email.message_from_bytes(raw, policy=policy.default)
    assert rcpts == [sender]
    assert refusal["Subject"].startswith("Message non publié")
    text = refusal.get_body(("plain",)).get_content()
    assert "n'a pas été publié" in text
    words = {"forged": "falsifiée", "expired": "expiré", "mismatch": "autre personne"}[case]
    assert words in text and words in row.reason
    assert refusal["Auto-Submitted"] == "auto-replied"
    with bridge.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMail)
                        .where(OutboxMail.key.like("refusal:%"))) == 1


@pytest.mark.parametrize("plugin", [True, False], ids=["greffon", "sans-greffon"])
def test_a_list_message_moved_as_a_first_post_is_not_sent_back_to_the_list(sqlite_bridge, plugin):
    """A moderator moves a topic that came from the list, first post included. Discourse copies
    a first post (PostMover#create_first_post: a new post, a new id, a ``post_created``
    webhook); the copy keeps ``via_email`` (the plugin's posts) and the raw with its marker
    (the bridge's): it is the list's own message and never goes back to the list."""
    import requests

    from tests.fixtures.pipeline import hide_plugin

    b = sqlite_bridge
    if not plugin:
        hide_plugin(b.forum)
    row = pipeline(b, as_list_copy(member_mail(
        "Jeanne Martin <jeanne.martin@meyzieu.fr>", "club@listes.example.org",
        "[SVE] Le fil qui sera déplacé", "Message de la liste, premier d'un fil qui sera déplacé.\n")))
    assert row.state == "published", row.reason
    answer = b.reply("marie", row.topic_id, "Réponse écrite sur le forum au message venu de la liste.")
    b.process()
    assert len(b.sink.messages) == 1  # Marie's reply, and nothing else
    moved = requests.post(f"{b.forum.url}/t/{row.topic_id}/move-posts.json",
                          json={"post_ids": [row.post_id, answer["id"]], "title": "Le fil déplacé par la modération",
                                "category_id": b.categories["sve"]["id"]},
                          headers=b.forum.headers(), timeout=10)
    assert moved.status_code == 200, moved.text
    new_topic = int(moved.json()["url"].rsplit("/", 1)[1])
    b.process()
    assert len(b.sink.messages) == 1, [m["Subject"] for m in b.mails()]
    [copy] = [p for p in b.gateway().topic_get(new_topic)["post_stream"]["posts"] if p["post_number"] == 1]
    assert copy["id"] != row.post_id
    event = b.event_for(copy["id"])
    assert event.state == "skipped"
    assert ("arrivé par courriel" in event.reason) if plugin else ("marqueur" in event.reason), event.reason


def _age(bridge, post_id, hours=2):
    """The post as written HOURS ago (a move happens well after the post)."""
    from datetime import timedelta

    with bridge.forum.session() as s:
        post = s.get(Post, post_id)
        post.created_at -= timedelta(hours=hours)
        post.updated_at = post.created_at


def _move(bridge, topic_id, **body):
    import requests

    moved = requests.post(f"{bridge.forum.url}/t/{topic_id}/move-posts.json", json=body,
                          headers=bridge.forum.headers(), timeout=10)
    assert moved.status_code == 200, moved.text
    return int(moved.json()["url"].rsplit("/", 1)[1])


def test_a_moved_forum_first_post_is_not_emailed_twice(sqlite_bridge):
    """Red team, 29th pass: the copy Discourse makes of a moved first post (a new id) of a
    forum post already emailed went to the list a second time, as a new thread. It carries its
    original's date (``created_at``) and the time of the copy (``updated_at``)."""
    b = sqlite_bridge
    first = b.topic("marie", "Échéances de la saisine par voie électronique",
                    "Quelles échéances pour la SVE dans vos communes ?")
    b.process()
    assert len(b.sink.messages) == 1
    _age(b, first["id"])
    new_topic = _move(b, first["topic_id"], post_ids=[first["id"]], title="Échéances SVE : le fil déplacé",
                      category_id=b.categories["sve"]["id"])
    b.process()
    assert len(b.sink.messages) == 1, [m["Subject"] for m in b.mails()]
    [copy] = b.gateway().topic_get(new_topic)["post_stream"]["posts"]
    event = b.event_for(copy["id"])
    assert event.state == "skipped" and "copie d'un message plus ancien" in event.reason, event.reason
    # and a post written there now still goes to the list
    b.reply("paul", new_topic, "Chez nous, la SVE est en place depuis 2023.")
    b.process()
    assert len(b.sink.messages) == 2


def test_a_staff_first_post_moved_into_a_public_topic_is_not_emailed(sqlite_bridge):
    """Red team, 29th pass: moved replies are never emailed (no webhook), but the copy of a
    first post its author wrote in a staff-only category, moved into a public theme topic,
    went to the list."""
    b = sqlite_bridge
    public = b.topic("paul", "Calendrier des échéances de la SVE", "Le calendrier partagé du club.")
    secret = b.topic("modo", "Note interne de l'équipe de modération",
                     "Note interne : ne pas diffuser hors de l'équipe.", category="restricted")
    b.process()
    assert len(b.sink.messages) == 1  # the staff-only topic: never emailed
    _age(b, secret["id"])
    _move(b, secret["topic_id"], post_ids=[secret["id"]], destination_topic_id=public["topic_id"])
    b.process()
    assert len(b.sink.messages) == 1, [m["Subject"] for m in b.mails()]
    assert not any("Note interne" in m.get_body(("plain",)).get_content() for m in b.mails())


def test_an_old_list_message_is_skipped_as_a_list_message_not_as_a_copy(sqlite_bridge):
    """A list message keeps its mail's date (created_at) and is written now (updated_at), like
    a copy: its event says what it is, « venu de la liste », not a copy's reason."""
    b = sqlite_bridge
    raw = member_mail("Jeanne Martin <jeanne.martin@meyzieu.fr>", "club@listes.example.org",
                      "[SVE] Un message de l'avant-veille", "Écrit il y a deux jours, arrivé aujourd'hui.\n")
    old = email.utils.format_datetime(email.utils.localtime() - __import__("datetime").timedelta(days=2))
    raw = raw.replace(b"Date: ", b"X-Old-Date: ", 1).replace(b"\n\n", f"\nDate: {old}\n\n".encode(), 1)
    row = pipeline(b, as_list_copy(raw))
    assert row.state == "published", row.reason
    b.process()
    post = b.gateway().post_get(row.post_id)
    assert post["created_at"] < post["updated_at"][:10], post  # dated two days back, written now
    event = b.event_for(row.post_id)
    assert event.state == "skipped" and "copie" not in event.reason, event.reason
    assert len(b.sink.messages) == 0


def test_a_mail_dated_ahead_is_posted_at_the_time_it_came(sqlite_bridge):
    """Red team, 31st pass: a member's mail whose Date is ahead (their clock) was posted under
    their account with that future date (the plugin caps it at now, as Email::Receiver)."""
    from datetime import datetime, timedelta, timezone

    b = sqlite_bridge
    raw = member_mail("Marie Dupré <marie.dupre@meyzieu.fr>", "club@listes.example.org",
                      "[SVE] Horloge du poste en avance", "Notre serveur de messagerie a deux heures d'avance.\n")
    ahead = email.utils.format_datetime(email.utils.localtime() + timedelta(hours=2))
    raw = raw.replace(b"Date: ", b"X-Old-Date: ", 1).replace(b"\n\n", f"\nDate: {ahead}\n\n".encode(), 1)
    row = pipeline(b, as_list_copy(raw))
    assert row.state == "published", row.reason
    post = b.gateway().post_get(row.post_id)
    assert post["username"] == "marie"  # her own account: the core API, not the plugin
    created = datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))
    assert created <= datetime.now(timezone.utc) + timedelta(seconds=5), post["created_at"]
