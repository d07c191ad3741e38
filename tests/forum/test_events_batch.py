"""The check right before sending reads the forum afresh once per outbox batch for what a batch
shares (the topic, the categories) and once per mail for the post itself."""
from tests.forum.test_events import _outbox_row, _queue_only, _send_outbox, _to_restricted


def _reads(bridge, prefix):
    return [path for method, path in bridge.forum.requests if method == "GET" and path.startswith(prefix)]


def test_a_backlog_of_one_topic_costs_one_topic_read(bridge):
    first = bridge.topic("marie", "Sujet aux nombreuses réponses", "Premier message du sujet.")
    replies = [bridge.reply("paul", first["topic_id"], f"Réponse numéro {n} au sujet commun.")
               for n in (1, 2, 3)]
    _queue_only(bridge)
    topic_reads = len(_reads(bridge, f"/t/{first['topic_id']}"))
    post_reads = len(_reads(bridge, "/posts/"))
    _send_outbox(bridge)
    assert len(bridge.sink.messages) == 4
    assert len(_reads(bridge, f"/t/{first['topic_id']}")) - topic_reads == 1
    assert len(_reads(bridge, "/posts/")) - post_reads == 4  # each post is still read before its mail
    assert all(_outbox_row(bridge, p["id"]).state == "sent" for p in [first, *replies])


def test_the_next_batch_reads_the_topic_again(bridge):
    """A topic moved into a restricted category between two batches: the second batch sees it."""
    first = bridge.topic("marie", "Sujet déplacé entre deux envois", "Premier message du sujet.")
    _queue_only(bridge)
    _send_outbox(bridge)
    reply = bridge.reply("paul", first["topic_id"], "Réponse en file avant le déplacement.")
    _queue_only(bridge)
    _to_restricted(bridge, reply)
    _send_outbox(bridge)
    assert len(bridge.sink.messages) == 1
    row = _outbox_row(bridge, reply["id"])
    assert row.state == "dropped" and "accès restreint" in row.last_error
