"""Attachments uploaded once: the same file (by SHA-1) is reused instead of sent again.

Two ways to the forum: ``upload`` (POST /uploads.json, one call per file) or ``reference``
(the file travels in the post's own request through the plugin, see ``attach``).

List mail repeats files: logos in signatures, a PDF forwarded twice, a message composed again
after the forum refused a first version. Discourse keeps a single upload per SHA-1 anyway, so
asking again only costs a write call. A remembered upload is reused for a day, well inside the
grace period before Discourse may clean an upload that no post references.
"""
from __future__ import annotations

import hashlib
import threading
import time
import weakref

REUSE_SECONDS = 24 * 3600
_known: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # gateway → {sha1: (at, upload)}
_lock = threading.Lock()


def upload(forum, filename: str, data: bytes, content_type: str | None) -> dict:
    """The forum's upload for DATA: a recent identical one, or a new upload."""
    digest = hashlib.sha1(data).hexdigest()
    now = time.monotonic()
    with _lock:
        known = _known.setdefault(forum, {})
        hit = known.get(digest)
    if hit is not None and now - hit[0] < REUSE_SECONDS:
        return hit[1]
    answer = forum.upload_create(filename, data, content_type)
    with _lock:
        known[digest] = (now, answer)
    return answer


def reference(forum, files: list, filename: str, data: bytes, content_type: str | None) -> str:
    """The URL to write in the post for DATA sent with the post itself: a recent upload's
    short URL, else ``forumsync-file:N`` with the file appended to FILES (once per content)."""
    digest = hashlib.sha1(data).hexdigest()
    with _lock:
        hit = _known.get(forum, {}).get(digest)
    if hit is not None and time.monotonic() - hit[0] < REUSE_SECONDS:
        return hit[1].get("short_url") or hit[1].get("url")
    for index, (_name, sent, _type) in enumerate(files):
        if sent == data:
            return f"forumsync-file:{index}"
    files.append((filename, data, content_type))
    return f"forumsync-file:{len(files) - 1}"
