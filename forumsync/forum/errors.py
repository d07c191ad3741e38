"""The exceptions the forum gateway raises (importable from ``forumsync.forum.gateway`` too).

Callers catch types, never parse the forum's text: ForumUnavailable is worth retrying later,
ForumRejected (and the typed refusals of ``refusals.py``) is not, ForumPending is a success the
forum holds for its moderators.
"""
from __future__ import annotations


class ForumError(Exception):
    """Base of every error the gateway raises."""

    def __init__(self, message: str, status: int | None = None, errors: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors or []


class ForumUnavailable(ForumError):
    """Transient: timeout, connection refused, 5xx, or rate limited longer than we wait."""


class ForumRejected(ForumError):
    """The forum refused the request (4xx); retrying the same request will not help."""


class ForumNotFound(ForumRejected):
    """404: the object does not exist (or is not visible to this user)."""


class ForumPending(ForumError):
    """The forum accepted the post but holds it for approval (NewPostManager's ``enqueued``
    answer): there is no post, hence no id, until a moderator approves it. Not a refusal:
    posting it again (or as another account) would bypass the category's moderators."""

    def __init__(self, message: str, pending_id: int | None = None, pending_count: int | None = None):
        super().__init__(message, status=200)
        self.pending_id = pending_id
        self.pending_count = pending_count


def access_hint(exc: ForumError) -> str:
    """What an operator should check when the forum refuses the configured account (401/403:
    Discourse's own message, in English, does not name the key), else ""."""
    if exc.status in (401, 403):
        return (" — la clé d'API (FORUM_API_KEY) ou son utilisateur (FORUM_API_USERNAME) n'a pas les "
                "droits d'administration sur le forum : vérifiez-les (« forumsync doctor » les teste)")
    return ""
