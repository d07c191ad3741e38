"""Forum facts that change rarely, read once and kept on the gateway (one home, no module caches).

One ``ForumFacts`` per gateway, shared by the clones ``as_user`` makes, and always read through
the gateway that made it (the configured account, never a user's narrower view):

- the category list (``categories``): read once, re-read only when a caller asks to
  (``refresh=True``, at most every ``LIST_REFRESH_SECONDS``: a category created meanwhile);
- one category as the forum shows it (``category_shown``, GET /c/{id}/show.json, with its
  ``group_permissions``): kept ``SHOWN_SECONDS`` (or the caller's ``max_age``) unless asked
  ``fresh`` (permissions checked right before sending);
- derived facts a pipeline module computes from the forum (``remember``: members' names,
  category leads), each with its own lifetime.

A category written through the gateway, or a category webhook event, drops the category facts
(``invalidate_categories``). A new gateway starts empty: tests need not reset anything.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from .errors import ForumRejected

LIST_REFRESH_SECONDS = 30.0
SHOWN_SECONDS = 30.0


class ForumFacts:
    """The cached facts of one forum connection (see the module docstring)."""

    def __init__(self, gateway):
        self._gateway = gateway
        self._lock = threading.Lock()
        self._list: tuple[float, list[dict], dict[int, dict]] | None = None  # read_at, list, by id
        self._shown: dict[int, tuple[float, dict | None]] = {}  # id → (read_at, category or None)
        self._derived: dict[str, tuple[float, Any]] = {}  # name → (read_at, value)

    # ------------------------------------------------------------------ category list
    def _entry(self, refresh: bool = False):
        with self._lock:
            entry = self._list
        if entry is None or (refresh and time.monotonic() - entry[0] > LIST_REFRESH_SECONDS):
            listed = self._gateway.category_list()
            entry = (time.monotonic(), listed, {c["id"]: c for c in listed})
            with self._lock:
                self._list = entry
        return entry

    def categories(self, refresh: bool = False) -> list[dict]:
        """Every category (``category_list``), flat; REFRESH re-reads a list older than
        LIST_REFRESH_SECONDS. A new list each call (the dicts are shared: read, don't write)."""
        return list(self._entry(refresh)[1])

    def category_by_id(self, category_id: int | None) -> dict | None:
        """The listed category CATEGORY_ID; a missing id re-reads the list (rate-limited) once."""
        if category_id is None:
            return None
        found = self._entry()[2].get(category_id)
        if found is None:
            found = self._entry(refresh=True)[2].get(category_id)
        return found

    def category_by_slug(self, slug: str, parent_category_id: int | None = None) -> dict | None:
        """The listed category SLUG under PARENT_CATEGORY_ID (None: a top-level category); a
        missing slug re-reads the list (rate-limited) once."""
        for refresh in (False, True):
            for category in self.categories(refresh):
                if category.get("slug") == slug and \
                        (category.get("parent_category_id") or None) == parent_category_id:
                    return category
        return None

    # ------------------------------------------------------------------ one category, shown
    def category_shown(self, category_id: int, fresh: bool = False,
                       max_age: float = SHOWN_SECONDS) -> dict | None:
        """GET /c/{id}/show.json's category, read at most MAX_AGE seconds ago unless FRESH;
        None when the forum will not show it to the gateway's account (403/404, remembered as
        well). ForumUnavailable propagates (nothing is remembered)."""
        key = int(category_id)
        now = time.monotonic()
        with self._lock:
            cached = self._shown.get(key)
        if not fresh and cached is not None and now - cached[0] < max_age:
            return cached[1]
        try:
            category = self._gateway.category_get(key)
        except ForumRejected:
            category = None
        with self._lock:
            self._shown[key] = (now, category)
        return category

    def invalidate_categories(self) -> None:
        """Forget every category fact (a category was written, or the forum says one changed)."""
        with self._lock:
            self._list = None
            self._shown.clear()

    # ------------------------------------------------------------------ derived facts
    def remember(self, name: str, seconds: float, compute: Callable[[Any], Any]) -> Any:
        """COMPUTE(gateway)'s value, kept SECONDS under NAME (computed again once older).
        COMPUTE reads through the gateway that made these facts, never through the clone that
        asked: a fact one user's narrower view computed would be kept for everyone (a clone
        acting as a member read the plugin's capabilities as absent, red-team pass 12)."""
        with self._lock:
            entry = self._derived.get(name)
        if entry is not None and time.monotonic() - entry[0] < seconds:
            return entry[1]
        value = compute(self._gateway)
        with self._lock:
            self._derived[name] = (time.monotonic(), value)
        return value

    def forget(self, name: str | None = None) -> None:
        """Drop the derived fact NAME (every derived fact when None)."""
        with self._lock:
            if name is None:
                self._derived.clear()
            else:
                self._derived.pop(name, None)
