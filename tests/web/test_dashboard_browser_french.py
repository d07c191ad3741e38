"""The dashboard in a real Chromium, for what people read: activity counted by each message's
own Date, a manual catalogue sync shown, correct French (« 1 écrit »), no glyph the fonts lack
(« Aucun échec » had an emoji drawn as a box), timeline labels that never overlap, and topic
links that open the local forum's HTML pages."""
import subprocess
import unicodedata
from datetime import timedelta
from email.utils import format_datetime

import pytest
from werkzeug.security import generate_password_hash

from forumsync.app import create_app
from forumsync.catalogue.sync import sync_catalogue
from forumsync.context import Context
from forumsync.demo.config import CATALOGUE_DIR
from forumsync.models import InboxMessage, PostLink, TopicLink, set_state, utcnow
from forumsync.models.subscriber import Subscriber
from forumsync.web.stats import last_months, month_label
from tests.fixtures.database import make_settings

pytestmark = pytest.mark.browser
PASSWORD = "mot-de-passe-du-club"


def mail(message_id: str, when) -> bytes:
    return (f"From: Anne <anne@meyzieu.fr>\r\nTo: club@listes.example.org\r\n"
            f"Subject: Archive\r\nMessage-ID: <{message_id}>\r\nDate: {format_datetime(when)}\r\n"
            f"\r\nBonjour\r\n").encode()


@pytest.fixture
def dashboard(tmp_path, sqlite_url, localforum, smtp_sink, lmtp_sink, serve_app):
    year = utcnow().year
    events = [{"date": f"{year}-06-{day:02d}", "title": f"Atelier du club numéro {day} à Lyon"}
              for day in (10, 11, 12, 14)]
    settings = make_settings(tmp_path, sqlite_url, DASHBOARD_PASSWORD_HASH=generate_password_hash(PASSWORD),
                             SMTP_URL=smtp_sink.url, LMTP_LISTEN=f"127.0.0.1:{lmtp_sink.port}",
                             FORUM_LINK_STYLE="localforum", CLUB_EVENTS=events,
                             CATALOGUE_SOURCES=[{"name": "meyzieu", "collectivity": "Meyzieu",
                                                 "type": "directory", "path": str(CATALOGUE_DIR / "meyzieu")}],
                             **localforum.settings_overrides)
    ctx = Context(settings)
    forum_topic = ctx.forum.topic_create("Présentation d'Anne", "Bonjour à toutes et à tous, je suis Anne.",
                                         category_id=1)
    now = utcnow()
    five_months_ago = now - timedelta(days=150)
    with ctx.db.session() as session:
        session.add(TopicLink(topic_id=1, theme="sve", title="Sujet SVE"))
        # a history import processed today: three messages written five months ago, one in 2019
        for n, when in enumerate([five_months_ago] * 3 + [now.replace(year=2019)]):
            session.add(InboxMessage(message_id=f"old{n}@meyzieu.fr", channel="http", raw=mail(f"old{n}@meyzieu.fr", when),
                                     subject="Archive", sender="anne@meyzieu.fr", state="published",
                                     received_at=now))
            session.add(PostLink(message_id=f"old{n}@meyzieu.fr", post_id=100 + n, topic_id=1,
                                 origin="list", created_at=now))
        session.add(PostLink(message_id="forum1@x", post_id=200, topic_id=1, origin="forum", created_at=now))
        session.add(Subscriber(source="club", email="anne@meyzieu.fr", name="Anne", welcome="welcomed",
                               welcomed_at=now, topic_id=forum_topic["topic_id"]))
        set_state(session, "worker:heartbeat", {"at": now.isoformat(), "id": "test"})
        set_state(session, "webhook:last_received", {"at": now.isoformat(), "event": "post_created"})
        # the worker's scheduled run, older than the manual one below
        set_state(session, "catalogue:last-run", {"at": (now - timedelta(days=2)).isoformat(),
                                                  "summary": "ancienne synchronisation", "errors": []})
    summary = sync_catalogue(ctx, progress=False)  # what `forumsync catalogue sync` runs
    assert summary.added >= 1
    server = serve_app(create_app(context=ctx))
    yield server, ctx, five_months_ago, forum_topic["topic_id"]
    ctx.close()


