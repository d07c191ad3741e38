"""Dashboard content on SQLite and PostgreSQL: counts, failures, activity chart, health verdicts."""
import re
import socket
from datetime import timedelta

from forumsync.app import create_app
from forumsync.community.common import claim_due
from forumsync.context import Context
from forumsync.models import InboxMessage, OutboxMail, PostLink, TopicLink, set_state, utcnow
from forumsync.web import charts, health, stats
from werkzeug.security import generate_password_hash

from tests.fixtures.database import make_settings


def seed(session):
    now = utcnow()
    for i, state in enumerate(["new", "published", "published", "quarantined", "dropped"]):
        session.add(InboxMessage(message_id=f"in{i}@x", channel="lmtp", raw=b"x", state=state,
                                 subject=f"Sujet {i}", reason="raison" if state == "quarantined" else ""))
    session.add(OutboxMail(key="post:9", message_id="o@x", sender="b@x", recipients=["l@x"], raw=b"x",
                           state="failed", last_error="550 boîte inconnue"))
    session.add(TopicLink(topic_id=10, theme="sve", title="t"))
    session.add(TopicLink(topic_id=11, theme="open-data", title="u"))
    session.add_all([PostLink(message_id="p1", post_id=1, topic_id=10, origin="list", created_at=now),
                     PostLink(message_id="p2", post_id=2, topic_id=10, origin="forum", created_at=now),
                     PostLink(message_id="p3", post_id=3, topic_id=11, origin="list",
                              created_at=now - timedelta(days=40)),
                     PostLink(message_id="old", post_id=4, topic_id=11, origin="list",
                              created_at=now - timedelta(days=800))])


def test_stats_on_both_databases(context):
    with context.db.session() as session:
        seed(session)
    with context.db.session() as session:
        inbox = {state: n for state, _, n in stats.counts_by_state(session, InboxMessage, stats.INBOX_LABELS)}
        assert inbox == {"new": 1, "processing": 0, "retry": 0, "published": 2, "dropped": 1, "quarantined": 1}
        assert [m.subject for m in stats.inbox_failures(session)] == ["Sujet 3"]
        assert [m.last_error for m in stats.outbox_failures(session)] == ["550 boîte inconnue"]
        activity = stats.activity(session, context.settings)
    assert activity["origins"] == {"list": 2, "forum": 1}  # the 800-day-old post is outside the window
    series = dict(activity["series"])
    assert sum(series["SVE"]) == 2 and series["SVE"][-1] == 2
    assert sum(series["Open data"]) == 1 and series["Open data"][-1] == 0
    assert len(activity["months"]) == 12
    with context.db.session() as session:
        assert stats.catalogue(session) is None
        set_state(session, "catalogue:last-run", {"at": utcnow().isoformat(), "worker": "w",
                                                  "summary": "12 démarches publiées, 3 modifiées",
                                                  "errors": ["Meyzieu : source injoignable"]})
    with context.db.session() as session:
        catalogue = stats.catalogue(session)
    assert catalogue["summary"] == "12 démarches publiées, 3 modifiées"
    assert catalogue["errors"] == ["Meyzieu : source injoignable"]


def test_claim_due_once_per_interval(context):
    with context.db.session() as session:
        assert claim_due(session, "job", 10)
    with context.db.session() as session:
        assert not claim_due(session, "job", 10)
    with context.db.session() as session:
        assert claim_due(session, "job", 10, now=utcnow() + timedelta(minutes=11))


def test_chart_svg_has_one_bar_per_non_zero_value():
    svg = str(charts.stacked_bars(["janv.", "févr.", "mars"], [("SVE", [1, 0, 3]), ("Open <data>", [2, 2, 0])],
                                  title="Essai"))
    assert svg.startswith("<svg") and svg.count('class="bar"') == 4
    assert "Open &lt;data&gt;" in svg and "<data>" not in svg
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', svg)]
    assert all(h > 0 for h in heights)
    assert "Aucun message" in str(charts.stacked_bars(["janv."], [], title="Vide"))


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_reports_what_is_down(tmp_path, sqlite_url):
    port = closed_port()
    settings = make_settings(tmp_path, sqlite_url, DASHBOARD_PASSWORD_HASH=generate_password_hash("demo"),
                             FORUM_URL=f"http://127.0.0.1:{port}",
                             LMTP_LISTEN=f"127.0.0.1:{port}", SMTP_URL=f"smtp://127.0.0.1:{port}")
    ctx = Context(settings)
    with ctx.db.session() as session:
        set_state(session, "worker:heartbeat", {"at": (utcnow() - timedelta(minutes=5)).isoformat()})
    checks = {c.key: c for c in health.run_checks(ctx)}
    assert checks["forum"].ok is False and "injoignable" in checks["forum"].detail
    assert checks["lmtp"].ok is False and checks["smtp"].ok is False
    assert checks["webhook"].ok is None and "aucun" in checks["webhook"].detail
    assert checks["worker"].ok is False and "il y a 5 min" in checks["worker"].detail
    # and the page says it, in French
    app = create_app(context=ctx)
    client = app.test_client()
    page = client.get("/connexion")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/connexion", data={"password": "demo", "csrf_token": token})
    home = client.get("/").text
    assert home.count("en panne") == 4 and "aucun reçu pour l&#39;instant" in home
    assert "→ Démarrez « forumsync lmtp »" in home  # each problem with what to do
    assert "Pas encore synchronisé" in home
    assert "Webhooks du forum : aucun" in home
    from forumsync.models import WebhookEvent

    with ctx.db.session() as session:
        session.add(WebhookEvent(delivery_id="f#1", event="post_created", event_type="post", payload="{}",
                                 state="failed", reason="KeyError('topic_id')"))
    with ctx.db.session() as session:
        session.add(InboxMessage(message_id="q@x", channel="lmtp", raw=b"x", state="quarantined",
                                 subject="Sujet cassé", reason="raison"))
    home = client.get("/").text
    assert "en échec 1" in home and "KeyError" in home
    assert "<td>en quarantaine</td>" in home and "<td>en échec</td>" in home
    assert "quarantined</td>" not in home and "failed</td>" not in home  # states shown in French
    with ctx.db.session() as session:
        set_state(session, "catalogue:last-run", {"at": utcnow().isoformat(), "summary": "2 démarches publiées",
                                                  "errors": ["Grand Lyon : export illisible"]})
    home = client.get("/").text
    assert "2 démarches publiées" in home and "Grand Lyon : export illisible" in home
    ctx.close()
