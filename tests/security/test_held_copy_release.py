"""Red team, nineteenth pass: the genuine mail held behind a forgery must not stay held for ever.

A forgery of Marie's mail (DMARC fails) arrives first; Marie's authenticated mail arrives next
and is held (« dropped », reason ``COPY_HELD`` : « publiée seulement si la première copie ne
l'est pas »). The worker quarantines the forgery: ``runner._finish`` commits that, then calls
``_release_held_copy`` in a *separate* transaction. If that second transaction fails (SQLite
busy beyond ``busy_timeout``, PostgreSQL restarting — or the worker is killed between the two
commits), the failure is only logged: nothing ever releases the held copy again (no sweep;
``release_held_copy`` is only called at the end of a row). Marie's mail stays among the
dropped rows with a reason that says it waits for something that already happened: lost.
Now the release is in the transaction of the row's end: both are recorded, or neither (the
row is then retried).

The fault is injected as an ``OperationalError`` from the release transaction (what a locked
SQLite or a restarting PostgreSQL raises there); the worker then keeps running.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from forumsync.models import InboxMessage, utcnow
from forumsync.pipeline import runner
from tests.fixtures.pipeline import make_mail
from tests.security.service import Service

AUTHSERV = "mx.listes.example.org"
MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
STOLEN_ID = "<CAF+rt19-release@mail.meyzieu.fr>"


def _mail(body: str, verdict: str) -> bytes:
    return make_mail("Question SVE", body, sender=MARIE, message_id=STOLEN_ID,
                     extra_headers={"Authentication-Results": f"{AUTHSERV}; dmarc={verdict} header.from=meyzieu.fr"})


@pytest.fixture
def env(tmp_path, sqlite_url, localforum):
    service = Service(tmp_path, sqlite_url, localforum, AUTHSERV_ID=AUTHSERV)
    localforum.create_user("marie", "marie.dupont@meyzieu.fr", "Marie Dupont")
    yield service
    service.close()


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
