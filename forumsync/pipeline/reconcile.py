"""Stage ``reconcile``: a second attempt first looks for what an earlier one already wrote.

A crash or a timeout between the forum write and the runner's commit must not post twice
(the runner passes ``msgdata["attempt"]`` > 1 when a row is tried again):

- new topics carry ``external_id = topic_external_id(root id)``: ``topic_by_external_id``
  finds the topic a previous attempt opened;
- replies through the plugin are found by their Message-ID (``post_by_message_id``);
- other replies end with the hidden marker (``mail.ids.post_marker``): the topic's last
  ``RECONCILE_LAST_POSTS`` posts are read for it.

Found: the mapping is recorded as ``publish`` records it and ``reconciled`` is set, so
``publish`` writes nothing. ``publish``'s refusal policy also links an existing topic when
the forum refuses a new one (a previous life of this database).
"""
from __future__ import annotations

from ..forum.gateway import ForumNotFound
from ..inbound.copies import family_of, tried_copies
from ..mail.ids import bracketed, post_marker, topic_external_id
from ..models import TopicLink
from . import records
from .errors import Quarantine, Retry
from .msgdata import MsgData, post_key

# Posts read back (one request each, only on a retry without the plugin): more than can reach a
# topic during one back-off (at most an hour): ten let a reply be posted twice once ten more
# replies had come in between (red team, eighth pass).
RECONCILE_LAST_POSTS = 100


def process(ctx, msg, msgdata: MsgData) -> None:
    msgdata["reconciled"] = False
    meta = msgdata.get("meta") or {}
    if meta.get("copy_of") or meta.get("copies"):
        refuse_if_another_copy_is_on_the_forum(ctx, msgdata)
    if msgdata.get("attempt", 1) <= 1:
        return
    if msgdata.get("topic_id") is None:
        link_existing_topic(ctx, msgdata)
        return
    topic = msgdata["live_topic"]
    existing = existing_reply(ctx, msgdata, topic)
    if existing:
        records.done(ctx, msgdata, existing, topic=topic)
        msgdata["reconciled"] = True


def refuse_if_another_copy_is_on_the_forum(ctx, msgdata) -> None:
    """A copy of a Message-ID (``inbound/copies``) is written under an id of its own
    (``msgdata.post_key``), never recorded on another copy's post (twenty-first pass); but
    another copy may already be on the forum, written and never recorded (a timeout, then the
    row dropped by an operator or set aside after crashes): under the Message-ID itself (the
    first copy: twenty-second pass) or under its own id (a copy tried before this one:
    twenty-third pass; the first copy, retried after such a copy, looks for it too). This
    copy would be a second post of it. Then nothing is written: the copy goes to quarantine,
    for the operator to compare the two."""
    with ctx.db.session() as session:
        first = family_of(session.connection(), msgdata["inbox_id"])
        tried = tried_copies(session.connection(), msgdata["inbox_id"])
    # the Message-ID's own post, as the first copy wrote it (for the first copy itself, its own
    # post: found on a retry, the usual reconciliation below records it)
    claims = [dict(msgdata, meta={})] if (msgdata.get("meta") or {}).get("copy_of") else []
    claims += [dict(msgdata, inbox_id=other, meta={"copy_of": first}) for other in tried]  # a copy's own
    for claimed in claims:
        where = _written_post(ctx, msgdata, claimed)
        if where:
            raise Quarantine(f"une autre copie de ce Message-ID est déjà sur le forum ({where}), écrite "
                             "sans que sa fin soit enregistrée : rien n'est publié ; comparez les deux "
                             "(forumsync inbox show ID --raw), puis supprimez celle du forum et réessayez "
                             "celle-ci, ou abandonnez-la")


