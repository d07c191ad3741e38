"""Robustness: every message of a real list archive goes through ingest + pipeline into the
local forum and ends published, dropped with a reason, or quarantined with a reason.

The test uses cocci-1k (1,000 messages, ~1 min); bench/pipeline.py runs both corpus files.
"""
from collections import Counter

from sqlalchemy import func, select

from forumsync.inbound.ingest import Refused, ingest
from forumsync.inbound.mbox import iter_mbox, open_mbox
from forumsync.localforum.models import Category, Post
from forumsync.models import InboxMessage
import pytest

from tests.conftest import real_data
from tests.fixtures.pipeline import make_pipe

# Bulk import: the forum's admin API limit raised as an operator raises
# DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE (Discourse's default, 60/min, is the fixture's).
pytestmark = pytest.mark.admin_api_limit(6000)



@pytest.mark.slow
def test_every_corpus_message_ends_with_a_reason(tmp_path, sqlite_url, localforum):
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, LIST_ADDRESS="cocci@systeme.lip6.fr",
                      LIST_TAG="[Cocci]")
    pipe.provision()
    read, refused, duplicates = 0, Counter(), 0
    with open_mbox(real_data("corpus", "cocci-1k.mbox.gz")) as stream:
        for message in iter_mbox(stream, max_bytes=ctx.settings.MAX_MESSAGE_BYTES):
            read += 1
            if message.raw is None:
                refused["too_big"] += 1
                continue
            try:
                duplicates += ingest(ctx, message.raw, "mbox").duplicate
            except Refused as exc:
                assert exc.message_fr
                refused[exc.code] += 1
    pipe.run()

    with ctx.db.session() as session:
        rows = session.execute(select(InboxMessage.state, InboxMessage.reason, InboxMessage.post_id,
                                      InboxMessage.topic_id)).all()
    states = Counter(row.state for row in rows)
    assert read == 1000
    assert read == sum(refused.values()) + duplicates + len(rows)
    assert set(states) <= {"published", "dropped", "quarantined"}, states
    for row in rows:
        if row.state == "published":
            assert row.post_id and row.topic_id
        else:
            assert row.reason.strip(), row
    assert states["published"] >= 0.9 * len(rows), (states, Counter(r.reason for r in rows
                                                                      if r.state != "published"))
    with localforum.session() as session:
        about = select(Category.topic_id).where(Category.topic_id.is_not(None))  # one per category
        posts = session.scalar(select(func.count(Post.id)).where(Post.deleted_at.is_(None),
                                                                 Post.topic_id.not_in(about)))
    assert posts == states["published"]  # each published message is exactly one post
    ctx.close()
