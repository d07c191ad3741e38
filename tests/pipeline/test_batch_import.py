"""Publishing a backlog in batches (forumsync.pipeline.batch): what is stored and what the forum
shows are the one-by-one path's, for a fraction of the forum requests; refused items, closed
topics, threads inside a batch and a forum without the plugin."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from forumsync.inbound.mbox import import_file
from forumsync.localforum.models import Post
from forumsync.models import InboxMessage, PostLink, TopicLink
from forumsync.pipeline import runner
from tests.conftest import ROOT, real_data
from tests.fixtures.database import _sqlite_copy
from tests.fixtures.pipeline import later, make_mail, make_pipe

DEMO_MBOX = ROOT / "forumsync" / "demo" / "club-publik.mbox"


def pipe_on(tmp_path, name, sqlite_template, forum, **overrides):
    folder = tmp_path / name
    folder.mkdir()
    ctx, pipe = make_pipe(folder, _sqlite_copy(sqlite_template, folder), forum, **overrides)
    pipe.provision()
    return pipe


def drain(pipe, batch_threshold, limit=50) -> None:
    while runner.run_pending(pipe.ctx, "test-worker", limit=limit, batch_threshold=batch_threshold):
        pass


def stored(pipe) -> dict:
    """Everything the pipeline stores, row by row, ids included."""
    with pipe.ctx.db.session() as s:
        inbox = [(r.message_id, r.state, r.reason, r.topic_id, r.post_id)
                 for r in s.scalars(select(InboxMessage).order_by(InboxMessage.id))]
        links = [(r.message_id, r.post_id, r.topic_id, r.post_number, r.origin)
                 for r in s.scalars(select(PostLink).order_by(PostLink.message_id))]
        topics = [(t.topic_id, t.external_id, t.root_message_id, t.title, t.subject_key, t.category_id,
                   t.theme, t.state, t.list_tag, t.created_at, t.last_activity_at)
                  for t in s.scalars(select(TopicLink).order_by(TopicLink.topic_id))]
    return {"inbox": inbox, "post_link": links, "topic_link": topics}


def forum_posts(forum, topic_ids) -> list:
    """The posts of the imported topics, as the forum shows them (not the categories' About
    topics, whose dates are those of provisioning)."""
    with forum.session() as s:
        return [(p.id, p.topic_id, p.post_number, p.reply_to_post_number, p.user.username, p.raw,
                 p.created_at, p.topic.title, p.topic.category_id)
                for p in s.scalars(select(Post).where(Post.topic_id.in_(topic_ids)).order_by(Post.id))]


def import_both_ways(tmp_path, sqlite_template, make_localforum, mbox: Path, limit=None,
                     claim=50, rate_limit=None, max_posts=None):
    forums = [make_localforum(rate_limit=rate_limit), make_localforum(rate_limit=rate_limit)]
    for forum in forums if max_posts else ():
        forum.set_site_setting("forumsync_batch_max_posts", max_posts)
    one, batched = (pipe_on(tmp_path, name, sqlite_template, forum)
                    for name, forum in zip(("one", "batched"), forums))
    for pipe, threshold in ((one, 0), (batched, 1)):
        start = dict(pipe.ctx.forum.stats)
        import_file(pipe.ctx, mbox, batch=claim, limit=limit,
                    after_batch=lambda _r, p=pipe, t=threshold: drain(p, t, claim))
        drain(pipe, threshold, claim)
        pipe.requests = pipe.ctx.forum.stats["requests"] - start.get("requests", 0)
    return one, batched


def test_the_demo_mbox_in_batches_stores_what_one_by_one_stores(tmp_path, sqlite_template,
                                                                make_localforum):
    one, batched = import_both_ways(tmp_path, sqlite_template, make_localforum, DEMO_MBOX)
    expected = stored(one)
    assert len(expected["inbox"]) == 25 and len(expected["post_link"]) >= 20
    assert stored(batched) == expected
    topic_ids = [row[0] for row in expected["topic_link"]]
    assert forum_posts(batched.localforum, topic_ids) == forum_posts(one.localforum, topic_ids)
    log = batched.localforum.requests
    assert log.count_of("POST", "/forumsync/posts.json") == 0
    assert 1 <= log.count_of("POST", "/forumsync/posts/batch.json") <= 2
    assert batched.requests * 2 < one.requests, (batched.requests, one.requests)


def test_a_reply_in_the_same_batch_threads_to_its_parent(pipe_any_db):
    pipe = pipe_any_db
    mails = [make_mail(subject="Cantine en ligne", message_id="<p1@meyzieu.fr>"),
             make_mail(subject="Re: Cantine en ligne", message_id="<p2@lyon.fr>", sender="Paul <paul@lyon.fr>",
                       in_reply_to="<p1@meyzieu.fr>", references="<p1@meyzieu.fr>", date=later(hours=1)),
             make_mail(subject="Re: Cantine en ligne", message_id="<p3@meyzieu.fr>",
                       in_reply_to="<p2@lyon.fr>", references="<p1@meyzieu.fr> <p2@lyon.fr>",
                       date=later(hours=2))]
    for raw in mails:
        pipe.feed(raw)
    drain(pipe, 1)
    log = pipe.localforum.requests
    assert log.count_of("POST", "/forumsync/posts/batch.json") == 1
    assert log.count_of("POST", "/forumsync/posts.json") == 0
    links = [pipe.post_link(m) for m in ("p1@meyzieu.fr", "p2@lyon.fr", "p3@meyzieu.fr")]
    assert len({link.topic_id for link in links}) == 1
    assert [link.post_number for link in links] == [1, 2, 3]
    posts = pipe.topic(links[0].topic_id)["post_stream"]["posts"]
    assert [p.get("reply_to_post_number") for p in posts] == [None, 1, 2]
    assert [r.reason for r in pipe.rows()] == ["nouveau sujet", "réponse à <p1@meyzieu.fr>",
                                              "réponse à <p2@lyon.fr>"]


def test_a_refused_item_is_handled_as_a_refused_single_post(pipe):
    """A reply into a topic a lead closed meanwhile: the batch refuses that item, the one-by-one
    path sends it to the closed topic's continuation, as its sender; the others stay in the batch."""
    first = pipe.send(make_mail(subject="Question SVE", message_id="<c1@meyzieu.fr>"))
    pipe.ctx.forum.topic_status_set(first.topic_id, "closed", True)
    pipe.feed(make_mail(subject="Re: Question SVE", message_id="<c2@lyon.fr>", sender="Paul <paul@lyon.fr>",
                        in_reply_to="<c1@meyzieu.fr>", references="<c1@meyzieu.fr>", date=later(hours=1)))
    pipe.feed(make_mail(subject="Autre chose sur l'open data", message_id="<c3@lyon.fr>",
                        sender="Paul <paul@lyon.fr>", date=later(hours=2)))
    drain(pipe, 1)
    rows = {r.message_id: r for r in pipe.rows()}
    assert {r.state for r in rows.values()} == {"published"}
    reply = pipe.post(rows["c2@lyon.fr"].post_id)
    assert reply["topic_id"] != first.topic_id and reply["post_number"] == 1
    assert reply["username"] != pipe.ctx.settings.FORUM_API_USERNAME
    assert "Suite du sujet fermé sur le forum" in reply["raw"]
    assert [p["id"] for p in pipe.topic(first.topic_id)["post_stream"]["posts"]
            if p["post_type"] == 1] == [first.post_id]  # nothing written in the closed topic
    assert pipe.post(rows["c3@lyon.fr"].post_id)["username"] != pipe.ctx.settings.FORUM_API_USERNAME
    log = pipe.localforum.requests
    assert log.count_of("POST", "/forumsync/posts/batch.json") == 2  # c2 refused, then c3


