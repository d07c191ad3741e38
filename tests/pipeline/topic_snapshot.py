"""Import a list archive through the whole pipeline and write which topic and theme each
message ended in, to compare two versions of the code (not a test: a tool for issue 14).

    .venv/bin/python tests/pipeline/topic_snapshot.py --root /tmp/old --out /tmp/old.json
    .venv/bin/python tests/pipeline/topic_snapshot.py --root . --out /tmp/new.json
    .venv/bin/python tests/pipeline/topic_snapshot.py --compare /tmp/old.json /tmp/new.json

``--root`` is the checkout whose ``forumsync`` package is imported (a ``git worktree`` of the
commit before a change). Topics are named by the Message-ID of their first imported message,
so two runs compare even though the forum numbers topics differently.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent.parent
CORPORA = {  # name: (path, list address, list tag)
    "cocci-1k": (HERE.parent / "shared" / "corpus" / "cocci-1k.mbox.gz", "cocci@systeme.lip6.fr", "[Cocci]"),
    "usrp-users-dev2k": (HERE.parent / "shared" / "corpus" / "usrp-users-dev2k.mbox.gz",
                         "usrp-users@lists.ettus.com", "[USRP-users]"),
    "club-publik": (HERE / "forumsync" / "demo" / "club-publik.mbox", "club@listes.example.org",
                    "[club-publik]"),
}


def snapshot(name: str) -> dict:
    from sqlalchemy import select

    from forumsync.context import Context
    from forumsync.demo.themes import THEMES
    from forumsync.inbound.ingest import Refused, ingest
    from forumsync.inbound.mbox import iter_mbox, open_mbox
    from forumsync.localforum.app import create_localforum_app
    from forumsync.models import InboxMessage, TopicLink
    from forumsync.pipeline.runner import run_pending
    from forumsync.services import WsgiThread
    from forumsync.settings import Settings

    path, address, tag = CORPORA[name]
    workdir = Path(tempfile.mkdtemp(prefix=f"topics-{name}-"))
    values = dict(DATABASE_URL=f"sqlite:///{workdir / 'forumsync.sqlite3'}",
                  LOCALFORUM_DATABASE_URL=f"sqlite:///{workdir / 'localforum.sqlite3'}",
                  FORUM_URL="http://127.0.0.1:1", FORUM_API_KEY="snap-key", FORUM_API_USERNAME="system",
                  THEMES=THEMES, DEFAULT_THEME="general", LIST_ADDRESS=address, LIST_TAG=tag)
    settings = Settings(values, "<snapshot>", workdir)
    app = create_localforum_app(settings, webhook_url=None, start=False)
    server = WsgiThread(app, "127.0.0.1", 0, "snapshot-forum", threads=4).start()
    ctx = Context(settings.replace(FORUM_URL=f"http://127.0.0.1:{server.port}"))
    try:
        parent = ctx.forum.category_create("Club Publik", slug="club-publik")
        for theme in THEMES:
            ctx.forum.category_create(theme["name"], slug=theme["slug"], parent_category_id=parent["id"])
        with open_mbox(path) as stream:
            for message in iter_mbox(stream, max_bytes=ctx.settings.MAX_MESSAGE_BYTES):
                if message.raw is None:
                    continue
                try:
                    ingest(ctx, message.raw, "mbox")
                except Refused:
                    pass
        while run_pending(ctx, "snapshot", limit=200):
            pass
        with ctx.db.session() as session:
            rows = session.execute(select(InboxMessage.id, InboxMessage.message_id, InboxMessage.state,
                                          InboxMessage.topic_id, InboxMessage.reason, InboxMessage.subject)
                                   .order_by(InboxMessage.id)).all()
            themes = dict(session.execute(select(TopicLink.topic_id, TopicLink.theme)).all())
    finally:
        ctx.close()
        server.stop()
        app.extensions["localforum"].close()
    first = {}
    for row in rows:
        if row.topic_id is not None:
            first.setdefault(row.topic_id, row.message_id)
    return {row.message_id: dict(state=row.state, topic=first.get(row.topic_id), theme=themes.get(row.topic_id),
                                 reason=row.reason, subject=row.subject) for row in rows}


def compare(old_path: str, new_path: str) -> int:
    old, new = json.loads(Path(old_path).read_text()), json.loads(Path(new_path).read_text())
    for name in old:
        a, b = old[name], new.get(name, {})
        moved = [m for m in a if m in b and (a[m]["topic"], a[m]["state"]) != (b[m]["topic"], b[m]["state"])]
        retheme = [m for m in a if m in b and a[m]["topic"] == b[m]["topic"] and a[m]["theme"] != b[m]["theme"]
                   and a[m]["topic"] == m]
        print(f"== {name}: {len(a)} messages, {len({v['topic'] for v in a.values() if v['topic']})} topics "
              f"before, {len({v['topic'] for v in b.values() if v['topic']})} after; "
              f"{len(moved)} message(s) in another topic, {len(retheme)} topic(s) with another theme")
        for m in moved:
            print(f"  topic  {a[m]['subject']!r}\n         before: {a[m]['state']} {a[m]['reason']!r} "
                  f"(topic of {a[m]['topic']})\n         after:  {b[m]['state']} {b[m]['reason']!r} "
                  f"(topic of {b[m]['topic']})")
        for m in retheme:
            print(f"  theme  {a[m]['subject']!r}: {a[m]['theme']} -> {b[m]['theme']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(HERE))
    parser.add_argument("--out")
    parser.add_argument("--only", help="comma-separated corpus names")
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    sys.path.insert(0, str(Path(args.root).resolve()))
    import forumsync
    print(f"forumsync from {forumsync.__file__}", file=sys.stderr)
    names = args.only.split(",") if args.only else list(CORPORA)
    result = {}
    for name in names:
        if not CORPORA[name][0].exists():
            print(f"{name}: {CORPORA[name][0]} absent, skipped", file=sys.stderr)
            continue
        result[name] = snapshot(name)
        print(f"{name}: {len(result[name])} messages", file=sys.stderr)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
