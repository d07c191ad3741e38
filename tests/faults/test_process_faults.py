"""forumsync's own parts failing: the mail server down, `kill -9` of the worker and of the LMTP
server, the database locked or stopped. Each part runs as its own process."""
from __future__ import annotations

import email
import json
import sqlite3
import time
from email import policy

import pytest
from sqlalchemy import select

from forumsync.inbound.ingest import ingest
from forumsync.models import InboxMessage, OutboxMail, utcnow
from tests.fixtures.database import PG_BIN, PostgresServer
from forumsync.testing.lmtp_client import make_message

from .common import Rig

# The rig's forum stands for one whose operator raised DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE
# (forumsync paces itself under it, see forumsync/testing/rig.py); Discourse's 60/min is tested apart.
pytestmark = pytest.mark.admin_api_limit(6000)
from .test_forum_faults import _wait


@pytest.mark.admin_api_limit(6000)  # ~4 forum reads per relayed post, 30 posts in seconds
def test_smtp_down_during_forum_to_list_traffic_then_back(tmp_path, procs, make_localforum,
                                                          mail_sink):
    """Posts made while the mail server is down reach the list once it is back, each exactly once."""
    mail_sink.stop()
    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides, SMTP_URL=mail_sink.url)
    themes = rig.provision()
    forum.create_user("marie", "marie.dupre@meyzieu.fr", "Marie Dupré")
    forum.set_webhook_url(f"http://127.0.0.1:{rig.web_port}/webhooks/discourse")
    serve = rig.start_serve()
    gw = rig.ctx.forum.as_user("marie")
    post_ids = []
    for n in range(4):
        first = gw.topic_create(f"Sujet du forum n° {n}", f"Bonjour, question **{n}** sur la SVE.",
                                themes["sve"])
        post_ids.append(first["id"])
        for r in range(2):
            post_ids.append(gw.post_create(first["topic_id"], f"Réponse {r} au sujet {n}.")["id"])
    forum.wait_webhooks(30)

    def outbox():
        with rig.ctx.db.session() as s:
            return [(m.message_id, m.state, m.attempts, m.last_error) for m in s.scalars(select(OutboxMail))]

    _wait(lambda: len(outbox()) == len(post_ids) and all(a >= 1 for _, _, a, _ in outbox()), 60,
          "every mail tried once while the mail server is down")
    down = outbox()
    assert all(state == "pending" and error for _, state, _, error in down), down
    assert not mail_sink.messages
    mail_sink.start()
    _wait(lambda: all(state == "sent" for _, state, _, _ in outbox()), 90, "outbox sent")
    # Negative check (no duplicate arrives): every mail is already counted ("sent" is set after
    # the sink's 250, which it gives once the mail is recorded); a short sleep lets a duplicate show.
    time.sleep(1.5)
    received = mail_sink.message_ids()
    host = "127.0.0.1"
    expected = {f"<discourse/post/{pid}@{host}>" for pid in post_ids}
    print(f"[figures] SMTP arrêté : posts {len(post_ids)}, courriels en attente {len(down)}, "
          f"reçus {sum(received.values())}, Message-ID distincts {len(received)}, "
          f"doublons {sum(received.values()) - len(received)}")
    assert set(received) == expected
    assert all(count == 1 for count in received.values()), received
    for _, _, raw in mail_sink.messages:
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert parsed["To"] and "club@listes.example.org" in str(parsed["To"])
    assert serve.alive()


