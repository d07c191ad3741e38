"""Assemble and run the whole demo in one process, on loopback, with SQLite only.

The local forum, forumsync's web app and worker, its LMTP server and an SMTP sink standing in
for the list (a Maildir) run in threads; the demo then provisions the themes, imports the
sample French archive, publishes the sample catalogue and the community topics, and prints
where everything is. Every step is idempotent, so restarting the demo keeps its data.
Its settings are built in config.py, what it prints in guide.py, how it stops in stopping.py.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..context import Context
from ..services import WorkerThread, WsgiThread, host_port, web_body_limit
from . import community, guide
from .config import DEMO_USERS, check_port_free
from .stopping import STOP_SECONDS, stop_all

log = logging.getLogger(__name__)


class Demo:
    def __init__(self, settings, workdir: Path, echo=print):
        self.workdir = workdir
        self.settings = settings
        self.echo = echo
        self.parts: list = []
        self.ctx: Context | None = None
        self.settings_file: Path | None = None

    def start(self) -> None:
        s = self.settings
        forum_host, forum_port = host_port(s.FORUM_URL, 80)
        web_host, web_port = host_port(s.WEB_URL, 80)
        lmtp_host, lmtp_port = s.LMTP_LISTEN.rsplit(":", 1)
        smtp_host, smtp_port = host_port(s.SMTP_URL.replace("smtp://", "http://"), 25)
        for host, port, what in ((forum_host, forum_port, "forum local"),
                                 (web_host, web_port, "forumsync web"),
                                 (lmtp_host, int(lmtp_port), "LMTP"),
                                 (smtp_host, smtp_port, "SMTP de la liste")):
            check_port_free(host, port, what)

        from ..app import create_app
        from ..inbound.lmtp import start_lmtp_server
        from ..localforum.app import create_localforum_app
        from .maildir_sink import start_maildir_sink

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-session chatter
        self.ctx = ctx = Context(s)
        ctx.db  # migrations
        forum_app = create_localforum_app(s)
        self._forum = forum_app.extensions["localforum"]
        self.parts.append(WsgiThread(forum_app, forum_host, forum_port, "localforum").start())
        self._sink = start_maildir_sink(self.workdir / "maildir", smtp_host, smtp_port)
        self.parts.append(self._sink)
        self.parts.append(WsgiThread(create_app(context=ctx), web_host, web_port, "forumsync-web",
                                     max_body_bytes=web_body_limit(ctx.settings)).start())
        self.parts.append(start_lmtp_server(ctx, lmtp_host, int(lmtp_port)))
        self._create_demo_users()

    def start_worker(self) -> None:
        """The background worker, started once seeding is done so its reports stay readable."""
        self.parts.append(WorkerThread(self.ctx).start())

    def _create_demo_users(self) -> None:
        from ..localforum import sitesettings
        from ..localforum import users as lf_users

        with self._forum.store.session() as session:
            sitesettings.set_value(session, "enable_category_group_moderation", True)
            for username, email, name in DEMO_USERS:
                if lf_users.user_by_username(session, username) is None:
                    lf_users.create_user(session, username, email, name)

    def seed(self) -> None:
        """Provision, import, publish: each step idempotent and reported in French."""
        from ..catalogue.sync import sync_catalogue
        from ..inbound.mbox import import_file
        from ..themes.provision import provision
        from ..worker import Worker

        ctx = self.ctx
        result = provision(ctx)
        self.echo(f"Thèmes : {len(result.applied)} modification(s) appliquée(s) au forum.")
        for line in result.report():
            if line.startswith(("Compte absent", "Attention")):
                self.echo(line)
        summary = sync_catalogue(ctx, progress=False)
        self.echo("Catalogue : " + summary.french())
        for line in community.seed(ctx):
            self.echo(line)
        report = import_file(ctx, community.MBOX)
        Worker(ctx, worker_id="demo-import").drain()
        self.echo(f"Archive d'exemple : {report.read} message(s) lu(s) "
                  f"({report.already} déjà importé(s) auparavant).")

    def describe(self) -> str:
        return guide.describe(self.ctx, self.workdir, self.settings_file)

    def stop(self, deadline: float = STOP_SECONDS) -> list[str]:
        """Stop every part at once; returns what still runs after DEADLINE seconds, so the
        user is told what it waited for."""
        waiting = stop_all(self.parts, deadline)
        if self.parts:
            self._forum.close()
        if self.ctx:
            self.ctx.close()
        self.parts.clear()
        return waiting
