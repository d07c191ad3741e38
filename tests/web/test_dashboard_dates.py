"""Dashboard dates in Paris time (red team, twenty-fifth pass: the stored UTC was shown as it
is, « 01/07/2026 10:00 » for noon in Paris, and a winter night's event on the day before)."""
from datetime import datetime

from forumsync.models import OutboxMail, WebhookEvent
from tests.web.test_auth import login, web  # noqa: F401  (the dashboard app fixture)


def test_failure_tables_show_paris_time(web):
    app, ctx = web
    with ctx.db.session() as s:
        s.add(WebhookEvent(delivery_id="d1", event_key="k1", event="post_created", event_type="post",
                           payload="{}", received_at=datetime(2026, 7, 1, 10, 0), state="failed",
                           reason="raison"))
        s.add(OutboxMail(key="post:1", message_id="m1@x", sender="a@b", recipients=["l@x"], raw=b"x",
                         subject="Sujet", state="failed", attempts=12, last_error="erreur",
                         created_at=datetime(2026, 1, 15, 23, 30)))
    client = app.test_client()
    login(client)
    page = client.get("/").text
    event_table = page[page.index('id="event-failures"'):]
    event_table = event_table[:event_table.index("</table>")]
    outbox_table = page[page.index('id="outbox-failures"'):]
    outbox_table = outbox_table[:outbox_table.index("</table>")]
    assert "01/07/2026 12:00" in event_table, event_table  # summer: UTC+2
    assert "16/01/2026 00:30" in outbox_table, outbox_table  # winter: UTC+1, the next day


def test_paris_time():
    from datetime import timezone

    from forumsync.web.dates import paris_time

    assert paris_time(None) == "—" and paris_time("pas une date") == "pas une date"
    assert paris_time("2026-07-01T10:00:00") == "01/07/2026 12:00"
    assert paris_time(datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)) == "29/03/2026 03:30"  # DST day
