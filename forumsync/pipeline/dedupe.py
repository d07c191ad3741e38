"""Stage ``dedupe``: a Message-ID already published is never published twice.

Ingest already refuses a Message-ID that is in the inbox; this stage catches the rest: a
message re-queued by an operator, or one that reached the forum by another path (a forum
post we emailed out coming back, recorded as a PostLink). Mail without a Message-ID got a
stable content hash at ingest ("sha256:…"), unique in the inbox, so nothing more to do here.
"""
from __future__ import annotations

from sqlalchemy import select

from ..models import PostLink
from .errors import Drop


def process(ctx, msg, msgdata) -> None:
    message_id = msgdata.get("message_id") or ""
    if not message_id or message_id.startswith("sha256:"):
        return
    with ctx.db.session() as session:
        link = session.execute(
            select(PostLink.post_id, PostLink.topic_id).where(PostLink.message_id == message_id)
        ).first()
    if link is not None:
        raise Drop(f"déjà publié (doublon) : message {link.post_id} du sujet {link.topic_id}")
