"""Stage ``dedupe``: a Message-ID already published is never published twice.

Ingest already refuses a Message-ID that is in the inbox; this stage catches the rest: a
message re-queued by an operator, or one that reached the forum by another path (a forum
post we emailed out coming back, recorded as a PostLink). Mail without a Message-ID got a
stable content hash at ingest ("sha256:…"), unique in the inbox, so nothing more to do here.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from ..models import PostLink
from .errors import Drop
from .msgdata import MsgData

_links = PostLink.__table__
# Built once: a new statement per message costs more than running it (cache key, coercions).
_PUBLISHED = select(_links.c.post_id, _links.c.topic_id) \
    .where(_links.c.message_id == bindparam("id"))


def process(ctx, msg, msgdata: MsgData) -> None:
    message_id = msgdata.get("message_id") or ""
    if not message_id or message_id.startswith("sha256:"):
        return
    with ctx.db.connection() as conn:
        link = conn.execute(_PUBLISHED, {"id": message_id}).first()
    if link is not None:
        raise Drop(f"déjà publié (doublon) : message {link.post_id} du sujet {link.topic_id}")
