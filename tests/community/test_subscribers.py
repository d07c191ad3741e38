"""Welcoming newcomers: CSV roster diffing, the « Présentations » topic, the welcome email sent
through the real outbox to an SMTP sink, and the reply by email posted in the topic."""
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default
from email.utils import getaddresses

import pytest
from sqlalchemy import func, select

from forumsync.community import rosters, subscribers
from forumsync.community import welcome as newcomers
from forumsync.community.common import PRESENTATIONS_CATEGORY
from forumsync.context import Context
from forumsync.models import OutboxMail
from forumsync.models.subscriber import Subscriber
from forumsync.outbound import outbox
from forumsync.outbound.replykeys import parse_reply_address
from tests.community import forumdb
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import Pipe, make_mail


def write_roster(path, rows, header=True):
    lines = ["email,name"] if header else []
    lines += [f"{email},{name}" for email, name in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def roster(tmp_path):
    return tmp_path / "abonnes.csv"


@pytest.fixture
def ctx(tmp_path, sqlite_url, localforum, smtp_sink, roster):
    settings = make_settings(tmp_path, sqlite_url, SMTP_URL=smtp_sink.url, FORUM_RETRIES=0,
                             SUBSCRIBER_SOURCES=[{"type": "csv", "path": str(roster), "name": "club"}],
                             **localforum.settings_overrides)
    context = Context(settings)
    yield context
    context.close()


def rows(ctx):
    with ctx.db.session() as session:
        return {s.email: (s.state, s.welcome) for s in session.scalars(select(Subscriber))}


def outbox_count(ctx):
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMail))


def test_csv_roster_diffing(ctx, roster):
    write_roster(roster, [("Anne.Leroy@Meyzieu.fr", "Anne Leroy"), ("paul@montpellier3m.fr", "Paul")])
    first = subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert first.baseline and first.added == [] and first.after == 2
    assert rows(ctx) == {"anne.leroy@meyzieu.fr": ("subscribed", "baseline"),
                         "paul@montpellier3m.fr": ("subscribed", "baseline")}
    # unchanged: nothing to do
    same = subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert not same.changed
    # one arrives, one leaves
    write_roster(roster, [("anne.leroy@meyzieu.fr", "Anne Leroy"), ("jeanne.martin@grandlyon.com", "Jeanne Martin")])
    diff = subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert (diff.added, diff.removed, diff.before, diff.after) == (
        ["jeanne.martin@grandlyon.com"], ["paul@montpellier3m.fr"], 2, 2)
    assert rows(ctx)["jeanne.martin@grandlyon.com"] == ("subscribed", "pending")
    assert rows(ctx)["paul@montpellier3m.fr"][0] == "unsubscribed"
    # Paul comes back: recorded, not welcomed a second time
    write_roster(roster, [("anne.leroy@meyzieu.fr", ""), ("jeanne.martin@grandlyon.com", "Jeanne Martin"),
                          ("paul@montpellier3m.fr", "Paul")])
    diff = subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert diff.returned == ["paul@montpellier3m.fr"] and diff.added == []
    assert rows(ctx)["paul@montpellier3m.fr"] == ("subscribed", "baseline")


def test_csv_without_header_and_semicolons(tmp_path):
    path = tmp_path / "liste.csv"
    path.write_text("marie@meyzieu.fr;Marie Dupont\nnot-an-address;x\nluc@lyon.fr;Luc\n", encoding="utf-8")
    assert rosters.read_csv({"path": str(path)}) == {"marie@meyzieu.fr": "Marie Dupont", "luc@lyon.fr": "Luc"}
    with pytest.raises(rosters.SourceError, match="illisible"):
        rosters.read_csv({"path": str(tmp_path / "absent.csv")})


