"""Leads at work: list replies follow what leads do to topics on the forum."""
from sqlalchemy import func, select

from forumsync.inbound import operations
from forumsync.models import TopicLink
from tests.fixtures.pipeline import later, make_mail


def _start(pipe, message_id="<lead0@a.fr>", subject="[SVE] Accusé de réception"):
    return pipe.send(make_mail(subject, message_id=message_id))


def _reply(pipe, parent="<lead0@a.fr>", n=1, subject="Re: [SVE] Accusé de réception", **kw):
    return pipe.send(make_mail(subject, f"Réponse {n}.", message_id=f"<lead-r{n}@b.fr>",
                               in_reply_to=parent, references=parent, date=later(hours=n), **kw))


def test_reply_follows_a_topic_moved_to_another_category(pipe):
    root = _start(pipe)
    pipe.ctx.forum.topic_update(root.topic_id, category_id=pipe.themes["open-data"])
    row = _reply(pipe)
    assert row.state == "published" and row.topic_id == root.topic_id
    assert pipe.topic(root.topic_id)["category_id"] == pipe.themes["open-data"]
    link = pipe.topic_link(root.topic_id)
    assert (link.category_id, link.theme) == (pipe.themes["open-data"], "open-data")


def test_a_reply_to_a_closed_topic_opens_its_continuation_and_later_replies_join_it(pipe):
    """Only staff may post in a closed topic: the list's sender could not, so their mail goes
    to the topic's continuation in its theme (red-team pass 13), never in the topic itself."""
    pipe.ctx.forum.user_create("Marie Dupont", "marie", "marie.dupont@meyzieu.fr", "motdepasse-long-42")
    root = _start(pipe)
    pipe.ctx.forum.topic_status_set(root.topic_id, "closed", True)
    row = _reply(pipe, sender="Marie Dupont <marie.dupont@meyzieu.fr>")
    assert row.state == "published", row.reason
    assert row.topic_id != root.topic_id and "suite d'un sujet" in row.reason
    assert [p["id"] for p in pipe.topic(root.topic_id)["post_stream"]["posts"]
            if p["post_type"] == 1] == [root.post_id]  # nothing written in the closed topic
    post = pipe.post(row.post_id)
    assert post["post_number"] == 1 and post["username"] == "marie"  # her own account
    assert "Suite du sujet fermé sur le forum" in post["raw"] and f"/{root.topic_id}>)" in post["raw"]
    assert "@animateurs" not in post["raw"]  # no group notified by a stranger's mail
    assert pipe.topic(row.topic_id)["category_id"] == pipe.themes["sve"]
    assert pipe.topic(root.topic_id)["closed"] is True
    # a second reply to the closed topic (a sibling, not a reply to the first) joins the continuation
    sibling = _reply(pipe, n=2)
    assert sibling.state == "published" and sibling.topic_id == row.topic_id, sibling.reason
    assert "Suite du sujet" not in pipe.post(sibling.post_id)["raw"]
    # the continuation closed in turn: the next reply opens a new one, which the next joins
    pipe.ctx.forum.topic_status_set(row.topic_id, "closed", True)
    third = _reply(pipe, n=3)
    assert third.state == "published" and third.topic_id not in (root.topic_id, row.topic_id), third.reason
    fourth = _reply(pipe, n=4)
    assert fourth.state == "published" and fourth.topic_id == third.topic_id, fourth.reason


def test_a_reply_to_an_archived_topic_is_not_written_in_it(pipe):
    root = _start(pipe)
    pipe.ctx.forum.topic_status_set(root.topic_id, "archived", True)
    row = _reply(pipe)
    assert row.state == "published", row.reason
    assert row.topic_id != root.topic_id
    assert "Suite du sujet archivé sur le forum" in pipe.post(row.post_id)["raw"]
    assert pipe.topic(root.topic_id)["archived"] is True
    stream = pipe.topic(root.topic_id)["post_stream"]["posts"]
    assert [p.get("action_code") for p in stream if p["post_type"] == 3] == ["archived.enabled"]
    assert len([p for p in stream if p["post_type"] == 1]) == 1


def test_reply_to_a_deleted_topic_is_quarantined_not_a_new_topic(pipe):
    root = _start(pipe)
    pipe.ctx.forum._request("DELETE", f"/t/{root.topic_id}.json")
    row = _reply(pipe)
    assert row.state == "quarantined"
    assert f"le sujet {root.topic_id} a été supprimé sur le forum" in row.reason
    with pipe.ctx.db.session() as session:
        assert session.scalar(select(func.count(TopicLink.topic_id))) == 1
    by_subject = pipe.send(make_mail("Re: [SVE] Accusé de réception", "Sans en-têtes.",
                                     date=later(hours=5)))
    assert by_subject.state == "quarantined"
    # the reason says what the operator can do: restore the topic, then retry (or drop)
    assert f"Restaurez le sujet sur le forum puis « forumsync inbox retry {row.id} »" in row.reason
    pipe.ctx.forum._request("PUT", f"/t/{root.topic_id}/recover.json")
    with pipe.ctx.db.session() as session:  # what « forumsync inbox retry N » does
        assert operations.retry(session, row.id)
    pipe.run()
    again = pipe.row(row.id)
    assert (again.state, again.topic_id) == ("published", root.topic_id), again.reason


def test_later_replies_follow_posts_a_lead_moved_to_another_topic(pipe):
    root = _start(pipe)
    first = _reply(pipe, n=1)
    other = pipe.send(make_mail("[SVE] Accusés de réception (suite)", message_id="<other@c.fr>"))
    pipe.ctx.forum._request("POST", f"/t/{root.topic_id}/move-posts.json",
                            json={"post_ids": [first.post_id], "destination_topic_id": other.topic_id})
    moved = pipe.post(first.post_id)
    assert moved["topic_id"] == other.topic_id
    row = _reply(pipe, parent="<lead-r1@b.fr>", n=2)
    assert row.state == "published", row.reason
    assert row.topic_id == other.topic_id
    assert pipe.post(row.post_id)["reply_to_post_number"] == moved["post_number"]
    link = pipe.post_link("lead-r1@b.fr")
    assert (link.topic_id, link.post_number) == (other.topic_id, moved["post_number"])
    # and the next reply to it goes straight there
    row3 = _reply(pipe, parent="<lead-r1@b.fr>", n=3)
    assert row3.topic_id == other.topic_id
