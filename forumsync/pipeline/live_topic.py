"""Stage ``live_topic``: a reply goes where its topic is now, as the forum shows it.

Leads move, merge, close, archive and delete topics while mail is on its way. Before a reply
this stage reads the topic once per runner batch (``msgdata["batch"]``: live mail comes in
batches of one, a bulk import re-reads a busy topic once per batch, not per reply):

- topic moved to another category → nothing to change here: ``publish`` records the category
  the topic view names (TopicLink.category_id and theme follow it);
- parent post moved/merged into another topic → ``post_get`` finds where it is now: the reply
  goes there (``topic_id``, ``reply_to_post_number``) and the parent's PostLink follows;
- topic deleted → ``Quarantine`` with a French reason, never a new topic;
- topic closed or archived → ``topic_closed`` (``"closed"``/``"archived"``), for ``closed_topic``.

Sets ``live_topic`` (the view ``reconcile`` and ``publish`` use). New topics: nothing to do.
"""
from __future__ import annotations

from sqlalchemy import select

from ..forum.gateway import ForumNotFound
from ..models import PostLink
from .errors import Quarantine
from .msgdata import MsgData


def process(ctx, msg, msgdata: MsgData) -> None:
    if msgdata.get("topic_id") is None:
        msgdata.update(live_topic=None, topic_closed=None)
        return
    topic = _followed(ctx, msgdata)
    msgdata.update(live_topic=topic, topic_closed="archived" if topic.get("archived") else
                   "closed" if topic.get("closed") else None)


def forget(msgdata) -> None:
    """Drop this batch's view of the message's topic (the forum said it is gone): read it again."""
    (msgdata.get("batch") or {}).pop(("topic", msgdata.get("topic_id")), None)


def topic_or_none(ctx, topic_id, msgdata=None) -> dict | None:
    """The live topic (None when deleted or not found), read once per runner batch."""
    cache = (msgdata or {}).get("batch")
    if cache is not None and ("topic", topic_id) in cache:
        return cache[("topic", topic_id)]
    try:
        topic = ctx.forum.topic_get(topic_id)
    except ForumNotFound:
        topic = None
    if topic is not None and topic.get("deleted_at"):
        topic = None
    if cache is not None and topic is not None:
        cache[("topic", topic_id)] = topic
    return topic


def _followed(ctx, msgdata) -> dict:
    """The topic to reply in, following a parent post moved elsewhere."""
    topic_id = msgdata["topic_id"]
    topic = topic_or_none(ctx, topic_id, msgdata)
    parent_id = msgdata.get("parent_post_id")
    stream = ((topic or {}).get("post_stream") or {}).get("stream")
    if parent_id and (topic is None or (stream is not None and parent_id not in stream)):
        try:
            parent = ctx.forum.post_get(parent_id)
        except ForumNotFound:
            parent = None
        if parent and not parent.get("deleted_at") and parent.get("topic_id") != topic_id:
            moved_to = topic_or_none(ctx, parent["topic_id"], msgdata)
            if moved_to is not None:
                msgdata.update(topic_id=moved_to["id"], reply_to_post_number=parent.get("post_number"),
                               thread_reason=msgdata.get("thread_reason", "") +
                               f" ; message parent déplacé du sujet {topic_id} vers {moved_to['id']}")
                msgdata.setdefault("writes", []).append(lambda session: _move_post_link(
                    session, parent_id, moved_to["id"], parent.get("post_number")))
                return moved_to
    if topic is None:
        inbox_id = msgdata.get("inbox_id")
        raise Quarantine(f"le sujet {topic_id} a été supprimé sur le forum : message mis de côté "
                         f"au lieu d'ouvrir un nouveau sujet. Restaurez le sujet sur le forum puis "
                         f"« forumsync inbox retry {inbox_id} », ou écartez le message "
                         f"(« forumsync inbox drop {inbox_id} »)")
    return topic


def _move_post_link(session, post_id, topic_id, post_number) -> None:
    link = session.scalars(select(PostLink).where(PostLink.post_id == post_id)).first()
    if link is not None:
        link.topic_id = topic_id
        if post_number:
            link.post_number = post_number
