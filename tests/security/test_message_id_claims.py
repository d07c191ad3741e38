"""A Message-ID is a claim: a mail sent first with another's Message-ID neither takes its place
once it is found out nor makes the real mail vanish (red-team finding, 6 December 2026).

Through the service (LMTP socket, worker, local forum with the plugin)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from forumsync.inbound.copies import COPY_HELD
from forumsync.localforum.models import User
from forumsync.models import InboxMessage
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service

AUTHSERV = "mx.listes.example.org"
MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
STOLEN_ID = "<CAF+real-reply-1234@mail.meyzieu.fr>"


def _mail(body: str, verdict: str | None = None) -> bytes:
    headers = {"Authentication-Results": f"{AUTHSERV}; dmarc={verdict} header.from=meyzieu.fr"} if verdict else None
    return make_mail("Question SVE", body, sender=MARIE, message_id=STOLEN_ID, extra_headers=headers)


def _rows(env) -> list[InboxMessage]:
    with env.ctx.db.session() as s:
        rows = list(s.scalars(select(InboxMessage).order_by(InboxMessage.id)))
        for row in rows:
            _ = row.raw
        s.expunge_all()
        return rows


def _author(env, post_id) -> str:
    post = env.post(post_id)
    with env.forum.session() as s:
        return s.get(User, post.user_id).username


def _checked_service(tmp_path, url, localforum):
    env = Service(tmp_path, url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    return env


@pytest.fixture
def checked(tmp_path, sqlite_url, localforum):
    env = _checked_service(tmp_path, sqlite_url, localforum)
    yield env
    env.close()


def test_a_forgery_sent_first_does_not_hide_the_authenticated_mail(checked):
    forged = checked.deliver(_mail("Texte falsifié\n", "fail"))
    assert forged.state == "quarantined" and "non authentifié" in forged.reason
    checked.deliver(_mail("Le vrai texte de Marie\n", "pass"))
    first, real = _rows(checked)
    assert real.state == "published", real.reason
    assert b"Le vrai texte de Marie" in real.raw and real.meta["message_id"] == STOLEN_ID[1:-1]
    assert _author(checked, real.post_id) == "marie"
    assert "Le vrai texte de Marie" in checked.post(real.post_id).raw
    assert all("falsifié" not in post.raw for post in checked.posts())


def test_the_real_mail_held_behind_a_pending_forgery_is_published_when_it_is_refused(tmp_path, db_url, localforum):
    """Both arrive before the worker runs: the second waits, then takes the place the first
    lost (SQLite and PostgreSQL: the copies' keys are compared with LIKE)."""
    checked = _checked_service(tmp_path, db_url, localforum)
    try:
        checked.pipe.feed(_mail("Texte falsifié\n", "fail"), channel="lmtp")
        checked.pipe.feed(_mail("Le vrai texte de Marie\n", "pass"), channel="lmtp")
        held = _rows(checked)[1]
        assert held.state == "dropped" and held.reason.startswith(COPY_HELD)
        checked.pipe.run()
        checked.pipe.run()
        forged, real = _rows(checked)
        assert forged.state == "quarantined"
        assert real.state == "published", real.reason
        assert "Le vrai texte de Marie" in checked.post(real.post_id).raw
    finally:
        checked.close()


def test_a_different_copy_of_a_published_mail_is_kept_not_published(tmp_path, sqlite_url, localforum):
    """Without verdicts (no AUTHSERV_ID) the first copy is published; the other stays stored,
    with its reason, and publishes nothing (one post for one Message-ID)."""
    env = Service(tmp_path, sqlite_url, localforum)
    try:
        first = env.deliver(_mail("Premier texte\n"))
        assert first.state == "published"
        env.deliver(_mail("Second texte, d'une autre main\n"))
        env.pipe.run()
        rows = _rows(env)
        assert [row.state for row in rows] == ["published", "dropped"]
        assert rows[1].reason.startswith(f"{COPY_HELD} {first.id} ")
        assert b"Second texte, d'une autre main" in rows[1].raw
        assert sum("texte" in post.raw.lower() for post in env.posts()) == 1
    finally:
        env.close()


def test_a_list_copy_of_a_mail_that_came_direct_makes_one_post(checked):
    """The everyday case: the list's copy (footer, subject prefix) after the direct copy."""
    direct = checked.deliver(_mail("Bonjour à tous\n", "pass"))
    list_copy = _mail("Bonjour à tous\n\n--\nListe club-publik\n", "pass").replace(
        b"Subject: Question SVE", b"Subject: [club] Question SVE")
    checked.deliver(list_copy)
    rows = _rows(checked)
    assert [row.state for row in rows] == ["published", "dropped"]
    assert len([p for p in checked.posts() if "Bonjour à tous" in p.raw]) == 1
    assert rows[0].post_id == direct.post_id


@pytest.mark.parametrize("claimed", ["<copie:x@evil.example>", "<copie:1:trigger@evil.example>",
                                     "<copie 1> x>", "<sha256:00>"])
def test_no_mail_can_pose_as_a_stored_copy(checked, claimed):
    """Red-team findings (second pass): a Message-ID written like a copy's key stopped the
    worker (its key read as a number) or released a held forgery. A normalised Message-ID can
    never be a copy's key, and the worker goes on."""
    real = checked.pipe.feed(_mail("Le vrai texte de Marie\n", "pass"), channel="lmtp")
    with checked.ctx.db.session() as s:  # the real mail waiting for a retry (a forum outage)
        row = s.get(InboxMessage, real)
        row.state, row.next_attempt_at = "retry", datetime.now(timezone.utc) + timedelta(hours=1)
    checked.pipe.feed(_mail("Texte falsifié\n"), channel="lmtp")
    trigger = make_mail("Absence", "Je suis absent.\n", sender=MARIE, message_id=claimed,
                        extra_headers={"Auto-Submitted": "auto-replied"})
    checked.deliver(trigger)
    after = make_mail("Suite", "Un autre message.\n", sender=MARIE)
    checked.deliver(after)
    rows = _rows(checked)
    assert rows[0].state == "retry"
    assert rows[1].state == "dropped" and rows[1].reason.startswith(COPY_HELD)  # still held
    assert rows[2].state == "dropped" and "automatique" in rows[2].reason
    assert rows[3].state == "published"


def test_dropping_the_first_copy_by_hand_releases_the_held_one(checked):
    from forumsync.inbound import operations

    checked.pipe.feed(_mail("Texte falsifié\n"), channel="lmtp")  # no verdict: would publish
    checked.pipe.feed(_mail("Le vrai texte de Marie\n", "pass"), channel="lmtp")
    first, held = _rows(checked)
    with checked.ctx.db.session() as s:
        assert operations.drop(s, first.id, "faux") == 1
    checked.pipe.run()
    first, real = _rows(checked)
    assert first.state == "dropped" and real.state == "published", real.reason
    assert "Le vrai texte de Marie" in checked.post(real.post_id).raw


def test_a_copy_from_another_address_behind_a_published_one_is_quarantined_for_the_operator(checked):
    """Third pass: a forgery that passes DMARC for its own domain, sent first with Marie's
    Message-ID, is published (nothing tells it apart); Marie's mail is kept in quarantine, with
    a reason that says so, never among the dropped rows."""
    forged = make_mail("Question SVE", "Texte de l'attaquant\n", sender="Pirate <pirate@evil.example>",
                       message_id=STOLEN_ID,
                       extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from=evil.example"})
    assert checked.deliver(forged).state == "published"
    checked.deliver(_mail("Le vrai texte de Marie\n", "pass"))
    first, real = _rows(checked)
    assert real.state == "quarantined" and real.reason.startswith(COPY_HELD)
    assert "autre expéditeur" in real.reason and "pirate@evil.example" in real.reason
    assert b"Le vrai texte de Marie" in real.raw
