"""Release notes: feeds served over real HTTP, topics in « Évolutions » on the real local forum."""
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import func, select

from forumsync.community import feeds, releases
from forumsync.community.common import RELEASES_CATEGORY, external_id
from forumsync.context import Context
from forumsync.models import OutboxMail
from forumsync.models.release import Release
from tests.community import forumdb
from tests.fixtures.database import make_settings

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Publik — notes de version</title>
  <id>urn:publik:releases</id>
  <updated>2026-03-02T10:00:00Z</updated>
  {entries}
</feed>"""
ATOM_ENTRY = """<entry>
    <title>{title}</title>
    <id>urn:publik:release:{version}</id>
    <link href="https://publik.example.org/releases/{version}"/>
    <updated>{date}T10:00:00Z</updated>
    <content type="html">&lt;p&gt;Nouveautés : &lt;strong&gt;{what}&lt;/strong&gt;&lt;/p&gt;</content>
  </entry>"""

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>w.c.s. — versions</title><link>https://wcs.example.org/</link><description>Versions</description>
  <item><title>w.c.s. 12.4</title><link>https://wcs.example.org/12.4</link>
    <guid>wcs-12.4</guid><pubDate>Mon, 12 Jan 2026 09:00:00 +0100</pubDate>
    <description>Correctifs des formulaires SVE, accusés de réception.</description></item>
  <item><title>w.c.s. 12.5</title><link>https://wcs.example.org/12.5</link>
    <guid>wcs-12.5</guid><pubDate>Tue, 10 Feb 2026 09:00:00 +0100</pubDate>
    <description>Nouveau champ « bloc de données ».</description></item>
</channel></rss>"""

HTML = """<!DOCTYPE html><html><body><h1>Notes de version du portail famille</h1>
<article class="release" id="pf-3-1"><h2>Portail famille 3.1</h2><time datetime="2026-04-01">1er avril</time>
  <p>Inscriptions périscolaires en ligne.</p><a href="/notes/3.1">Détails</a></article>
<article class="release" id="pf-3-2"><h2>Portail famille 3.2</h2><time datetime="2026-05-15">15 mai</time>
  <p>Paiement de la cantine.</p><a href="/notes/3.2">Détails</a></article>
<article class="other"><h2>Pas une version</h2></article>
</body></html>"""


def atom(*versions):
    entries = "\n".join(ATOM_ENTRY.format(title=f"Publik {v}", version=v, date=d, what=w)
                        for v, d, w in versions)
    return ATOM.format(entries=entries)


@pytest.fixture
def ctx(tmp_path, sqlite_url, localforum, feed_server):
    feeds = [
        {"name": "Publik", "url": feed_server.url("/publik.atom"), "announce": True},
        {"name": "w.c.s.", "url": feed_server.url("/wcs.rss")},
        {"name": "Portail famille", "url": feed_server.url("/pf.html"), "type": "html",
         "selector": "article.release"},
    ]
    settings = make_settings(tmp_path, sqlite_url, RELEASE_FEEDS=feeds, **localforum.settings_overrides)
    context = Context(settings)
    yield context
    context.close()


def topics_in(localforum, name):
    assert forumdb.category(localforum, name) is not None, f"catégorie « {name} » absente"
    return forumdb.topics(localforum, name)