def test_newcomer_gets_topic_and_welcome_mail_and_replies_by_email(ctx, roster, localforum, smtp_sink):
    write_roster(roster, [("anne.leroy@meyzieu.fr", "Anne Leroy")])
    assert subscribers.run_scheduled(ctx, "w") == 0       # first run: baseline, nobody welcomed
    assert forumdb.category(localforum, PRESENTATIONS_CATEGORY) is None
    assert outbox_count(ctx) == 0

    write_roster(roster, [("jeanne.martin@grandlyon.com", "Jeanne Martin")])  # Anne leaves, Jeanne comes
    diff = subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert diff.added == ["jeanne.martin@grandlyon.com"] and diff.removed == ["anne.leroy@meyzieu.fr"]
    assert newcomers.welcome_pending(ctx) == 1
    topics = forumdb.topics(localforum, PRESENTATIONS_CATEGORY)
    assert len(topics) == 1  # one topic: for Jeanne; Anne's departure is never announced
    topic = topics[0]
    assert topic["title"] == "Bienvenue à Jeanne Martin : présentez-vous !"
    assert "**Collectivité**" in topic["raw"] and "**Thèmes d'intérêt**" in topic["raw"]
    assert "jeanne.martin@grandlyon.com" not in topic["raw"]  # no address published on the forum

    # welcoming again does nothing (idempotent)
    writes = ctx.forum.stats["writes"]
    assert newcomers.welcome_pending(ctx) == 0
    assert ctx.forum.stats["writes"] == writes and outbox_count(ctx) == 1

    # the real outbox sends it to the SMTP sink
    assert outbox.run_pending(ctx, "w") == 1
    assert smtp_sink.wait_for(1)
    _, rcpts, raw = smtp_sink.messages[0]
    assert rcpts == ["jeanne.martin@grandlyon.com"]
    welcome = message_from_bytes(raw, policy=default)
    assert welcome["Subject"] == "Bienvenue dans le Club Publik : présentez-vous !"
    body = welcome.get_body(("plain",)).get_content()
    assert "répondez simplement à ce courriel" in body
    reply_to = getaddresses([welcome["Reply-To"]])[0][1]
    target = parse_reply_address(ctx.settings, reply_to, "jeanne.martin@grandlyon.com")
    assert target.topic_id == topic["id"]   # the signed address is bound to the topic and to Jeanne
    assert len(smtp_sink.messages) == 1     # nothing sent about Anne leaving

    # Jeanne simply replies: her introduction lands in the topic through the pipeline
    pipe = Pipe(ctx, localforum)
    pipe.provision()
    introduction = ("Bonjour à tous,\n\nJe suis cheffe de projet Publik au Grand Lyon : "
                    "portail famille et inscriptions périscolaires.\n\nJeanne\n")
    reply = make_mail(subject="Re: " + welcome["Subject"], body=introduction,
                      sender="Jeanne Martin <jeanne.martin@grandlyon.com>", to=reply_to,
                      in_reply_to=welcome["Message-ID"], references=welcome["Message-ID"])
    row = pipe.send(reply)
    assert row.state == "published", row.reason
    posts = forumdb.posts(localforum, topic["id"])
    assert len(posts) == 2 and "cheffe de projet Publik au Grand Lyon" in posts[1]["raw"]

    # someone else replying to Jeanne's address posts nothing
    forged = make_mail(subject="Re: bienvenue", body="Je ne suis pas Jeanne.\n",
                       sender="Intrus <intrus@example.com>", to=reply_to)
    assert pipe.send(forged).state == "dropped"
    assert len(forumdb.posts(localforum, topic["id"])) == 2


def test_weekly_digest_lists_newcomers_once(ctx, roster, localforum):
    write_roster(roster, [])
    subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    write_roster(roster, [("jeanne.martin@grandlyon.com", "Jeanne Martin"), ("luc@meyzieu.fr", "")])
    subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert newcomers.welcome_pending(ctx) == 2
    assert newcomers.send_digest(ctx) == 2
    assert newcomers.send_digest(ctx) == 0  # each newcomer is listed once
    with ctx.db.session() as session:
        digest = session.scalar(select(OutboxMail).where(OutboxMail.key.like("newcomers:%")))
    assert digest.recipients == [ctx.settings.LIST_ADDRESS]
    text = message_from_bytes(digest.raw, policy=default).get_body(("plain",)).get_content()
    assert "Jeanne Martin" in text and "Luc" in text and "@" not in text.split("--")[0].replace(
        ctx.settings.FORUM_URL, "")
    # a newcomer after this week's digest waits for next week's (was marked and never named:
    # red team, twenty-fourth pass)
    write_roster(roster, [("jeanne.martin@grandlyon.com", "Jeanne Martin"), ("luc@meyzieu.fr", ""),
                          ("ines.roux@meyzieu.fr", "Inès Roux")])
    subscribers.sync_source(ctx, ctx.settings.SUBSCRIBER_SOURCES[0])
    assert newcomers.welcome_pending(ctx) == 1
    assert newcomers.send_digest(ctx) == 0  # the same week: nothing sent, nobody marked
    next_week = datetime.now(timezone.utc) + timedelta(days=7)
    assert newcomers.send_digest(ctx, now=next_week) == 1
    with ctx.db.session() as session:
        digests = list(session.scalars(select(OutboxMail).where(OutboxMail.key.like("newcomers:%"))
                                       .order_by(OutboxMail.id)))
    assert len(digests) == 2
    assert "Inès Roux" in message_from_bytes(digests[1].raw, policy=default).get_body(("plain",)).get_content()