def test_an_invalid_sender_falls_back_to_the_bridge_as_alone(pipe):
    pipe.feed(make_mail(subject="Une question", message_id="<v1@meyzieu.fr>"))
    pipe.feed(make_mail(subject="Une autre question", message_id="<v2@x.fr>",
                        sender="Quelqu'un <jean..x@example.org>", date=later(hours=1)))
    drain(pipe, 1)
    rows = {r.message_id: r for r in pipe.rows()}
    assert [r.state for r in rows.values()] == ["published", "published"], [r.reason for r in rows.values()]
    posted = pipe.post(rows["v2@x.fr"].post_id)
    staged = pipe.post(rows["v1@meyzieu.fr"].post_id)
    assert staged["username"] != pipe.ctx.settings.FORUM_API_USERNAME
    # the same outcome as the single endpoint gives that sender, whatever it is
    one_by_one = pipe.ctx.forum.post_by_message_id("<v2@x.fr>")
    assert (one_by_one or {}).get("id", posted["id"]) == posted["id"]


def test_a_marked_sender_in_a_batch_gets_the_username_one_by_one_gives(pipe):
    """The batch items carry ``username_hint`` too: a look-alike of a member, staged in a batch,
    is not named after the member (51st pass)."""
    pipe.localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    pipe.feed(make_mail(subject="Une question", message_id="<m1@evil.example>",
                        sender="Marie Dupont <jean.roux@evil.example>"))
    pipe.feed(make_mail(subject="Une autre", message_id="<m2@evil.example>",
                        sender="Marie Dupont <marie.dupont@evil.example>", date=later(hours=1)))
    drain(pipe, 1)
    assert pipe.localforum.requests.count_of("POST", "/forumsync/posts/batch.json") == 1
    posts = [pipe.post(r.post_id) for r in pipe.rows()]
    assert [(p["username"], p["name"]) for p in posts] == [
        ("jean.roux", "Marie Dupont (adresse non vérifiée)"),
        ("non_verifie", "Marie Dupont (adresse non vérifiée)")]


