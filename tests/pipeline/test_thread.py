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
