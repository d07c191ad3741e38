"""Context: what every stage, worker task and command shares (settings, database, forum client)."""
from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from .db import Database


class Context:
    """Built once per process by a command (or a test) and passed down explicitly."""

    def __init__(self, settings: Settings, db: Database | None = None, migrate: bool = True):
        self.settings = settings
        self._db = db
        self._migrate = migrate
        self.log = logging.getLogger("forumsync")

    @cached_property
    def db(self) -> Database:
        from .db import open_database  # (SQLAlchemy: imported by the first command that needs it)

        return self._db or open_database(self.settings, migrate=self._migrate)

    @cached_property
    def forum(self):
        """The one Discourse client (forumsync.forum.gateway.ForumGateway)."""
        from .forum.gateway import ForumGateway
        from .forum.pacing import pacer_for

        gateway = ForumGateway.from_settings(self.settings)
        gateway.pacer = pacer_for(self)  # one request budget for every process on this database
        return gateway

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