def test_kill_worker_mid_batch(tmp_path, procs, make_localforum):
    """`kill -9` of the worker while it publishes a batch; restarted, it finishes the batch at
    once (claims of the dead process released) and publishes every message exactly once."""
    forum = make_localforum()
    # One message a forum call (no batch request): the kill must land between two of them.
    rig = Rig(tmp_path, procs, forum.settings_overrides, INBOX_BATCH_THRESHOLD=1000)
    rig.provision()
    count = 40
    ids = []
    for index in range(count):
        message_id, raw = make_message("kill-worker", index)
        ingest(rig.ctx, raw, "lmtp", {"recipients": ["club@listes.example.org"]})
        ids.append(message_id)
    forum.faults.slow(0.25, seconds=300, method="POST")
    worker = rig.start_worker()
    _wait(lambda: rig.states()["published"] >= 6, 60, "some messages published")
    worker.kill()
    killed = dict(rig.states())
    assert killed.get("processing", 0) > 0, killed
    forum.faults.clear()
    restarted = time.monotonic()
    worker.start()
    rig.wait_drained(count, 60)
    took = time.monotonic() - restarted
    figures = rig.check_exactly_once(count, ids, "kill -9 du worker en plein lot")
    print(f"[figures] kill -9 worker : états au moment du kill {killed}, reprise en {took:.1f} s")
    assert figures.published == count
    assert took < 60  # far less than the 5-minute stale-lock delay


def test_kill_lmtp_server_while_clients_send(tmp_path, procs, make_localforum):
    """`kill -9` of the LMTP server mid-traffic: each message that got a 250 is stored and
    published once; the client resends those without a 250 and nothing is duplicated."""
    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides)
    rig.provision()
    lmtp = rig.start_lmtp()
    rig.start_worker()
    count = 200
    client = rig.client(count, "kill-lmtp", concurrency=3, retry_for=90)

    def stored():
        return sum(rig.states().values())

    _wait(lambda: stored() >= 60, 60, "messages stored before the kill")
    lmtp.kill()
    at_kill = stored()
    time.sleep(1.0)  # the server stays down a while (no assertion waits on this)
    lmtp.start()
    result = client.result(180)
    assert not result["refused"], result["refused"]
    assert len(result["acked"]) == count
    assert result["errors"] >= 1, "the client never noticed the kill"
    rig.wait_drained(count, 120)
    with rig.ctx.db.session() as s:
        rows = s.scalars(select(InboxMessage.message_id)).all()
    assert len(rows) == count == len(set(rows))
    figures = rig.check_exactly_once(count, result["acked"], "kill -9 du serveur LMTP")
    print(f"[figures] kill -9 LMTP : stockés au kill {at_kill}, tentatives client "
          f"{result['attempts']}, erreurs de connexion {result['errors']}")
    assert figures.published == count


def test_sqlite_locked_ingest_waits_and_never_acks_unstored(tmp_path, procs, make_localforum):
    """An exclusive lock held by another connection: the LMTP server waits (busy timeout) and
    acknowledges only once the message is really stored."""
    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides)
    rig.start_lmtp()
    path = rig.settings.DATABASE_URL[len("sqlite:///"):]
    locker = sqlite3.connect(path, isolation_level=None, timeout=1)
    locker.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    client = rig.client(3, "locked", concurrency=1)
    # The lock is held 3 s (well under the 15 s busy timeout); the checks below are negative
    # (nothing finished, nothing stored), so a fixed time is enough.
    time.sleep(3.0)
    assert client.popen.poll() is None, "the client finished while the database was locked"
    assert locker.execute("SELECT count(*) FROM inbox_message").fetchone()[0] == 0
    released_at = time.time()
    locker.execute("COMMIT")
    released = time.monotonic() - started
    locker.close()
    result = client.result(60)
    assert len(result["acked"]) == 3 and not result["refused"]
    # Compared on the wall clock, not with the client's own elapsed time: that one starts
    # only once the client process has started, seconds late on a loaded machine.
    assert result["first_ack_at"] >= released_at
    with rig.ctx.db.session() as s:
        stored = set(s.scalars(select(InboxMessage.message_id)).all())
    assert set(result["acked"]) <= stored
    print(f"[figures] SQLite verrouillé {released:.1f} s : envoyés 3, acquittés "
          f"{len(result['acked'])} après {result['elapsed']:.1f} s, stockés {len(stored)}")