def test_same_subject_without_references_joins_the_waiting_topic(pipe):
    """A « Re: » without References joins by subject the topic a waiting message opens, in the
    same batch (topic_of_message_id: in that topic, replying to no post), as one by one."""
    pipe.feed(make_mail(subject="Portail famille : cantine", message_id="<s1@meyzieu.fr>"))
    pipe.feed(make_mail(subject="Re: Portail famille : cantine", message_id="<s2@lyon.fr>",
                        sender="Paul <paul@lyon.fr>", date=later(hours=1)))
    drain(pipe, 1)
    first, second = pipe.post_link("s1@meyzieu.fr"), pipe.post_link("s2@lyon.fr")
    assert second.topic_id == first.topic_id and second.post_number == 2
    assert pipe.post(second.post_id)["reply_to_post_number"] is None
    assert [r.reason for r in pipe.rows()] == ["nouveau sujet", "même sujet « Portail famille : cantine »"]
    assert pipe.localforum.requests.count_of("POST", "/forumsync/posts/batch.json") == 1
    assert pipe.ctx.forum.stats["batch_flush_thread"] == 0


def mbox_of(path: Path, mails: list[bytes]) -> Path:
    with path.open("wb") as out:
        for raw in mails:
            out.write(b"From sender@example.org Mon Jan  5 08:00:00 2026\n" + raw.replace(b"\r\n", b"\n")
                      + b"\n")
    return path


