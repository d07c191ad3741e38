"""Threading against the real local forum: headers first, then the subject within a window."""
from sqlalchemy import func, select

from forumsync.mail.ids import topic_external_id
from forumsync.models import TopicLink
from tests.fixtures.pipeline import later, make_mail


def _topics(pipe) -> int:
    with pipe.ctx.db.session() as session:
        return session.scalar(select(func.count(TopicLink.topic_id)))


def test_in_reply_to_makes_a_reply_to_that_post(pipe_any_db):
    pipe = pipe_any_db
    root = pipe.send(make_mail("Paiement en ligne", message_id="<root@a.fr>"))
    first = pipe.send(make_mail("RE : Paiement en ligne", "Chez nous ça marche.", message_id="<r1@b.fr>",
                                in_reply_to="<root@a.fr>", references="<root@a.fr>", date=later(hours=1)))
    second = pipe.send(make_mail("Re: Paiement en ligne", "Pas chez nous.", message_id="<r2@c.fr>",
                                 in_reply_to="<r1@b.fr>", references="<root@a.fr> <r1@b.fr>",
                                 date=later(hours=2)))
    assert first.topic_id == second.topic_id == root.topic_id
    assert pipe.post(first.post_id)["reply_to_post_number"] == 1
    assert pipe.post(second.post_id)["reply_to_post_number"] == 2
    assert pipe.post(second.post_id)["post_number"] == 3
    assert pipe.topic_link(root.topic_id).last_activity_at == later(hours=2)


def test_references_alone_newest_known_wins(pipe):
    root = pipe.send(make_mail("Formulaires", message_id="<f0@a.fr>"))
    pipe.send(make_mail("Re: Formulaires", message_id="<f1@a.fr>", references="<f0@a.fr>"))
    # A client that drops In-Reply-To; one id in the chain never reached us.
    row = pipe.send(make_mail("Re: Formulaires", message_id="<f3@a.fr>",
                              references="<f0@a.fr> <f1@a.fr> <f2-unknown@a.fr>"))
    assert row.topic_id == root.topic_id
    assert pipe.post(row.post_id)["reply_to_post_number"] == 2


def test_reply_with_lost_headers_threads_by_subject_within_the_window(pipe):
    root = pipe.send(make_mail("[club-publik] Connecteur Pastell", message_id="<p0@a.fr>"))
    close = pipe.send(make_mail("RE: [club-publik] Connecteur Pastell", "Idem.", date=later(days=10)))
    assert close.topic_id == root.topic_id and close.reason.startswith("même sujet")
    far = pipe.send(make_mail("Re: Connecteur Pastell", "Question, un an après.", date=later(days=400)))
    assert far.topic_id != root.topic_id
    assert _topics(pipe) == 2


def test_same_subject_without_reply_marks_starts_a_new_topic(pipe):
    root = pipe.send(make_mail("Réunion du club"))
    other = pipe.send(make_mail("Réunion du club", "Autre réunion.", date=later(days=3)))
    assert other.topic_id != root.topic_id


def test_reply_whose_parent_is_missing_does_not_duplicate_the_topic(pipe):
    root = pipe.send(make_mail("Agenda partagé", message_id="<ag0@a.fr>"))
    row = pipe.send(make_mail("Re: Agenda partagé", message_id="<ag2@b.fr>",
                              in_reply_to="<ag1-never-seen@c.fr>",
                              references="<ag-other-root@c.fr> <ag1-never-seen@c.fr>",
                              date=later(days=1)))
    assert row.state == "published"
    assert row.topic_id == root.topic_id
    assert _topics(pipe) == 1