def test_atom_rss_and_html_feeds_become_topics_once(ctx, feed_server, localforum):
    feed_server.put("/publik.atom", atom(("2026.1", "2026-01-20", "SVE"), ("2026.2", "2026-03-02", "open data")))
    feed_server.put("/wcs.rss", RSS, "application/rss+xml")
    feed_server.put("/pf.html", HTML, "text/html; charset=utf-8")

    assert releases.run_scheduled(ctx, "test") == 6
    titles = sorted(t["title"] for t in topics_in(localforum, RELEASES_CATEGORY))
    # Discourse wants titles of 15 characters or more: short ones are prefixed
    assert titles == ["Nouvelle version : Publik 2026.1", "Nouvelle version : Publik 2026.2",
                      "Nouvelle version : w.c.s. 12.4", "Nouvelle version : w.c.s. 12.5",
                      "Portail famille 3.1", "Portail famille 3.2"]
    with ctx.db.session() as session:
        rows = {r.title: r for r in session.scalars(select(Release))}
        assert rows["w.c.s. 12.5"].published_at.month == 2
        assert rows["Portail famille 3.2"].link == feed_server.url("/notes/3.2")
        assert rows["Portail famille 3.1"].published_at.isoformat().startswith("2026-04-01")
        # first poll: nothing announced to the list (no storm of old releases)
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 0
    topic = ctx.forum.topic_by_external_id(external_id("rel", "Publik", "urn:publik:release:2026.2"))
    raw = ctx.forum.post_get(topic["post_stream"]["posts"][0]["id"])["raw"]
    assert "**open data**" in raw and "https://publik.example.org/releases/2026.2" in raw

    # Within the interval nothing is polled; polled again, nothing is created twice.
    hits = dict(feed_server.hits)
    assert releases.run_scheduled(ctx, "test") == 0
    assert dict(feed_server.hits) == hits
    writes = ctx.forum.stats["writes"]
    for feed in ctx.settings.RELEASE_FEEDS:
        report = releases.poll_feed(ctx, feed)
        assert report.new == [] and report.known in (2,)
    assert ctx.forum.stats["writes"] == writes
    assert len(topics_in(localforum, RELEASES_CATEGORY)) == 6


def test_new_release_after_first_poll_is_announced_to_the_list(ctx, feed_server):
    feed = ctx.settings.RELEASE_FEEDS[0]
    feed_server.put("/publik.atom", atom(("2026.1", "2026-01-20", "SVE")))
    assert releases.poll_feed(ctx, feed).first_poll
    feed_server.put("/publik.atom", atom(("2026.1", "2026-01-20", "SVE"), ("2026.3", "2026-06-01", "RGPD")))
    report = releases.poll_feed(ctx, feed)
    assert report.new == ["Publik 2026.3"] and report.announced == 1
    with ctx.db.session() as session:
        mails = list(session.scalars(select(OutboxMail)))
    assert len(mails) == 1
    mail = message_from_bytes(mails[0].raw, policy=default)
    assert mails[0].recipients == [ctx.settings.LIST_ADDRESS]
    assert "Nouvelle version : Publik 2026.3" == mail["Subject"]
    assert "X-Loop" in mail
    assert "Publik 2026.3" in mail.get_body(("plain",)).get_content()
    # polling again: no second topic, no second mail
    assert releases.poll_feed(ctx, feed).new == []
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_unreachable_or_broken_feed_is_reported_in_french(ctx, feed_server):
    with pytest.raises(feeds.FeedError, match="illisible"):
        feeds.read_feed({"name": "absent", "url": feed_server.url("/absent.atom")})
    feed_server.put("/broken.atom", "<html>pas un flux</html", "text/html")
    with pytest.raises(feeds.FeedError, match="invalide"):
        feeds.read_feed({"name": "cassé", "url": feed_server.url("/broken.atom")})


def test_html_selector_parsing():
    entries = feeds.parse_html(HTML.encode(), "article.release", "https://pf.example.org/notes.html")
    assert [(e.entry_id, e.title, e.link) for e in entries] == [
        ("pf-3-1", "Portail famille 3.1", "https://pf.example.org/notes/3.1"),
        ("pf-3-2", "Portail famille 3.2", "https://pf.example.org/notes/3.2")]
    assert "Inscriptions périscolaires" in entries[0].summary
    assert feeds.parse_html(HTML.encode(), ".other") [0].title == "Pas une version"


