"""The senders of a claim asked in one request (capability ``users_by_email``), for the batch path.

The ``sender`` stage then reads them from the gateway's cache, as if it had asked each.
"""
from __future__ import annotations

import logging
import re
from email.utils import getaddresses
from functools import lru_cache

from sqlalchemy import func, select

from ..forum.gateway import ForumRejected, ForumUnavailable
from ..models import InboxRaw

log = logging.getLogger(__name__)

AUTHOR_HEADERS = ("From", "Reply-To", "Sender", "X-Original-From")
HEAD_BYTES = 16384


# An author header and its continuation lines, in a header block (bytes): a scan, not a parse
# (a parse of every header of 500 rows was ~0.8 ms per message on the import's main side).
_AUTHOR_LINE = re.compile(rb"^(?:" + b"|".join(re.escape(name.encode()) for name in AUTHOR_HEADERS)
                          + rb")[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def sender_addresses(ctx, ids: list[int]) -> list[str]:
    """The addresses that may be the rows' authors (From, Reply-To, Sender, X-Original-From:
    ``parse`` chooses among them), read from the header block alone. A prefetch: an address
    missed here is asked for later by ``sender``, one more request, nothing else."""
    with ctx.db.connection() as conn:  # the first bytes only: the headers, not the files
        raws = conn.scalars(select(func.substr(InboxRaw.raw, 1, HEAD_BYTES))
                            .where(InboxRaw.inbox_id.in_(ids))).all()
    found = []
    for raw in raws:
        if not raw:
            continue
        found += author_addresses(bytes(raw))
    return found


def author_addresses(raw: bytes) -> list[str]:
    """The addresses of RAW's author headers (AUTHOR_HEADERS), from its header block."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    head = raw[:min(ends) + 1] if ends else raw
    return [address for match in _AUTHOR_LINE.finditer(head)
            for address in _value_addresses(match.group(1).decode("latin-1"))]


@lru_cache(maxsize=2048)  # a list's senders come back message after message
def _value_addresses(value: str) -> tuple[str, ...]:
    """The addresses of one author header's value (the standard library's parser: slow)."""
    return tuple(address for _name, address in getaddresses([value]) if "@" in address)


def prefetch_users(ctx, ids: list[int]) -> None:
    """One request for the users of the rows' senders (capability ``users_by_email``), which
    the ``sender`` stage then reads from the gateway's cache instead of one request each."""
    if not ctx.forum.has_feature("users_by_email"):
        return
    try:
        ctx.forum.users_by_email_prefetch(sender_addresses(ctx, ids))
    except (ForumRejected, ForumUnavailable) as exc:  # sender asks one by one, as before
        log.info("utilisateurs du lot non préchargés : %s", exc)
