"""Users of the local forum: lookups, creation (Discourse's messages on taken names) and the
automatic groups a new user joins."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select

from . import prepared
from .errors import invalid
from .models import GroupUser, User

USERNAME = re.compile(r"[\w.-]{2,60}")


# built once (prepared.py): every post looks its sender up
_BY_USERNAME = select(User).where(func.lower(User.username) == prepared.value("lower"))
_BY_EMAIL = select(User).where(func.lower(User.email) == prepared.value("lower"))
USER_ID_NAMED = select(User.id).where(func.lower(User.username) == prepared.value("lower"))
_USER_ID_OF_EMAIL = select(User.id).where(func.lower(User.email) == prepared.value("lower"))


def user_by_username(session, username: str) -> User | None:
    return session.scalar(_BY_USERNAME, {"lower": (username or "").lower()})


def user_by_email(session, email: str) -> User | None:
    return session.scalar(_BY_EMAIL, {"lower": (email or "").strip().lower()})


def user_by_external_id(session, external_id: str) -> User | None:
    return session.scalar(select(User).where(User.external_id == external_id))


def unique_username(session, base: str) -> str:
    base = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFKD", base).encode("ascii", "ignore")
                  .decode()).strip("._-")[:50] or "user"
    if len(base) < 2:
        base = base + "1"
    candidate, n = base, 1
    while user_by_username(session, candidate) is not None:
        n += 1
        candidate = f"{base}{n}"
    return candidate


def create_user(session, username: str, email: str, name: str | None = None, *,
                password: str | None = None, active: bool = True, approved: bool = True,
                admin: bool = False, moderator: bool = False, staged: bool = False,
                external_id: str | None = None, trust_level: int = 1) -> User:
    """A new user; raises ApiError(422) with Discourse's messages on taken username/email."""
    errors = []
    if not username or not USERNAME.fullmatch(username):
        errors.append("Username must only include numbers, letters, dashes, dots, and underscores")
    elif prepared.scalar(session, USER_ID_NAMED, lower=username.lower()) is not None:
        errors.append("Username must be unique")
    if not email or "@" not in email:
        errors.append("Primary email is invalid.")
    elif prepared.scalar(session, _USER_ID_OF_EMAIL, lower=email.strip().lower()) is not None:
        errors.append("Primary email has already been taken")
    if errors:
        raise invalid(errors)
    user = User(username=username, email=email.strip().lower(), name=name, password=password,
                active=active and not staged, approved=approved, admin=admin,
                moderator=moderator, staged=staged, external_id=external_id,
                trust_level=0 if staged else trust_level)
    session.add(user)
    session.flush()
    _join_automatic_groups(session, user)
    return user


def _join_automatic_groups(session, user: User) -> None:
    gids = [10 + level for level in range(user.trust_level + 1)]
    if user.admin:
        gids += [1, 3]
    if user.moderator:
        gids += [2, 3]
    prepared.insert(session, GroupUser, *({"group_id": gid, "user_id": user.id}
                                          for gid in sorted(set(gids))))


def staged_user_for_email(session, email: str, name: str | None = None) -> User:
    """The user owning EMAIL, or a new staged user made by Discourse's rules for incoming mail
    (staged_users.find_or_create: raises staged_users.SenderRefused)."""
    from . import staged_users

    return staged_users.find_or_create(session, email, name)[0]


