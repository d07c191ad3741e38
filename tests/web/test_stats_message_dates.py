"""Activity is counted by each message's own Date on SQLite and PostgreSQL (the Date header is
read from the first bytes of the stored raw mail: substr on a BLOB / bytea), never by the day
the bridge processed it."""
from datetime import timedelta
from email.utils import format_datetime

from forumsync.models import InboxMessage, PostLink, TopicLink, utcnow
from forumsync.web import stats


def raw(message_id, when, date_header=True):
    date = f"Date: {format_datetime(when)}\r\n" if date_header else ""
    return (f"From: a@b.fr\r\nTo: club@listes.example.org\r\nSubject: x\r\nMessage-ID: <{message_id}>\r\n"
            f"{date}\r\n" + "corps\r\n" * 5000).encode()


def test_activity_by_message_date(context):
    now = utcnow()
    written = now - timedelta(days=95)
    stats._MESSAGE_DATES.clear()
    with context.db.session() as s:
        s.add(TopicLink(topic_id=7, theme="sve", title="t"))
        rows = [("a@x", raw("a@x", written), now), ("b@x", raw("b@x", written), now),
                ("c@x", raw("c@x", now, date_header=False), now - timedelta(days=40)),  # no Date: reception
                ("d@x", raw("d@x", now.replace(year=2015)), now)]                      # out of the window
        for n, (mid, body, received) in enumerate(rows):
            s.add(InboxMessage(message_id=mid, channel="http", raw=body, state="published", received_at=received))
            s.add(PostLink(message_id=mid, post_id=n + 1, topic_id=7, origin="list", created_at=now))
    with context.db.session() as s:
        result = stats.activity(s, context.settings)
    months = result["months"]
    by_month = dict(zip(months, result["origin_series"][0][1]))
    assert by_month[stats.month_label(written.year, written.month)] == 2
    forty = now - timedelta(days=40)
    assert by_month[stats.month_label(forty.year, forty.month)] >= 1
    assert by_month[stats.month_label(now.year, now.month)] == (1 if forty.month == now.month else 0)
    assert result["origins"]["list"] == 3
    assert result["sentence"] == "3 messages relayés sur douze mois : 3 venus de la liste, 0 écrit sur le forum."
