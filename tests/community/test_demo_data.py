"""The demo's sample data: the French list archive goes through the real pipeline into themed
topics on the local forum (threads kept, the auto-reply dropped), the sample release feed parses,
and the sample collectivities are valid settings."""
from pathlib import Path

from sqlalchemy import select

from forumsync.community import feeds
from forumsync.demo import community as demo
from forumsync.models import InboxMessage, TopicLink
from forumsync.settings import Settings

DEMO = Path(demo.__file__).parent


def test_sample_archive_becomes_themed_topics(pipe):
    from forumsync.inbound.mbox import import_file

    import_file(pipe.ctx, DEMO / "club-publik.mbox")
    pipe.run()
    rows = pipe.rows()
    assert len(rows) == 25
    states = {r.message_id: (r.state, r.reason) for r in rows}
    assert states["AS8PR10MB0001.autoreply-3@meyzieu.fr"][0] == "dropped"
    published = [r for r in rows if r.state == "published"]
    assert len(published) == 24, [(r.subject, r.state, r.reason) for r in rows if r.state != "published"]
    with pipe.ctx.db.session() as session:
        links = {t.title: t for t in session.scalars(select(TopicLink))}
        by_id = {r.message_id: r for r in session.scalars(select(InboxMessage))}
    assert len(links) == 9  # 7 threads + 2 single messages
    themes = {title: link.theme for title, link in links.items()}
    assert themes["Accusés de réception : quel délai affichez-vous ?"] == "sve"
    assert themes["Open data : publier les demandes de subventions sur data.gouv"] == "open-data"
    assert themes["Inscriptions périscolaires de la rentrée"] == "famille"
    assert themes["Paiement de la cantine en ligne : retour d'expérience"] == "famille"
    assert themes["Rencontre du club à Lyon le 12 juin"] == "general"
    # replies threaded into their topic (In-Reply-To, or References only)
    root = by_id["AM0PR07MB2222.od-1@montpellier3m.fr"].topic_id
    assert by_id["od-3.4f2a@entrouvert.com"].topic_id == root
    assert by_id["AM0PR07MB2222.od-4@montpellier3m.fr"].topic_id == root
    # Outlook's quoted history is trimmed from the forum post, accents survive
    post = pipe.post(by_id["AM0PR07MB1234.sve-ar-2@montpellier3m.fr"].post_id)
    assert "Chez nous l'accusé de réception est envoyé automatiquement" in post["raw"]
    head = post["raw"].split("[details")[0]
    assert "Message d'origine" not in head and "To unsubscribe" not in post["raw"]


def test_sample_release_feed_and_collectivities():
    entries = feeds.parse_feed((DEMO / "releases.rss").read_bytes())
    assert len(entries) >= 4 and all(e.title and e.published_at for e in entries)
    settings = Settings({"COLLECTIVITIES": demo.COLLECTIVITIES, "CLUB_EVENTS": demo.CLUB_EVENTS,
                         "RELEASE_FEEDS": demo.release_feeds(), "SUBSCRIBER_SOURCES": demo.subscriber_sources()})
    assert {c["name"] for c in settings.COLLECTIVITIES} >= {"Meyzieu", "Métropole de Lyon",
                                                              "Montpellier Méditerranée Métropole"}
    assert feeds.read_feed(settings.RELEASE_FEEDS[0])  # a file:// feed works offline
    from forumsync.community.rosters import read_source

    assert len(read_source(settings.SUBSCRIBER_SOURCES[0])) >= 5


def test_demo_seed_fills_the_community_side_once(tmp_path, sqlite_url, localforum):
    from forumsync.context import Context
    from forumsync.models import OutboxMail
    from tests.community import forumdb
    from tests.fixtures.database import make_settings

    roster = demo.prepare_roster(tmp_path / "demo")
    settings = make_settings(tmp_path, sqlite_url, COLLECTIVITIES=demo.COLLECTIVITIES,
                             CLUB_EVENTS=demo.CLUB_EVENTS, RELEASE_FEEDS=demo.release_feeds(),
                             SUBSCRIBER_SOURCES=demo.subscriber_sources(roster),
                             **localforum.settings_overrides)
    ctx = Context(settings)
    lines = demo.seed(ctx)
    assert any("9 fiches créées" in line for line in lines)
    assert any("4 note(s) de version" in line for line in lines)
    assert any("8 inscrits, 1 nouveau(x) accueilli(s)" in line for line in lines)
    welcome = forumdb.topics(localforum, "Présentations")
    assert [t["title"] for t in welcome] == ["Bienvenue à Léa Moreau : présentez-vous !"]
    assert len(forumdb.topics(localforum, "Évolutions")) == 4
    with ctx.db.session() as session:
        assert [m.recipients for m in session.scalars(select(OutboxMail))] == [["lea.moreau@ville-chambery.fr"]]
    writes = ctx.forum.stats["writes"]
    again = demo.seed(ctx)
    assert ctx.forum.stats["writes"] == writes
    assert any("0 nouveau(x) accueilli(s)" in line for line in again)
    assert (demo.ROSTER_CSV.read_text(encoding="utf-8").count("\n") == 8)  # bundled file untouched
    ctx.close()