def test_orphan_replies_then_their_root_share_one_topic(pipe):
    """mbox arrival order ≠ Date order: the replies arrive before the message they answer."""
    reply = pipe.send(make_mail("Re: Migration vers Publik 2", "Nous aussi.", message_id="<m1@b.fr>",
                                in_reply_to="<m0@a.fr>", references="<m0@a.fr>", date=later(hours=2)))
    reply2 = pipe.send(make_mail("Re: Migration vers Publik 2", "Et nous.", message_id="<m2@c.fr>",
                                 in_reply_to="<m1@b.fr>", references="<m0@a.fr> <m1@b.fr>",
                                 date=later(hours=3)))
    root = pipe.send(make_mail("Migration vers Publik 2", "Qui a migré ?", message_id="<m0@a.fr>"))
    assert reply.topic_id == reply2.topic_id == root.topic_id
    assert pipe.topic(root.topic_id)["external_id"] == topic_external_id("m0@a.fr")
    assert root.reason == "message d'origine arrivé après ses réponses"
    assert _topics(pipe) == 1


def test_reply_to_a_forum_notification_threads_by_its_discourse_message_id(pipe):
    created = pipe.ctx.forum.topic_create("Sujet ouvert sur le forum", "Premier message du forum.",
                                          pipe.themes["sve"])
    host = pipe.ctx.settings.forum_host
    row = pipe.send(make_mail("Re: Sujet ouvert sur le forum", "Réponse par courriel.",
                              in_reply_to=f"<discourse/post/{created['id']}@{host}>"))
    assert row.topic_id == created["topic_id"]
    assert pipe.post(row.post_id)["reply_to_post_number"] == 1
    assert pipe.topic_link(row.topic_id).title == "Sujet ouvert sur le forum"


def test_late_root_joins_the_topic_of_replies_that_only_named_a_middle_message(pipe):
    reply = pipe.send(make_mail("Re: Tarifs de la cantine", "D'accord avec Paul.", message_id="<c2@b.fr>",
                                in_reply_to="<c1-unknown@c.fr>", date=later(hours=4)))
    root = pipe.send(make_mail("Tarifs de la cantine", "Comment calculez-vous ?", message_id="<c0@a.fr>"))
    assert root.topic_id == reply.topic_id
    assert root.reason.startswith("même sujet")
    # an unrelated thread start with that subject, once the root is there, is a new topic
    other = pipe.send(make_mail("Tarifs de la cantine", "Autre question.", date=later(days=2)))
    assert other.topic_id != root.topic_id


# --- Forwards (issue 14): a forward of list mail continues its thread; outside mail does not.

from datetime import datetime, timezone  # noqa: E402

import pytest  # noqa: E402

from tests.fixtures.mail import eml_bytes  # noqa: E402

MARCH = datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc)


def _march(days=0, hours=0):
    from datetime import timedelta
    return MARCH + timedelta(days=days, hours=hours)


def test_outlook_forward_of_a_list_reply_stays_in_its_topic_and_its_replies_follow(pipe):
    root = pipe.send(make_mail("[club-publik] Connecteur Pastell : retour d'expérience",
                               "Qui utilise le connecteur Pastell pour les actes ?",
                               message_id="<pastell-0@ville-chambery.fr>", date=_march(days=6)))
    answer = pipe.send(make_mail("RE: [club-publik] Connecteur Pastell : retour d'expérience", "Nous.",
                                 message_id="<pastell-1@meyzieu.fr>", in_reply_to="<pastell-0@ville-chambery.fr>",
                                 references="<pastell-0@ville-chambery.fr>", date=_march(days=7)))
    # « TR : RE: [club-publik] … » with a non-breaking space, no In-Reply-To nor References
    forward = pipe.send(eml_bytes("outlook-fr-tr-re-liste.eml"))
    assert forward.state == "published"
    assert forward.topic_id == root.topic_id == answer.topic_id
    assert forward.reason == "même sujet « Connecteur Pastell : retour d'expérience »"
    # the iPhone answer to the forward follows it (In-Reply-To: the forward)
    follow = pipe.send(eml_bytes("iphone-fr-re-tr.eml"))
    assert follow.topic_id == root.topic_id
    assert follow.reason == "réponse à <PR3P192MB0814A1B2C3D4E5F6TR@PR3P192MB0814.EURP192.PROD.OUTLOOK.COM>"
    assert _topics(pipe) == 1
    assert pipe.topic_link(root.topic_id).root_message_id == "pastell-0@ville-chambery.fr"


