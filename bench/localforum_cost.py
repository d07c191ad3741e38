"""CPU cost of the local forum per post, through the batch endpoint and the single endpoint.

    .venv/bin/python bench/localforum_cost.py [--limit 300] [--only batch|single] [--rounds N]
                                             [--against REV] [--profile batch|single] [--top 30]

The pipeline publishes the first N messages of the shared corpus (usrp-users-dev2k) to a
local forum served in this process by one waitress thread; a WSGI middleware measures that
thread's CPU time per request (``time.thread_time``) and, with ``--profile``, runs cProfile
over it. Printed: forum CPU ms per published post, per endpoint, and the top functions;
with ``--rounds`` the median of the rounds.

``--against REV`` compares, in the same run, the local forum of git revision REV
(``forumsync/localforum`` of REV, the rest of this checkout) with the one of this checkout on
the same requests: the import is run once against this checkout's forum, every request the
forum received is recorded, then each forum replays them on a fresh database, in its own
process, rounds alternating; the replay times only the forum (``thread_time`` around the
WSGI call), so the pipeline's CPU and the machine's load weigh less. Printed: each round,
the median and the minimum per forum, their ratio, and the answers that differ from the
recorded ones once timestamps are set aside (none expected: same answers, less work).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pickle
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("LOCALFORUM_COST_SOURCE", ROOT))  # set by --against for REV's rounds
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(SOURCE))
import forumsync  # noqa: E402,F401  from SOURCE, before bench/pipeline.py puts ROOT first

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
        self.recorded: list[dict] = []  # every request and its answer (--against)
        self.publish_start = 0  # index in RECORDED of the first request of the publishing

    def __call__(self, environ, start_response):
        key = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        request = {"method": key[0], "path": key[1], "query": environ.get("QUERY_STRING", ""),
                   "content_type": environ.get("CONTENT_TYPE"), "body": body,
                   "headers": {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                               if k.startswith("HTTP_")}}
        answer = {}

        def recording_start_response(status, headers, exc_info=None):
            answer["status"] = status
            return start_response(status, headers, exc_info)

        start = time.thread_time()
        if self.profiler:
            self.profiler.enable()
        try:
            chunks = list(self.app(environ, recording_start_response))  # built inside the meter
        finally:
            if self.profiler:
                self.profiler.disable()
            self.cpu[key] += time.thread_time() - start
            self.calls[key] += 1
        self.recorded.append({**request, "status": answer.get("status"), "answer": b"".join(chunks)})
        return chunks


def bench_settings(workdir: Path) -> Settings:
    return Settings(dict(DATABASE_URL=f"sqlite:///{workdir / 'forumsync.sqlite3'}",
                         LOCALFORUM_DATABASE_URL=f"sqlite:///{workdir / 'localforum.sqlite3'}",
                         FORUM_URL="http://127.0.0.1:1", FORUM_API_KEY="bench-key",
                         FORUM_API_USERNAME="system", THEMES=THEMES, DEFAULT_THEME="general",
                         LIST_ADDRESS="usrp-users@lists.ettus.com", LOCALFORUM_RATE_LIMIT=0,
                         FORUM_MAX_REQUESTS_PER_MINUTE=0, PIPELINE_POOL_SIZE=0),
                    "<bench>", workdir)


def measure(raws, batched: bool, profile: bool):
    workdir = Path(tempfile.mkdtemp(prefix="bench-lf-cost-"))
    settings = bench_settings(workdir)
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
    meter.publish_start = len(meter.recorded)
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
    shutil.rmtree(workdir, ignore_errors=True)
    return meter, posts


def report(label: str, meter, posts: int, top: int) -> float:
    total = sum(meter.cpu.values())
    per_post = total / max(posts, 1) * 1000
    print(f"{label:6s}: {posts} messages publiés ; processeur du forum {per_post:.2f} ms "
          f"par message publié (toutes requêtes) ; {meter.statements / max(posts, 1):.1f} requêtes SQL par message",
          flush=True)
    for (method, path), seconds in meter.cpu.most_common(5):
        calls = meter.calls[(method, path)]
        print(f"        {method} {path} : {calls} requêtes, {seconds * 1000 / calls:.2f} ms/requête")
    if meter.profiler:
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(meter.profiler, stream=out).sort_stats(order).print_stats(top)
            print(out.getvalue())
    return per_post


def snapshot(rev: str | None) -> Path:
    """This checkout's forumsync package, copied now into a temporary directory (the checkout
    may change during the run), with REV's forumsync/localforum when REV is given."""
    where = Path(tempfile.mkdtemp(prefix="bench-lf-against-"))
    shutil.copytree(ROOT / "forumsync", where / "forumsync",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if rev is not None:
        shutil.rmtree(where / "forumsync" / "localforum")
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "forumsync/localforum"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")


def replay(recording: dict, rounds: int) -> None:
    """Replay the recorded requests on a fresh forum ROUNDS times; prints one line per round:
    forum CPU ms per published post during the publishing, and answers that differ."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    import forumsync.localforum

    assert Path(forumsync.localforum.__file__).is_relative_to(SOURCE), forumsync.localforum.__file__
    logging.getLogger("forumsync").setLevel(logging.ERROR)
    for _ in range(rounds):
        workdir = Path(tempfile.mkdtemp(prefix="bench-lf-replay-"))
        app = create_localforum_app(bench_settings(workdir), webhook_url=None, start=False)
        cpu, differ = 0.0, 0
        for index, request in enumerate(recording["requests"]):
            environ = EnvironBuilder(path=request["path"], method=request["method"],
                                     query_string=request["query"], headers=request["headers"],
                                     data=request["body"], content_type=request["content_type"],
                                     base_url="http://127.0.0.1:1").get_environ()
            start = time.thread_time()
            app_iter, status, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
            answer = b"".join(app_iter)
            if index >= recording["publish_start"]:
                cpu += time.thread_time() - start
            if status != request["status"] or \
                    TIMESTAMP.sub(b"T", answer) != TIMESTAMP.sub(b"T", request["answer"]):
                differ += 1
        app.extensions["localforum"].close()
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"replay {cpu / recording['posts'] * 1000:.3f} {differ}", flush=True)


def one_round(source: Path, recording_file: Path) -> tuple[float, int]:
    """One replay in a fresh process on SOURCE's local forum: (ms per post, answers that differ)."""
    from forumsync.testing.corpus import CORPUS  # this checkout's shared data, not SOURCE's

    env = dict(os.environ, LOCALFORUM_COST_SOURCE=str(source),
               FORUMSYNC_TESTDATA=str(CORPUS.parent))
    out = subprocess.run([sys.executable, __file__, "--replay", str(recording_file)],
                         env=env, check=True, capture_output=True, text=True).stdout
    _, per_post, differ = next(line for line in out.splitlines() if line.startswith("replay")).split()
    return float(per_post), int(differ)


def against(args) -> None:
    old, new = snapshot(args.against), snapshot(None)
    recording_file = Path(tempfile.mkstemp(prefix="bench-lf-recording-")[1])
    try:
        logging.getLogger("waitress").setLevel(logging.ERROR)
        meter, posts = measure(list(corpus_messages(["usrp"], args.limit)), args.only == "batch", False)
        report(args.only, meter, posts, args.top)
        recording_file.write_bytes(pickle.dumps({"requests": meter.recorded, "posts": posts,
                                                 "publish_start": meter.publish_start}))
        results: dict[str, list] = {args.against: [], "copie": []}
        for index in range(args.rounds):
            for label, source in ((args.against, old), ("copie", new)):
                per_post, differ = one_round(source, recording_file)
                results[label].append((per_post, differ))
                print(f"tour {index + 1} {label:>10s} : {per_post:.2f} ms par message publié, "
                      f"{differ} réponses différentes", flush=True)
    finally:
        for path in (old, new):
            shutil.rmtree(path, ignore_errors=True)
        recording_file.unlink(missing_ok=True)
    medians = {k: statistics.median(v for v, _ in values) for k, values in results.items()}
    minima = {k: min(v for v, _ in values) for k, values in results.items()}
    print(f"{args.only} ({posts} messages, {args.rounds} tours) : {args.against} médiane "
          f"{medians[args.against]:.2f} ms (min {minima[args.against]:.2f}) ; cette copie médiane "
          f"{medians['copie']:.2f} ms (min {minima['copie']:.2f}) ; rapport des médianes "
          f"{medians['copie'] / medians[args.against]:.2f}, des minima "
          f"{minima['copie'] / minima[args.against]:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--only", choices=("batch", "single"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--against", metavar="REV")
    parser.add_argument("--profile", choices=("batch", "single"))
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)  # --against's rounds
    args = parser.parse_args()
    if args.replay:
        return replay(pickle.loads(args.replay.read_bytes()), args.rounds)
    if args.against:
        args.only = args.only or "batch"
        return against(args)
    logging.getLogger("waitress").setLevel(logging.ERROR)
    raws = list(corpus_messages(["usrp"], args.limit))
    for label, batched in (("batch", True), ("single", False)):
        if args.only and label != args.only:
            continue
        rounds = [report(label, *measure(raws, batched, args.profile == label), args.top)
                  for _ in range(args.rounds)]
        if args.rounds > 1:
            print(f"{label:6s}: médiane sur {args.rounds} tours {statistics.median(rounds):.2f} ms par message publié")


if __name__ == "__main__":
    main()
