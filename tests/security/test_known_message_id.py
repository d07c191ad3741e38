"""Red team, pass 16: a batch item answered by a post the forum already knows by its Message-ID
(an announcement Discourse received by email in a read-only category, ``PostLookup``'s
IncomingEmail branch; here created beforehand through the plugin) is recorded as the topic the
message *would have opened*: TopicLink(topic of that post, category = the theme's, ``ml-…``,
open). Replies to it in the same batch skip ``access`` (``pending_parent``) and the plugin only
checks closed/archived: they are written, as staged users, in the read-only category. Later
replies of an import trust the poisoned TopicLink (``access._locally_trusted``).

Expected: nothing from mail is written in a category where everyone may not reply, with or
without batches; the one-by-one path (live mail) opens a new topic instead."""
from __future__ import annotations

from sqlalchemy import select

from forumsync.localforum.models import Post
from forumsync.pipeline import runner
from tests.fixtures.pipeline import later, make_mail


def drain(pipe, threshold):
    while runner.run_pending(pipe.ctx, "test-worker", limit=50, batch_threshold=threshold):
        pass


def _setup(pipe):
    annonces = pipe.localforum.create_category("Annonces", slug="annonces")["id"]
    # A post the forum knows under this Message-ID (Discourse's email-in: IncomingEmail), in a
    # category made read-only since (the plugin writes only where everyone may)
    known = pipe.ctx.forum.staged_posts_batch([dict(
        email="mairie@meyzieu.fr", name="Mairie", raw="Annonce officielle : fermeture lundi.",
        title="Annonce officielle de fermeture", category_id=annonces,
        message_id="<annonce-1@meyzieu.fr>")])[0]
    assert known["status"] == 201
    pipe.ctx.forum.category_update(annonces, permissions={"everyone": 3, "staff": 1})
    pipe.ctx.forum.facts.invalidate_categories()
    pipe.feed(make_mail(subject="Annonce officielle de fermeture", message_id="<annonce-1@meyzieu.fr>",
                        sender="Mairie <mairie@meyzieu.fr>", body="Annonce officielle : fermeture lundi.\n"),
              channel="mbox")
    pipe.feed(make_mail(subject="Re: Annonce officielle de fermeture", message_id="<pirate-1@evil.example>",
                        sender="Pirate <pirate@evil.example>", in_reply_to="<annonce-1@meyzieu.fr>",
                        references="<annonce-1@meyzieu.fr>", date=later(hours=1),
                        body="Faux complément : c'est annulé, voir http://evil.example\n"), channel="mbox")
    return annonces, known


def _written_in(pipe, topic_id):
    with pipe.localforum.session() as s:
        return [(p.post_number, p.user.username, p.raw[:60])
                for p in s.scalars(select(Post).where(Post.topic_id == topic_id).order_by(Post.id))]


def test_a_batched_reply_to_a_known_post_is_not_written_in_a_read_only_category(pipe):
    annonces, known = _setup(pipe)
    drain(pipe, 1)  # batches (import-mbox's path)
    posts = _written_in(pipe, known["topic_id"])
    assert len(posts) == 1, f"written in read-only category {annonces}: {posts}"


def test_a_known_post_elsewhere_is_not_recorded_as_a_theme_topic(pipe):
    annonces, known = _setup(pipe)
    drain(pipe, 0)  # one by one
    link = pipe.topic_link(known["topic_id"])
    assert link is None or link.category_id == annonces, (
        f"TopicLink of topic {known['topic_id']} (category {annonces}) recorded in category "
        f"{link.category_id}, external_id {link.external_id}, state {link.state}")
    posts = _written_in(pipe, known["topic_id"])
    assert len(posts) == 1, f"written in read-only category {annonces}: {posts}"


def test_one_by_one_the_import_does_not_write_in_the_read_only_category_either(pipe):
    """Without batches, the import (channel mbox) trusts the TopicLink recorded for the known
    post (access._locally_trusted) and the reply is written there too."""
    annonces, known = _setup(pipe)
    drain(pipe, 0)
    posts = _written_in(pipe, known["topic_id"])
    assert len(posts) == 1, f"written in read-only category {annonces}: {posts}"


# ---------------------------------------------------------------- a known post moved to a staff-only category
# Red team, pass 16: the eleventh pass made a post found again by its Message-ID in a restricted
# topic no target for ``reply_to_message_id`` in the plugin (``referable``). But forumsync's own
# ``batch_send._resolved`` turns a reply to *any* item a previous request of the same send
# answered 200 (found again, restricted or not) into ``topic_id`` + ``reply_to_post_id``, which the
# plugin accepts (it checks only closed/deleted/moved). After one refused item between them (here
# a reply into a closed topic, ``topic_closed``: ``stop_at_refusal``), the reply is written, as a
# staged user, in the staff-only topic.
# 
# Also one by one: the found-again post is cached as the new topic's view in the theme category
# (``records.new_topic_view``), so a reply claimed with it passes ``access`` and is written there.
# 
# Expected: nothing from mail is written in a category the list cannot read.
def _setup_restricted(pipe, with_refusal):
    gw = pipe.ctx.forum
    bureau = pipe.localforum.create_category("Bureau", slug="bureau", permissions={"staff": 1})["id"]
    # A post forumsync wrote once (another database, an earlier import) then moved by a
    # moderator into a staff-only category: the plugin still finds it by its Message-ID.
    known = gw.staged_posts_batch([dict(
        email="a@meyzieu.fr", name="A", raw="Inscriptions en ligne", title="Inscriptions à la cantine",
        category_id=pipe.themes[next(iter(pipe.themes))], message_id="<pf-1@meyzieu.fr>")])[0]
    gw.topic_update(known["topic_id"], category_id=bureau)
    if with_refusal:
        first = pipe.send(make_mail(subject="Question SVE", message_id="<c1@meyzieu.fr>"))
        gw.topic_status_set(first.topic_id, "closed", True)
    pipe.feed(make_mail(subject="Inscriptions à la cantine", message_id="<pf-1@meyzieu.fr>",
                        sender="A <a@meyzieu.fr>", date=later(hours=1)))
    if with_refusal:
        pipe.feed(make_mail(subject="Re: Question SVE", message_id="<c2@lyon.fr>", sender="Paul <paul@lyon.fr>",
                            in_reply_to="<c1@meyzieu.fr>", references="<c1@meyzieu.fr>", date=later(hours=2)))
    pipe.feed(make_mail(subject="Re: Inscriptions à la cantine", message_id="<pirate-2@evil.example>",
                        sender="Pirate <pirate@evil.example>", in_reply_to="<pf-1@meyzieu.fr>",
                        references="<pf-1@meyzieu.fr>", date=later(hours=3), body="Écrit chez le bureau\n"))
    return bureau, known


def test_a_batched_reply_after_a_refusal_is_not_written_in_a_restricted_topic(pipe):
    bureau, known = _setup_restricted(pipe, with_refusal=True)
    drain(pipe, 1)
    posts = _written_in(pipe, known["topic_id"])
    assert len(posts) == 1, f"written in staff-only category {bureau}: {posts}"


def test_one_by_one_a_reply_claimed_with_it_is_not_written_in_a_restricted_topic(pipe):
    bureau, known = _setup_restricted(pipe, with_refusal=False)
    drain(pipe, 0)
    posts = _written_in(pipe, known["topic_id"])
    assert len(posts) == 1, f"written in staff-only category {bureau}: {posts}"
