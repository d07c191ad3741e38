"""Sample community settings for the demo: collectivities, club events, a release feed and a
roster, all offline. The demo command imports these and passes them to Settings, then seeds::

    from forumsync.demo import community
    roster = community.prepare_roster(workdir)          # a copy the demo may change
    settings = settings.replace(COLLECTIVITIES=community.COLLECTIVITIES,
                                CLUB_EVENTS=community.CLUB_EVENTS,
                                RELEASE_FEEDS=community.release_feeds(),
                                SUBSCRIBER_SOURCES=community.subscriber_sources(roster))
    ...
    for line in community.seed(ctx):                    # directory, releases, one newcomer
        print(line)
"""
from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
MBOX = HERE / "club-publik.mbox"
RELEASES_RSS = HERE / "releases.rss"
ROSTER_CSV = HERE / "abonnes.csv"

COLLECTIVITIES = [
    {"name": "Meyzieu",
     "summary": "Ville de 35 000 habitants : démarches en ligne SVE, portail citoyen et portail "
                "famille (cantine, périscolaire) depuis 2019.",
     "themes": ["sve", "famille"], "url": "https://www.meyzieu.fr",
     "software": ["Ciril GF (finances)", "Arpège Concerto (enfance)", "Cart@ds (urbanisme)"]},
    {"name": "Métropole de Lyon",
     "summary": "Portail famille métropolitain et démarches d'urbanisme ; publication des "
                "subventions en données ouvertes.",
     "themes": ["famille", "open-data"], "url": "https://www.grandlyon.com",
     "software": ["SIRH Pléiades", "Astre GF", "iNoé (petite enfance)"]},
    {"name": "Montpellier Méditerranée Métropole",
     "summary": "Animatrice du thème open data : vues w.c.s. moissonnées par la plateforme "
                "régionale, horaires des équipements.",
     "themes": ["open-data"], "url": "https://www.montpellier3m.fr",
     "software": ["Coriolis (finances)", "Open Data Soft"]},
    {"name": "Villeurbanne",
     "summary": "Inscriptions scolaires et périscolaires en ligne, file d'attente le jour de "
                "l'ouverture des inscriptions.",
     "themes": ["famille"], "url": "https://www.villeurbanne.fr", "software": []},
    {"name": "Chambéry",
     "summary": "Nouvelle venue dans le club : paiement en ligne de la cantine et saisine par "
                "voie électronique pour les associations.",
     "themes": ["famille", "sve"], "url": "https://www.chambery.fr",
     "software": ["Concerto Opus"]},
]

CLUB_EVENTS = [
    {"date": "2026-02-05", "title": "Webinaire : l'accusé de réception SVE"},
    {"date": "2026-06-12", "title": "Rencontre du club à Lyon"},
    {"date": "2026-10-15", "title": "Atelier open data à Montpellier"},
    {"date": "2026-12-03", "title": "Assemblée annuelle du club (en ligne)"},
]


def release_feeds(announce: bool = False) -> list[dict]:
    """The bundled release-notes feed, read from disk (file:// URL: no network needed)."""
    return [{"name": "Publik", "url": RELEASES_RSS.as_uri(), "announce": announce}]


NEWCOMER = ("lea.moreau@ville-chambery.fr", "Léa Moreau")


def prepare_roster(workdir) -> Path:
    """Copy the bundled roster into WORKDIR (the demo adds a newcomer to the copy)."""
    target = Path(workdir) / "abonnes.csv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROSTER_CSV, target)
    return target


def subscriber_sources(path=None) -> list[dict]:
    """A CSV roster source (a stand-in for Mailman's REST API in the demo)."""
    return [{"type": "csv", "name": "club", "path": str(path or ROSTER_CSV)}]


def seed(ctx) -> list[str]:
    """Fill the forum's community side for the demo; returns French lines to print.

    Directory and census topics, the bundled releases in « Évolutions », the roster recorded
    (first run: nobody welcomed), then one newcomer added to the roster copy and welcomed: a
    « Présentations » topic and a welcome email (in the outbox) whose reply is posted there.
    Idempotent: running it again changes nothing.
    """
    from ..community import directory, releases, subscribers, welcome

    lines = []
    report = directory.sync_directory(ctx)
    lines.append(f"Annuaire des collectivités : {len(report.created)} fiches créées, "
                 f"{len(report.unchanged)} inchangées.")
    for feed in ctx.settings.RELEASE_FEEDS:
        poll = releases.poll_feed(ctx, feed)
        lines.append(f"Évolutions : {len(poll.new)} note(s) de version publiée(s) depuis « {poll.feed} ».")
    for source in ctx.settings.SUBSCRIBER_SOURCES:
        diff = subscribers.sync_source(ctx, source)
        path = Path(source.get("path", ""))
        if source.get("type") == "csv" and path.exists() and path.resolve() != ROSTER_CSV:
            text = path.read_text(encoding="utf-8")
            if NEWCOMER[0] not in text:
                path.write_text(text.rstrip("\n") + f"\n{NEWCOMER[0]},{NEWCOMER[1]}\n", encoding="utf-8")
            diff = subscribers.sync_source(ctx, source)
        welcomed = welcome.welcome_pending(ctx)
        lines.append(f"Abonnés ({diff.source}) : {diff.after} inscrits, {welcomed} nouveau(x) accueilli(s) "
                     "dans « Présentations » avec un courriel de bienvenue.")
    return lines
