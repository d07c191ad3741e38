"""Benchmark of the list → forum pipeline on the shared corpus (prints figures).

    .venv/bin/python bench/pipeline.py [--limit N] [--files usrp,cocci] [--lmtp 200]

The local forum runs in this process on loopback (waitress threads), the database is a fresh
SQLite file. Printed: raw ``email.message_from_bytes`` rate under ``compat32`` (the stdlib's default,
which the ratios divide by unless they say otherwise) and under ``policy.default`` and, in the same run, the pipeline's
end-to-end throughput (forum HTTP writes included) and its own throughput excluding the
measured time spent inside forum requests (each with its ratio to the raw rate), the worker
thread's CPU per message, forum write calls per mirrored message, peak RSS for the whole
import, and LMTP-receipt → post-exists latency (median, p95).
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forumsync.context import Context  # noqa: E402
from forumsync.inbound.ingest import Refused, ingest  # noqa: E402
from forumsync.localforum.app import create_localforum_app  # noqa: E402
from forumsync.models import InboxMessage  # noqa: E402
from forumsync.pipeline.runner import run_pending  # noqa: E402
from forumsync.services import WsgiThread  # noqa: E402
from forumsync.settings import Settings  # noqa: E402
from forumsync.testing.corpus import CORPUS, corpus_raws  # noqa: E402

FILES = {"usrp": "usrp-users-dev2k.mbox.gz", "cocci": "cocci-1k.mbox.gz"}
THEMES = [dict(slug="general", name="Discussions générales", description="Tout le reste des discussions de la liste")]


def corpus_messages(names, limit=None):
    return corpus_raws([CORPUS / FILES[name] for name in names], limit)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Forum:
    """The local forum served by waitress, as ``forumsync localforum`` serves it: HTTP/1.1
    keep-alive like a real Discourse behind nginx (werkzeug's test server closes every
    connection, which charged the worker a TCP connect per call)."""

    def __init__(self, settings):
        self.app = create_localforum_app(settings, webhook_url=None, start=False)
        self.forum = self.app.extensions["localforum"]
        self.server = WsgiThread(self.app, "127.0.0.1", 0, "bench-forum", threads=4).start()
        self.url = f"http://127.0.0.1:{self.server.port}"

    def stop(self):
        self.server.stop()
        self.forum.close()


def make_context(workdir: Path, forum_url=None, plugin=True):
    values = dict(DATABASE_URL=f"sqlite:///{workdir / 'forumsync.sqlite3'}",
                  LOCALFORUM_DATABASE_URL=f"sqlite:///{workdir / 'localforum.sqlite3'}",
                  FORUM_URL=forum_url or "http://127.0.0.1:1", FORUM_API_KEY="bench-key",
                  FORUM_API_USERNAME="system", THEMES=THEMES, DEFAULT_THEME="general",
                  LIST_ADDRESS="usrp-users@lists.ettus.com")
    return Settings(values, "<bench>", workdir)


def raw_parse_rate(names, limit):
    """messages/s of email.message_from_bytes alone over the same messages (streamed) under
    ``compat32`` (the stdlib's default policy: ``Message`` objects, headers left undecoded)
    and under ``email.policy.default`` (what the pipeline needs: ``EmailMessage``), and of the
    pipeline's own parse (``forumsync.mail.parse_bytes``: policy.default with memoised header
    objects, defects recorded) on the same bytes."""
    import email.policy

    from forumsync.mail import parse_bytes
    from forumsync.mail.boundary import stdlib_feedparser

    spent, cpu, default, ours, n = 0.0, 0.0, 0.0, 0.0, 0
    for raw in corpus_messages(names, limit):
        with stdlib_feedparser():  # the baselines: the standard library as shipped
            start, start_cpu = time.perf_counter(), time.thread_time()
            email.message_from_bytes(raw)  # compat32
            spent += time.perf_counter() - start
            cpu += time.thread_time() - start_cpu
            start = time.perf_counter()
            email.message_from_bytes(raw, policy=email.policy.default)
            default += time.perf_counter() - start
        start = time.perf_counter()
        parse_bytes(raw)
        ours += time.perf_counter() - start
        n += 1
    return n / spent, n / cpu, n, n / ours, n / default


def empty_post_ms(count=2000):
    """Wall and client CPU ms of one keep-alive JSON POST answered by an empty Flask view
    served like the local forum (waitress): the HTTP cost of a forum write when the forum
    itself does nothing, i.e. the floor of any pipeline that writes each message to a forum."""
    import requests
    from flask import Flask

    app = Flask("bench-empty")
    app.add_url_rule("/posts.json", "posts", lambda: {"id": 1}, methods=["POST"])
    server = WsgiThread(app, "127.0.0.1", 0, "bench-empty", threads=4).start()
    url = f"http://127.0.0.1:{server.port}/posts.json"
    with requests.Session() as session:
        for _ in range(50):
            session.post(url, json={"raw": "x"})
        start, start_cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            session.post(url, json={"raw": "x" * 1000})
        wall, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
    server.stop()
    return wall / count * 1000, cpu / count * 1000


class ForumClock:
    """Wall time spent inside gateway requests (the forum's share of the pipeline time)."""

    def __init__(self):
        from forumsync.forum.gateway import ForumGateway

        self.seconds = 0.0
        self.cpu = 0.0  # CPU of the calling thread inside those requests (client side of HTTP)
        original = ForumGateway._request
        clock = self

        def timed(gateway, *args, **kwargs):
            start, start_cpu = time.perf_counter(), time.thread_time()
            try:
                return original(gateway, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - start
                clock.cpu += time.thread_time() - start_cpu

        ForumGateway._request = timed


def full_import(names, limit, plugin):
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    settings = make_context(workdir)
    forum = Forum(settings)
    if not plugin:
        forum.forum.faults.fail(404, seconds=10 ** 6, path=r"^/forumsync/")
    ctx = Context(settings.replace(FORUM_URL=forum.url))
    parent = ctx.forum.category_create("Club Publik", slug="club-publik")
    ctx.forum.category_create("Discussions générales", slug="general", parent_category_id=parent["id"])
    ctx.forum.stats.clear()
    forum.forum.faults.requests.clear()

    refused = Counter()
    start = time.perf_counter()
    read = 0
    for raw in corpus_messages(names, limit):
        read += 1
        try:
            ingest(ctx, raw, "mbox")
        except Refused as exc:
            refused[exc.code] += 1
    ingest_seconds = time.perf_counter() - start

    clock = ForumClock()
    start, start_cpu = time.perf_counter(), time.thread_time()
    handled = 0
    while True:
        done = run_pending(ctx, "bench", limit=200)
        handled += done
        if not done:
            break
    pipeline_seconds = time.perf_counter() - start
    pipeline_cpu = time.thread_time() - start_cpu  # this thread only: the forum has its own

    with ctx.db.session() as session:
        states = Counter(dict(session.execute(
            select(InboxMessage.state, func.count()).group_by(InboxMessage.state)).all()))
        reasons = Counter(r[:110] for r in session.scalars(
            select(InboxMessage.reason).where(InboxMessage.state.in_(("dropped", "quarantined")))))
    requests = Counter(forum.forum.faults.requests)
    stats = dict(ctx.forum.stats)
    ctx.close()
    forum.stop()
    return dict(read=read, refused=refused, ingest_seconds=ingest_seconds, handled=handled,
                pipeline_seconds=pipeline_seconds, pipeline_cpu=pipeline_cpu, forum_seconds=clock.seconds, http_cpu=clock.cpu, states=states, reasons=reasons, stats=stats,
                requests=requests)


def lmtp_latency(count):
    """LMTP 250 → the post exists on the forum (in-process worker woken by ingest)."""
    from forumsync.queues import register_wakeup, unregister_wakeup
    from forumsync.inbound.lmtp import LMTPServer
    from forumsync.models import PostLink

    workdir = Path(tempfile.mkdtemp(prefix="bench-lmtp-"))
    settings = make_context(workdir)
    forum = Forum(settings)
    ctx = Context(settings.replace(FORUM_URL=forum.url, LIST_ADDRESS="club@listes.example.org"))
    parent = ctx.forum.category_create("Club Publik", slug="club-publik")
    ctx.forum.category_create("Discussions générales", slug="general", parent_category_id=parent["id"])
    server = LMTPServer(ctx).start()
    wake, stop = threading.Event(), threading.Event()
    register_wakeup(wake)

    def worker():
        while not stop.is_set():
            if not run_pending(ctx, "bench-lmtp"):
                wake.wait(0.5)
                wake.clear()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    latencies = []
    with smtplib.LMTP("127.0.0.1", server.port) as client:
        for n in range(count):
            msg = EmailMessage()
            msg["From"] = f"Personne {n} <p{n}@example.org>"
            msg["To"] = "club@listes.example.org"
            msg["Subject"] = f"Message de mesure {n}"
            msg["Message-ID"] = f"<lat-{n}@bench.example.org>"
            msg.set_content(f"Corps du message {n}.\n")
            client.sendmail(msg["From"], ["club@listes.example.org"], msg.as_bytes())
            accepted = time.perf_counter()
            while True:
                with ctx.db.session() as session:
                    if session.scalar(select(PostLink.id).where(
                            PostLink.message_id == f"lat-{n}@bench.example.org")) is not None:
                        break
                time.sleep(0.0005)
            latencies.append((time.perf_counter() - accepted) * 1000)
    stop.set()
    wake.set()
    thread.join(5)
    unregister_wakeup(wake)
    server.stop(1)
    ctx.close()
    forum.stop()
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--files", default="usrp,cocci")
    parser.add_argument("--lmtp", type=int, default=200, help="messages for the latency (0: skip)")
    parser.add_argument("--no-plugin", action="store_true", help="forum without the plugin")
    args = parser.parse_args()
    names = args.files.split(",")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.ERROR)

    # RATE is compat32's (the stdlib's default policy); every « analyse brute » ratio below
    # divides by it unless it says policy.default.
    rate, cpu_rate, parsed, pipeline_parse_rate, default_rate = raw_parse_rate(names, args.limit)
    post_ms, post_cpu_ms = empty_post_ms()
    result = full_import(names, args.limit, plugin=not args.no_plugin)
    published = result["states"].get("published", 0)
    throughput = result["handled"] / result["pipeline_seconds"]
    end_to_end = result["read"] / (result["ingest_seconds"] + result["pipeline_seconds"])
    print(f"corpus : {', '.join(FILES[n] for n in names)} ({result['read']} messages lus)")
    print(f"charge de la machine (load average)     : {os.getloadavg()[0]:.1f} sur {os.cpu_count()} processeurs")
    print(f"analyse brute email.message_from_bytes, compat32 (défaut de la stdlib) : {rate:,.0f} messages/s "
          f"({parsed} messages ; {cpu_rate:,.0f}/s en temps processeur) ; les rapports « à l'analyse "
          f"brute » ci-dessous divisent par ce débit compat32")
    print(f"analyse brute email.message_from_bytes, policy=email.policy.default : {default_rate:,.0f} "
          f"messages/s (rapport {default_rate / rate:.3f} à compat32)")
    print(f"analyse du pipeline (parse_bytes)       : {pipeline_parse_rate:,.0f} messages/s "
          f"(rapport {pipeline_parse_rate / rate:.3f} à l'analyse brute compat32, "
          f"{pipeline_parse_rate / default_rate:.3f} à policy.default)")
    floor_ms = 1000 / rate + post_ms
    print(f"plancher (analyse brute compat32 + 1 POST HTTP vide) : {1000 / rate:.2f} + {post_ms:.2f} ms "
          f"(client {post_cpu_ms:.2f} ms processeur) = {floor_ms:.2f} ms/message → au mieux "
          f"{1000 / floor_ms:,.0f} messages/s, rapport {1000 / rate / floor_ms:.3f} : aucun "
          f"pipeline séquentiel qui écrit chaque message au forum par HTTP ne peut dépasser ce rapport")
    print(f"ingestion (inbox)                       : {result['read'] / result['ingest_seconds']:,.0f} messages/s")
    handled = result["handled"]
    per_msg = lambda seconds: seconds / handled * 1000  # noqa: E731
    print(f"débit de bout en bout du pipeline       : {throughput:,.0f} messages/s "
          f"({handled} en {result['pipeline_seconds']:.1f} s, écritures HTTP au forum comprises)")
    print(f"  rapport à l'analyse brute compat32    : {throughput / rate:.3f} ; à policy.default : "
          f"{throughput / default_rate:.3f}")
    own = result["pipeline_seconds"] - result["forum_seconds"]
    print(f"  dont attente du forum (appels HTTP)   : {per_msg(result['forum_seconds']):.1f} ms/message "
          f"({result['forum_seconds'] / result['pipeline_seconds']:.0%} du temps ; mesurée autour de "
          f"chaque requête de la passerelle)")
    print(f"débit propre du pipeline (hors forum)   : {handled / own:,.0f} messages/s = "
          f"{per_msg(own):.1f} ms/message (temps écoulé moins l'attente mesurée du forum)")
    print(f"  rapport à l'analyse brute compat32    : {handled / own / rate:.3f} ; à policy.default : "
          f"{handled / own / default_rate:.3f}")
    cpu_own = result["pipeline_cpu"] - result["http_cpu"]
    print(f"temps processeur du fil du worker       : {per_msg(result['pipeline_cpu']):.1f} ms/message, "
          f"dont client HTTP {per_msg(result['http_cpu']):.1f} ms ; hors HTTP {per_msg(cpu_own):.1f} ms "
          f"= {handled / cpu_own:,.0f} messages/s (rapport {handled / cpu_own / cpu_rate:.3f} à "
          f"l'analyse brute compat32 en temps processeur)")
    print("  (le forum local tourne dans ce processus, dans ses propres fils : son travail est "
          "compté dans l'attente du forum, pas dans le temps processeur du worker)")
    print(f"import complet (ingestion + pipeline)   : {end_to_end:,.0f} messages/s")
    print(f"états : {dict(result['states'])} ; refusés à l'ingestion : {dict(result['refused'])}")
    for reason, n in result["reasons"].most_common(12):
        print(f"   {n:5d}  {reason}")
    stats, requests = result["stats"], result["requests"]
    uploads = requests.get(("POST", "/uploads.json"), 0)
    posts = requests.get(("POST", "/posts.json"), 0) + requests.get(("POST", "/forumsync/posts.json"), 0)
    if published:
        print(f"écritures forum par message publié      : {stats.get('writes', 0) / published:.3f} "
              f"(messages {posts / published:.3f}, pièces jointes {uploads / published:.3f}, "
              f"autres {(stats.get('writes', 0) - posts - uploads) / published:.3f})")
        print(f"requêtes forum par message publié       : {stats.get('requests', 0) / published:.3f} "
              f"(GET {stats.get('GET', 0) / published:.3f})")
    print(f"pic de mémoire (RSS)                    : {peak_rss_mb():.0f} Mo")
    if args.lmtp:
        median, p95 = lmtp_latency(args.lmtp)
        print(f"latence LMTP 250 → message publié       : médiane {median:.1f} ms, p95 {p95:.1f} ms "
              f"({args.lmtp} messages)")


if __name__ == "__main__":
    main()
