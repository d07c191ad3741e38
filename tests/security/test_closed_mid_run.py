"""Red-team pass 18: a topic a lead closes while list replies to it are being processed.

``live_topic`` reads the topic once per runner batch (``msgdata["batch"]``; live mail is
claimed up to INBOX_BATCH_THRESHOLD - 1 rows at a time) and ``records.remember_post`` keeps
that view « open » after each reply. A reply handled after the lead closed the topic is then
written in it:
- a staged sender through the plugin's single endpoint (created without the guardian; only
  the batch endpoint refuses closed topics);
- a member's own account is refused (403: closed topic), and ``refusal_policy._list_may_write``
  (which looks only at the category) lets the bridge account, an admin, post it instead.
Expected: the reply never lands in the closed topic (its continuation, as ``closed_topic``
does for a topic seen closed)."""
import pytest

from forumsync.pipeline import publish
from tests.fixtures.pipeline import later, make_mail


@pytest.mark.parametrize("second_sender", [
    "Jeanne Martin <jeanne@metz.fr>",          # staged: the plugin's single endpoint
    "Marie Dupont <marie.dupont@meyzieu.fr>",  # a member's account: 403, then the bridge
])
def test_a_reply_handled_after_the_topic_was_closed_does_not_land_in_it(pipe, localforum, monkeypatch,
                                                                         second_sender):
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    root = pipe.send(make_mail("[SVE] Accusé de réception", message_id="<c0@a.fr>",
                               sender="Paul Martin <paul@grandlyon.fr>"))
    assert root.state == "published", root.reason
    topic_id = root.topic_id

    first = pipe.feed(make_mail("Re: [SVE] Accusé de réception", "Première réponse.",
                                message_id="<c1@b.fr>", in_reply_to="<c0@a.fr>", references="<c0@a.fr>",
                                sender="Luc Bernard <luc@lyon.fr>", date=later(hours=1)))
    second = pipe.feed(make_mail("Re: [SVE] Accusé de réception", "Seconde réponse.",
                                 message_id="<c2@c.fr>", in_reply_to="<c0@a.fr>", references="<c0@a.fr>",
                                 sender=second_sender, date=later(hours=2)))

    original = publish.process
    closed = []

    def publish_then_lead_closes(ctx, msg, msgdata):
        original(ctx, msg, msgdata)
        if not closed:  # the lead closes the topic right after the first reply was written
            ctx.forum.topic_status_set(topic_id, "closed", True)
            closed.append(True)

    monkeypatch.setattr(publish, "process", publish_then_lead_closes)
    pipe.run()  # both replies claimed together (below INBOX_BATCH_THRESHOLD): one runner batch

    assert pipe.row(first).topic_id == topic_id
    row = pipe.row(second)
    assert row.state == "published", row.reason
    assert pipe.topic(topic_id)["closed"] is True
    # expected: never written in the topic the lead closed
    assert row.topic_id != topic_id, (row.reason, pipe.post(row.post_id).get("username"))


def test_a_members_reply_refused_in_a_topic_closed_meanwhile_is_not_posted_there_by_the_bridge(
        pipe, localforum, monkeypatch):
    """One message alone: the lead closes the topic after ``live_topic`` read it; the forum
    refuses the member's account (403), and the bridge (admin) must not post it in its place."""
    from forumsync.pipeline import reconcile

    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    root = pipe.send(make_mail("[SVE] Accusé de réception", message_id="<d0@a.fr>",
                               sender="Paul Martin <paul@grandlyon.fr>"))
    assert root.state == "published", root.reason
    topic_id = root.topic_id
    original = reconcile.process

    def lead_closes_then_reconcile(ctx, msg, msgdata):
        ctx.forum.topic_status_set(topic_id, "closed", True)
        original(ctx, msg, msgdata)

    monkeypatch.setattr(reconcile, "process", lead_closes_then_reconcile)
    row = pipe.send(make_mail("Re: [SVE] Accusé de réception", "Ma réponse.", message_id="<d1@b.fr>",
                              in_reply_to="<d0@a.fr>", references="<d0@a.fr>",
                              sender="Marie Dupont <marie.dupont@meyzieu.fr>", date=later(hours=1)))
    assert pipe.topic(topic_id)["closed"] is True
    # expected: not written in the closed topic by the bridge account (continuation, or retried)
    assert row.state != "published" or row.topic_id != topic_id, (
        row.reason, pipe.post(row.post_id).get("username"))


def test_a_reply_handled_after_the_topic_moved_to_a_restricted_category_is_not_written_there(
        pipe, localforum, monkeypatch):
    """Same batch view: the lead moves the topic into a staff-only category after the first
    reply; the second reply (staged sender, plugin's single endpoint) must not be written there."""
    restricted = localforum.create_category("Équipe", slug="equipe", parent="Club Publik",
                                            permissions={"staff": 1})
    root = pipe.send(make_mail("[SVE] Accusé de réception", message_id="<e0@a.fr>",
                               sender="Paul Martin <paul@grandlyon.fr>"))
    assert root.state == "published", root.reason
    topic_id = root.topic_id
    pipe.feed(make_mail("Re: [SVE] Accusé de réception", "Première réponse.", message_id="<e1@b.fr>",
                        in_reply_to="<e0@a.fr>", references="<e0@a.fr>",
                        sender="Luc Bernard <luc@lyon.fr>", date=later(hours=1)))
    second = pipe.feed(make_mail("Re: [SVE] Accusé de réception", "Seconde réponse.",
                                 message_id="<e2@c.fr>", in_reply_to="<e0@a.fr>", references="<e0@a.fr>",
                                 sender="Jeanne Martin <jeanne@metz.fr>", date=later(hours=2)))
    original = publish.process
    moved = []

    def publish_then_lead_moves(ctx, msg, msgdata):
        original(ctx, msg, msgdata)
        if not moved:
            ctx.forum.topic_update(topic_id, category_id=restricted["id"])
            moved.append(True)

    monkeypatch.setattr(publish, "process", publish_then_lead_moves)
    pipe.run()
    assert pipe.topic(topic_id)["category_id"] == restricted["id"]
    row = pipe.row(second)
    # expected: a new topic in its theme (access), never a reply in the staff-only topic
    assert row.topic_id != topic_id, (row.state, row.reason)
