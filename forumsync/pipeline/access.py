"""Stage ``access``: list mail only joins topics the whole list could read and answer.

``thread`` and ``replyto`` trust what the mail names (In-Reply-To, References, a topic
root, a signed reply address, a subject): all attacker-written. Whatever found the topic,
this stage lets the message reply there only when
- the topic is a regular topic (``archetype`` ``regular``: not a private message);
- its category and every parent are readable by everyone (``read_restricted`` false);
- everyone may reply in its category (``group_permissions``: « everyone » full or
  create_post, as PostGuardian#can_create_post? reads Category.post_create_allowed): a
  read-only « Annonces » subcategory of a theme takes no reply from the list, whoever
  posts it (a staged sender's post skips the guardian, the bridge is an admin);
- the category takes list mail: a theme category (or one of its subcategories) under
  ``PARENT_CATEGORY``, or « Présentations », where forumsync opens the welcome topics
  that signed reply addresses answer;
- the post replied to (``reply_to_post_number`` / ``parent_post_id``) is not a whisper;
- when ``publish`` would follow a parent post moved elsewhere, the destination passes too.
Otherwise the message becomes a **new topic** (in its theme), as if it named nothing: no
reply number, no « en réponse à », a root of its own (so no ``external_id`` of the hidden
topic), nothing that tells the sender the target exists. The refusal is written only in
the inbox row's reason, for the operator.

Cost: the live topic is read with the per-batch cache of the ``live_topic`` stage
(``live_topic.topic_or_none``), which reads that view before every reply anyway, so for live
mail the check adds no forum request. A history import (channel ``mbox``, published in
batches where no topic is read) uses local knowledge where it is trustworthy: a topic forumsync opened from
list mail (TopicLink ``external_id`` ``ml-…``), still recorded in a public theme category
(the ``topic_edited`` webhook keeps that current), replied to at the top or under a post
forumsync wrote or emailed; anything else is read live. Live mail never relies on local
knowledge: a lead may have moved the topic a second ago, or made it a private message
(which the TopicLink does not record).
Categories come from the gateway's cached category list (``forum.facts``). A parent
post is trusted without a request when forumsync itself wrote it or emailed it (a PostLink:
never a whisper when recorded) or when it is among the topic view's first posts; else one
``post_get``.
"""
from __future__ import annotations

from sqlalchemy import select

from ..community.common import PRESENTATIONS_CATEGORY
from ..forum.eligibility import CREATE_POST, WHISPER, category_is_public, everyone_may, theme_of
from ..forum.gateway import ForumNotFound, ForumRejected
from ..mail.ids import LIST_EXTERNAL_ID_PREFIX
from ..mail.subjects import fold
from ..models import PostLink, TopicLink
from . import categories
from .live_topic import topic_or_none
from .msgdata import MsgData

# History imports (``import-mbox``): thousands of replies to topics forumsync itself opened,
# where moderation cannot have raced the mail; there, local knowledge decides when it can.
LOCAL_TRUST_CHANNELS = {"mbox"}


def process(ctx, msg, msgdata: MsgData) -> None:
    topic_id = msgdata.get("topic_id")
    if topic_id is None:
        return
    why = refusal(ctx, msgdata)
    if why is None:
        return
    become_new_topic(ctx, msgdata, f"nouveau sujet, cible refusée à la liste : {why}")


def become_new_topic(ctx, msgdata, reason: str) -> None:
    """MSGDATA opens a topic of its own, as if it named nothing: its own Message-ID as root
    (``…/nouveau-sujet`` when a topic already has that root); REASON for the operator."""
    own = msgdata.get("message_id") or ""
    with ctx.db.connection() as conn:
        taken = conn.execute(select(TopicLink.topic_id).where(TopicLink.root_message_id == own)).first()
    msgdata.update(topic_id=None, reply_to_post_number=None, parent_post_id=None,
                   reply_target=None, adopt_root=False,
                   root_message_id=f"{own}/nouveau-sujet" if taken else own, thread_reason=reason)


def refusal(ctx, msgdata) -> str | None:
    """Why the message may not reply where ``thread``/``replyto`` put it (French), or None."""
    topic_id = msgdata["topic_id"]
    cached = ("topic", topic_id) in (msgdata.get("batch") or {})
    if not cached and msgdata.get("channel") in LOCAL_TRUST_CHANNELS and _locally_trusted(ctx, msgdata):
        return None
    topic = topic_or_none(ctx, topic_id, msgdata)
    parent_id = msgdata.get("parent_post_id")
    stream = ((topic or {}).get("post_stream") or {}).get("stream")
    if parent_id and (topic is None or (stream is not None and parent_id not in stream)):
        # publish will follow the parent where it is now: check that topic too.
        parent = _post(ctx, parent_id)
        if parent and not parent.get("deleted_at") and parent.get("topic_id") != topic_id:
            if parent.get("post_type") == WHISPER:
                return f"message {parent_id} : murmure"
            moved = topic_or_none(ctx, parent["topic_id"], msgdata)
            if moved is not None:
                return topic_refusal(ctx, moved)
    if topic is None:
        return None  # deleted: publish quarantines it with its own reason, posts nothing
    why = topic_refusal(ctx, topic)
    if why is None:
        why = _parent_refusal(ctx, msgdata, topic)
    return why


