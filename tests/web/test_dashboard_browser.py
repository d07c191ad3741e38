"""The dashboard in a real headless Chromium: log in, read the health panel, retry a
quarantined message with the button, and check the server-side SVG chart renders."""
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from forumsync.app import create_app
from forumsync.context import Context
from forumsync.models import InboxMessage, PostLink, TopicLink, set_state, utcnow
from forumsync.models.release import Release
from tests.fixtures.database import make_settings

pytestmark = pytest.mark.browser
PASSWORD = "mot-de-passe-du-club"
SCREENSHOT = "/tmp/forumsync-dashboard.png"


@pytest.fixture
def dashboard(tmp_path, sqlite_url, localforum, smtp_sink, lmtp_sink, serve_app):
    settings = make_settings(tmp_path, sqlite_url, DASHBOARD_PASSWORD_HASH=generate_password_hash(PASSWORD),
                             SMTP_URL=smtp_sink.url, LMTP_LISTEN=f"127.0.0.1:{lmtp_sink.port}",
                             CLUB_EVENTS=[{"date": f"{utcnow().year}-06-12", "title": "Journée du club à Lyon"}],
                             **localforum.settings_overrides)
    ctx = Context(settings)
    now = utcnow()
    with ctx.db.session() as session:
        quarantined = InboxMessage(message_id="casse@meyzieu.fr", channel="lmtp", raw=b"Subject: x\r\n\r\nx",
                                   subject="Pièce jointe illisible", sender="agent@meyzieu.fr",
                                   state="quarantined", reason="UnicodeDecodeError('charset inconnu')")
        session.add(quarantined)
        for topic_id, theme in ((1, "sve"), (2, "open-data"), (3, "famille")):
            session.add(TopicLink(topic_id=topic_id, theme=theme, title=f"Sujet {theme}"))
        n = 0
        for months_ago, topic_id, count, origin in ((0, 1, 3, "list"), (0, 2, 2, "forum"), (1, 3, 4, "list"),
                                                    (2, 1, 1, "forum"), (3, 2, 5, "list")):
            for _ in range(count):
                n += 1
                session.add(PostLink(message_id=f"m{n}@x", post_id=n, topic_id=topic_id, origin=origin,
                                     created_at=now - timedelta(days=30 * months_ago)))
        session.add(Release(feed="Publik", external_id="rel-x", entry_id="x", title="Publik 2026.1",
                            published_at=now.replace(month=1, day=20), topic_id=4))
        set_state(session, "worker:heartbeat", {"at": now.isoformat(), "id": "test"})
        set_state(session, "webhook:last_received", {"at": now.isoformat(), "event": "post_created"})
        session.flush()
        message_id = quarantined.id
    server = serve_app(create_app(context=ctx))
    yield server, ctx, message_id
    ctx.close()


def test_login_health_retry_and_chart(dashboard, browser_page):
    server, ctx, message_id = dashboard
    page = browser_page
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/connexion")  # anonymous → login page
    page.fill("#password", "pas le bon")
    page.click("button[type=submit]")
    assert page.locator("text=Mot de passe incorrect").is_visible()
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#sante")

    # health panel: forum, LMTP, SMTP, webhook, worker — all up here
    checks = page.locator("#sante li.check")
    assert checks.count() == 5
    for key in ("forum", "lmtp", "smtp", "webhook", "worker"):
        item = page.locator(f'#sante li[data-check="{key}"]')
        assert "ok" in item.get_attribute("class").split(), item.inner_text()

    # the SVG chart, drawn by the server: bars present with a real size on screen
    bars = page.locator("#activity-chart svg rect.bar")
    assert bars.count() >= 4
    box = page.locator("#activity-chart svg").bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    bar_box = bars.first.bounding_box()
    assert bar_box["width"] > 0 and bar_box["height"] > 0
    assert page.locator("#frise svg .release").count() == 1
    assert page.locator("#frise svg .event").count() == 1
    page.screenshot(path=SCREENSHOT, full_page=True)

    # retry the quarantined message with its button (a CSRF-protected POST form)
    row = page.locator(f'tr[data-inbox-id="{message_id}"]')
    assert "charset inconnu" in row.inner_text()
    row.locator("button.retry").click()
    page.wait_for_selector("text=remis en traitement")
    with ctx.db.session() as session:
        assert session.get(InboxMessage, message_id).state == "new"
    assert page.locator(f'tr[data-inbox-id="{message_id}"]').count() == 0