def test_subject_matched_replies_in_batches_store_what_one_by_one_stores(tmp_path, sqlite_template,
                                                                         make_localforum):
    """Replies joined by subject to topics opened earlier in the same batch, to the most recently
    active of two topics under one subject, and a reply to such a reply: the same rows, the
    same posts (no parent post), in one batch instead of a flush per subject-matched reply."""
    paul = "Paul <paul@lyon.fr>"
    mbox = mbox_of(tmp_path / "sujets.mbox", [
        make_mail(subject="Cantine en ligne", message_id="<t1@meyzieu.fr>"),
        make_mail(subject="Sortie au musée", message_id="<t2@meyzieu.fr>", date=later(hours=1)),
        make_mail(subject="Re: Cantine en ligne", message_id="<t3@lyon.fr>", sender=paul, date=later(hours=2)),
        make_mail(subject="Re: Cantine en ligne", message_id="<t4@meyzieu.fr>", in_reply_to="<t3@lyon.fr>",
                  references="<t3@lyon.fr>", date=later(hours=3)),
        make_mail(subject="Cantine en ligne", message_id="<t5@meyzieu.fr>", date=later(hours=4)),
        make_mail(subject="RE: Cantine en ligne", message_id="<t6@lyon.fr>", sender=paul, date=later(hours=5)),
        make_mail(subject="Re: Sortie au musée", message_id="<t7@lyon.fr>", sender=paul, date=later(hours=6)),
        make_mail(subject="Re: Sans sujet ouvert", message_id="<t8@lyon.fr>", sender=paul, date=later(hours=7)),
    ])
    one, batched = import_both_ways(tmp_path, sqlite_template, make_localforum, mbox)
    expected = stored(one)
    assert stored(batched) == expected
    topic_ids = [row[0] for row in expected["topic_link"]]
    assert forum_posts(batched.localforum, topic_ids) == forum_posts(one.localforum, topic_ids)
    links = {m: one.post_link(m) for m in ("t1@meyzieu.fr", "t2@meyzieu.fr", "t3@lyon.fr", "t5@meyzieu.fr",
                                          "t6@lyon.fr", "t7@lyon.fr")}
    assert links["t3@lyon.fr"].topic_id == links["t1@meyzieu.fr"].topic_id
    assert links["t6@lyon.fr"].topic_id == links["t5@meyzieu.fr"].topic_id  # the most recent of the two
    assert links["t7@lyon.fr"].topic_id == links["t2@meyzieu.fr"].topic_id
    assert batched.localforum.requests.count_of("POST", "/forumsync/posts/batch.json") == 1
    assert batched.ctx.forum.stats["batch_flush_thread"] == 0


def test_batches_sent_ahead_store_what_one_by_one_stores(tmp_path, sqlite_template, make_localforum):
    """Batches of 3: each full one is sent ahead while the next messages go through their
    stages; a reply to a message in flight, a « Re: » by subject to a topic in flight and a
    forwarded message naming one in flight wait for it to land.
    The same rows and posts as one by one."""
    paul, claire = "Paul <paul@lyon.fr>", "Claire <claire@montpellier.fr>"
    mbox = mbox_of(tmp_path / "envol.mbox", [
        make_mail(subject="Cantine en ligne", message_id="<e1@meyzieu.fr>"),
        make_mail(subject="Sortie au musée", message_id="<e2@meyzieu.fr>", date=later(hours=1)),
        make_mail(subject="Open data", message_id="<e3@meyzieu.fr>", date=later(hours=2)),
        # batch 1 is full: sent ahead
        make_mail(subject="Re: Sortie au musée", message_id="<e4@lyon.fr>", sender=paul,
                  in_reply_to="<e2@meyzieu.fr>", references="<e2@meyzieu.fr>", date=later(hours=3)),
        make_mail(subject="Re: Cantine en ligne", message_id="<e5@lyon.fr>", sender=paul, date=later(hours=4)),
        make_mail(subject="Portail famille", message_id="<e6@montpellier.fr>", sender=claire, date=later(hours=6)),
        make_mail(subject="SVE", message_id="<e7@montpellier.fr>", sender=claire, date=later(hours=7)),
        make_mail(subject="Annuaire", message_id="<e8@montpellier.fr>", sender=claire, date=later(hours=8)),
        make_mail(subject="Fwd: Portail famille", message_id="<e9@lyon.fr>", sender=paul, date=later(hours=9),
                  body="---------- Message transféré ----------\nMessage-ID: <e6@montpellier.fr>\n\nVoir plus haut."),
        make_mail(subject="Re: Annuaire", message_id="<e10@lyon.fr>", sender=paul,
                  in_reply_to="<e8@montpellier.fr>", references="<e8@montpellier.fr>", date=later(hours=10)),
    ])
    one, batched = import_both_ways(tmp_path, sqlite_template, make_localforum, mbox, max_posts=3)
    expected = stored(one)
    assert stored(batched) == expected
    topic_ids = [row[0] for row in expected["topic_link"]]
    assert forum_posts(batched.localforum, topic_ids) == forum_posts(one.localforum, topic_ids)
    assert one.post_link("e4@lyon.fr").topic_id == one.post_link("e2@meyzieu.fr").topic_id
    assert one.post_link("e5@lyon.fr").topic_id == one.post_link("e1@meyzieu.fr").topic_id
    assert batched.ctx.forum.stats["batch_flush_full"] >= 2  # sent ahead at least twice