def _locally_trusted(ctx, msgdata) -> bool:
    """A topic forumsync opened from list mail (``external_id`` ``ml-…``), recorded in a
    public theme category and open (a closed one is read live: ``closed_topic``), replied to
    at the top or under a post forumsync wrote or emailed: allowed without reading the forum."""
    topic_id, parent_id = msgdata["topic_id"], msgdata.get("parent_post_id")
    with ctx.db.connection() as conn:
        link = conn.execute(select(TopicLink.external_id, TopicLink.category_id, TopicLink.state)
                            .where(TopicLink.topic_id == topic_id)).first()
        if link is None or not str(link.external_id or "").startswith(LIST_EXTERNAL_ID_PREFIX) \
                or link.state != "open" or link.category_id is None:
            return False
        if parent_id and not conn.execute(select(PostLink.id).where(
                PostLink.post_id == parent_id, PostLink.topic_id == topic_id)).first():
            return False
        if msgdata.get("reply_to_post_number") and not parent_id:
            return False
    return category_refusal(ctx, link.category_id) is None


def topic_refusal(ctx, topic: dict) -> str | None:
    if topic.get("archetype") != "regular":
        return f"sujet {topic.get('id')} : {'message privé' if topic.get('archetype') == 'private_message' else 'pas un sujet ordinaire'}"
    return category_refusal(ctx, topic.get("category_id"))


def category_refusal(ctx, category_id) -> str | None:
    """None when the category is public (with its parents) and takes list mail."""
    chain = _chain(ctx, category_id)
    if not chain:
        return f"catégorie {category_id} inconnue"
    for category in chain:
        if not category_is_public(category):
            return f"catégorie {category.get('id')} à accès restreint"
    if theme_of(ctx.settings, chain) is None and not (
            len(chain) == 1 and fold(chain[0].get("name") or "") == fold(PRESENTATIONS_CATEGORY)):
        return f"catégorie {category_id} hors des thèmes du club"
    shown = ctx.forum.facts.category_shown(chain[0]["id"], max_age=categories.PERMISSIONS_MAX_AGE)
    if not everyone_may(shown, CREATE_POST):
        return f"catégorie {category_id} en lecture seule pour la liste (tous ne peuvent pas y répondre)"
    return None


def _chain(ctx, category_id) -> list[dict]:
    """The category then its parents: from the cached category list, else (a category
    created since it was read) asked to the forum, one request each."""
    if category_id is None:
        return []
    def get(cid):
        listed = ctx.forum.facts.category_by_id(cid)
        if listed is not None:
            return listed
        try:
            return ctx.forum.category_get(cid)
        except ForumRejected:  # 403/404: not ours to judge; ForumUnavailable → retry later
            return None

    chain, seen = [], set()
    current = get(category_id)
    while current is not None and current["id"] not in seen:
        seen.add(current["id"])
        chain.append(current)
        parent = current.get("parent_category_id")
        current = get(parent) if parent else None
        if parent and current is None:
            return []  # a parent we cannot see: not public for us to judge
    return chain


def _parent_refusal(ctx, msgdata, topic) -> str | None:
    number, parent_id = msgdata.get("reply_to_post_number"), msgdata.get("parent_post_id")
    if not number and not parent_id:
        return None
    for post in (topic.get("post_stream") or {}).get("posts") or []:
        if (number and post.get("post_number") == number) or (parent_id and post.get("id") == parent_id):
            return f"message {post.get('id')} : murmure" if post.get("post_type") == WHISPER else None
    if parent_id:
        with ctx.db.connection() as conn:
            if conn.execute(select(PostLink.id).where(PostLink.post_id == parent_id)).first():
                return None  # forumsync wrote it or emailed it: not a whisper
        parent = _post(ctx, parent_id)
        if parent is None:
            msgdata["reply_to_post_number"] = None  # gone: reply to the topic itself
            return None
        if parent.get("post_type") == WHISPER:
            return f"message {parent_id} : murmure"
        return None
    msgdata["reply_to_post_number"] = None  # a number we cannot check is not replied to
    return None


def _post(ctx, post_id) -> dict | None:
    try:
        return ctx.forum.post_get(post_id)
    except ForumNotFound:
        return None
