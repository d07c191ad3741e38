"""Storage works on SQLite and PostgreSQL: migrations apply twice, constraints hold."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect, select, text
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


def test_migrations_build_exactly_the_models_schema(fresh_db_url):
    """Each model change comes with its Alembic revision: nothing left to autogenerate."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from forumsync.db import Database
    from forumsync.models import Base

    db = Database(fresh_db_url)
    try:
        db.migrate()  # from an empty database
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        db.dispose()
    assert differences == []


def test_schema_heads_are_the_newest_migrations():
    """db.SCHEMA_HEADS, how a database already migrated is known without Alembic, names
    what Alembic reads as the newest revisions."""
    from forumsync.db import SCHEMA_HEADS, script_heads

    assert SCHEMA_HEADS == script_heads(), "a new migration: set forumsync.db.SCHEMA_HEADS to its revision"


def test_an_older_schema_is_migrated_and_a_current_one_read_without_alembic(fresh_db_url):
    """A database at an older revision is brought to the newest; one already there is read
    without importing Alembic (a fresh process opening it loads neither Alembic nor Mako)."""
    import subprocess
    import sys

    from alembic import command

    from forumsync.db import SCHEMA_HEADS, Database, alembic_config, stored_revisions

    database = Database(fresh_db_url)
    try:
        with database.engine.begin() as connection:
            assert stored_revisions(connection) == frozenset()
            config = alembic_config(fresh_db_url)
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
        with database.engine.connect() as connection:
            assert stored_revisions(connection) == {"0006"} != SCHEMA_HEADS
        database.migrate()
        with database.engine.connect() as connection:
            assert stored_revisions(connection) == SCHEMA_HEADS
    finally:
        database.dispose()
    probe = ("import sys\nfrom forumsync.db import Database\ndb = Database(sys.argv[1])\ndb.migrate()\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako', 'pygments'}))")
    done = subprocess.run([sys.executable, "-c", probe, fresh_db_url], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_inbox_raw_apart_migration_keeps_the_raw_bytes(fresh_db_url):
    """Revision 0003 moves each mail's bytes from inbox_message.raw to inbox_raw, none lost,
    and 0003's downgrade puts them back."""
    from alembic import command

    from forumsync.db import Database, alembic_config

    raw = b"Subject: avant 0003\r\n\r\n\x00\xff" + b"x" * 70000
    db_url = fresh_db_url
    database = Database(db_url)
    try:
        def upgrade_or_downgrade(action, revision):
            with database.engine.begin() as connection:
                config = alembic_config(db_url)
                config.attributes["connection"] = connection
                action(config, revision)

        upgrade_or_downgrade(command.upgrade, "0002")
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO inbox_message (message_id, channel, raw, size, subject, sender, "
                              "received_at, state, reason, attempts, meta) VALUES ('old@x', 'lmtp', :raw, "
                              ":size, 'avant 0003', 'a@x', :now, 'quarantined', 'r', 2, '{}')"),
                         {"raw": raw, "size": len(raw), "now": datetime.now(timezone.utc)})
        upgrade_or_downgrade(command.upgrade, "head")
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT raw FROM inbox_raw")).scalars().all() == [raw]
        with database.session() as s:
            row = s.scalar(select(InboxMessage).where(InboxMessage.message_id == "old@x"))
            assert row.raw == raw and row.state == "quarantined" and row.attempts == 2
            s.delete(row)
            s.add(InboxMessage(message_id="new@x", channel="http", raw=b"nouveau"))
        with database.engine.connect() as conn:  # deleting a row deleted its bytes
            assert conn.execute(text("SELECT raw FROM inbox_raw")).scalars().all() == [b"nouveau"]
        upgrade_or_downgrade(command.downgrade, "0002")
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT raw FROM inbox_message")).scalars().all() == [b"nouveau"]
            assert "inbox_raw" not in inspect(conn).get_table_names()
    finally:
        database.dispose()


def test_deleting_an_inbox_row_deletes_its_raw_bytes(db):
    with db.session() as s:
        s.add(InboxMessage(message_id="a@b", channel="stdin", raw=b"x"))
    with db.engine.begin() as conn:  # a plain DELETE too (ON DELETE CASCADE)
        conn.execute(text("DELETE FROM inbox_message"))
        assert conn.execute(text("SELECT count(*) FROM inbox_raw")).scalar() == 0


