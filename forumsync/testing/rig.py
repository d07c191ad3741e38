"""What the fault, load and two-worker tests share: a forumsync installation driven as separate
processes (settings file, LMTP server, worker, web app), a bounded LMTP client process, and
the exactly-once count (inbox ↔ PostLink ↔ the forum's own database)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, select

from forumsync.context import Context
from forumsync.models import InboxMessage, PostLink
from forumsync.testing.processes import ROOT, write_settings_file
from forumsync.testing.settings import free_port, make_settings

# Short timeouts so faults show quickly; enough gateway retries (0.25+0.5+1+2+4+8 s of backoff)
# to ride over a fault of a few seconds without leaving the message to the 30 s inbox backoff.
FAST = dict(FORUM_TIMEOUT=2.0, FORUM_RETRIES=6, FORUM_MAX_WAIT=20.0, FORUM_BACKOFF=0.5,
            WORKER_POLL_SECONDS=0.2,
            # A forum process started by the rig (`forumsync localforum`) has its admin API limit
            # raised as an operator raises DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE for a bulk
            # load, and forumsync paces itself under it (Discourse's 60/min is tested apart).
            LOCALFORUM_RATE_LIMIT=6000, FORUM_MAX_REQUESTS_PER_MINUTE=6000)


class Client:
    """The LMTP client process (forumsync/testing/lmtp_client.py)."""

    def __init__(self, out: Path, popen: subprocess.Popen):
        self.out = out
        self.popen = popen

    def result(self, timeout: float = 300.0) -> dict:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
            raise AssertionError(f"LMTP client still running after {timeout} s")
        assert self.popen.returncode == 0, self.out.with_suffix(".log").read_text()
        return json.loads(self.out.read_text())


@dataclass
class Figures:
    sent: int
    acked: int
    published: int
    duplicated: int
    states: dict = field(default_factory=dict)

    def line(self, label: str) -> str:
        return (f"[figures] {label}: envoyés {self.sent}, acquittés {self.acked}, publiés "
                f"{self.published}, doublons {self.duplicated}, états {self.states}")


class Rig:
    """forumsync configured against FORUM (a RunningForum, or overrides for a forum process)."""

    def __init__(self, tmp_path: Path, procs, forum_overrides: dict, db_url: str | None = None,
                 **overrides):
        self.tmp_path = tmp_path
        self.procs = procs
        self.lmtp_port = free_port()
        self.web_port = free_port()
        values = dict(forum_overrides, **FAST)
        values.update(LMTP_LISTEN=f"127.0.0.1:{self.lmtp_port}",
                      WEB_URL=f"http://127.0.0.1:{self.web_port}",
                      SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
        values.update(overrides)
        self.settings = make_settings(tmp_path, db_url or f"sqlite:///{tmp_path / 'forumsync.sqlite3'}",
                                      **values)
        self.settings_path = write_settings_file(tmp_path / "settings.py", self.settings)
        self.ctx = Context(self.settings)
        self.ctx.db  # migrate before any process starts
        self.lmtp = self.worker = self.serve = None
        self._clients = 0

    def provision(self) -> dict:
        """Parent category and theme subcategories, through the forum API."""
        gw = self.ctx.forum
        parent = gw.category_create(self.settings.PARENT_CATEGORY, slug="club-publik")
        themes = {}
        for theme in self.settings.THEMES:
            themes[theme["slug"]] = gw.category_create(theme["name"], slug=theme["slug"],
                                                       parent_category_id=parent["id"])["id"]
        return themes

    # -- processes
    def start_lmtp(self):
        self.lmtp = self.procs.start("lmtp", ["lmtp"], self.settings_path, port=self.lmtp_port)
        return self.lmtp

    def start_worker(self, name: str = "worker"):
        proc = self.procs.start(name, ["worker"], self.settings_path)
        if name == "worker":
            self.worker = proc
        return proc

    def start_serve(self):
        self.serve = self.procs.start("serve", ["serve"], self.settings_path, port=self.web_port)
        return self.serve

    def client(self, count: int, prefix: str, concurrency: int = 3, retry_for: float = 0.0,
               start: int = 0) -> Client:
        self._clients += 1
        out = self.tmp_path / f"client-{self._clients}.json"
        log = open(out.with_suffix(".log"), "wb")
        popen = subprocess.Popen(
            [sys.executable, "-m", "forumsync.testing.lmtp_client", "--port", str(self.lmtp_port),
             "--count", str(count), "--start", str(start), "--concurrency", str(concurrency),
             "--prefix", prefix, "--retry-for", str(retry_for), "--out", str(out)],
            cwd=ROOT, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        return Client(out, popen)

    # -- state
    def states(self) -> Counter:
        with self.ctx.db.session() as s:
            return Counter(dict(s.execute(select(InboxMessage.state, func.count())
                                          .group_by(InboxMessage.state)).all()))

    def wait_drained(self, expected: int, timeout: float) -> Counter:
        """Until EXPECTED rows are stored and none is new/processing/retry (nothing stuck)."""
        deadline = time.monotonic() + timeout
        states = Counter()
        while time.monotonic() < deadline:
            states = self.states()
            if sum(states.values()) >= expected and not (states["new"] + states["processing"]
                                                         + states["retry"]):
                return states
            time.sleep(0.25)
        raise AssertionError(f"boîte de réception non vidée après {timeout} s : {dict(states)}")

    def forum_posts(self) -> list[tuple[int, int, str]]:
        """(post id, topic id, raw) of every live post in the forum's own database, but the
        "About the … category" topics the forum makes with each category (as Discourse does)."""
        from forumsync.localforum.models import Category, Post

        engine = create_engine(self.settings.LOCALFORUM_DATABASE_URL)
        try:
            with engine.connect() as conn:
                about = select(Category.topic_id).where(Category.topic_id.is_not(None))
                return [tuple(r) for r in conn.execute(
                    select(Post.id, Post.topic_id, Post.raw).where(Post.deleted_at.is_(None),
                                                                   Post.topic_id.not_in(about)))]
        finally:
            engine.dispose()

    def check_exactly_once(self, sent: int, acked: list[str], label: str) -> Figures:
        """Every acknowledged Message-ID is stored once and published once; the forum holds
        exactly one post per published message (no duplicates, no orphans)."""
        with self.ctx.db.session() as s:
            inbox = {mid: (state, post_id, reason) for mid, state, post_id, reason in s.execute(
                select(InboxMessage.message_id, InboxMessage.state, InboxMessage.post_id,
                       InboxMessage.reason))}
            links = dict(s.execute(select(PostLink.message_id, PostLink.post_id)
                                   .where(PostLink.origin == "list")).all())
        missing = [m for m in acked if m not in inbox]
        assert not missing, f"acquittés mais absents de la boîte : {missing[:5]}"
        unpublished = {m: inbox[m] for m in acked if inbox[m][0] != "published"}
        assert not unpublished, f"acquittés mais non publiés : {list(unpublished.items())[:5]}"
        published = [m for m, (state, _, _) in inbox.items() if state == "published"]
        assert all(m in links for m in published), "publié sans PostLink"
        link_posts = Counter(links[m] for m in published)
        assert max(link_posts.values(), default=1) == 1, "deux messages sur un même post"
        posts = self.forum_posts()
        post_ids = {p[0] for p in posts}
        assert set(link_posts) <= post_ids, "PostLink vers un post absent du forum"
        duplicated = len(posts) - len(link_posts)
        figures = Figures(sent=sent, acked=len(acked), published=len(published),
                          duplicated=duplicated, states=dict(self.states()))
        print(figures.line(label))
        assert duplicated == 0, f"{duplicated} post(s) en double dans le forum"
        return figures
