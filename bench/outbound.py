"""Forum → list latency: from webhook receipt by forumsync to SMTP hand-off.

Everything real, on loopback: the local forum in its own process (``forumsync localforum``:
posts created through its API, webhooks signed and POSTed over HTTP), forumsync's web app
(werkzeug, threaded) storing the events, one in-process worker woken by the webhook
(``ctx.wake_worker``), and an aiosmtpd sink.
Receipt time = ``WebhookEvent.received_at``; hand-off = when the sink got the DATA.

    .venv/bin/python bench/outbound.py [--posts 200] [--interval 0.05] [--database sqlite|postgresql|URL]
"""
from __future__ import annotations

import argparse
import email
import json
import socket
import subprocess
import statistics
import sys
import tempfile
import threading
import time
from datetime import timezone
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
API_KEY = "bench-api-key-0123456789"
SECRET = "bench-webhook-secret"

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from forumsync.app import create_app  # noqa: E402
from forumsync.context import Context  # noqa: E402
from forumsync.forum import events  # noqa: E402
from forumsync.models import OutboxMail, WebhookEvent  # noqa: E402
from forumsync.outbound import outbox  # noqa: E402
from forumsync.testing.settings import free_port, make_settings  # noqa: E402


def start_forum(tmp: Path, port: int, webhook_url: str) -> subprocess.Popen:
    settings = tmp / "forum_settings.py"
    settings.write_text(f"FORUM_URL = 'http://127.0.0.1:{port}'\n"
                        f"FORUM_API_KEY = {API_KEY!r}\nFORUM_API_USERNAME = 'system'\n"
                        f"FORUM_WEBHOOK_SECRET = {SECRET!r}\n"
                        f"LOCALFORUM_DATABASE_URL = 'sqlite:///{tmp / 'localforum.sqlite3'}'\n"
                        f"LOCALFORUM_WEBHOOK_URL = {webhook_url!r}\n"
                        f"DATABASE_URL = 'sqlite:///{tmp / 'unused.sqlite3'}'\n")
    process = subprocess.Popen([str(ROOT / ".venv/bin/forumsync"), "--settings", str(settings),
                                "localforum"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("le forum local n'a pas démarré")


class SinkHandler:
    def __init__(self):
        self.arrivals = {}  # Message-ID -> wall-clock time of hand-off
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.arrivals[str(msg["Message-ID"])] = now
        return "250 2.0.0 OK"


def worker_loop(ctx, wake: threading.Event, stop: threading.Event):
    while not stop.is_set():
        wake.clear()  # before looking: a wake-up arriving while we work is not lost
        done = events.run_pending(ctx, "bench") + outbox.run_pending(ctx, "bench")
        if not done:
            wake.wait(0.5)


def percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05,
                        help="secondes entre deux messages (0 : rafale)")
    parser.add_argument("--database", default="sqlite",
                        help="sqlite (défaut), postgresql (serveur jetable) ou une URL postgresql://…")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    handler = SinkHandler()
    sink = Controller(handler, hostname="127.0.0.1", port=free_port())
    sink.start()
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    forum_port = free_port()
    forum = start_forum(tmp, forum_port, f"{web_url}/webhooks/discourse")
    pg_server = None
    if args.database == "sqlite":
        db_url = f"sqlite:///{tmp / 'forumsync.sqlite3'}"
    elif args.database == "postgresql":  # a throwaway PostgreSQL 15, as the tests use
        from forumsync.testing.postgres import PostgresServer

        pg_server = PostgresServer().start()
        db_url = pg_server.create_database()
    else:
        db_url = args.database
    settings = make_settings(tmp, db_url, FORUM_URL=f"http://127.0.0.1:{forum_port}",
                             FORUM_API_KEY=API_KEY, FORUM_API_USERNAME="system",
                             FORUM_WEBHOOK_SECRET=SECRET, WEB_URL=web_url,
                             SMTP_URL=f"smtp://127.0.0.1:{sink.port}")
    ctx = Context(settings)
    wake, stop = threading.Event(), threading.Event()
    ctx.wake_worker = wake.set
    server = make_server("127.0.0.1", web_port, create_app(context=ctx), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    parent = ctx.forum.category_create(settings.PARENT_CATEGORY, slug="club-publik")
    sve = ctx.forum.category_create("SVE", slug="sve", parent_category_id=parent["id"])
    ctx.forum.user_create("Marie Dupré", "marie", "marie.dupre@meyzieu.fr", "mot-de-passe-du-banc-2026")
    gw = ctx.forum.as_user("marie")
    worker = threading.Thread(target=worker_loop, args=(ctx, wake, stop), daemon=True)
    worker.start()

    started = time.time()
    first = gw.topic_create("Banc d'essai de la latence forum → liste", "Premier message du banc.",
                            sve["id"])
    post_ids = [first["id"]]
    for n in range(args.posts - 1):
        post = gw.post_create(first["topic_id"], f"Réponse n° {n + 1} du banc d'essai, avec accents : été.")
        post_ids.append(post["id"])
        time.sleep(args.interval)
    host = settings.forum_host
    wanted = {f"<discourse/post/{pid}@{host}>" for pid in post_ids}
    deadline = time.time() + 60
    while time.time() < deadline and not wanted <= set(handler.arrivals):
        time.sleep(0.05)
    elapsed = time.time() - started
    stop.set()
    wake.set()
    worker.join(timeout=10)

    with ctx.db.session() as session:
        received = {}
        for event in session.scalars(select(WebhookEvent).where(WebhookEvent.event == "post_created")):
            pid = json.loads(event.payload)["post"]["id"]
            received[pid] = event.received_at.astimezone(timezone.utc).timestamp()
        enqueued = {row.message_id: row.created_at.timestamp()
                    for row in session.scalars(select(OutboxMail))}
    latencies, to_outbox, to_smtp = [], [], []
    for pid in post_ids:
        arrival = handler.arrivals.get(f"<discourse/post/{pid}@{host}>")
        if arrival is not None and pid in received:
            latencies.append(arrival - received[pid])
            queued = enqueued.get(f"discourse/post/{pid}@{host}")
            if queued is not None:
                to_outbox.append(queued - received[pid])
                to_smtp.append(arrival - queued)
    missing = len(post_ids) - len(latencies)
    print(f"forum → liste ({ctx.db.engine.dialect.name}, intervalle {args.interval} s) : "
          f"{len(latencies)} messages remis, {missing} manquant(s), {elapsed:.1f} s au total "
          f"({len(latencies) / elapsed:.1f} messages/s)")
    if latencies:
        print(f"latence réception du webhook → remise SMTP : médiane {statistics.median(latencies) * 1000:.1f} ms, "
              f"p95 {percentile(latencies, 95) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
        print(f"  dont réception → file d'envoi : médiane {statistics.median(to_outbox) * 1000:.1f} ms, "
              f"p95 {percentile(to_outbox, 95) * 1000:.1f} ms ; file d'envoi → remise SMTP : "
              f"médiane {statistics.median(to_smtp) * 1000:.1f} ms, p95 {percentile(to_smtp, 95) * 1000:.1f} ms")
    stats = ctx.forum.stats  # shared by the bench's own as_user clone: its creations count too
    print(f"requêtes au forum (une seule clé d'API, limite du forum par minute) : {stats['requests']}, "
          f"dont {stats['GET']} lectures ({stats['GET'] / max(1, len(post_ids)):.1f} par message) "
          f"et {len(post_ids)} créations du banc ; réponses 429 : {stats['429']}")
    if latencies:
        verdict = "OK" if percentile(latencies, 95) < 0.5 else "AU-DESSUS DE L'OBJECTIF"
        print(f"objectif p95 < 500 ms : {verdict}")
    # The endpoint itself: signed deliveries POSTed straight to it (worker stopped).
    import requests

    from forumsync.forum.webhooks import signature

    answers = []
    with requests.Session() as http:
        for n in range(args.posts):
            body = json.dumps({"post": {"id": 10_000_000 + n, "topic_id": 1}}).encode()
            headers = {"Content-Type": "application/json", "X-Discourse-Event": "post_created",
                       "X-Discourse-Event-Type": "post", "X-Discourse-Event-Id": f"bench-{n}",
                       "X-Discourse-Instance": settings.FORUM_URL,
                       "X-Discourse-Event-Signature": signature(SECRET, body)}
            began = time.perf_counter()
            response = http.post(f"{web_url}/webhooks/discourse", data=body, headers=headers, timeout=10)
            answers.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
    print(f"réponse du point d'entrée webhook (signature vérifiée, événement stocké) : "
          f"médiane {statistics.median(answers) * 1000:.1f} ms, p95 {percentile(answers, 95) * 1000:.1f} ms")
    server.shutdown()
    forum.terminate()
    forum.wait(timeout=10)
    sink.stop()
    ctx.close()
    if pg_server is not None:
        pg_server.stop()
    return 0 if latencies and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
