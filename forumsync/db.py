"""Database engine, sessions and migrations.

SQLite is the embedded default (WAL, foreign keys, busy timeout so a second process waits
instead of failing); PostgreSQL 15 is supported. The schema is managed by Alembic and
migrated by the commands that need the database (``open_database(..., migrate=True)``).
"""
from __future__ import annotations

import logging

import contextlib
import threading
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision(s) of forumsync/migrations (tests/test_db.py checks them against
# Alembic's own reading): a database already there is known without importing Alembic, whose
# script directory costs ~11 MB and ~0.1 s in every process (it loads Mako and Pygments).
SCHEMA_HEADS = frozenset({"0009"})
VERSION_TABLE = "alembic_version"  # Alembic's default
SQLITE_BUSY_TIMEOUT_MS = 15000


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None: not SQLite, or in memory)."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url[len("sqlite:///"):])
    return None


def create_db_engine(url: str) -> Engine:
    """An engine with the connection settings forumsync relies on."""
    if url.startswith("sqlite"):
        if sqlite_file(url) is not None:
            sqlite_file(url).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy emit BEGIN itself so "BEGIN IMMEDIATE" can take the write lock early.
        event.listen(engine, "begin", _begin_immediate)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True)


def _begin_immediate(conn) -> None:
    """Every SQLite transaction takes the write lock at its start. Sent to the driver
    directly: through ``exec_driver_sql`` (statement events, cursor wrapping, result object)
    this one statement cost as much as the rest of a short transaction; the inbox pipeline
    opens several per message."""
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, _record):
    dbapi_conn.isolation_level = None  # autocommit at the driver: SQLAlchemy's "begin" hook starts transactions
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_db_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._held = threading.local()  # this thread's connection while ``holding``

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def session(self) -> Session:
        """A session in a transaction, committed on success, rolled back on error (on this
        thread's held connection while ``holding``, as ``connection``)."""
        held = self._take_held()
        try:
            with (self.sessionmaker(bind=held) if held is not None else self.sessionmaker()) as session:
                with session.begin():
                    yield session
        finally:
            if held is not None:
                self._give_back_held(held)

    def connection(self):
        """A Core connection in a transaction, committed on success, rolled back on error.

        For per-message hot paths (the inbox pipeline): with prebuilt statements it costs a
        fraction of a session, whose ORM layer does nothing for plain column reads. While
        this thread is ``holding``, its held connection (when no other transaction of this
        thread has it)."""
        held = self._take_held()
        return self._transaction_on(held) if held is not None else self.engine.begin()

    @contextlib.contextmanager
    def _transaction_on(self, held):
        """HELD in a transaction (as ``Engine.begin`` gives one), kept open after it."""
        try:
            with held.begin():
                yield held
        finally:
            self._give_back_held(held)

    def _take_held(self):
        """This thread's held connection for one transaction, or None: none held, or another
        ``session()``/``connection()`` of this thread has it (even one that has not run a
        statement yet: a session opened first and used inside a later one would otherwise
        join that one's transaction, and lose its writes with it: red team, 42nd pass)."""
        state = self._held
        held = getattr(state, "connection", None)
        if held is None or getattr(state, "busy", False) or held.invalidated or held.in_transaction():
            return None
        state.busy = True
        return held

    def _give_back_held(self, held) -> None:
        """After a transaction on HELD: a COMMIT that failed (a deferred constraint, a full
        disk) leaves SQLite inside the transaction, holding the write lock, while SQLAlchemy
        counts it over. The pool rolls a connection back when it is returned; the held
        connection is not returned, so it is rolled back here (red team, 42nd pass)."""
        self._held.busy = False
        if held.invalidated:
            return
        raw = held.connection.dbapi_connection
        if raw is not None and raw.in_transaction and not held.in_transaction():
            raw.rollback()

    @contextlib.contextmanager
    def holding(self):
        """Within this block, this thread's ``connection()`` transactions run on one connection
        kept out of the pool (SQLite only). Taking a connection from the pool and giving it
        back cost as much as a short transaction's statements, and the inbox pipeline opens
        three or four per message. Not for PostgreSQL: there each transaction's checkout
        checks the connection is alive (``pool_pre_ping``)."""
        if not self.is_sqlite or getattr(self._held, "connection", None) is not None:
            yield
            return
        connection = self.engine.connect()
        self._held.connection = connection
        try:
            yield
        finally:
            self._held.connection = None
            connection.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (one query when it is there already:
        every command and test opens a database, and Alembic costs far more)."""
        with self.engine.begin() as connection:
            if stored_revisions(connection) == SCHEMA_HEADS:
                return
            from alembic import command

            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def stored_revisions(connection) -> frozenset[str]:
    """The revisions Alembic recorded in this database (none in a new one): its
    ``alembic_version`` table, read as Alembic's ``MigrationContext.get_current_heads`` does."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    return frozenset(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def script_heads() -> frozenset[str]:
    """The newest revision(s) of forumsync/migrations as Alembic reads them (what
    SCHEMA_HEADS must say)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class DatabaseUnavailable(OSError):
    """The database could not be opened or migrated (down, unreachable, a path that cannot be
    created): commands say so in French (``cli``) rather than show a traceback. An OSError, so
    that whatever treats a storage failure as « try again later » (HTTP intake: 503, deliver:
    EX_TEMPFAIL) still does."""


def open_database(settings, migrate: bool = True) -> Database:
    from sqlalchemy.exc import SQLAlchemyError

    new_file = sqlite_file(settings.DATABASE_URL)
    if new_file is not None and new_file.exists():
        new_file = None
    try:
        db = Database(settings.DATABASE_URL)
        if migrate:
            db.migrate()
    except (OSError, SQLAlchemyError) as exc:
        raise DatabaseUnavailable(unavailable_reason(exc)) from exc
    if new_file is not None and new_file.exists():
        # The first run needs it created; a mistyped DATABASE_URL must be seen at once, not as
        # mail landing in a database nobody reads (operator review).
        logging.getLogger("forumsync.db").warning(
            "Note : nouvelle base forumsync créée à %s (DATABASE_URL) ; si ce n'est pas la "
            "première utilisation, vérifiez le chemin.", new_file.resolve())
    return db


def unavailable_reason(exc: BaseException) -> str:
    """The first line of what the driver said, with the exception's name (no traceback)."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0][:300]
    return f"{cause.__class__.__name__} : {first}" if first else cause.__class__.__name__