def test_postgres_stopped_and_restarted_worker_survives(tmp_path, procs, make_localforum):
    """The PostgreSQL server stopped for a few seconds while the worker is in the middle of a
    batch: the worker survives, and once the server is back every message is published once,
    without waiting for the 5-minute stale-claim delay (nothing stuck)."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 introuvable dans {PG_BIN}")
    server = PostgresServer().start()
    try:
        forum = make_localforum()
        rig = Rig(tmp_path, procs, forum.settings_overrides, db_url=server.create_database())
        rig.provision()
        ids = []
        for index in range(30):
            message_id, raw = make_message("pg", index)
            ingest(rig.ctx, raw, "lmtp")
            ids.append(message_id)
        held = forum.faults.hold(count=1, method="POST")
        worker = rig.start_worker()
        _wait(lambda: held.remaining == 0, 60, "the worker's first write, held by the forum")
        rig.ctx.db.dispose()
        server._run(PG_BIN / "pg_ctl", "-D", server.data, "-m", "fast", "-w", "stop")
        held.release()  # the forum writes and answers while the worker's database is down
        assert held.wait_finished(1, 60)
        time.sleep(3)  # the server stays down a while; the check is negative (no crash)
        assert worker.alive(), worker.output()[-2000:]
        server._run(PG_BIN / "pg_ctl", "-D", server.data, "-l", server.dir / "log", "-w", "-o",
                    f"-p {server.port} -k {server.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                    f"-c max_connections=200", "start")
        forum.faults.clear()
        at_restart = dict(rig.states())
        assert at_restart.get("published", 0) < 30, at_restart  # stopped in the middle, truly
        for index in range(30, 40):
            message_id, raw = make_message("pg", index)
            ingest(rig.ctx, raw, "lmtp")
            ids.append(message_id)
        started = time.monotonic()
        rig.wait_drained(40, 120)
        took = time.monotonic() - started
        figures = rig.check_exactly_once(40, ids, "PostgreSQL arrêté puis relancé en plein lot")
        print(f"[figures] PostgreSQL : états à la relance {at_restart}, vidé en {took:.1f} s")
        assert figures.published == 40 and worker.alive()
        rig.ctx.close()
    finally:
        server.stop()


def test_sqlite_locked_longer_than_busy_timeout_answers_451_and_stores_nothing(tmp_path, monkeypatch,
                                                                                make_localforum):
    """Past the busy timeout the LMTP server answers 451 (the MTA keeps the message and
    retries), stores nothing, and takes the same message once the lock is gone."""
    import smtplib

    import forumsync.db
    from forumsync.context import Context
    from forumsync.inbound.lmtp import start_lmtp_server
    from tests.fixtures.database import make_settings

    monkeypatch.setattr(forumsync.db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    forum = make_localforum()
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'forumsync.sqlite3'}",
                             **forum.settings_overrides)
    ctx = Context(settings)
    ctx.db  # migrated before the lock
    server = start_lmtp_server(ctx)
    message_id, raw = make_message("busy", 0)
    locker = sqlite3.connect(settings.DATABASE_URL[len("sqlite:///"):], isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("a@b.fr", ["club@listes.example.org"], raw)
            assert refused.value.smtp_code == 451
        locker.execute("ROLLBACK")
        with ctx.db.session() as s:
            assert s.scalars(select(InboxMessage)).all() == []
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            assert client.sendmail("a@b.fr", ["club@listes.example.org"], raw) == {}
        with ctx.db.session() as s:
            assert s.scalars(select(InboxMessage.message_id)).all() == [message_id]
    finally:
        locker.close()
        server.stop()
        ctx.close()


def test_a_message_the_worker_dies_on_each_time_is_set_aside_after_three_deaths(tmp_path, procs,
                                                                                  make_localforum):
    """A message that kills the worker (memory, a crash in a C library) must not kill it for
    ever: systemd restarts it, it claims the message again, and dies again. Here the death is
    a real ``kill -9`` landing while the worker has that message in hand (a 2.7 MB mail that
    takes seconds to convert). After the first death the rows it held are run alone, each
    marked as started; the third death on the same message sets it aside with a French
    reason, and the message behind it is published, counted once at most."""
    from forumsync.pipeline.runner import INTERRUPTED_MAX
    from forumsync.queues import STARTED
    from tests.fixtures.pipeline import make_mail
    from tests.pipeline.test_budget import HEAVY

    forum = make_localforum()
    rig = Rig(tmp_path, procs, forum.settings_overrides, INBOX_BATCH_THRESHOLD=1000)
    rig.provision()
    mails = {"avant": make_mail("Avant", message_id="<avant@meyzieu.fr>"),
             "lourd": make_mail("Journal", HEAVY, message_id="<lourd@meyzieu.fr>"),
             "apres": make_mail("Après", message_id="<apres@meyzieu.fr>")}
    for raw in mails.values():
        ingest(rig.ctx, raw, "lmtp", {"recipients": ["club@listes.example.org"]})

    def row(name):
        with rig.ctx.db.session() as s:
            found = s.scalar(select(InboxMessage).where(InboxMessage.message_id == f"{name}@meyzieu.fr"))
            s.expunge(found)
            return found

    worker = rig.start_worker()
    held_by = None
    for death in range(INTERRUPTED_MAX):
        if death == 0:  # the first time, the worker holds the three rows and marks none
            _wait(lambda: row("avant").state == "published" and row("lourd").state == "processing",
                  60, "the heavy message in hand")
        else:  # then the restarted worker runs the heavy one alone, marked as started
            _wait(lambda: (row("lourd").locked_by or "").endswith(STARTED)
                  and row("lourd").locked_by != held_by, 60, "the heavy message marked")
        held_by = row("lourd").locked_by
        worker.kill()
        worker.start()
    rig.wait_drained(3, 120)
    heavy, after = row("lourd"), row("apres")
    assert heavy.state == "quarantined" and heavy.interrupted == INTERRUPTED_MAX
    assert heavy.reason.startswith(f"le worker s'est arrêté {INTERRUPTED_MAX} fois pendant le traitement")
    assert after.state == "published" and after.interrupted == 1, (after.state, after.interrupted)
    assert row("avant").interrupted == 0


class StallingRelay:
    """A TCP relay in front of the mail sink that, while ``stall`` is set, accepts connections
    and never answers (a mail server hung mid-conversation: the worker waits in ``connect``)."""

    def __init__(self, target_port: int):
        import socket
        import threading

        self.target_port, self.stall, self.held = target_port, True, []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading

        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.stall:
                self.held.append(client)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(2)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.server.close()
        for s in self.held:
            s.close()


def _kill_each_time_the_first_is_in_hand(worker, relay, row, claimed: str) -> None:
    """``kill -9`` WORKER INTERRUPTED_MAX times while it waits on the silent RELAY with row 1
    in hand: the first time it holds rows 1 and 2, unmarked; then, restarted, it runs row 1
    alone, marked as started, and row 2 waits unmarked."""
    from forumsync.queues import INTERRUPTED_MAX, STARTED

    held_by, connections = None, 0
    for death in range(INTERRUPTED_MAX):
        if death == 0:
            _wait(lambda: row(1).state == claimed and len(relay.held) > connections, 60, "row 1 in hand")
        else:
            _wait(lambda: (row(1).locked_by or "").endswith(STARTED) and row(1).locked_by != held_by
                  and len(relay.held) > connections, 60, "row 1 marked")
        held_by, connections = row(1).locked_by, len(relay.held)
        assert row(2).state == claimed and not (row(2).locked_by or "").endswith(STARTED)
        worker.kill()
        worker.start()


def test_a_mail_the_worker_dies_on_each_time_is_set_aside_after_three_deaths(tmp_path, procs,
                                                                               make_localforum, mail_sink):
    """The outbox has the inbox's guard: a mail in hand each time the worker is killed (here
    ``kill -9`` while it waits on a mail server that accepted the connection and went silent)
    is sent alone, marked as started, after the first death, and ends "failed" with a French
    reason after the third; the mail behind it is sent once the server answers again."""
    from forumsync.outbound import compose, outbox
    from forumsync.queues import INTERRUPTED_MAX

    relay = StallingRelay(mail_sink.port)
    try:
        forum = make_localforum()
        rig = Rig(tmp_path, procs, forum.settings_overrides, SMTP_URL=f"smtp://127.0.0.1:{relay.port}")
        rig.provision()
        with rig.ctx.db.session() as session:
            for n in (1, 2):
                mail = compose.compose_personal(rig.ctx.settings, to="marie@meyzieu.fr",
                                                subject=f"Essai n° {n}", text="Bonjour.")
                assert outbox.enqueue(session, f"essai:{n}", mail, ["marie@meyzieu.fr"])

        def row(n):
            with rig.ctx.db.session() as s:
                found = s.scalar(select(OutboxMail).where(OutboxMail.key == f"essai:{n}"))
                s.expunge(found)
                return found

        _kill_each_time_the_first_is_in_hand(rig.start_worker(), relay, row, "sending")
        relay.stall = False
        _wait(lambda: row(1).state == "failed" and row(2).state == "sent", 60, "the queue moving on")
        first, second = row(1), row(2)
        assert first.interrupted == INTERRUPTED_MAX
        assert first.last_error.startswith(f"le worker s'est arrêté {INTERRUPTED_MAX} fois pendant l'envoi")
        assert second.interrupted == 1
        assert list(mail_sink.message_ids().values()) == [1]
        assert f"<{second.message_id}>" in mail_sink.message_ids()
    finally:
        relay.close()


def test_an_event_the_worker_dies_on_each_time_is_set_aside_after_three_deaths(tmp_path, procs,
                                                                                 make_localforum, mail_sink):
    """Webhook events have the same guard: an event in hand each time the worker is killed
    (here while it waits on a forum that went silent) is handled alone, marked as started,
    after the first death, and ends "failed" with a French reason after the third; the event
    behind it is handled once the forum answers, its post mailed to the list once;
    ``forumsync events retry`` takes the failed one back."""
    from forumsync.forum import events
    from forumsync.models import WebhookEvent
    from forumsync.queues import INTERRUPTED_MAX

    forum = make_localforum()
    relay = StallingRelay(int(forum.url.rsplit(":", 1)[1].strip("/")))
    relay.stall = False
    try:
        rig = Rig(tmp_path, procs, dict(forum.settings_overrides, FORUM_URL=f"http://127.0.0.1:{relay.port}"),
                  SMTP_URL=mail_sink.url, FORUM_CATCHUP_SECONDS=0)
        themes = rig.provision()
        forum.create_user("marie", "marie.dupre@meyzieu.fr", "Marie Dupré")
        gw = rig.ctx.forum.as_user("marie")
        posts = [gw.topic_create(f"Question n° {n} sur la SVE", f"Bonjour, question **{n}**.", themes["sve"])
                 for n in (1, 2)]
        with rig.ctx.db.session() as session:
            for n, post in enumerate(posts, 1):
                session.add(WebhookEvent(delivery_id=f"essai-{n}", event_key=f"essai-{n}", event="post_created",
                                         event_type="post", state="new", received_at=utcnow(),
                                         payload=json.dumps({"post": {"id": post["id"], "topic_id": post["topic_id"]}})))

        def row(n):
            with rig.ctx.db.session() as s:
                found = s.scalar(select(WebhookEvent).where(WebhookEvent.delivery_id == f"essai-{n}"))
                s.expunge(found)
                return found

        relay.stall = True
        _kill_each_time_the_first_is_in_hand(rig.start_worker(), relay, row, "processing")
        relay.stall = False
        _wait(lambda: row(1).state == "failed" and row(2).state == "done", 60, "the queue moving on")
        first, second = row(1), row(2)
        assert first.interrupted == INTERRUPTED_MAX and second.interrupted == 1
        assert first.reason.startswith(f"le worker s'est arrêté {INTERRUPTED_MAX} fois pendant le traitement")
        _wait(lambda: len(mail_sink.messages) == 1, 30, "the second post mailed")
        assert f"<discourse/post/{posts[1]['id']}@127.0.0.1>" in mail_sink.message_ids()
        with rig.ctx.db.session() as session:  # the operator takes it back
            assert events.retry(session, first.id) == 1
        _wait(lambda: row(1).state == "done", 60, "the failed event handled again")
        _wait(lambda: len(mail_sink.messages) == 2, 30, "the first post mailed")
        assert list(mail_sink.message_ids().values()) == [1, 1]
    finally:
        relay.close()