def test_a_sqlite_transaction_holds_the_write_lock_from_its_start(tmp_path):
    """``Database.connection()`` begins with BEGIN IMMEDIATE (sent to the driver directly):
    even before it writes, another writer cannot begin, and a read-only one still reads."""
    import sqlite3

    from sqlalchemy import literal

    from forumsync.db import Database

    database = Database(f"sqlite:///{tmp_path}/lock.sqlite3")
    database.migrate()
    other = sqlite3.connect(tmp_path / "lock.sqlite3", timeout=0, isolation_level=None)
    with database.connection() as conn:
        assert conn.execute(select(literal(1))).scalar() == 1  # no write yet
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM inbox_message").fetchone() is not None
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.execute("ROLLBACK")


def test_holding_runs_this_threads_transactions_on_one_connection(db):
    """``Database.holding()`` (the worker's ``run_pending``): on SQLite, the short transactions
    of ``connection()`` and ``session()`` run on one connection kept out of the pool; each
    still commits or rolls back on its own, another thread takes its own connection, and the
    connection goes back to the pool at the end. PostgreSQL holds nothing."""
    import threading

    def raw(conn):
        return conn.connection.dbapi_connection

    with db.holding():
        with db.session() as session:
            set_state(session, "a", 1)
            held = raw(session.connection())
        with pytest.raises(RuntimeError):
            with db.session() as session:
                set_state(session, "b", 2)
                session.flush()
                assert raw(session.connection()) is held or not db.is_sqlite
                raise RuntimeError("boom")
        assert db.engine.pool.checkedout() == (1 if db.is_sqlite else 0)  # held, or back in the pool
        with db.connection() as conn:
            assert raw(conn) is held or not db.is_sqlite
            conn.execute(text("UPDATE state_value SET value = '3' WHERE key = 'a'"))
        seen = []

        def other_thread():
            with db.connection() as other:
                seen.append((raw(other) is held,  # (PostgreSQL: the pool's same one, free again)
                             set(other.execute(text("SELECT key FROM state_value")).scalars())))

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen == [(not db.is_sqlite, {"a"})]  # its own connection; "a" committed, "b" rolled back
    with db.session() as session:
        assert get_state(session, "a") == 3 and get_state(session, "b") is None
    assert db.engine.pool.checkedout() == 0


def _failing_commit(db) -> None:
    """A transaction whose COMMIT fails: a deferred foreign key (a full disk does the same)."""
    with pytest.raises(IntegrityError):
        with db.connection() as conn:
            conn.execute(text("INSERT INTO rt_child (parent) VALUES (99)"))


def test_a_failed_commit_on_the_held_connection_leaves_no_transaction_behind(db):
    """Red team, 42nd pass: after a COMMIT that failed, SQLite stays inside the transaction
    (and holds the write lock) while SQLAlchemy counts it over; the pool would roll the
    connection back when given back, the held one must be rolled back too: other processes
    can write again at once, and this thread's next transaction starts."""
    import sqlite3

    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE rt_parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE rt_child (id INTEGER PRIMARY KEY, parent INTEGER "
                          "REFERENCES rt_parent (id) DEFERRABLE INITIALLY DEFERRED)"))
    with db.holding():
        _failing_commit(db)
        if db.is_sqlite:  # another process (the LMTP intake) may take the write lock
            other = sqlite3.connect(db.url[len("sqlite:///"):], timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
        with db.session() as session:
            set_state(session, "after", 1)
    with db.session() as session:
        assert get_state(session, "after") == 1


def test_the_held_connection_serves_one_transaction_of_the_thread_at_a_time(db):
    """Red team, 42nd pass: a session opened first, used only inside a later transaction,
    ran in that one's transaction on the held connection (it was still free: no statement
    yet), and lost its writes when that one rolled back, its own commit saying nothing. The
    held connection now belongs to the first session until it ends: the later transaction
    takes a connection of its own, as it would without ``holding`` (on SQLite it then waits
    for the write lock, loudly, instead of joining)."""
    with db.holding():
        with db.session() as outer:  # no statement yet
            with db.connection() as inner:
                assert inner is not outer.get_bind()
                inner.execute(text("SELECT 1"))
            set_state(outer, "outer", 1)
        with db.connection() as after:  # free again once the session ended
            assert after is outer.get_bind() or not db.is_sqlite
    with db.session() as session:
        assert get_state(session, "outer") == 1
