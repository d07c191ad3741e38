"""Load: 2,000 messages over LMTP from a separate client process (every part its own process),
and two workers sharing one PostgreSQL inbox and outbox."""
from __future__ import annotations

import time
from collections import Counter
from email.message import EmailMessage

from sqlalchemy import select

from bench.load import run_load
from forumsync.inbound.ingest import ingest
from forumsync.models import InboxMessage, OutboxMail
from forumsync.outbound import outbox
from tests.faults.common import Rig
from tests.faults.test_forum_faults import _wait
from forumsync.testing.lmtp_client import make_message
import pytest

# Bulk import: the forum's admin API limit raised as an operator raises
# DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE (Discourse's default, 60/min, is the fixture's).
pytestmark = pytest.mark.admin_api_limit(6000)

PUBLISH_PATHS = {"/posts.json", "/posts", "/forumsync/posts.json", "/forumsync/posts"}


@pytest.mark.timeout(900)  # 2,000 mails end to end on 2 shared cores
def test_2000_messages_over_lmtp(tmp_path, procs):
    report = run_load(tmp_path, procs, count=2000, concurrency=4, drain_timeout=420)
    assert report["acked"] == 2000 and report["refused"] == 0
    assert report["published"] == 2000 and report["duplicated"] == 0
    assert report["states"] == {"published": 2000}
    assert report["accept_rate"] > 5  # msg/s; measured ≈ 55 on the 2-core CI machine


def test_two_workers_on_postgresql_share_inbox_and_outbox(tmp_path, procs, postgres_server,
                                                          make_localforum, mail_sink):
    forum = make_localforum()
    # One message a forum call, so the forum's own request log counts publications one by one
    # (batches are compared with the one-by-one path in tests/pipeline/test_batch_import.py).
    rig = Rig(tmp_path, procs, forum.settings_overrides, db_url=postgres_server.create_database(),
              SMTP_URL=mail_sink.url, INBOX_BATCH_THRESHOLD=1000)
    rig.provision()
    count, mails = 150, 100
    ids = []
    for index in range(count):
        message_id, raw = make_message("two-workers", index)
        ingest(rig.ctx, raw, "lmtp")
        ids.append(message_id)
    with rig.ctx.db.session() as s:
        for n in range(mails):
            msg = EmailMessage()
            msg["From"] = "Bistro <bistro@forumsync.example.org>"
            msg["To"] = "club@listes.example.org"
            msg["Subject"] = f"Courriel {n}"
            msg["Message-ID"] = f"<outbox-{n}@forumsync.example.org>"
            msg.set_content(f"Courriel {n}")
            assert outbox.enqueue(s, f"load:{n}", msg, ["club@listes.example.org"])
    forum.faults.slow(0.03, seconds=600, method="POST")
    before = len(forum.requests)
    workers = [rig.start_worker("worker-a"), rig.start_worker("worker-b")]
    seen_inbox, seen_outbox = set(), set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with rig.ctx.db.session() as s:
            seen_inbox.update(s.scalars(select(InboxMessage.locked_by)
                                        .where(InboxMessage.state == "processing").distinct()))
            seen_outbox.update(s.scalars(select(OutboxMail.locked_by)
                                         .where(OutboxMail.state == "sending").distinct()))
            left = s.scalar(select(InboxMessage.id).where(
                InboxMessage.state.in_(("new", "processing", "retry"))).limit(1))
            unsent = s.scalar(select(OutboxMail.id).where(OutboxMail.state != "sent").limit(1))
        if left is None and unsent is None:
            break
        time.sleep(0.05)
    rig.wait_drained(count, 5)
    figures = rig.check_exactly_once(count, ids, "deux workers PostgreSQL (boîte de réception)")
    with rig.ctx.db.session() as s:
        attempts = Counter(s.scalars(select(InboxMessage.attempts)))
        out = [(m.state, m.attempts) for m in s.scalars(select(OutboxMail))]
    publish_calls = sum(1 for method, path in forum.requests[before:]
                        if method == "POST" and path in PUBLISH_PATHS)
    _wait(lambda: len(mail_sink.messages) >= mails, 60, "mails received")
    time.sleep(0.5)  # negative check (no duplicate arrives): a short fixed time is enough
    received = mail_sink.message_ids()
    print(f"[figures] deux workers PostgreSQL : boîte {figures.published}/{count} publiés, "
          f"appels de publication {publish_calls}, tentatives {dict(attempts)} ; sortie "
          f"{sum(received.values())} reçus pour {mails} courriels, doublons "
          f"{sum(received.values()) - len(received)} ; workers vus {len(seen_inbox - {None})}"
          f"/{len(seen_outbox - {None})}")
    assert figures.published == count
    assert attempts == Counter({1: count}), "a message was claimed twice"
    assert publish_calls == count, "a message was published twice"
    assert out == [("sent", 1)] * mails
    assert len(received) == mails and set(received.values()) == {1}
    assert len(seen_inbox - {None}) == 2, seen_inbox
    assert all(w.alive() for w in workers)