def test_the_worker_runs_the_community_tasks(tmp_path, sqlite_url, localforum):
    from forumsync.demo import community as demo
    from forumsync.worker import Worker

    settings = make_settings(tmp_path, sqlite_url, RELEASE_FEEDS=demo.release_feeds(),
                             COLLECTIVITIES=demo.COLLECTIVITIES[:1], **localforum.settings_overrides)
    ctx = Context(settings)
    worker = Worker(ctx, "w1")
    names = [name for name, _ in worker.tasks]
    assert "forumsync.community.releases.run_scheduled" in names
    assert "forumsync.community.subscribers.run_scheduled" in names
    assert worker.drain() >= 4 + 2
    assert len(forumdb.topics(localforum, RELEASES_CATEGORY)) == 4
    assert len(forumdb.topics(localforum, "Annuaire des collectivités")) == 1
    writes = ctx.forum.stats["writes"]
    assert Worker(ctx, "w2").drain() == 0  # a second worker finds nothing due
    assert ctx.forum.stats["writes"] == writes
    ctx.close()


HOSTILE_ENTRY = """<entry><title>Publik 2026.9 \u202eevil</title><id>urn:publik:release:{n}</id>
    <link href="{link}"/><updated>2026-07-0{n}T10:00:00Z</updated>
    <content type="html">{content}</content></entry>"""


def test_a_feed_is_as_inert_as_mail_and_one_bad_entry_stops_nothing(ctx, feed_server, localforum):
    """Red team, eleventh pass: a feed's text skipped the last check mail goes through
    (``post_inert``): the list trick of the sixth pass published images from other hosts,
    a quote aside reached the forum; an entry of 500 nested blockquotes stopped every feed
    behind it; a "javascript:" link reached the dashboard; a redirect made forumsync fetch
    and publish an internal page."""
    from html import escape

    from forumsync.mail.inert import live_syntax

    hostile = [
        '<ul><li><p>x</p>\n<img src="https://evil.example/a.png"></li></ul>',
        '<aside class="quote"><blockquote>faux</blockquote></aside><p>[quote="admin"]faux[/quote]</p>',
        '<p>Merci @staff et <span>evil</span>.com/page.png</p><pre>[details="Message cité"]\n@staff</pre>',
        "<blockquote>" * 500 + "profond" + "</blockquote>" * 500,
    ]
    entries = "\n".join(HOSTILE_ENTRY.format(n=n, content=escape(c), link="javascript:alert(1)" if n == 1
                                             else f"https://publik.example.org/{n}")
                        for n, c in enumerate(hostile, 1))
    feed_server.put("/publik.atom", ATOM.format(entries=entries))
    feed_server.put("/wcs.rss", RSS, "application/rss+xml")
    feed_server.redirect("/pf.html", feed_server.url("/interne/admin"))
    feed_server.put("/interne/admin", "<article class='release'><h2>Intranet secret</h2></article>", "text/html")

    releases.run_scheduled(ctx, "test")
    assert feed_server.hits["/interne/admin"] == 0  # the redirect is not followed
    titles = {t["title"] for t in topics_in(localforum, RELEASES_CATEGORY)}
    assert {"Nouvelle version : w.c.s. 12.4", "Nouvelle version : w.c.s. 12.5"} <= titles  # the feed after
    assert not any("Intranet" in t or "\u202e" in t for t in titles)
    for topic in topics_in(localforum, RELEASES_CATEGORY):
        raw = ctx.forum.post_get(ctx.forum.topic_get(topic["id"])["post_stream"]["posts"][0]["id"])["raw"]
        assert live_syntax(raw, (), onebox=True) == [], (topic["title"], raw)
        assert "javascript:" not in raw
    with ctx.db.session() as session:
        rows = {r.entry_id: r for r in session.scalars(select(Release))}
    assert rows["urn:publik:release:1"].link == ""
    assert rows["urn:publik:release:4"].topic_id is None  # refused with its reason, recorded once
    with ctx.db.session() as session:
        from forumsync.models import get_state

        publik = get_state(session, "releases:feed:Publik")
        famille = get_state(session, "releases:feed:Portail famille")
    assert "trop imbriqué" in publik["error"]
    assert famille is None  # never read: no first poll recorded
    with pytest.raises(feeds.FeedError, match="redirection non suivie"):
        feeds.read_feed(ctx.settings.RELEASE_FEEDS[2])
