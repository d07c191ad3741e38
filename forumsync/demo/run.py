"""Assemble and run the whole demo in one process, on loopback, with SQLite only.

The local forum, forumsync's web app and worker, its LMTP server and an SMTP sink standing in
for the list (a Maildir) run in threads; the demo then provisions the themes, imports the
sample French archive, publishes the sample catalogue and the community topics, and prints
where everything is. Every step is idempotent, so restarting the demo keeps its data.
"""
from __future__ import annotations

import logging
import shlex
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

from werkzeug.security import generate_password_hash

from ..context import Context
from ..forum.links import topic_page_url
from ..services import WorkerThread, WsgiThread, host_port
from . import community, themes

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
DEMO_PASSWORD = "demo"
STOP_SECONDS = 2.5   # Ctrl-C: everything stops in parallel within this, else says what it waits for
DEMO_API_REQS_PER_MINUTE = 1200
REPLY_SENDER = "julien.petit@villeurbanne.fr"  # a list member with a forum account (« julien »)
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
    from ..settings import KEYS

    # The local forum limits the admin API like Discourse (60 a minute); the demo raises it as
    # docs/deploy.md advises for an import (DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE), and the
    # bridge's own pacing with it, unless the user's settings chose values.
    for key in ("LOCALFORUM_RATE_LIMIT", "FORUM_MAX_REQUESTS_PER_MINUTE"):
        if key in KEYS and getattr(settings, key) == KEYS[key].default and KEYS[key].default:
            settings = settings.replace(**{key: DEMO_API_REQS_PER_MINUTE})
    return settings.replace(
        FORUM_LINK_STYLE="localforum",  # mail and dashboard links open the local forum's pages
        # Paced as the demo's local forum limits its API (LOCALFORUM_RATE_LIMIT; 0: no limit).
        FORUM_MAX_REQUESTS_PER_MINUTE=settings.LOCALFORUM_RATE_LIMIT,
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


PORT_KEYS = ("forum local", "forumsync web", "LMTP", "SMTP de la liste")


def parse_ports(value: str) -> tuple[int, int, int, int]:
    """``--ports``: four ports (forum,web,lmtp,smtp) or ``+N`` to shift the defaults by N."""
    defaults = (4200, 5000, 8024, 8025)
    text = value.strip()
    try:
        if text.startswith("+"):
            shift = int(text[1:])
            ports = tuple(p + shift for p in defaults)
        else:
            ports = tuple(int(p) for p in text.split(","))
    except ValueError:
        ports = ()
    if len(ports) != 4 or not all(0 < p < 65536 for p in ports):
        raise DemoError(f"--ports « {value} » : donnez quatre ports forum,web,lmtp,smtp "
                        f"(ex. 4201,5001,8026,8027) ou un décalage (ex. +100)")
    return ports  # type: ignore[return-value]


def with_ports(settings, ports: tuple[int, int, int, int]):
    forum, web, lmtp, smtp = ports
    return settings.replace(FORUM_URL=f"http://127.0.0.1:{forum}", WEB_URL=f"http://127.0.0.1:{web}",
                            LMTP_LISTEN=f"127.0.0.1:{lmtp}", SMTP_URL=f"smtp://127.0.0.1:{smtp}")


def write_settings_file(settings, path: Path) -> Path:
    """The demo's settings as a settings module, so every command can work on the demo's own
    databases: ``forumsync --settings PATH themes``."""
    lines = ["# Réglages de la démo forumsync, écrits par « forumsync demo » à chaque démarrage.",
             "# Pour travailler sur les bases de la démo : forumsync --settings " + str(path) + " …",
             ""]
    lines += [f"{key} = {value!r}" for key, value in sorted(settings.as_dict().items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_port_free(host: str, port: int, what: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise DemoError(f"le port {host}:{port} ({what}) est déjà utilisé : arrêtez l'autre "
                            f"programme, ou déplacez les ports de la démo avec --ports "
                            f"(ex. « forumsync demo --ports +100 ») ou un fichier de réglages "
                            f"(FORUM_URL, WEB_URL, LMTP_LISTEN, SMTP_URL).") from None


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

    # ------------------------------------------------------------------ what the demo prints
    def _forumsync_command(self) -> str:
        """How to call forumsync from the user's shell (the venv's script when not on PATH)."""
        if shutil.which("forumsync"):
            return "forumsync"
        script = Path(sys.executable).with_name("forumsync")
        try:
            return str(script.relative_to(Path.cwd()))
        except ValueError:
            return str(script)

    def reply_example(self) -> dict | None:
        """A topic imported from the sample archive: its title, its root Message-ID and a signed
        reply address, for the ready-made « reply by email » commands."""
        from sqlalchemy import select

        from ..models import PostLink, TopicLink
        from ..outbound.replykeys import make_reply_address

        with self.ctx.db.session() as session:
            row = session.execute(
                select(PostLink.message_id, TopicLink.title, TopicLink.topic_id)
                .join(TopicLink, TopicLink.topic_id == PostLink.topic_id)
                .where(PostLink.origin == "list", TopicLink.theme == "sve")
                .order_by(PostLink.id.desc()).limit(1)).first()
            if row is None:
                row = session.execute(
                    select(PostLink.message_id, TopicLink.title, TopicLink.topic_id)
                    .join(TopicLink, TopicLink.topic_id == PostLink.topic_id)
                    .where(PostLink.origin == "list").order_by(PostLink.id.desc()).limit(1)).first()
        if row is None:
            return None
        message_id, title, topic_id = row
        return {"message_id": message_id, "title": title, "topic_id": topic_id,
                "reply_address": make_reply_address(self.settings, REPLY_SENDER, topic_id)}

    def leads(self) -> list[str]:
        names = {email: (username, name) for username, email, name in DEMO_USERS}
        lines = []
        for theme in self.settings.THEMES:
            for email in theme.get("lead_emails") or []:
                if email in names:
                    username, name = names[email]
                    lines.append(f"« {username} » — {name} — anime le thème « {theme['name']} » : "
                                 f"membre du groupe animateurs-{theme['slug']}, modérateur de sa "
                                 f"catégorie.")
        return lines

    def describe(self) -> str:
        s = self.settings
        lmtp_host, lmtp_port = s.LMTP_LISTEN.rsplit(":", 1)
        fs = self._forumsync_command()
        settings_file = self.settings_file or (self.workdir / "settings.py")
        example = self.reply_example()
        leads = self.leads()
        lead_user = leads[0].split("»")[0].lstrip("« ").strip() if leads else "julien"
        lines = [
            "",
            "La démo forumsync tourne. Tout est local (SQLite), rien ne sort de cette machine.",
            "",
            f"  Forum local (Bistro)   {s.FORUM_URL}/",
            "                         (poster au nom d'un membre : choisissez « julien » dans le formulaire)",
            f"  Tableau de bord        {s.WEB_URL}/   (mot de passe de démo : {DEMO_PASSWORD})",
            f"  LMTP de forumsync      {s.LMTP_LISTEN}",
            f"  Courriels « liste »    {self.workdir / 'maildir'}",
            f"                         (Maildir : mutt -f {self.workdir / 'maildir'}, ou ls {self.workdir / 'maildir' / 'new'})",
            f"  Base de forumsync      {s.DATABASE_URL.removeprefix('sqlite:///')}",
            f"  Base du forum local    {s.LOCALFORUM_DATABASE_URL.removeprefix('sqlite:///')}",
            f"  Réglages de la démo    {settings_file}",
            "",
            "Animateurs de thème (comptes du forum local, sans mot de passe : choisissez-les dans les formulaires) :",
        ]
        lines += [f"  {line}" for line in leads] or ["  (aucun)"]
        lines += [
            f"  Sur un sujet de son thème, « {lead_user} » peut le fermer, l'archiver ou le déplacer",
            "  (boutons en bas du sujet) : les réponses de la liste suivent le sujet déplacé, et une",
            "  réponse à un sujet fermé est quand même publiée avec une note pour les animateurs.",
            "",
            "À essayer :",
            "  1. Ouvrez le forum : les sujets de l'archive d'exemple sont rangés par thème (SVE, Open data,",
            "     Portail famille…), le catalogue des démarches et l'annuaire des collectivités sont publiés.",
            "  2. Envoyez un message « à la liste » et regardez-le apparaître sur le forum :",
            f"       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {s.LIST_ADDRESS} \\",
            "             --from marie@meyzieu.fr --header \"Subject: [SVE] Accusé de réception\" \\",
            "             --body \"Bonjour, comment gérez-vous l'accusé de réception SVE ?\"",
        ]
        if example:
            subject = shlex.quote(f"Subject: Re: {example['title']}")
            lines += [
                f"  3. Répondez par courriel au sujet « {example['title']} » (sujet {example['topic_id']}) :",
                "     comme un abonné de la liste (le message cité est reconnu par son Message-ID) :",
                f"       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {s.LIST_ADDRESS} \\",
                f"             --from {REPLY_SENDER} --header {subject} \\",
                f"             --header \"In-Reply-To: <{example['message_id']}>\" \\",
                "             --body \"Chez nous aussi, merci pour le partage.\"",
                "     ou comme le destinataire d'un courriel personnel (adresse de réponse signée) :",
                f"       swaks --server {lmtp_host}:{lmtp_port} --protocol LMTP --to {example['reply_address']} \\",
                f"             --from {REPLY_SENDER} --header {subject} --body \"Réponse par l'adresse signée.\"",
                f"     La réponse apparaît à la suite du sujet : {topic_page_url(s, example['topic_id'])}",
            ]
        lines += [
            "  4. Répondez sur le forum (en tant que « julien ») : le courriel part vers la liste, il arrive",
            "     dans le Maildir ci-dessus, bien enfilé (In-Reply-To, References).",
            "  5. Le tableau de bord montre l'état de la passerelle, la quarantaine et l'activité par thème.",
            "  6. Les commandes travaillent sur les bases de la démo avec ses réglages :",
            f"       {fs} --settings {settings_file} themes",
            f"       {fs} --settings {settings_file} inbox list",
            f"       {fs} --settings {settings_file} doctor",
            "",
            "Ctrl-C pour tout arrêter.",
            "",
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ stopping
    def stop(self, deadline: float = STOP_SECONDS) -> list[str]:
        """Stop every part at once; returns what still runs after DEADLINE seconds (their
        threads are daemons: the process exits anyway) so the user is told what it waited for."""
        names = {id(part): _part_name(part) for part in self.parts}
        threads = []
        for part in reversed(self.parts):
            thread = threading.Thread(target=_stop_quietly, args=(part,), daemon=True,
                                      name=f"stop-{names[id(part)]}")
            thread.start()
            threads.append((names[id(part)], thread))
        end = time.monotonic() + deadline
        for _name, thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        waiting = [name for name, thread in threads if thread.is_alive()]
        if self.parts:
            self._forum.close()
        if self.ctx:
            self.ctx.close()
        self.parts.clear()
        return waiting


def _part_name(part) -> str:
    from ..inbound.lmtp import LMTPServer

    if isinstance(part, WsgiThread):
        return {"localforum": "le forum local", "forumsync-web": "l'application web"}.get(
            part.thread.name, part.thread.name)
    if isinstance(part, WorkerThread):
        return "le worker (message en cours de traitement)"
    if isinstance(part, LMTPServer):
        return "le serveur LMTP (message en cours d'enregistrement)"
    return "le puits SMTP de la liste"


def _stop_quietly(part) -> None:
    try:
        if isinstance(part, WsgiThread):
            _stop_wsgi(part)
        else:
            part.stop()
    except Exception:  # noqa: BLE001 - stopping is best effort; the others keep stopping
        log.debug("arrêt de %r", part, exc_info=True)


def _stop_wsgi(part: WsgiThread) -> None:
    """waitress keeps looping while keep-alive connections stay open (the forum's webhook
    session, a browser tab): close them all, and its task threads, instead of waiting."""
    from waitress import wasyncore

    server = part.server
    socket_map = getattr(server, "_map", None) or getattr(server, "map", None)
    server.close()
    if socket_map is not None:
        wasyncore.close_all(socket_map)
    dispatcher = getattr(server, "task_dispatcher", None)
    if dispatcher is not None:
        dispatcher.shutdown(cancel_pending=True, timeout=1)
    part.thread.join(2)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the demo at any moment, seeding included (also when started
    from a script that ignored SIGINT)."""
    import signal

    def interrupt(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, interrupt)
