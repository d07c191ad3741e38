"""Red team, nineteenth pass: a copy held behind a first copy that has not finished must stay held.

``copies.place`` holds a second content under a Message-ID until the first copy *ends
unpublished*. Two operator actions let a held copy out while the first (the genuine mail) is
still pending — waiting for a retry after a forum outage — so the forgery is published first
and the genuine mail is later dropped as « déjà publié (doublon) »:

- ``inbox drop`` / the dashboard's « Écarter » on one held forgery (the operator did what
  the reason asks: « usurpation possible, à vérifier par un opérateur ») calls
  ``release_held_copy`` on that *copy*, which releases the next held copy of the family
  without looking at the first copy's state (``copies.release_held_copy``);
- ``inbox retry --all-quarantined`` (``operations.retry_quarantined``) puts back to ``new``
  every quarantined row, the copies held « for the operator » included.

The twentieth pass found the same gap elsewhere: ``place`` decided on the first copy alone (a
copy arriving while an earlier *copy* waited for a retry went first), and an operator's retry of
a first copy (or of a copy released then quarantined) queued it beside the live one: now no
copy is queued while another copy may still be published or is (``copies.another_copy_live``).

And the genuine mail held behind a forgery must not stay held for ever: its release is in
the transaction of the forgery's end (``runner._finish``), both recorded or neither (a release
in a transaction of its own, failing after that end was committed, left it held).

Through the service: LMTP socket, worker, local forum with the plugin, AUTHSERV_ID set.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from forumsync.inbound import operations
from forumsync.inbound.copies import COPY_HELD
from forumsync.models import InboxMessage, PostLink, utcnow
from forumsync.pipeline import runner
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service

AUTHSERV = "mx.listes.example.org"
MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
STOLEN_ID = "<CAF+rt19-real@mail.meyzieu.fr>"
RELEASE_ID = "<CAF+rt19-release@mail.meyzieu.fr>"
FAMILY_ID = "<CAF+rt20-family@mail.meyzieu.fr>"


def _real() -> bytes:
    return make_mail("Question SVE", "Le vrai texte de Marie\n", sender=MARIE, message_id=STOLEN_ID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from=meyzieu.fr"})


def _forged(n: int) -> bytes:
    # passes DMARC for its own domain: nothing tells it apart but the sender (held in quarantine)
    return make_mail("Question SVE", f"Texte de l'attaquant numéro {n}\n",
                     sender=f"Pirate <pirate{n}@evil.example>", message_id=STOLEN_ID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc=pass header.from=evil.example"})


def _mail(body: str, verdict: str) -> bytes:
    return make_mail("Question SVE", body, sender=MARIE, message_id=RELEASE_ID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc={verdict} header.from=meyzieu.fr"})


def _rows(env) -> list[InboxMessage]:
    with env.ctx.db.session() as s:
        rows = list(s.scalars(select(InboxMessage).order_by(InboxMessage.id)))
        s.expunge_all()
        return rows


@pytest.fixture
def env(tmp_path, sqlite_url, localforum):
    service = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    yield service
    service.close()


def _operator_drops_one_forgery(env, rows):
    with env.ctx.db.session() as s:
        assert operations.drop(s, rows[1].id, "faux, vérifié") == 1


def _operator_retries_all_quarantined(env, rows):
    with env.ctx.db.session() as s:
        operations.retry_quarantined(s)


@pytest.mark.parametrize("action", [_operator_drops_one_forgery, _operator_retries_all_quarantined],
                         ids=["drop-one-held-forgery", "retry-all-quarantined"])
def test_a_held_forgery_is_not_released_while_the_first_copy_waits_for_a_retry(env, action):
    real = env.pipe.feed(_real(), channel="lmtp")
    with env.ctx.db.session() as s:  # the genuine mail waits for a retry (forum outage)
        row = s.get(InboxMessage, real)
        row.state, row.next_attempt_at = "retry", datetime.now(timezone.utc) + timedelta(hours=1)
    env.pipe.feed(_forged(1), channel="lmtp")
    env.pipe.feed(_forged(2), channel="lmtp")
    rows = _rows(env)
    assert [r.state for r in rows] == ["retry", "quarantined", "quarantined"]
    assert all(r.reason.startswith(COPY_HELD) for r in rows[1:])

    action(env, rows)
    env.pipe.run()

    assert not [p for p in env.posts() if "attaquant" in p.raw], \
        "a forgery held behind the genuine mail was published while the genuine mail waited"
    # the forum is back: the genuine mail is retried, and it is the one published
    with env.ctx.db.session() as s:
        s.get(InboxMessage, real).next_attempt_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    env.pipe.run()
    genuine = _rows(env)[0]
    assert genuine.state == "published", genuine.reason
    assert "Le vrai texte de Marie" in env.post(genuine.post_id).raw


def test_the_cli_says_why_a_held_copy_is_not_retried(env):
    real = env.pipe.feed(_real(), channel="lmtp")
    with env.ctx.db.session() as s:
        row = s.get(InboxMessage, real)
        row.state, row.next_attempt_at = "retry", datetime.now(timezone.utc) + timedelta(hours=1)
    env.pipe.feed(_forged(1), channel="lmtp")
    forged = _rows(env)[1]
    done = run_cli(write_settings_file(env.tmp_path, env.ctx.settings), "inbox", "retry", str(forged.id))
    assert done.returncode == 1, done.stdout
    assert "une autre copie du même Message-ID" in done.stderr.decode()
    assert _rows(env)[1].state == "quarantined"


def test_a_failed_release_is_not_the_end_of_the_held_copy(env, monkeypatch):
    env.pipe.feed(_mail("Texte falsifié\n", "fail"), channel="lmtp")
    env.pipe.feed(_mail("Le vrai texte de Marie\n", "pass"), channel="lmtp")

    real_release = runner.release_held_copy
    calls = []

    def release_once_fails(conn, inbox_id):
        calls.append(inbox_id)
        if len(calls) == 1:
            raise OperationalError("UPDATE inbox_message …", {}, Exception("database is locked"))
        return real_release(conn, inbox_id)

    monkeypatch.setattr(runner, "release_held_copy", release_once_fails)
    env.pipe.run()  # the forgery is quarantined; releasing Marie's copy fails once
    assert calls, "the release was not attempted"
    # nothing of that end was recorded: the forgery is retried later (not quarantined with
    # the copy behind it left held), and the held copy is still held
    with env.ctx.db.session() as s:
        forged, real = s.scalars(select(InboxMessage).order_by(InboxMessage.id)).all()
        assert (forged.state, real.state) == ("retry", "dropped")
        forged.next_attempt_at = utcnow() - timedelta(seconds=1)  # its retry is due
    # the database is back; the worker goes on with its passes
    for _ in range(3):
        env.pipe.run()

    with env.ctx.db.session() as s:
        forged, real = s.scalars(select(InboxMessage).order_by(InboxMessage.id)).all()
        assert forged.state == "quarantined"
        assert real.state == "published", f"Marie's mail left {real.state}: {real.reason}"
    assert any("Le vrai texte de Marie" in p.raw for p in env.posts())


def _claiming(body, sender, verdict, domain):
    return make_mail("Question SVE", body, sender=sender, message_id=FAMILY_ID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc={verdict} header.from={domain}"})


def _waits_for_retry(env, inbox_id):
    with env.ctx.db.session() as s:  # processed at once; the forum is down: waits for a retry
        row = s.get(InboxMessage, inbox_id)
        assert row.state == "new"
        row.state, row.next_attempt_at = "retry", datetime.now(timezone.utc) + timedelta(hours=1)


def test_a_copy_is_held_while_an_earlier_copy_waits_for_a_retry(env):
    # 1. a forgery of Marie's mail, DMARC fails: quarantined
    env.pipe.feed(_claiming("Texte falsifié 1\n", MARIE, "fail", "meyzieu.fr"), channel="lmtp")
    env.pipe.run()
    assert _rows(env)[0].state == "quarantined"
    # 2. Marie's genuine mail: processed at once (the first copy ended unpublished)
    _waits_for_retry(env, env.pipe.feed(_claiming("Le vrai texte de Marie\n", MARIE, "pass", "meyzieu.fr"),
                                        channel="lmtp"))
    # 3. a second forgery, DMARC pass for its own domain, same Message-ID: held
    env.pipe.feed(_claiming("Texte de l'attaquant\n", "Pirate <pirate@evil.example>", "pass", "evil.example"),
                  channel="lmtp")
    rows = _rows(env)
    assert len(rows) == 3 and rows[2].state == "quarantined" and rows[2].reason.startswith(COPY_HELD)
    env.pipe.run()
    assert not [p for p in env.posts() if "attaquant" in p.raw]


@pytest.mark.parametrize("bulk", [True, False], ids=["retry-all-quarantined", "retry-one"])
def test_the_first_copy_is_not_retried_while_the_genuine_copy_waits(env, bulk):
    forged = env.pipe.feed(_claiming("Texte de l'attaquant\n", "Pirate <pirate@evil.example>", "pass",
                                     "evil.example"), channel="lmtp")
    with env.ctx.db.session() as s:  # refused by the forum (a setting the operator then fixes)
        row = s.get(InboxMessage, forged)
        row.state, row.reason = "quarantined", "refusé par le forum : titre trop court"
    _waits_for_retry(env, env.pipe.feed(_claiming("Le vrai texte de Marie\n", MARIE, "pass", "meyzieu.fr"),
                                        channel="lmtp"))
    with env.ctx.db.session() as s:
        changed = operations.retry_quarantined(s) if bulk else operations.retry(s, forged)
    assert changed == 0
    assert [r.state for r in _rows(env)] == ["quarantined", "retry"]
    env.pipe.run()
    assert not [p for p in env.posts() if "attaquant" in p.raw]



@pytest.mark.parametrize("plugin", [True, False], ids=["plugin", "bridge"])
def test_a_copy_behind_a_first_written_unrecorded_is_never_recorded_on_its_post(
        tmp_path, sqlite_url, localforum, plugin):
    """A forgery claiming Marie's Message-ID was written on the forum, its end never recorded
    (a forum timeout: the row waits for a retry); Marie's mail is held behind it. The operator
    drops the forgery: Marie's copy stays held (the dropped row may be on the forum: a released
    copy was a second post), and, retried by hand, is never recorded on the forgery's post
    (``msgdata.post_key``: a copy recorded the forgery's post as Marie's, found by the
    Message-ID through the plugin or the hidden marker: red team, twenty-first pass) nor
    written beside it: it is quarantined with its reason (twenty-second pass)."""
    service = Service(tmp_path, sqlite_url, localforum, plugin=plugin, AUTHSERV_ID=AUTHSERV)
    try:
        forged = service.pipe.feed(_claiming("Texte de l'attaquant\n", "Pirate <pirate@evil.example>", "pass",
                                             "evil.example"), channel="lmtp")
        service.pipe.run()
        with service.ctx.db.session() as s:  # written on the forum, its end never recorded
            row = s.get(InboxMessage, forged)
            assert row.state == "published"
            forged_post = row.post_id
            row.state, row.post_id, row.topic_id = "retry", None, None
            row.next_attempt_at = datetime.now(timezone.utc) + timedelta(hours=1)
            s.execute(delete(PostLink).where(PostLink.message_id == FAMILY_ID.strip("<>")))
        genuine = service.pipe.feed(_claiming("Le vrai texte de Marie\n", MARIE, "pass", "meyzieu.fr"),
                                    channel="lmtp")
        with service.ctx.db.session() as s:
            assert operations.drop(s, forged, "faux, vérifié") == 1
            assert operations.held_copies(s, forged) == [genuine]
        service.pipe.run()
        assert _rows(service)[1].state == "quarantined"  # still held: the operator decides
        with service.ctx.db.session() as s:
            assert operations.retry(s, genuine) == 1
        service.pipe.run()
        # the forgery's post is there under the Message-ID: Marie's copy is never recorded on it,
        # nor written beside it (twenty-second pass): quarantined, for the operator to compare
        row = _rows(service)[1]
        assert row.state == "quarantined" and row.post_id is None, row.reason
        assert "une autre copie de ce Message-ID est déjà sur le forum" in row.reason
        assert not [p for p in service.posts() if "Le vrai texte de Marie" in p.raw]
        assert forged_post in [p.id for p in service.posts()]
    finally:
        service.close()


def test_bulk_retries_reach_the_genuine_copy_behind_an_always_quarantined_forgery(env):
    """Twenty-first pass: the bulk retry took the oldest of several quarantined copies, each
    time the forgery (DMARC fail, quarantined again): the genuine copy was never reached."""
    env.pipe.feed(_claiming("Texte falsifié\n", MARIE, "fail", "meyzieu.fr"), channel="lmtp")
    env.pipe.run()
    genuine = env.pipe.feed(_claiming("Le vrai texte de Marie\n", MARIE, "pass", "meyzieu.fr"), channel="lmtp")
    with env.ctx.db.session() as s:  # refused by the forum (a setting the operator then fixes)
        row = s.get(InboxMessage, genuine)
        assert row.state == "new"
        row.state, row.reason, row.processed_at = "quarantined", "refusé par le forum : titre trop court", utcnow()
    for _ in range(2):  # the operator fixed the setting, and retries the quarantine twice
        with env.ctx.db.session() as s:
            assert operations.retry_quarantined(s) == 1  # one copy of the Message-ID at a time
        env.pipe.run()
    assert [r.state for r in _rows(env)] == ["quarantined", "published"]
