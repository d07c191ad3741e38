"""Assemble and run the whole demo in one process, on loopback, with SQLite only.

The local forum, forumsync's web app and worker, its LMTP server and an SMTP sink standing in
for the list (a Maildir) run in threads; the demo then provisions the themes, imports the
sample French archive, publishes the sample catalogue and the community topics, and prints
where everything is. Every step is idempotent, so restarting the demo keeps its data.
"""
from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

from werkzeug.security import generate_password_hash

from ..context import Context
from ..services import WorkerThread, WsgiThread, host_port
from . import community, themes

HERE = Path(__file__).resolve().parent
DEMO_PASSWORD = "demo"
CATALOGUE_DIR = HERE / "catalogue"
DEMO_USERS = [  # forum accounts for the theme leads and a few members
    ("animation-sve", "animation-sve@meyzieu.fr", "Sophie Martin (Meyzieu)"),
    ("opendata-3m", "opendata@montpellier3m.fr", "Karim Benali (Montpellier 3M)"),
    ("famille-lyon", "famille@grandlyon.com", "Claire Dubois (Métropole de Lyon)"),
    ("julien", "julien.petit@villeurbanne.fr", "Julien Petit (Villeurbanne)"),
]


class DemoError(Exception):
    """A French message for the user (a port in use…)."""


def demo_settings(settings, workdir: Path):
    """The demo's settings: its own SQLite files in WORKDIR and the bundled sample data."""
    roster = community.prepare_roster(workdir)
    if settings.DASHBOARD_PASSWORD_HASH is None:  # the demo's documented password
        settings = settings.replace(DASHBOARD_PASSWORD_HASH=generate_password_hash(DEMO_PASSWORD))
    if not settings.THEMES:
        settings = settings.replace(THEMES=themes.THEMES, DEFAULT_THEME=themes.DEFAULT_THEME)
    return settings.replace(
        DATABASE_URL=f"sqlite:///{workdir / 'forumsync.sqlite3'}",
        LOCALFORUM_DATABASE_URL=f"sqlite:///{workdir / 'localforum.sqlite3'}",
        CATALOGUE_SOURCES=[
            {"name": "meyzieu", "collectivity": "Meyzieu", "type": "directory",
             "path": str(CATALOGUE_DIR / "meyzieu")},
            {"name": "montpellier", "collectivity": "Montpellier Méditerranée Métropole",
             "type": "directory", "path": str(CATALOGUE_DIR / "montpellier")},
        ],
        COLLECTIVITIES=community.COLLECTIVITIES,
        CLUB_EVENTS=community.CLUB_EVENTS,
        RELEASE_FEEDS=community.release_feeds(),
        SUBSCRIBER_SOURCES=community.subscriber_sources(roster),
    )


def check_port_free(host: str, port: int, what: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise DemoError(f"le port {host}:{port} ({what}) est déjà utilisé : arrêtez l'autre "
                            f"programme ou changez le réglage correspondant.") from None


class Demo:
    def __init__(self, settings, workdir: Path, echo=print):
        self.workdir = workdir
        self.settings = settings
        self.echo = echo
        self.parts: list = []
        self.ctx: Context | None = None

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
        self.parts.append(WsgiThread(create_app(context=ctx), web_host, web_port, "forumsync-web").start())
        self.parts.append(start_lmtp_server(ctx, lmtp_host, int(lmtp_port)))
        self._create_demo_users()

    def start_worker(self) -> None:
        """The background worker, started once seeding is done so its reports stay readable."""
        self.parts.append(WorkerThread(self.ctx).start())

    def _create_demo_users(self) -> None:
        from ..localforum import sitesettings, store

        with self._forum.store.session() as session:
            sitesettings.set_value(session, "enable_category_group_moderation", True)
            for username, email, name in DEMO_USERS:
                if store.user_by_username(session, username) is None:
                    store.create_user(session, username, email, name)

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
        s = self.settings
        lmtp_host, lmtp_port = s.LMTP_LISTEN.rsplit(":", 1)
        return f"""
La démo forumsync tourne. Tout est local (SQLite dans {self.workdir}).

  Forum local (Bistro)   {s.FORUM_URL}/
                         (poster au nom d'un membre : choisissez « julien » dans le formulaire)
  Tableau de bord        {s.WEB_URL}/   (mot de passe de démo : {DEMO_PASSWORD})
  Courriels « liste »    {self.workdir / 'maildir'}   (Maildir : mutt -f {self.workdir / 'maildir'})
  LMTP de forumsync      {s.LMTP_LISTEN}

À essayer :
  1. Ouvrez le forum : les sujets de l'archive d'exemple sont rangés par thème (SVE, Open data,
     Portail famille…), le catalogue des démarches et l'annuaire des collectivités sont publiés.
  2. Envoyez un message « à la liste » et regardez-le apparaître sur le forum :
       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {s.LIST_ADDRESS} \\
             --from marie@meyzieu.fr --header "Subject: [SVE] Accusé de réception" \\
             --body "Bonjour, comment gérez-vous l'accusé de réception SVE ?"
  3. Répondez sur le forum (en tant que « julien ») : le courriel part vers la liste, il arrive
     dans le Maildir ci-dessus, bien enfilé (In-Reply-To, References).
  4. Le tableau de bord montre l'état de la passerelle, la quarantaine et l'activité par thème.

Ctrl-C pour tout arrêter.
"""

    def stop(self) -> None:
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception:  # stopping is best effort; keep stopping the others
                pass
        if self.parts:
            self._forum.close()
        if self.ctx:
            self.ctx.close()
        self.parts.clear()


def wait_for_interrupt(stop: threading.Event) -> None:
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