def login(page, server):
    page.goto(server.url + "/")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#activite")


def test_activity_counts_by_the_message_date(dashboard, browser_page):
    server, _ctx, five_months_ago, _topic = dashboard
    login(browser_page, server)
    titles = browser_page.locator("#activity-chart svg rect.bar title").evaluate_all(
        "els => els.map(e => e.textContent)")
    old_label = month_label(five_months_ago.year, five_months_ago.month)
    this_label = month_label(*last_months(1)[0])
    # one theme (the topic's), three messages in the month they were written
    assert [t for t in titles if t.endswith(f"— {old_label} : 3")], titles
    # processed this month, but not written this month: only the forum post counts this month
    assert [t for t in titles if f"— {this_label} :" in t] == [
        t for t in titles if t.endswith(f"— {this_label} : 1")], titles
    origin = browser_page.locator("#origin-chart svg rect.bar title").evaluate_all(
        "els => els.map(e => e.textContent)")
    assert f"Depuis la liste — {old_label} : 3" in origin, origin
    assert f"Depuis le forum — {this_label} : 1" in origin, origin
    assert not any(t.startswith(f"Depuis la liste — {this_label}") for t in origin), origin
    # the 2019 message is outside the twelve months; French plural rules
    sentence = browser_page.locator("#activity-sentence").inner_text()
    assert sentence == "4 messages relayés sur douze mois : 3 venus de la liste, 1 écrit sur le forum."


def test_manual_catalogue_sync_is_the_last_sync(dashboard, browser_page):
    server, *_ = dashboard
    login(browser_page, server)
    card = browser_page.locator("#catalogue").inner_text()
    assert "ajoutée(s)" in card and "ancienne synchronisation" not in card
    # (the dashboard's day is Paris's: between 23:00 and midnight UTC in winter it is tomorrow's)
    from forumsync.web.dates import paris_time

    assert paris_time(utcnow())[:10] in card


def glyph_missing(char: str) -> bool:
    found = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True,
                           text=True, timeout=30).stdout.strip()
    return not found


def test_every_character_shown_has_a_glyph(dashboard, browser_page):
    server, *_ = dashboard
    login(browser_page, server)
    assert browser_page.locator("#files > p.empty").first.inner_text() == "Aucun échec."
    text = browser_page.locator("body").inner_text()
    odd = sorted({c for c in text if ord(c) > 0x7E and not unicodedata.category(c).startswith("Z")})
    missing = [f"U+{ord(c):04X} {c}" for c in odd if glyph_missing(c)]
    assert not missing, missing


def test_timeline_labels_never_overlap(dashboard, browser_page):
    server, *_ = dashboard
    login(browser_page, server)
    labels = browser_page.locator("#frise svg g.mark text")
    assert labels.count() == 4
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    svg = browser_page.locator("#frise svg").bounding_box()
    for i, a in enumerate(boxes):
        assert a["x"] >= svg["x"] - 1 and a["x"] + a["width"] <= svg["x"] + svg["width"] + 1, a
        for b in boxes[i + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, (a, b)


def test_topic_links_open_the_forum_page(dashboard, browser_page):
    server, _ctx, _when, topic_id = dashboard
    login(browser_page, server)
    link = browser_page.locator("#abonnes a", has_text="présentation")
    href = link.get_attribute("href")
    assert href, browser_page.locator("#abonnes").inner_html()
    assert href.endswith(f"/ui/t/{topic_id}")
    link.click()
    browser_page.wait_for_load_state()
    assert "Bonjour à toutes et à tous" in browser_page.locator("body").inner_text()
