"""The demo's settings: its own SQLite files, the bundled sample data, its ports, and the
settings file it writes so every command can work on the demo's databases."""
from __future__ import annotations

import socket
from pathlib import Path

from werkzeug.security import generate_password_hash

from . import community, themes

HERE = Path(__file__).resolve().parent
DEMO_PASSWORD = "demo"
DEMO_API_REQS_PER_MINUTE = 1200
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
        # A post written in the demo reaches its list Maildir at once, not 10 minutes later.
        LIST_SEND_DELAY_SECONDS=0,
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
