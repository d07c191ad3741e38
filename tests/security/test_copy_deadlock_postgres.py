"""Red team, twenty-first pass: ``release_held_copy`` now takes the first copy's row lock (SELECT … FOR UPDATE, d330cad)
*after* its caller already locked another row of the family, in the opposite order to the
worker's end of the first copy:

- worker, ``runner._finish(first, "quarantined")``: UPDATE first (lock first), then
  ``release_held_copy`` → FOR UPDATE first (held), UPDATE held copy C (lock C);
- operator, ``inbox drop C`` (C held in quarantine: another sender, « à vérifier ») (``operations.drop``): UPDATE C (lock C), flush, then
  ``release_held_copy(C)`` → FOR UPDATE first.

Interleaved (operator's UPDATE C, worker's whole end, operator's FOR UPDATE), each waits for the
other: PostgreSQL reports a deadlock and aborts one of them (the worker's end is then not
recorded, or the operator's drop fails). Before d330cad the operator's release only read the
family: no cycle.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from forumsync.context import Context
from forumsync.inbound import operations
from forumsync.inbound.copies import COPY_HELD
from forumsync.inbound.ingest import ingest
from forumsync.models import InboxMessage
from forumsync.pipeline import runner
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import make_mail

MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
MID = "<CAF+rt21-deadlock@mail.meyzieu.fr>"


@pytest.mark.postgres
def test_dropping_a_held_copy_while_the_first_copy_ends_does_not_deadlock(tmp_path, postgres_server, monkeypatch):
    ctx = Context(make_settings(tmp_path, postgres_server.create_database()))
    try:
        first = ingest(ctx, make_mail("Question", "Premier texte\n", sender=MARIE, message_id=MID), "lmtp").inbox_id
        held = ingest(ctx, make_mail("Question", "Texte du pirate\n", sender="Pirate <pirate@evil.example>",
                                     message_id=MID), "lmtp").inbox_id
        with ctx.db.session() as s:
            row = s.get(InboxMessage, held)
            assert row.state == "quarantined" and row.reason.startswith(COPY_HELD)
        errors = []
        real_release = operations.release_held_copy
        worker = {}

        def finish_first():
            try:
                runner._finish(ctx, first, "quarantined", "DMARC : échec")
            except Exception as exc:  # noqa: BLE001
                errors.append(("worker", exc))

        def release_after_the_worker_started(conn, inbox_id):
            worker["thread"] = threading.Thread(target=finish_first)
            worker["thread"].start()
            time.sleep(1.5)  # the worker locks the first copy, then waits for the held copy's lock
            return real_release(conn, inbox_id)

        monkeypatch.setattr(operations, "release_held_copy", release_after_the_worker_started)
        try:
            with ctx.db.session() as s:
                operations.drop(s, held, "vérifié")
        except Exception as exc:  # noqa: BLE001
            errors.append(("operator", exc))
        worker["thread"].join(30)
        with ctx.db.session() as s:
            states = {r.id: r.state for r in s.scalars(select(InboxMessage))}
        assert not errors, (f"deadlock between the worker's end and the operator's drop: {errors!r}; "
                            f"states after: {states}")
        assert states[first] == "quarantined"
        assert states[held] == "dropped", "the copy the operator dropped as a forgery was queued"
    finally:
        ctx.close()
