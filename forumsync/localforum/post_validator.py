"""Discourse's PostValidator (lib/validators/post_validator.rb) beyond the lengths
(``post_rules``), for the doors that validate: the core API and the local forum's own UI.
The plugin's door creates posts with ``skip_validations`` and never comes here.

PostValidator#validate returns after ``presence`` for a staged acting user, so every check
below spares staged users; each names its own other exemptions (staff, mostly).
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from . import sitesettings
from .models import UniquePostKey, User, utcnow

JUST_POSTED_THAT = "Body is too similar to what you recently posted"  # server.en.yml just_posted_that


def unique_post_key(user_id: int, raw: str, private: bool) -> str:
    """Post#unique_post_key: ``unique[-pm]-post-{user_id}:{raw_hash}``, raw_hash the SHA1 of
    the raw as stored (PostCreator#setup_post normalised it: ``raw_form.stored_raw``)."""
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()
    return f"unique{'-pm' if private else ''}-post-{user_id}:{digest}"


def unique_post_errors(session, acting_user: User | None, author_id: int, raw: str,
                       private: bool, post_id: int | None = None) -> list[str]:
    """PostValidator#unique_post_validator: off when ``unique_posts_mins`` is 0; staff (and
    staged users) exempt; a blank raw is presence's business; else refused while the author's
    key for this raw holds another post's id (Post#matches_recent_post?). Runs on edits too
    (PostRevisor saves with validation; the key is the author's, the exemption the editor's)."""
    if sitesettings.get(session, "unique_posts_mins") == 0 or acting_user is None \
            or acting_user.staff or acting_user.staged or not raw.strip():
        return []
    row = session.get(UniquePostKey, unique_post_key(author_id, raw, private))
    if row is None or row.expires_at <= utcnow() or row.post_id == post_id:
        return []
    return [JUST_POSTED_THAT]


def store_unique_post_key(session, post, private: bool) -> None:
    """Post#store_unique_post_key, called by PostCreator#create for every post it creates
    (skip_validations or not, staff or not): SETEX key unique_posts_mins post.id."""
    minutes = sitesettings.get(session, "unique_posts_mins")
    if minutes <= 0:
        return
    key = unique_post_key(post.user_id, post.raw, private)
    row = session.get(UniquePostKey, key)
    if row is None:
        row = UniquePostKey(key=key)
        session.add(row)
    row.post_id = post.id
    row.expires_at = utcnow() + timedelta(minutes=minutes)
