"""Red team, twentieth pass: a copy stored while the first copy's end is being recorded (two processes,
PostgreSQL) must not stay held for ever.

``copies.place`` (ingest: LMTP, HTTP…) reads the first copy's state with a plain SELECT and
decides « held » when it is not ended yet; ``runner._finish`` (the worker) records the first
copy's unpublished end and, in the same transaction, ``release_held_copy`` looks for held
copies. Under READ COMMITTED, when the worker's UPDATE comes first:

1. worker: UPDATE first → quarantined; release_held_copy finds no copy (none yet); not committed;
2. ingest: SELECT first → still ``new`` (the worker's change is not committed) → the copy is
   held (COPY_HELD); its UPDATE of the first's ``meta`` waits for the worker's row lock;
3. worker commits; ingest's UPDATE goes through and commits the held copy.

The first copy is quarantined, the copy (Marie's genuine mail) is held « publiée seulement si
la première copie ne l'est pas », and nothing will ever release it: the release only runs at
the end of a row, and that end has passed. ``place`` neither locks the first copy's row
(SELECT … FOR UPDATE) before deciding, nor re-reads its state after its UPDATE.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from forumsync.context import Context
from forumsync.inbound.copies import COPY_HELD
from forumsync.inbound.ingest import ingest
from forumsync.models import InboxMessage
from forumsync.pipeline import runner
from tests.fixtures.database import make_settings
from tests.fixtures.pipeline import make_mail

MARIE = "Marie Dupont <marie.dupont@meyzieu.fr>"
MID = "<CAF+rt20-race@mail.meyzieu.fr>"


@pytest.mark.postgres
def test_a_copy_stored_while_the_first_ends_is_not_held_for_ever(tmp_path, postgres_server):
    ctx = Context(make_settings(tmp_path, postgres_server.create_database()))
    try:
        first = ingest(ctx, make_mail("Question", "Texte falsifié\n", sender=MARIE, message_id=MID),
                       "lmtp").inbox_id
        copy = {}
        real_release = runner.release_held_copy

        def store_copy():
            copy["id"] = ingest(ctx, make_mail("Question", "Le vrai texte de Marie\n", sender=MARIE,
                                               message_id=MID), "lmtp").inbox_id

        def release_then_let_ingest_run(conn, inbox_id):
            released = real_release(conn, inbox_id)
            other = threading.Thread(target=store_copy)
            other.start()
            time.sleep(1.5)  # ingest reads the first copy, then waits on its row lock
            copy["thread"] = other
            return released

        runner.release_held_copy = release_then_let_ingest_run
        try:
            runner._finish(ctx, first, "quarantined", "DMARC : échec")
        finally:
            runner.release_held_copy = real_release
        copy["thread"].join(20)

        with ctx.db.session() as s:
            rows = {r.id: (r.state, r.reason) for r in s.scalars(select(InboxMessage))}
        assert rows[first][0] == "quarantined"
        state, reason = rows[copy["id"]]
        assert not (state in ("dropped", "quarantined") and reason.startswith(COPY_HELD)), \
            f"the copy stays held ({state}: {reason}) behind a first copy that already ended unpublished"
    finally:
        ctx.close()
