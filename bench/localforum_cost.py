"""CPU cost of the local forum per post, through the batch endpoint and the single endpoint.

    .venv/bin/python bench/localforum_cost.py [--limit 300] [--profile batch|single] [--top 30]

The pipeline publishes the first N messages of the shared corpus (usrp-users-dev2k) to a
local forum served in this process by one waitress thread; a WSGI middleware measures that
thread's CPU time per request (``time.thread_time``) and, with ``--profile``, runs cProfile
over it. Printed: forum CPU ms per published post, per endpoint, and the top functions.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import THEMES, corpus_messages  # noqa: E402

from forumsync.context import Context  # noqa: E402
from forumsync.inbound.ingest import Refused, ingest  # noqa: E402
from forumsync.localforum.app import create_localforum_app  # noqa: E402
from forumsync.pipeline import runner  # noqa: E402
from forumsync.services import WsgiThread  # noqa: E402
from forumsync.settings import Settings  # noqa: E402


class Metered:
    """WSGI middleware: CPU seconds of the serving thread per (method, path), optionally profiled."""

    def __init__(self, app, profile: bool):
        self.app = app
        self.cpu: Counter = Counter()
        self.calls: Counter = Counter()
        self.profiler = cProfile.Profile() if profile else None
        self.statements = 0  # SQL statements the forum ran (deterministic, unlike CPU time)

    def __call__(self, environ, start_response):
        key = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        start = time.thread_time()
        if self.profiler:
            self.profiler.enable()
        try:
            return list(self.app(environ, start_response))  # the body is built inside the meter
        finally:
            if self.profiler:
                self.profiler.disable()
            self.cpu[key] += time.thread_time() - start
            self.calls[key] += 1


def measure(raws, batched: bool, profile: bool):
    workdir = Path(tempfile.mkdtemp(prefix="bench-lf-cost-"))
    settings = Settings(dict(DATABASE_URL=f"sqlite:///{workdir / 'forumsync.sqlite3'}",
                             LOCALFORUM_DATABASE_URL=f"sqlite:///{workdir / 'localforum.sqlite3'}",
                             FORUM_URL="http://127.0.0.1:1", FORUM_API_KEY="bench-key",
                             FORUM_API_USERNAME="system", THEMES=THEMES, DEFAULT_THEME="general",
                             LIST_ADDRESS="usrp-users@lists.ettus.com", LOCALFORUM_RATE_LIMIT=0,
                             FORUM_MAX_REQUESTS_PER_MINUTE=0, PIPELINE_POOL_SIZE=0),
                        "<bench>", workdir)
    app = create_localforum_app(settings, webhook_url=None, start=False)
    meter = Metered(app.wsgi_app, profile)
    from sqlalchemy import event

    @event.listens_for(app.extensions["localforum"].store.engine, "before_cursor_execute")
    def count(*_args):
        meter.statements += 1

    app.wsgi_app = meter
    server = WsgiThread(app, "127.0.0.1", 0, "bench-lf", threads=1).start()
    ctx = Context(settings.replace(FORUM_URL=f"http://127.0.0.1:{server.port}"))
    parent = ctx.forum.category_create("Club Publik", slug="club-publik")
    ctx.forum.category_create("Discussions générales", slug="general", parent_category_id=parent["id"])
    for raw in raws:
        try:
            ingest(ctx, raw, "mbox")
        except Refused:
            pass
    meter.cpu.clear()
    meter.calls.clear()
    meter.statements = 0
    if meter.profiler:
        meter.profiler = cProfile.Profile()
    while runner.run_pending(ctx, "bench", limit=200, batch_threshold=1 if batched else 0):
        pass
    with ctx.db.connection() as conn:
        from sqlalchemy import func, select

        from forumsync.models import PostLink

        posts = conn.scalar(select(func.count()).select_from(PostLink))
    ctx.close()
    server.stop()
    app.extensions["localforum"].close()
    return meter, posts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--profile", choices=("batch", "single"))
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    raws = list(corpus_messages(["usrp"], args.limit))
    for label, batched in (("batch", True), ("single", False)):
        meter, posts = measure(raws, batched, args.profile == label)
        total = sum(meter.cpu.values())
        print(f"{label:6s}: {posts} messages publiés ; processeur du forum {total / max(posts, 1) * 1000:.2f} ms "
              f"par message publié (toutes requêtes) ; {meter.statements / max(posts, 1):.1f} requêtes SQL par message")
        for (method, path), seconds in meter.cpu.most_common(5):
            calls = meter.calls[(method, path)]
            print(f"        {method} {path} : {calls} requêtes, {seconds * 1000 / calls:.2f} ms/requête")
        if meter.profiler:
            out = io.StringIO()
            pstats.Stats(meter.profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(meter.profiler, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
