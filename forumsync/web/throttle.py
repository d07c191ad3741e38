"""Dashboard login throttling: at most MAX_ATTEMPTS password attempts per client network in
a sliding WINDOW (an IPv4 address, an IPv6 /64: one machine holds a whole /64), and at most
MAX_ATTEMPTS_ALL for everyone together (the form has one account: rotating addresses gains an
attacker nothing). A successful login clears its network's count, not the global one.

Durable (one ``state_value`` row per attempt, keyed by the address's hash): the count survives
a restart and is shared by every web process on the same database, so restarting the service
or spreading requests over processes buys an attacker nothing. Each attempt is written
*before* the password is checked and counted after, so concurrent requests cannot all slip
under the limit together (when they race, they are all refused, never all allowed).
The password form has one account, so the per-account budget is the global one; behind a
reverse proxy the address is the proxy's (one shared budget: the safe side). An outsider who
keeps guessing can hold password login shut for one WINDOW at a time, never longer: the
operator still signs in through the forum (SSO is not throttled here; the forum throttles its
own logins).
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select

from ..models import StateValue, utcnow

MAX_ATTEMPTS = 5
MAX_ATTEMPTS_ALL = 20
WINDOW = timedelta(minutes=15)
PREFIX = "dashboard:login-attempt:"
ALL_PREFIX = "dashboard:login-attempts-all:"


def client_network(client: str) -> str:
    """The unit one attacker controls: an IPv4 address, or the /64 of an IPv6 address."""
    try:
        address = ipaddress.ip_address((client or "").strip())
    except ValueError:
        return client or "?"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _client_prefix(client: str) -> str:
    digest = hashlib.sha256(client_network(client).encode("utf-8")).hexdigest()[:32]
    return PREFIX + digest + ":"


def _count(session, prefix: str, now):
    return session.execute(
        select(func.count(StateValue.key), func.min(StateValue.updated_at))
        .where(StateValue.key.startswith(prefix), StateValue.updated_at >= now - WINDOW)).one()


def begin_attempt(db, client: str) -> tuple[str | None, int]:
    """Record an attempt for CLIENT. Returns (attempt key, 0) when the password may be checked,
    else (None, seconds to wait) and the attempt is not counted."""
    prefix = _client_prefix(client)
    token = secrets.token_hex(8)
    key, all_key = prefix + token, ALL_PREFIX + token
    now = utcnow()
    with db.session() as session:
        for old in (prefix, ALL_PREFIX):
            session.execute(delete(StateValue).where(StateValue.key.startswith(old),
                                                     StateValue.updated_at < now - WINDOW))
        session.add(StateValue(key=key, value={"at": now.isoformat()}, updated_at=now))
        session.add(StateValue(key=all_key, value={"at": now.isoformat()}, updated_at=now))
    with db.session() as session:
        mine, my_oldest = _count(session, prefix, now)
        everyone, all_oldest = _count(session, ALL_PREFIX, now)
        if mine <= MAX_ATTEMPTS and everyone <= MAX_ATTEMPTS_ALL:
            return key, 0
        session.execute(delete(StateValue).where(StateValue.key.in_((key, all_key))))
    oldest = my_oldest if mine > MAX_ATTEMPTS else all_oldest
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
