"""The forum's members by look-alike key, to tell when a sender borrows a member's name.

Read with ``user_list`` (100 users a request) at most once per ``REFRESH_SECONDS`` and
gateway, so a bulk import does not pay a forum request per message. Only real accounts
count (active, not staged): a staged user is itself someone known by email only.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref

from ..forum.gateway import ForumRejected
from ..mail.lookalike import skeleton

log = logging.getLogger(__name__)

REFRESH_SECONDS = 600.0
MAX_PAGES = 50
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _load(forum) -> dict[str, set[str]]:
    """skeleton of a name or username → the lower-cased emails of the members bearing it."""
    with _lock:
        entry = _cache.get(forum)
    if entry is not None and time.monotonic() - entry[0] < REFRESH_SECONDS:
        return entry[1]
    keys: dict[str, set[str]] = {}
    for page in range(1, MAX_PAGES + 1):
        try:
            users = forum.user_list("active", page)
        except ForumRejected as exc:  # a key without admin rights: mixed scripts still marked
            log.warning("liste des membres illisible (%s) : noms sosies non comparés", exc)
            break
        for user in users:
            if user.get("staged") or not user.get("active", True):
                continue
            email = (user.get("email") or "").lower()
            for label in (user.get("name"), user.get("username")):
                key = skeleton(label or "")
                if key:
                    keys.setdefault(key, set()).add(email)
        if len(users) < 100:
            break
    with _lock:
        _cache[forum] = (time.monotonic(), keys)
    return keys


def forget(forum) -> None:
    with _lock:
        _cache.pop(forum, None)


def borrowed_name(forum, name: str, email: str) -> bool:
    """True when NAME looks like (same key as) a member's name or username and EMAIL is not
    that member's address."""
    key = skeleton(name)
    if not key:
        return False
    owners = _load(forum).get(key)
    return bool(owners) and (email or "").lower() not in owners
