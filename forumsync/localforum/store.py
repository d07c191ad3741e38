"""The local forum's database: engine, sessions, default rows.

The rules live in one module per resource (``users``, ``groups``, ``categories``,
``guardian``, ``topics``, ``posts``, ``tags``, ``uploads``, ``webhook_events``,
``sitesettings``, ``staged_users``); the HTTP views, the HTML UI, the test fixture and the
plugin endpoints all go through them, so permissions, validation and webhooks behave the
same whichever door a change comes through: import them from their module, not from here.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from ..db import create_db_engine
from .models import Base, Category, Group
from .serialize_common import AUTOMATIC_GROUPS


class LocalForumStore:
    """Engine + sessions of the local forum's SQLite file; creates tables on first use."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_db_engine(url)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "loaded_as_persistent", _hold)
        self.commit_hooks: list[Callable[[], None]] = []
        with self.session() as session:
            ensure_defaults(session)

    @contextlib.contextmanager
    def session(self) -> Iterable[Session]:
        """A committed transaction; commit hooks (webhook wake-up) run after it."""
        with self.sessionmaker() as session:
            with session.begin():
                yield session
            queued = session.info.pop("webhook_queued", False)
        if queued:  # only a new webhook wakes the deliverer, not every request
            for hook in list(self.commit_hooks):
                hook()

    def dispose(self) -> None:
        self.engine.dispose()


_HELD = "localforum.held"


def _hold(session: Session, instance) -> None:
    """Keep every row a session loads until the session ends. SQLAlchemy's identity map
    holds rows weakly: a topic looked up for a check and dropped was read again by the next
    lookup (three reads of the same topic per batched reply, the category and the author
    again for the alerts and the webhook). One transaction sees one state of its rows, so
    the reads it saves could not have seen anything new."""
    session.info.setdefault(_HELD, []).append(instance)


def _add_missing_columns(engine) -> None:
    """A local forum file made by an older version gets the columns and indexes added since
    (nullable columns: the local forum has no migrations, its data is demo/test data)."""
    from sqlalchemy import inspect, text
    from sqlalchemy.schema import CreateIndex

    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(engine.dialect)
                    connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))
            for index in table.indexes:  # the inspector does not list expression indexes
                connection.execute(CreateIndex(index, if_not_exists=True))


def ensure_defaults(session: Session) -> None:
    """Discourse's automatic groups and the Uncategorized category."""
    for gid, name in AUTOMATIC_GROUPS.items():
        if session.get(Group, gid) is None:
            session.add(Group(id=gid, name=name, automatic=True))
    if session.scalar(select(func.count(Category.id))) == 0:
        session.add(Category(id=1, name="Uncategorized", slug="uncategorized", color="0088CC",
                             permissions={"everyone": 1}, position=0))
    session.flush()