def test_without_the_plugin_nothing_changes(tmp_path, sqlite_url, localforum):
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=False)
    pipe.provision()
    for n in range(3):
        pipe.feed(make_mail(subject=f"Question {n}", message_id=f"<n{n}@meyzieu.fr>", date=later(hours=n)))
    drain(pipe, 1)
    assert {r.state for r in pipe.rows()} == {"published"}
    assert pipe.localforum.requests.count_of("POST", "/posts.json") == 3


def test_the_worker_batches_only_a_backlog(pipe):
    pipe.ctx.settings = pipe.ctx.settings.replace(INBOX_BATCH_THRESHOLD=3)
    pipe.feed(make_mail(subject="Seul", message_id="<w0@meyzieu.fr>"))
    pipe.run()
    assert pipe.localforum.requests.count_of("POST", "/forumsync/posts.json") == 1
    for n in range(1, 4):
        pipe.feed(make_mail(subject=f"Arriéré {n}", message_id=f"<w{n}@meyzieu.fr>", date=later(hours=n)))
    pipe.run()
    assert pipe.localforum.requests.count_of("POST", "/forumsync/posts/batch.json") == 1
    assert pipe.localforum.requests.count_of("POST", "/forumsync/posts.json") == 1


def test_an_unanswered_batch_is_retried_then_reconciled(pipe):
    for n in range(3):
        pipe.feed(make_mail(subject=f"Question {n}", message_id=f"<r{n}@meyzieu.fr>", date=later(hours=n)))
    pipe.localforum.faults.fail(503, count=1, path=r"^/forumsync/posts/batch")
    drain(pipe, 1)
    assert {r.state for r in pipe.rows()} == {"retry"}
    with pipe.ctx.db.session() as s:
        for row in s.scalars(select(InboxMessage)):
            row.next_attempt_at = None
            row.state = "new"
    drain(pipe, 1)
    assert {r.state for r in pipe.rows()} == {"published"}
    assert len({r.post_id for r in pipe.rows()}) == 3


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_corpus_import_costs_at_most_five_hundredths_of_a_request_per_message(tmp_path, sqlite_template,
                                                                             make_localforum):
    corpus = real_data("corpus", "usrp-users-dev2k.mbox.gz")  # skips, or fails under CI
    from forumsync.commands.import_mbox import IMPORT_CLAIM

    forum = make_localforum()  # Discourse's admin API limit: 60 requests a minute
    pipe = pipe_on(tmp_path, "corpus", sqlite_template, forum,
                   FORUM_MAX_REQUESTS_PER_MINUTE=forum.forum.limiter.per_minute)
    start = pipe.ctx.forum.stats["requests"]
    report = import_file(pipe.ctx, corpus, batch=IMPORT_CLAIM,
                         after_batch=lambda _r: drain(pipe, 1, IMPORT_CLAIM))
    drain(pipe, 1, IMPORT_CLAIM)
    requests = pipe.ctx.forum.stats["requests"] - start
    per_message = requests / report.read
    from collections import Counter

    by_path = Counter(pipe.localforum.requests)
    print(f"\n{report.read} messages, {requests} requêtes au forum : {per_message:.3f} par message ;"
          f" 429 : {forum.forum.limiter.refused} ; attente du budget : "
          f"{pipe.ctx.forum.stats['paced_seconds']:.0f} s ; {by_path.most_common(8)} ; "
          f"{sorted((k, v) for k, v in pipe.ctx.forum.stats.items() if k.startswith('batch_flush'))}")
    assert {r.state for r in pipe.rows()} <= {"published", "dropped", "quarantined"}
    assert per_message <= 0.05
    assert forum.forum.limiter.refused == 0 and pipe.ctx.forum.stats["429"] == 0


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_real_archive_in_batches_stores_what_one_by_one_stores(tmp_path, sqlite_template,
                                                               make_localforum):
    """600 messages of a real list (orphans, subject-only replies, forwards, attachments,
    broken clients): the batch path's flushes keep every decision the one-by-one path makes."""
    corpus = real_data("corpus", "usrp-users-dev2k.mbox.gz")  # skips, or fails under CI
    one, batched = import_both_ways(tmp_path, sqlite_template, make_localforum, corpus, limit=600,
                                    claim=200, rate_limit=0)
    expected = stored(one)
    assert len(expected["inbox"]) >= 590  # 600 read, a few repeat an earlier Message-ID
    assert stored(batched) == expected
    topic_ids = [row[0] for row in expected["topic_link"]]
    assert forum_posts(batched.localforum, topic_ids) == forum_posts(one.localforum, topic_ids)
    assert batched.requests * 5 < one.requests, (batched.requests, one.requests)


