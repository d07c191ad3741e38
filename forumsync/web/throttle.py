"""Dashboard login throttling: at most MAX_ATTEMPTS password attempts per client address in a
sliding WINDOW; a successful login clears the address's count.

Durable (one ``state_value`` row per attempt, keyed by the address's hash): the count survives
a restart and is shared by every web process on the same database, so restarting the service
or spreading requests over processes buys an attacker nothing. Each attempt is written
*before* the password is checked and counted after, so concurrent requests cannot all slip
under the limit together (when they race, they are all refused, never all allowed).
The password form has one account, so the key is the client address alone; behind a reverse
proxy that address is the proxy's (one shared budget: the safe side). SSO is not throttled here
(the forum throttles its own logins).
"""
from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select

from ..models import StateValue, utcnow

MAX_ATTEMPTS = 5
WINDOW = timedelta(minutes=15)
PREFIX = "dashboard:login-attempt:"


def _client_prefix(client: str) -> str:
    return PREFIX + hashlib.sha256((client or "?").encode("utf-8")).hexdigest()[:32] + ":"


def begin_attempt(db, client: str) -> tuple[str | None, int]:
    """Record an attempt for CLIENT. Returns (attempt key, 0) when the password may be checked,
    else (None, seconds to wait) and the attempt is not counted."""
    prefix = _client_prefix(client)
    key = prefix + secrets.token_hex(8)
    now = utcnow()
    with db.session() as session:
        session.execute(delete(StateValue).where(StateValue.key.startswith(prefix),
                                                 StateValue.updated_at < now - WINDOW))
        session.add(StateValue(key=key, value={"at": now.isoformat()}, updated_at=now))
    with db.session() as session:
        count, oldest = session.execute(
            select(func.count(StateValue.key), func.min(StateValue.updated_at))
            .where(StateValue.key.startswith(prefix), StateValue.updated_at >= now - WINDOW)).one()
        if count <= MAX_ATTEMPTS:
            return key, 0
        session.execute(delete(StateValue).where(StateValue.key == key))
    wait = (oldest + WINDOW - now).total_seconds() if oldest is not None else WINDOW.total_seconds()
    return None, max(1, math.ceil(wait))


def succeeded(db, client: str) -> None:
    """The right password: the address starts afresh."""
    with db.session() as session:
        session.execute(delete(StateValue).where(StateValue.key.startswith(_client_prefix(client))))


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Trop de tentatives de connexion depuis votre adresse : réessayez dans {minutes} "
            f"minute{'s' if minutes > 1 else ''}.")
