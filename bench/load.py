"""Load benchmark: N messages over LMTP from a separate client process, as fast as it can.

    .venv/bin/python bench/load.py [--count 2000] [--concurrency 4] [--postgresql]

Every part is its own process: the local forum (`forumsync localforum`, waitress), the LMTP
server (`forumsync lmtp`), the worker (`forumsync worker`) and the bounded LMTP client
(forumsync/testing/lmtp_client.py). Printed: acceptance rate (messages acknowledged per second by the
LMTP server, each only after it is stored), time to drain (first message sent → last message
published), and the exactly-once check (acknowledged / published / duplicates).
tests/load/test_load.py runs the same function with 2,000 messages.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forumsync.testing.rig import Rig  # noqa: E402
from forumsync.testing.settings import free_port  # noqa: E402
from forumsync.testing.localforum import API_KEY, API_USERNAME, WEBHOOK_SECRET  # noqa: E402
from forumsync.testing.processes import Procs  # noqa: E402


def run_load(workdir: Path, procs: Procs, count: int = 2000, concurrency: int = 4,
             db_url: str | None = None, drain_timeout: float = 600.0) -> dict:
    port = free_port()
    overrides = dict(FORUM_URL=f"http://127.0.0.1:{port}", FORUM_API_KEY=API_KEY,
                     FORUM_API_USERNAME=API_USERNAME, FORUM_WEBHOOK_SECRET=WEBHOOK_SECRET,
                     LOCALFORUM_DATABASE_URL=f"sqlite:///{workdir / 'forum.sqlite3'}")
    rig = Rig(workdir, procs, overrides, db_url=db_url)
    procs.start("localforum", ["localforum", "--no-webhooks"], rig.settings_path, port=port)
    rig.provision()
    rig.start_lmtp()
    rig.start_worker()
    started = time.monotonic()
    client = rig.client(count, "charge", concurrency=concurrency)
    result = client.result(drain_timeout)
    states = rig.wait_drained(count, drain_timeout)
    drained = time.monotonic() - started
    figures = rig.check_exactly_once(count, result["acked"], f"charge {count} messages LMTP")
    rig.ctx.close()
    report = dict(count=count, acked=len(result["acked"]), refused=len(result["refused"]),
                  accept_seconds=result["elapsed"], accept_rate=result["rate"],
                  drain_seconds=drained, drain_rate=count / drained,
                  published=figures.published, duplicated=figures.duplicated,
                  states=dict(states))
    print(f"[figures] charge : {count} messages, acceptation {report['accept_rate']:.0f} msg/s "
          f"({report['accept_seconds']:.1f} s), vidage complet {drained:.1f} s "
          f"({report['drain_rate']:.1f} msg/s publiés), acquittés {report['acked']}, publiés "
          f"{report['published']}, doublons {report['duplicated']}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--postgresql", action="store_true",
                        help="forumsync on a throwaway PostgreSQL 15 server instead of SQLite")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="forumsync-load-") as tmp:
        workdir = Path(tmp)
        procs = Procs(workdir)
        server = None
        try:
            db_url = None
            if args.postgresql:
                from forumsync.testing.postgres import PostgresServer

                server = PostgresServer().start()
                db_url = server.create_database()
            run_load(workdir, procs, args.count, args.concurrency, db_url)
        finally:
            procs.kill_all()
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