def _written_post(ctx, msgdata, claimed) -> str:
    """Where the post CLAIMED's key names is on the forum ("" when nowhere found), looked for
    where this message would go (a new topic, or a reply in its topic), and anywhere on the
    forum through the plugin's Message-ID lookup (another copy may have gone elsewhere)."""
    if msgdata.get("topic_id") is None:
        found = ctx.forum.topic_by_external_id(external_id(claimed))
        if found:
            return f"sujet {found.get('id')}"
        if ctx.forum.has_feature("message_id_lookup"):
            found = ctx.forum.post_by_message_id(bracketed(post_key(claimed)))
    else:
        found = existing_reply(ctx, claimed, msgdata["live_topic"])
    if not found or found.get("deleted_at"):
        # A post (or topic) deleted on the forum is no second copy any more: the quarantine
        # below tells the operator to delete it and retry this copy. Both lookups answer
        # deleted posts to the admin key (the plugin's PostLookup since the 46th pass, as
        # Discourse's GET /posts/{id}.json does for staff), so the retry was held again.
        return ""
    return f"message {found.get('id')} du sujet {found.get('topic_id') or msgdata.get('topic_id')}"


def external_id(msgdata) -> str:
    """The ``external_id`` of the topic this message opens (from its thread's root)."""
    root = msgdata.get("root_message_id") or msgdata["message_id"]
    return topic_external_id(post_key(msgdata) if root == msgdata["message_id"] else root)


def link_existing_topic(ctx, msgdata) -> bool:
    """Record the topic the forum already has under this message's ``external_id``, when its
    first post is this message's. Two messages of one thread share the ``external_id`` (an
    orphan reply opens its topic under the root's id): a sibling's topic, found while the
    sibling is not recorded yet (forum gone between its write and its commit), is not this
    message's post; the message is tried again, and by then ``thread`` finds that topic."""
    topic = ctx.forum.topic_by_external_id(external_id(msgdata))
    if not topic:
        return False
    posts = (topic.get("post_stream") or {}).get("posts") or []
    first = posts[0] if posts else {"id": None, "post_number": 1}
    first = {"id": first.get("id"), "topic_id": topic["id"], "post_number": first.get("post_number", 1)}
    if not _is_this_message(ctx, msgdata, first):
        with ctx.db.session() as session:
            link = session.get(TopicLink, topic["id"])
            recorded, root = link is not None, link.root_message_id if link is not None else None
        if not recorded:
            raise Retry("le sujet de ce fil a été ouvert par un autre message de la liste, pas "
                        "encore enregistré : nouvel essai plus tard")
        if root == (msgdata.get("root_message_id") or msgdata["message_id"]):
            # Another worker published a reply of this thread meanwhile, opening its topic
            # under this thread's root: tried again, ``thread`` finds that topic (red-team 15).
            raise Retry(f"le sujet {topic['id']} de ce fil vient d'être ouvert par une réponse "
                        "publiée entre-temps : nouvel essai, dans ce sujet")
        # Recorded, yet ``thread`` did not lead here: never merge this message into another's post.
        raise Quarantine(f"le sujet {topic['id']} porte l'identifiant de ce fil mais appartient à "
                         "un autre message : à vérifier avant de relancer")
    records.done(ctx, msgdata, first, new_topic=dict(external_id=external_id(msgdata),
                                                     category_id=topic.get("category_id"),
                                                     theme=msgdata.get("theme")))
    msgdata["reconciled"] = True
    return True


def _is_this_message(ctx, msgdata, post: dict) -> bool:
    """POST was written from this message: the plugin knows it by Message-ID, else its raw
    carries this message's hidden marker."""
    if post.get("id") is None:
        return False
    if ctx.forum.has_feature("message_id_lookup"):
        found = ctx.forum.post_by_message_id(bracketed(post_key(msgdata)))
        if found:
            return found.get("id") == post["id"]
    try:
        raw = ctx.forum.post_get(post["id"]).get("raw") or ""
    except ForumNotFound:
        return False
    return post_marker(post_key(msgdata)) in raw


def existing_reply(ctx, msgdata, topic) -> dict | None:
    """A reply to TOPIC an earlier attempt already created (see the module docstring)."""
    if ctx.forum.has_feature("message_id_lookup"):
        post = ctx.forum.post_by_message_id(bracketed(post_key(msgdata)))
        if post:
            return post
    marker = post_marker(post_key(msgdata))
    stream = (topic.get("post_stream") or {}).get("stream") or []
    for post_id in reversed(stream[-RECONCILE_LAST_POSTS:]):
        try:
            post = ctx.forum.post_get(post_id)
        except ForumNotFound:
            continue
        if marker in (post.get("raw") or ""):
            return post
    return None
