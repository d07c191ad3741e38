"""Attachments uploaded once: the same file (by SHA-1) is reused instead of sent again.

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
