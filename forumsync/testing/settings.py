"""Settings of a throwaway forumsync installation (four themes, test addresses) and free ports."""
from __future__ import annotations

import socket

from forumsync.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(tmp_path, db_url, **overrides) -> Settings:
    """Settings of a test installation in TMP_PATH on DB_URL; OVERRIDES win."""
    values = dict(
        DATABASE_URL=db_url,
        LOCALFORUM_DATABASE_URL=f"sqlite:///{tmp_path / 'localforum.sqlite3'}",
        FORUM_URL="http://127.0.0.1:1",
        LIST_ADDRESS="club@listes.example.org",
        BRIDGE_ADDRESS="bistro@forumsync.example.org",
        LIST_TAG="[club-publik]",
        THEMES=[
            dict(slug="sve", name="SVE", description="Saisine par voie électronique", lead="Meyzieu",
                 lead_emails=["animatrice@meyzieu.fr"], tags=["SVE"], keywords=["saisine", "SVE"],
                 addresses=["sve@listes.example.org"]),
            dict(slug="open-data", name="Open data", description="Données ouvertes",
                 lead="Montpellier", lead_emails=["data@montpellier3m.fr"], tags=["OPENDATA"],
                 keywords=["open data", "données ouvertes", "opendata"], addresses=[]),
            dict(slug="famille", name="Portail famille", description="Portail famille",
                 lead="Grand Lyon", lead_emails=[], tags=["FAMILLE"],
                 keywords=["portail famille", "cantine", "périscolaire"], addresses=[]),
            dict(slug="general", name="Discussions générales", description="Tout le reste",
                 lead="Entr'ouvert", lead_emails=[], tags=[], keywords=[], addresses=[]),
        ],
        DEFAULT_THEME="general",
        FORUM_BACKOFF=0,  # retries at once: the tests count attempts, not seconds
        FORUM_MAX_REQUESTS_PER_MINUTE=0,  # no pacing: tests of pacing set it explicitly
        LIST_SEND_DELAY_SECONDS=0,  # forum posts mailed at once: tests of the delay set it
    )
    values.update(overrides)
    return Settings(values, "<tests>", tmp_path)
