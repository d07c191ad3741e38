"""What ``thread`` decides for a message while others wait in the batch (``pipeline/batch.py``).

``thread`` reads the database, which does not hold the waiting messages yet. A reply to a
waiting message (its first known reference) names that message (``reply_to_message_id``:
the plugin threads it inside the batch); a « Re: » without References whose subject match is
certain to be a topic a waiting message opens joins it with no parent post
(``topic_of_message_id``, see ``batch_subjects``); any other way a waiting message could
change the decision first sends the batch (``flush``), then ``thread`` runs as usual.
"""
from __future__ import annotations

from ..mail.ids import parse_discourse_message_id
from . import batch_subjects, thread


class PendingTopic:
    """``topic_id`` of a reply to a message waiting in the batch: its topic is not known yet
    (truthy, so ``route`` treats the message as a reply)."""

    def __init__(self, parent: str):
        self.parent = parent

    def __repr__(self):
        return f"<sujet du message en attente <{self.parent}>>"


def decide(pending, msg, msgdata: dict) -> None:
    """The ``thread`` stage for MSGDATA, against PENDING's waiting messages (and those of the
    batch sent ahead: whenever they could matter, it lands first)."""
    if pending.inflight is not None and msgdata.get("topic_id") is None \
            and _concerns(pending.inflight, msgdata):
        pending.land()
    if pending.items and msgdata.get("topic_id") is None:  # else replyto placed it
        message_id = msgdata.get("message_id") or ""
        refs = [r for r in (msgdata.get("references") or []) if r and r != message_id]
        with pending.ctx.db.connection() as conn:
            known = {row.message_id for row in conn.execute(thread._KNOWN, {"ids": refs})} \
                if refs else set()
        for ref in refs:
            if ref in known:
                break  # thread answers with that post, whatever waits
            if ref in pending.items:
                msgdata.update(topic_id=None, reply_to_post_number=None, parent_post_id=None,
                               root_message_id=refs[-1])
                thread.reply_to(msgdata, PendingTopic(ref), None, None, f"réponse à <{ref}>")
                msgdata["pending_parent"] = ref
                return
            if parse_discourse_message_id(ref, pending.ctx.settings.forum_host) is not None:
                pending.flush("forum_reference")  # thread may look further down the references
                break
        else:
            if _matters(pending, message_id, refs, msgdata):
                opener = batch_subjects.waiting_topic(pending, message_id, refs, msgdata)
                if opener is None:
                    pending.flush("thread")
                else:  # thread would join that waiting topic, with no parent post
                    msgdata.update(topic_id=None, reply_to_post_number=None, parent_post_id=None,
                                   root_message_id=message_id)
                    title = msgdata.get("title") or msgdata.get("subject_key")
                    thread.reply_to(msgdata, PendingTopic(opener), None, None, f"même sujet « {title} »")
                    msgdata.update(pending_parent=opener, pending_topic_only=True)
                    return
    thread.process(pending.ctx, msg, msgdata)


def _concerns(inflight, msgdata: dict) -> bool:
    """Could the batch sent ahead change what ``thread`` decides for MSGDATA? What would flush
    a waiting batch, and any reference to a forum post (thread may look down the references)."""
    message_id = msgdata.get("message_id") or ""
    refs = [r for r in (msgdata.get("references") or []) if r and r != message_id]
    host = inflight.ctx.settings.forum_host
    return any(parse_discourse_message_id(ref, host) is not None for ref in refs) \
        or _matters(inflight, message_id, refs, msgdata)


def _matters(pending, message_id: str, refs: list[str], msgdata: dict) -> bool:
    """Could a waiting message change what ``thread`` decides for this one?"""
    ids = set(pending.items) | pending.roots
    if message_id in ids or any(ref in ids for ref in refs):
        return True
    body = msgdata.get("body") or ""
    if any(known in body for known in ids):  # a forwarded message's headers
        return True
    key = msgdata.get("subject_key") or ""
    if not key:
        return False
    if pending.opaque:
        return True
    # thread matches a start of thread only with topics whose root never arrived.
    reply_like = bool(refs) or bool(thread.reply_evidence(pending.ctx.settings, msgdata))
    return key in (pending.subject_keys if reply_like else pending.rootless_keys)
