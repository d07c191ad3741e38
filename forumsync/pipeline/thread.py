"""Stage ``thread``: decide whether a message replies in a known topic or starts a new one.

Like HyperKitty's incoming code, the parent comes from the headers first, in the order the
parse stage gives them (In-Reply-To, then References newest first): the first id that is a
post we know wins — a PostLink (list mail we published, forum posts we emailed), or a
Discourse Message-ID ``<discourse/post/{id}@host>`` looked up on the forum. Then the topics
started by an *orphan* (a reply whose parent we never saw) are matched by their root id, so
the missing root arriving later joins its replies instead of opening a second topic. Last,
a reply-looking message whose cleaned subject matches a topic active within
``SUBJECT_THREAD_DAYS`` of the message's date goes there: a reply whose parent is missing
never starts a duplicate topic when its subject matches. Reply-looking: References, a reply
prefix anywhere in the subject's prefix chain (Outlook's « TR : RE: [liste] … » forwards a
list reply, with no In-Reply-To), or a forward whose quoted header block shows list mail
(the list address among its recipients, the list tag in its subject; a forwarded Message-ID
we published threads straight to that post). A forward of outside mail opens its own topic.

Orphans (mbox arrival order ≠ Date order): a reply whose parent is unknown opens a topic
whose root id is its oldest reference (``external_id`` derived from it); a later reply with
the same root joins it, and so does the root itself when it arrives (by id, or — when the
replies only named a middle message — by subject, as a topic whose root never arrived).
Limit: the root then appears after its replies (Discourse orders posts by number, not by
date) and the topic keeps the title of the first reply seen; with neither a shared
reference nor the same subject within the window, a late root still opens its own topic.

Skipped when ``replyto`` (which runs first) already set ``topic_id``. Sets ``topic_id`` (None: new topic), ``reply_to_post_number``, ``thread_reason`` and, for
``publish``, ``parent_post_id`` (to follow a post a lead moved), ``root_message_id`` and
``adopt_root`` (this message is the missing root of an orphan topic: record it as its root).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, exists, select

from ..forum.gateway import ForumNotFound
from ..mail.forwards import forwarded_message_ids, list_evidence
from ..mail.ids import parse_discourse_message_id
from ..mail.subjects import subject_chain
from ..models import PostLink, TopicLink, utcnow
from .msgdata import MsgData


def reply_evidence(settings, msgdata) -> str | None:
    """Why a message without References is a reply for subject threading (None: a start):
    a reply prefix anywhere in the chain (« Re: », « TR : RE: », « Fwd: Re: », « Réf. : »…),
    or a forward of list mail."""
    chain = subject_chain(msgdata.get("subject") or "", settings.LIST_TAG)
    if chain.is_reply:
        return "préfixe de réponse dans l'objet"
    if not chain.is_forward:
        return None
    if chain.tag_after_forward:
        return f"transfert d'un message de la liste (étiquette {settings.LIST_TAG} dans l'objet transféré)"
    lists = [settings.LIST_ADDRESS] + [a for theme in settings.THEMES for a in theme.get("addresses") or []]
    found = list_evidence(msgdata.get("body") or "", lists, settings.LIST_TAG)
    return f"transfert d'un message {found}" if found else None


# Statements built once (columns, not entities: nothing here is modified); building them
# per message cost more than running them.
_links, _topics = PostLink.__table__, TopicLink.__table__
_KNOWN = select(_links.c.message_id, _links.c.topic_id, _links.c.post_number, _links.c.post_id) \
    .where(_links.c.message_id.in_(bindparam("ids", expanding=True)))
_ROOTS = select(_topics.c.root_message_id, _topics.c.topic_id) \
    .where(_topics.c.root_message_id.in_(bindparam("ids", expanding=True)))
_BY_SUBJECT = (select(_topics.c.topic_id)
               .where(_topics.c.subject_key == bindparam("key"),
                      _topics.c.last_activity_at >= bindparam("since"))
               .order_by(_topics.c.last_activity_at.desc()).limit(1))
# For a message that looks like a thread's start: only topics whose root never arrived, and
# which its first reply opened after this message was written (a root is older than its
# replies). Without that date, a « Re: Assemblée générale 2027 » sent days ahead, replying
# to nothing, took in the real thread's start when it came (red team, eighth pass). Dates
# are claims, but clamped to the reception time plus a day (mail/dates.py).
_BY_SUBJECT_ROOTLESS = _BY_SUBJECT.where(
    _topics.c.root_message_id.is_not(None),
    ~exists().where(_links.c.message_id == _topics.c.root_message_id),
    _topics.c.created_at >= bindparam("written"))


def process(ctx, msg, msgdata: MsgData) -> None:
    message_id = msgdata.get("message_id") or ""
    refs = [r for r in (msgdata.get("references") or []) if r and r != message_id]
    if msgdata.get("topic_id") is not None:  # replyto placed it (a signed reply address)
        msgdata.setdefault("root_message_id", refs[-1] if refs else message_id)
        return
    msgdata.update(topic_id=None, reply_to_post_number=None, parent_post_id=None,
                   root_message_id=refs[-1] if refs else message_id)
    known, roots, by_subject = {}, {}, None
    reply_like = "références" if refs else reply_evidence(ctx.settings, msgdata)
    forwarded = []
    if not refs and subject_chain(msgdata.get("subject") or "", ctx.settings.LIST_TAG).is_forward:
        forwarded = [i for i in forwarded_message_ids(msgdata.get("body") or "") if i != message_id]
    with ctx.db.connection() as conn:
        if refs or forwarded:
            for link in conn.execute(_KNOWN, {"ids": refs + forwarded}):
                known[link.message_id] = (link.topic_id, link.post_number, link.post_id)
        if not known:  # else the loop below returns at a known reference at the latest
            for topic in conn.execute(_ROOTS, {"ids": refs + [message_id]}):
                roots[topic.root_message_id] = topic.topic_id
            by_subject = _subject_match(ctx, conn, msgdata, reply_like)

    for ref in refs:
        if ref in known:
            topic_id, post_number, post_id = known[ref]
            return reply_to(msgdata, topic_id, post_number, post_id, f"réponse à <{ref}>")
        post_id = parse_discourse_message_id(ref, ctx.settings.forum_host)
        if post_id is not None:
            try:
                post = ctx.forum.post_get(post_id)
            except ForumNotFound:
                continue
            return reply_to(msgdata, post["topic_id"], post.get("post_number"), post_id,
                            f"réponse au message {post_id} du forum")
    for ref in forwarded:
        if ref in known:
            topic_id, post_number, post_id = known[ref]
            return reply_to(msgdata, topic_id, post_number, post_id, f"transfert du message <{ref}> de la liste")
    if message_id in roots:
        msgdata["root_message_id"] = message_id
        return reply_to(msgdata, roots[message_id], None, None,
                        "message d'origine arrivé après ses réponses")
    for ref in refs:
        if ref in roots:
            msgdata["root_message_id"] = ref
            return reply_to(msgdata, roots[ref], None, None,
                            f"même fil que <{ref}> (message d'origine inconnu)")
    if by_subject is not None:
        if not reply_like:
            msgdata.update(root_message_id=message_id, adopt_root=True)  # the missing root
        why = f" ({reply_like})" if reply_like and reply_like.startswith("transfert") else ""
        return reply_to(msgdata, by_subject, None, None,
                        f"même sujet « {msgdata.get('title') or msgdata.get('subject_key')} »{why}")
    msgdata["thread_reason"] = "nouveau sujet"


def _subject_match(ctx, conn, msgdata, reply_like) -> int | None:
    """A topic active within the window under the same cleaned subject: any such topic for a
    reply-looking message; for a message that looks like a thread's start, only a topic
    opened by an orphan reply (its root never arrived) written after it: that root may be
    this message."""
    key = msgdata.get("subject_key") or ""
    if not key:
        return None
    when = msgdata.get("date") or utcnow()
    since = when - timedelta(days=ctx.settings.SUBJECT_THREAD_DAYS)
    if reply_like:
        return conn.scalars(_BY_SUBJECT, {"key": key, "since": since}).first()
    return conn.scalars(_BY_SUBJECT_ROOTLESS, {"key": key, "since": since, "written": when}).first()


def reply_to(msgdata, topic_id, post_number, post_id, reason) -> None:
    """Set the reply target (and the French reason) ``publish`` will use; batch.py calls it too."""
    msgdata.update(topic_id=topic_id, reply_to_post_number=post_number, parent_post_id=post_id,
                   thread_reason=reason)