def test_apply_roster_on_both_databases(context):
    with context.db.session() as session:
        first = subscribers.apply_roster(session, "club", {"a@meyzieu.fr": "A", "b@lyon.fr": "B"})
    assert first.baseline and first.after == 2
    with context.db.session() as session:
        dry = subscribers.apply_roster(session, "club", {"a@meyzieu.fr": "A", "c@lyon.fr": "C"}, dry_run=True)
    assert (dry.added, dry.removed) == (["c@lyon.fr"], ["b@lyon.fr"])
    with context.db.session() as session:
        diff = subscribers.apply_roster(session, "club", {"a@meyzieu.fr": "A", "c@lyon.fr": "C"})
    assert (diff.added, diff.removed, diff.after) == (["c@lyon.fr"], ["b@lyon.fr"], 2)
    with context.db.session() as session:
        assert not subscribers.apply_roster(session, "club", {"a@meyzieu.fr": "A", "c@lyon.fr": "C"}).changed
        # another source is diffed on its own
        other = subscribers.apply_roster(session, "autre", {"c@lyon.fr": "C"})
        assert other.baseline
        counts = subscribers.summary(session)
    assert counts["subscribed"] == 3 and counts["unsubscribed"] == 1 and counts["pending"] == 1


@pytest.mark.parametrize("address, shown", [
    ("jean-pierre.dupont@meyzieu.fr", "Jean-Pierre Dupont"),  # 24th pass: read « Jean Pierre Dupont »
    ("marie_dupre@lyon.fr", "Marie Dupre"),
    ("-.x-@ville.fr", "X"),
])
def test_a_name_read_from_an_address_keeps_its_hyphens(address, shown):
    assert newcomers.display_name(Subscriber(email=address, name="")) == shown


def test_new_week_counts_every_newcomer_of_the_week(ctx):
    """Red team, 31st pass: the dashboard's « nouveaux cette semaine » was counted among the
    ten most recent welcomes only."""
    now = datetime.now(timezone.utc)
    with ctx.db.session() as session:
        for i in range(12):
            session.add(Subscriber(source="club", email=f"agent{i}@grandlyon.com", name=f"Agent {i}",
                                   state="subscribed", welcome="welcomed", first_seen_at=now,
                                   subscribed_at=now, welcomed_at=now - timedelta(hours=i)))
        session.add(Subscriber(source="club", email="ancien@meyzieu.fr", name="Anne Ancienne",
                               state="subscribed", welcome="welcomed", first_seen_at=now - timedelta(days=30),
                               subscribed_at=now - timedelta(days=30), welcomed_at=now - timedelta(days=30)))
    with ctx.db.session() as session:
        assert subscribers.summary(session)["new_week"] == 12


def test_the_first_digest_names_only_recent_newcomers(ctx):
    """Red team, 31st pass: NEWCOMERS_DIGEST turned on later named everyone ever welcomed as
    this week's newcomers. Those welcomed long ago are marked, not named."""
    now = datetime.now(timezone.utc)
    with ctx.db.session() as session:
        for name, email_, days in (("Anne Ancienne", "ancien@meyzieu.fr", 150), ("Noé Nouveau", "nouveau@grandlyon.com", 2)):
            session.add(Subscriber(source="club", email=email_, name=name, state="subscribed", welcome="welcomed",
                                   first_seen_at=now - timedelta(days=days), subscribed_at=now - timedelta(days=days),
                                   welcomed_at=now - timedelta(days=days), topic_id=3))
    assert newcomers.send_digest(ctx, now=now) == 1
    with ctx.db.session() as session:
        digest = session.scalar(select(OutboxMail).where(OutboxMail.key.like("newcomers:%")))
        marked = {s.email: s.digest_at is not None for s in session.scalars(select(Subscriber))}
    text = message_from_bytes(digest.raw, policy=default).get_body(("plain",)).get_content()
    assert "Noé Nouveau" in text and "Anne Ancienne" not in text, text
    assert marked == {"ancien@meyzieu.fr": True, "nouveau@grandlyon.com": True}
    assert newcomers.send_digest(ctx, now=now + timedelta(days=7)) == 0  # nobody left to name
