"""Statements built once, run with their values: the local forum's per-post lookups.

A ``select(...)`` built per call costs SQLAlchemy its construction and its cache key
(~100 µs, more than SQLite's own work on these indexed lookups); a statement built at import
keeps its key. Lookups that read columns (no rows of a model) run on the session's
connection, without the ORM's result machinery: ``scalar``, ``scalars`` and ``first`` flush
the session first when it autoflushes, as ``session.scalar`` does, so they read the same rows.
"""
from __future__ import annotations

from sqlalchemy import bindparam


def value(name: str):
    """A named value given when the statement runs (``bindparam`` without a default)."""
    return bindparam(name)


def _connection(session):
    if session.autoflush:
        session.flush()  # returns at once when nothing is pending
    return session.connection()


def scalar(session, statement, **values):
    """The first column of the first row (None when no row), like ``session.scalar``."""
    return _connection(session).execute(statement, values).scalar()


def scalars(session, statement, **values) -> list:
    """The first column of every row."""
    return list(_connection(session).execute(statement, values).scalars())


def first(session, statement, **values):
    """The first row (a tuple-like Row), or None."""
    return _connection(session).execute(statement, values).first()


def insert(session, model, *rows: dict):
    """Insert ROWS of MODEL's table now, in their order, as Core does (column defaults
    applied, no ORM object made, none to flush later): for rows the request only writes.
    Returns the primary key of a single row (None for several)."""
    if not rows:
        return None
    if len(rows) == 1:
        return session.connection().execute(model.__table__.insert(), rows[0]).inserted_primary_key[0]
    session.connection().execute(model.__table__.insert(), list(rows))
    return None
