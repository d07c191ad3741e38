"""Two mails claiming one Message-ID: both kept, one published.

A Message-ID is written by the sender. The same mail through two channels (the list's copy
and a direct copy, an MTA's retry) is one message; but a forgery sent first with a real
message's Message-ID must neither take its place nor make it vanish. So ``place`` (called by
``ingest`` in its transaction) compares contents (``ids.content_digest``: the stable headers,
the body and the receiving MTA's ``Authentication-Results``):

- the same content: a duplicate, nothing stored (as before);
- another content: stored too, under its own key ``<copie N> digest`` (N: the first copy's
  inbox id). No Message-ID can be that key: a normalised one never holds ``<``, ``>`` or a
  space (``ids.normalize_message_id``), so no mail can pose as a copy (a red-team finding:
  ``Message-ID: <copie:x>`` had been read as one). The claimed Message-ID stays in
  ``meta["message_id"]``, which the pipeline uses; ``meta["copy_of"]`` names the first copy. If the
  first copy already ended unpublished (quarantined: a DMARC failure; dropped), the new copy is
  processed at once; otherwise it is held (state ``dropped``, or ``quarantined`` when it comes
  from another address than the first copy; reason ``COPY_HELD``…) and
  ``release_held_copy`` queues it when the first copy ends unpublished. A first copy that is
  published keeps its place, and the copies stay visible in ``forumsync inbox list``.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..mail import ids
from ..models import InboxMessage, InboxRaw

COPY_PREFIX = "<copie "
COPY_HELD = "autre copie du message n°"  # how a held copy's reason starts
_inbox, _raw = InboxMessage.__table__, InboxRaw.__table__
_FIRST = select(_inbox.c.id, _inbox.c.state, _inbox.c.meta, _inbox.c.sender, _raw.c.raw) \
    .select_from(_inbox.outerjoin(_raw, _raw.c.inbox_id == _inbox.c.id))


def copy_key(first_id: int, raw: bytes) -> str:
    return f"{_family(first_id)}{ids.content_digest(raw)[:40]}"


def _family(first_id: int) -> str:
    """The start of the keys of every copy of FIRST_ID's Message-ID."""
    return f"{COPY_PREFIX}{int(first_id)}> "


def held_reason(first_id: int, first_sender: str = "", sender: str = "") -> str:
    other = (f", et d'un autre expéditeur que la première ({first_sender or '?'}) : usurpation "
             f"possible, à vérifier par un opérateur") if first_sender.lower() != sender.lower() else ""
    return (f"{COPY_HELD} {first_id} (même Message-ID, contenu ou authentification différents{other}) : "
            f"gardée, publiée seulement si aucune autre copie ne l'est")


def place(session, message_id: str, raw: bytes, meta: dict, sender: str = ""):
    """(known inbox id or None, key, state, reason) for RAW claiming MESSAGE_ID; META gets
    ``copy_of`` and ``message_id`` for a copy, and the first copy's meta ``copies`` (its count).
    A new copy is held while any copy of its Message-ID may still be published or is (the
    first, or a copy released or processed before: red team, twentieth pass); held behind a
    first copy from **another address**, in quarantine, where an operator sees it (a red-team
    finding: a forgery that passes DMARC for its own domain, sent first, would otherwise hide
    the real mail among the dropped rows)."""
    first = session.execute(_FIRST.where(_inbox.c.message_id == message_id)).first()
    if first is None:
        return None, message_id, "new", ""
    if first.raw is not None and ids.content_digest(first.raw) == ids.content_digest(raw):
        return first.id, message_id, "new", ""
    key = copy_key(first.id, raw)
    known = session.scalar(select(_inbox.c.id).where(_inbox.c.message_id == key))
    if known is not None:
        return known, key, "new", ""
    meta.update(copy_of=first.id, message_id=message_id)
    first_meta = dict(first.meta or {})
    first_meta["copies"] = int(first_meta.get("copies") or 0) + 1
    # This update takes the first copy's row lock before the family is read, as the end of a
    # copy does (release_held_copy): under PostgreSQL, a copy stored while another copy's end
    # was being recorded was decided on its uncommitted state, and held for ever.
    session.execute(update(_inbox).where(_inbox.c.id == first.id).values(meta=first_meta))
    if not any(row.state in LIVE_STATES for row in _family_states(session.connection(), first.id)):
        return None, key, "new", ""
    other = (first.sender or "").lower() != (sender or "").lower()
    return None, key, "quarantined" if other else "dropped", held_reason(first.id, first.sender or "", sender)


