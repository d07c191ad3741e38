"""Storage works on SQLite and PostgreSQL: migrations apply twice, constraints hold."""
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from forumsync.models import InboxMessage, get_state, set_state


def test_migrations_are_idempotent(db):
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"inbox_message", "outbox_mail", "post_link", "topic_link", "webhook_event"} <= tables


def test_unique_message_id(db):
    with db.session() as s:
        s.add(InboxMessage(message_id="a@b", channel="stdin", raw=b"x"))
    with pytest.raises(IntegrityError):
        with db.session() as s:
            s.add(InboxMessage(message_id="a@b", channel="lmtp", raw=b"y"))


def test_state_values_roundtrip_and_timezones(db):
    with db.session() as s:
        set_state(s, "k", {"n": 1, "é": "à"})
    with db.session() as s:
        assert get_state(s, "k") == {"n": 1, "é": "à"}
        row = s.get(InboxMessage, 1)
        assert row is None
        s.add(InboxMessage(message_id="m", channel="http", raw=b"\x00\xff"))
    with db.session() as s:
        msg = s.query(InboxMessage).one()
        assert msg.raw == b"\x00\xff" and msg.received_at.tzinfo is not None


def test_sqlite_pragmas(tmp_path):
    from forumsync.db import Database

    database = Database(f"sqlite:///{tmp_path}/p.sqlite3")
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_migrations_build_exactly_the_models_schema(db):
    """Each model change comes with its Alembic revision: nothing left to autogenerate."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from forumsync.models import Base

    db.migrate()
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
