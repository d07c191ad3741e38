"""Every listing shows a moment in the machine's local time, as `inbox` does: `events`,
`outbox` and `catalogue` printed the stored UTC unmarked, an hour off on a Paris server."""
from datetime import datetime, timezone

import pytest

from forumsync.context import Context
from forumsync.commands.clock import local_time
from forumsync.models import InboxMessage, OutboxMail, WebhookEvent
from forumsync.inbound.ingest import ingest
from forumsync.outbound import compose, outbox
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_mail

MOMENT = datetime(2026, 12, 7, 21, 32, 44, tzinfo=timezone.utc)  # 22:32:44 in Paris (winter)


@pytest.fixture
def context(tmp_path, sqlite_url):
    ctx = Context(make_settings(tmp_path, sqlite_url))
    yield ctx
    ctx.close()


def test_listings_agree_on_local_time(context, tmp_path, monkeypatch):
    inbox_id = ingest(context, make_mail(message_id="<t@x.fr>"), "lmtp").inbox_id
    mail = compose.compose_personal(context.settings, to="marie@meyzieu.fr", subject="Essai", text="x")
    with context.db.session() as s:
        outbox.enqueue(s, "mail:t", mail, ["club@listes.example.org"])
    with context.db.session() as s:
        s.get(InboxMessage, inbox_id).received_at = MOMENT
        s.get(OutboxMail, 1).next_attempt_at = MOMENT
        s.add(WebhookEvent(delivery_id="f#1", event="post_created", event_type="post", payload="{}",
                           received_at=MOMENT, state="done"))
    path = write_settings_file(tmp_path, context.settings)
    monkeypatch.setenv("TZ", "Europe/Paris")
    shown = {family: run_cli(path, family, "list").stdout.decode()
             for family in ("inbox", "events", "outbox")}
    assert "2026-12-07 22:32" in shown["inbox"]
    assert "reçu le 2026-12-07 22:32:44" in shown["events"], shown["events"]
    assert "prochaine=2026-12-07 22:32:44" in shown["outbox"], shown["outbox"]
    assert not any("21:32" in text for text in shown.values())


def test_iso_text_as_the_catalogue_stores_it(monkeypatch):
    """`catalogue list` printed « 2026-12-07T21:32:44.362066+00:00 »."""
    import time

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        assert local_time(MOMENT.isoformat()) == "2026-12-07 22:32"
        assert local_time(MOMENT.replace(tzinfo=None)) == "2026-12-07 22:32"  # naive is UTC
        assert local_time(None, missing="?") == "?"
    finally:
        monkeypatch.undo()
        time.tzset()