# A copy in one of these states may still be published, or is: no other copy may go.
LIVE_STATES = ("new", "processing", "retry", "published")


def family_of(conn, inbox_id: int) -> int | None:
    """The first copy of INBOX_ID's Message-ID when the row has copies or is one, else None."""
    row = conn.execute(select(_inbox.c.message_id, _inbox.c.meta).where(_inbox.c.id == inbox_id)).first()
    if row is None:
        return None
    meta = row.meta or {}
    if row.message_id.startswith(COPY_PREFIX) and isinstance(meta.get("copy_of"), int):
        return meta["copy_of"]  # written by place, never read from the key
    return inbox_id if meta.get("copies") else None


def lock_family(conn, inbox_id: int) -> int | None:
    """Take the row lock of the first copy of INBOX_ID's Message-ID (when it has copies or is
    one), before any other write to its family: every path that writes two rows of a family
    (an end and its release, an operator's drop or retry, ``place``) takes that lock first,
    so none waits for another in the opposite order (a PostgreSQL deadlock aborted an
    operator's drop and let the worker release the very forgery being dropped: red team,
    twenty-first pass). SQLite's writes are serialised anyway. Returns that first copy's id
    (``family_of``)."""
    first = family_of(conn, inbox_id)
    if first is not None:
        conn.execute(select(_inbox.c.id).where(_inbox.c.id == first).with_for_update())
    return first


def _family_states(conn, first: int) -> list:
    """(id, state, reason) of FIRST and of every copy of its Message-ID, oldest first."""
    return conn.execute(select(_inbox.c.id, _inbox.c.state, _inbox.c.reason)
                        .where((_inbox.c.id == first) | _inbox.c.message_id.like(_family(first) + "%"))
                        .order_by(_inbox.c.id)).all()


def another_copy_live(conn, inbox_id: int) -> bool:
    """Another copy of row INBOX_ID's Message-ID (the first, a copy) may still be published,
    or is: the row must not be queued beside it, whatever its reason (an operator's retry of a
    held copy, of a first copy or of a copy released then quarantined: red team, nineteenth
    and twentieth passes)."""
    first = family_of(conn, inbox_id)
    if first is None:
        return False
    return any(row.state in LIVE_STATES for row in _family_states(conn, first) if row.id != inbox_id)


def tried_copies(conn, inbox_id: int) -> list[int]:
    """The ids of the other copies of row INBOX_ID's Message-ID (not the first) that were
    tried: each may have written its post under its own id (``msgdata.post_key``) before a
    timeout or a crash, its end never recorded, then been dropped by an operator."""
    first = family_of(conn, inbox_id)
    if first is None:
        return []
    return list(conn.scalars(select(_inbox.c.id).where(
        _inbox.c.message_id.like(_family(first) + "%"), _inbox.c.id != inbox_id,
        _inbox.c.attempts >= 1).order_by(_inbox.c.id)))


def held_copies(conn, inbox_id: int) -> list[int]:
    """The ids of the copies held (reason COPY_HELD, not queued) for INBOX_ID's Message-ID."""
    first = family_of(conn, inbox_id)
    if first is None:
        return []
    return [row.id for row in _family_states(conn, first)
            if row.state in ("dropped", "quarantined") and (row.reason or "").startswith(COPY_HELD)]


def release_held_copy(conn, inbox_id: int) -> int | None:
    """Row INBOX_ID ended unpublished: the oldest copy held for its Message-ID (if any) goes to
    the queue (state ``new``), unless a copy of it may still be published or is (the first
    waiting for a retry, another copy released before: red team, nineteenth pass); its inbox
    id, or None. CONN: the caller's transaction."""
    first = lock_family(conn, inbox_id)  # taken already by the callers (lock_family's docstring)
    if first is None:
        return None
    family = _family_states(conn, first)
    if any(row.state in LIVE_STATES for row in family):
        return None
    for copy in family:
        if copy.id not in (inbox_id, first) and (copy.reason or "").startswith(COPY_HELD):
            conn.execute(update(_inbox).where(_inbox.c.id == copy.id)
                         .values(state="new", reason="", processed_at=None, next_attempt_at=None))
            return copy.id
    return None