def test_posts_keep_the_order_of_the_messages_when_an_item_is_refused(pipe):
    """stop_at_refusal: the items after a refused one wait until it is posted its own way, so
    post numbers follow the messages, as in the one-by-one path; a reply to a message published
    by the previous request of the same batch names its post."""
    first = pipe.send(make_mail(subject="Question SVE", message_id="<o1@meyzieu.fr>"))
    pipe.ctx.forum.topic_status_set(first.topic_id, "closed", True)
    pipe.feed(make_mail(subject="Cantine", message_id="<o2@meyzieu.fr>", date=later(hours=1)))
    pipe.feed(make_mail(subject="Re: Question SVE", message_id="<o3@lyon.fr>", sender="Paul <paul@lyon.fr>",
                        in_reply_to="<o1@meyzieu.fr>", references="<o1@meyzieu.fr>", date=later(hours=2)))
    pipe.feed(make_mail(subject="Re: Question SVE", message_id="<o4@lyon.fr>", sender="Paul <paul@lyon.fr>",
                        in_reply_to="<o1@meyzieu.fr>", references="<o1@meyzieu.fr>", date=later(hours=3)))
    pipe.feed(make_mail(subject="Re: Cantine", message_id="<o5@lyon.fr>", sender="Paul <paul@lyon.fr>",
                        in_reply_to="<o2@meyzieu.fr>", references="<o2@meyzieu.fr>", date=later(hours=4)))
    drain(pipe, 1)
    rows = {r.message_id: r for r in pipe.rows()}
    assert {r.state for r in rows.values()} == {"published"}
    assert [rows[m].post_id for m in ("o2@meyzieu.fr", "o3@lyon.fr", "o4@lyon.fr", "o5@lyon.fr")] == \
        sorted(rows[m].post_id for m in ("o2@meyzieu.fr", "o3@lyon.fr", "o4@lyon.fr", "o5@lyon.fr"))
    numbers = [pipe.post_link(m).post_number for m in ("o3@lyon.fr", "o4@lyon.fr")]
    assert numbers[1] == numbers[0] + 1
    assert pipe.post_link("o5@lyon.fr").topic_id == pipe.post_link("o2@meyzieu.fr").topic_id
    assert pipe.post(rows["o5@lyon.fr"].post_id)["reply_to_post_number"] == 1
    log = pipe.localforum.requests
    assert log.count_of("POST", "/forumsync/posts/batch.json") == 3  # o2+o3 (refused), o4, o5
