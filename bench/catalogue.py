"""Benchmark: catalogue sync of 500 démarches across 5 collectivities, then an unchanged re-sync.

Runs the w.c.s. test server and the local forum in-process on loopback, forumsync on SQLite.
Prints the wall time and the requests made (w.c.s. and forum; forum writes separately) of
each run. Target: the unchanged re-sync makes zero forum write calls.

    .venv/bin/python bench/catalogue.py [--collectivities 5] [--forms 100] [--shared 20]
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forumsync.catalogue.sync import sync_catalogue  # noqa: E402
from forumsync.context import Context  # noqa: E402
from forumsync.testing.settings import make_settings  # noqa: E402
from forumsync.testing.localforum import RunningForum  # noqa: E402
from forumsync.testing.wcs_server import WcsServer, populate  # noqa: E402


def run(ctx, forum, wcs, label):
    forum_before = len(forum.requests)
    wcs_before = len(wcs.requests)
    stats_before = dict(ctx.forum.stats)
    started = time.perf_counter()
    summary = sync_catalogue(ctx, progress=False)
    elapsed = time.perf_counter() - started
    log = list(forum.requests)[forum_before:]
    writes = sum(1 for method, _path in log if method != "GET")
    gw_writes = ctx.forum.stats["writes"] - stats_before.get("writes", 0)
    print(f"{label:<22} {elapsed:7.2f} s  w.c.s. {len(wcs.requests) - wcs_before:5d} req  "
          f"forum {len(log):5d} req ({writes:4d} écritures ; passerelle {gw_writes})  "
          f"{summary.french()}")
    if summary.errors:
        print("  erreurs :", summary.errors[:3])
    return summary, writes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collectivities", type=int, default=5)
    parser.add_argument("--forms", type=int, default=100, help="formulaires par collectivité")
    parser.add_argument("--shared", type=int, default=20,
                        help="slugs communs à toutes les collectivités (regroupés)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    tmp = Path(tempfile.mkdtemp(prefix="bench-catalogue-"))
    wcs = WcsServer()
    forum = RunningForum(tmp)
    try:
        sources = populate(wcs, args.collectivities, args.forms, shared=args.shared)
        settings = make_settings(tmp, f"sqlite:///{tmp / 'forumsync.sqlite3'}",
                                 CATALOGUE_SOURCES=sources, **forum.settings_overrides)
        total = args.collectivities * args.forms
        topics = args.shared + args.collectivities * (args.forms - args.shared)
        print(f"{total} démarches, {args.collectivities} collectivités, {topics} sujets attendus")
        ctx = Context(settings)
        first, _ = run(ctx, forum, wcs, "première synchro")
        ctx.close()
        ctx = Context(settings)  # a new process would start like this
        again, writes = run(ctx, forum, wcs, "re-synchro inchangée")
        ctx.close()
        ok = first.added == topics and again.unchanged == topics and writes == 0
        print("objectif (0 écriture à la re-synchro) :", "atteint" if ok else "MANQUÉ")
        return 0 if ok else 1
    finally:
        forum.release()
        wcs.stop()


if __name__ == "__main__":
    sys.exit(main())