def test_forward_of_own_list_mail_joins_its_topic(pipe):
    root = pipe.send(make_mail("[club-publik] Tarifs du périscolaire 2024 : quotient familial",
                               "Comment calculez-vous le tarif au quotient familial ?",
                               sender="Hugo Blanc <hugo.blanc@ville-grenoble.fr>", date=_march()))
    reminder = pipe.send(eml_bytes("thunderbird-fr-fwd-own-list-mail.eml"))
    assert reminder.topic_id == root.topic_id
    assert reminder.reason == ("même sujet « Tarifs du périscolaire 2024 : quotient familial » (transfert "
                               "d'un message adressé à la liste (club@listes.example.org))")
    assert _topics(pipe) == 1


def test_forward_of_outside_mail_opens_its_own_topic_and_its_replies_follow_it(pipe):
    # a colleague already shared the same invitation a few days earlier
    earlier = pipe.send(make_mail("[club-publik] Invitation : webinaire accessibilité des démarches en ligne",
                                  "Quelqu'un y va ?", date=_march(days=4)))
    forward = pipe.send(eml_bytes("gmail-fr-fwd-outside.eml"))
    assert forward.state == "published" and forward.reason == "nouveau sujet"
    assert forward.topic_id != earlier.topic_id
    assert pipe.topic_link(forward.topic_id).theme == "general"   # « cantine » once, in passing
    reply = pipe.send(make_mail("Re: Fwd: Invitation : webinaire accessibilité des démarches en ligne",
                                "J'y serai.", date=_march(days=7),
                                in_reply_to="<CAHx8kQ2fZ9sT0uV1wX2yZ3aB4cD5eF6gH7iJ8kL9mN0oP1qR2s@mail.gmail.com>"))
    assert reply.topic_id == forward.topic_id
    assert _topics(pipe) == 2


@pytest.mark.parametrize("subject, joins", [
    ("Fwd: Re: [club-publik] Agenda partagé", True),
    ("RE : TR: Agenda partagé", True),
    ("TR\u202f: RE\u00a0: Agenda partagé", True),
    ("Réf. : Agenda partagé", True),
    ("[club-publik] TR : Re: Agenda partagé", True),
    ("Fwd: [club-publik] Agenda partagé", True),      # the forwarded subject carried the list tag
    ("TR: Agenda partagé", False),                      # outside mail (no sign of the list)
    ("[club-publik] Agenda partagé", False),            # a new thread with the same subject
])
def test_prefix_chains_without_headers(pipe, subject, joins):
    root = pipe.send(make_mail("[club-publik] Agenda partagé", message_id="<agenda-0@a.fr>"))
    row = pipe.send(make_mail(subject, "Pour info.\n\nLe texte transféré.", date=later(days=2)))
    assert row.state == "published"
    assert (row.topic_id == root.topic_id) is joins, row.reason


def test_forward_naming_a_known_message_id_threads_to_that_post(pipe):
    root = pipe.send(make_mail("[club-publik] Export des démarches", message_id="<export-0@a.fr>"))
    second = pipe.send(make_mail("Re: [club-publik] Export des démarches", message_id="<export-1@b.fr>",
                                 in_reply_to="<export-0@a.fr>", date=later(hours=1)))
    body = ("Je transfère, pour mémoire.\n\n-------- Message transféré --------\n"
            "Sujet : \tExport CSV\nDate : \tMon, 2 Mar 2026 10:30:00 +0100\n"
            "De : \tPaul <paul@b.fr>\nMessage-ID : \t<export-1@b.fr>\n\nOui, depuis la 2024.1.\n")
    row = pipe.send(make_mail("Fwd: Export CSV", body, date=later(days=40)))   # outside the window
    assert row.topic_id == root.topic_id == second.topic_id
    assert row.reason == "transfert du message <export-1@b.fr> de la liste"
    assert pipe.post(row.post_id)["reply_to_post_number"] == 2
