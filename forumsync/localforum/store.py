"""The local forum's database: engine, sessions, default rows.

The rules live in one module per resource (``users``, ``groups``, ``categories``,
``guardian``, ``topics``, ``posts``, ``tags``, ``uploads``, ``webhook_events``,
``sitesettings``, ``staged_users``); the HTTP views, the HTML UI, the test fixture and the
plugin endpoints all go through them, so permissions, validation and webhooks behave the
same whichever door a change comes through. The names re-exported below keep
``store.create_post(…)`` and the like working for callers outside the local forum.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..db import create_db_engine
from .models import Base, Category, Group
from .serialize_common import AUTOMATIC_GROUPS

# Re-exports: the public functions of the resource modules, for callers outside localforum.
from .categories import (ABOUT_PLACEHOLDER, ABOUT_TITLE, category_by_slug,  # noqa: F401
                         category_description_from, create_category, delete_category,
                         update_category)
from .groups import (add_group_members, create_group, group_by_id_or_name,  # noqa: F401
                     group_by_name, remove_group_members, update_group, user_group_names)
from .guardian import can_see_topic, category_permission, is_category_moderator  # noqa: F401
from .parsing import parse_time, slugify  # noqa: F401
from .post_rules import REGULAR, SMALL_ACTION, WHISPER, stripped_length_value  # noqa: F401
from .posts import EXTERNAL_ID, create_post, delete_post, get_post, update_post  # noqa: F401
from .topics import (STATUSES, delete_topic, get_topic, move_posts,  # noqa: F401
                     set_topic_status, topic_by_external_id, update_topic)
from .uploads import cook_for, create_upload, resolve_upload  # noqa: F401
from .users import (USERNAME, create_user, staged_user_for_email, unique_username,  # noqa: F401
                    user_by_email, user_by_external_id, user_by_username)
from .webhook_events import queue_event  # noqa: F401


class LocalForumStore:
    """Engine + sessions of the local forum's SQLite file; creates tables on first use."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_db_engine(url)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
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


def _add_missing_columns(engine) -> None:
    """A local forum file made by an older version gets the columns added since (nullable
    ones: the local forum has no migrations, its data is demo/test data)."""
    from sqlalchemy import inspect, text

    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(engine.dialect)
                    connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))


def ensure_defaults(session: Session) -> None:
    """Discourse's automatic groups and the Uncategorized category."""
    for gid, name in AUTOMATIC_GROUPS.items():
        if session.get(Group, gid) is None:
            session.add(Group(id=gid, name=name, automatic=True))
    if session.scalar(select(func.count(Category.id))) == 0:
        session.add(Category(id=1, name="Uncategorized", slug="uncategorized", color="0088CC",
                             permissions={"everyone": 1}, position=0))
    session.flush()


