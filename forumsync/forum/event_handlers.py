"""What each forum event does (``events.HANDLERS`` dispatches to these).

- ``post_created``: a post the list may see (``live.verdict``) is composed and enqueued in
  the outbox in the same transaction that records its PostLink (origin "forum").
- ``post_edited``: nothing, unless SEND_EDIT_NOTICES (a short « [modifié] » notice).
- ``topic_edited``: keep the TopicLink in step (title, category, theme) when a lead moves it.
- ``category_*``: the cached categories are read again.
Each returns the French outcome recorded on the event, or raises ``live.Skip``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from ..mail.ids import LIST_EXTERNAL_ID_PREFIX
from ..mail.subjects import clean_subject, subject_key, undecorated_title
from ..models import PostLink, TopicLink, utcnow
from ..outbound import compose, outbox
from ..queues import wake
from . import live
from .catchup import CATCHUP_COPY, CATCHUP_MARK
from .eligibility import REGULAR as REGULAR_POST, theme_of
from .gateway import ForumNotFound
from .live import Skip


def _eligible(ctx, payload: dict, cache: dict):
    """The live facts of the post, once the forum says it may go to the list (else Skip)."""
    facts = live.refresh_refusing_categories(ctx, live.gather(ctx, payload, cache))
    allowed, reason = live.verdict(ctx, facts)
    if not allowed:
        raise Skip(reason)
    return facts, reason


# A post_created whose post was updated this long after the date it carries was not written
# then: Discourse's PostMover#create_first_post copies a moved first post with PostCreator,
# giving it the original's created_at, while Rails stamps updated_at with the time of the copy
# (a post written now has the two equal in the event, built as it is created; a few seconds
# leave room for a write of the same request).
COPY_SECONDS = 5


def copied_post(payload: dict) -> bool:
    """Whether the post of a post_created event is a copy of an older post (a moved topic's
    first post), read in the event itself (signed by the forum, built when the post was
    created: a later edit changes the live post's updated_at, not the event's). Such a post
    is never relayed: it was not written now, as moved replies are not (they fire nothing);
    relayed, it sent a forum post to the list a second time, or a staff-only post moved into a
    public topic (red team, 29th pass)."""
    if payload.get(CATCHUP_MARK):  # the live post (an edit moves its updated_at): catch-up told
        return bool(payload.get(CATCHUP_COPY))  # by its date against the posts known before it
    created, updated = _parse_time(payload.get("created_at")), _parse_time(payload.get("updated_at"))
    return bool(created and updated and (updated - created).total_seconds() > COPY_SECONDS)


def post_created(ctx, payload: dict, cache: dict) -> str:
    facts, reason = _eligible(ctx, payload, cache)  # first: a list message says it is one
    if copied_post(payload):
        raise Skip(f"copie d'un message plus ancien (daté du {payload.get('created_at')}), faite en "
                   f"déplaçant un sujet : jamais relayée")
    post, topic = facts.post, facts.topic
    settings = ctx.settings
    message_id = compose.post_message_id(settings, post["id"])
    author_email = None
    if settings.EXPOSE_AUTHOR_EMAIL:
        author_email = ctx.forum.user_email_get(post.get("username") or "")
    with ctx.db.session() as session:  # one transaction: compose, enqueue, link
        link = session.get(TopicLink, topic["id"])
        in_reply_to, references = reply_headers(ctx, session, topic, post, link, cache)
        forum_post = compose.ForumPost(
            post_id=post["id"], topic_id=topic["id"], post_number=post.get("post_number") or 1,
            username=post.get("username") or "", author_name=post.get("name") or "",
            cooked=post.get("cooked") or "", title=list_title(settings, topic, post),
            topic_slug=topic.get("slug") or post.get("topic_slug") or "",
            list_tag=link.list_tag if link else None, in_reply_to=in_reply_to,
            references=references, author_email=author_email,
            created_at=_parse_time(post.get("created_at")))
        message = compose.compose_post(settings, forum_post)
        created = outbox.enqueue(session, f"post:{post['id']}", message, [settings.LIST_ADDRESS],
                                 sender=settings.BRIDGE_ADDRESS,
                                 not_before=send_after(settings, forum_post.created_at))
        if session.scalars(select(PostLink.id).where(PostLink.message_id == message_id)).first() is None:
            session.add(PostLink(message_id=message_id, post_id=post["id"], topic_id=topic["id"],
                                 post_number=forum_post.post_number, origin="forum"))
        theme = theme_of(settings, facts.categories)
        if link is None and forum_post.post_number == 1:
            session.add(TopicLink(topic_id=topic["id"], root_message_id=message_id,
                                  category_id=topic.get("category_id"),
                                  theme=theme["slug"] if theme else None, title=forum_post.title,
                                  subject_key=subject_key(clean_subject(forum_post.title, settings.LIST_TAG)[0]),
                                  list_tag=None))
        elif link is not None:
            link.last_activity_at = utcnow()
    if created:
        wake(ctx)
    return f"envoyé à la liste ({reason})" if created else "déjà dans la file d'envoi"


def send_after(settings, created_at):
    """When a post written at CREATED_AT (the forum's clock) may leave for the list: after
    LIST_SEND_DELAY_SECONDS, as Discourse mails its « mailing list mode » users only
    email_time_window_mins after a post (lib/post_jobs_enqueuer.rb#after_post_create). Sent at
    once, a new member's spam reached every subscriber before the forum's spam checks or its
    flags could hide it, and the check right before the hand-off had nothing left to stop (red
    team, 47th pass). None when nothing is to wait; never later than a full delay from now (the
    forum's clock may run ahead of ours)."""
    delay = timedelta(seconds=settings.LIST_SEND_DELAY_SECONDS)
    if not delay:
        return None
    now = utcnow()
    if created_at is not None and created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    written = created_at.astimezone(timezone.utc) if created_at else now
    due = min(written, now) + delay
    return due if due > now else None


def list_title(settings, topic: dict, post: dict) -> str:
    """The title the list's mail carries: the topic's, without the suffix forumsync added for
    the forum alone to a topic it opened from list mail (« (Club Publik, 07/12/2026) » for a
    title the forum found too short or already used): the thread keeps the subject its members
    know, and a reply that lost its headers still finds it by subject (28th pass)."""
    title = topic.get("title") or post.get("topic_title") or ""
    if str(topic.get("external_id") or "").startswith(LIST_EXTERNAL_ID_PREFIX):
        title = undecorated_title(title, settings.LIST_NAME)
    return title


def post_edited(ctx, payload: dict, cache: dict) -> str:
    if not ctx.settings.SEND_EDIT_NOTICES:
        raise Skip("modification non relayée (SEND_EDIT_NOTICES désactivé)")
    post_id = payload.get("id")
    with ctx.db.session() as session:
        sent = session.scalars(select(PostLink).where(PostLink.post_id == post_id,
                                                      PostLink.origin == "forum")).first()
    if sent is None:
        raise Skip("message jamais envoyé à la liste : modification non relayée")
    facts, _ = _eligible(ctx, payload, cache)
    post, topic = facts.post, facts.topic
    version = post.get("version") or payload.get("version") or 0
    with ctx.db.session() as session:
        link = session.get(TopicLink, topic["id"])
        _, references = reply_headers(ctx, session, topic, post, link, cache)
        message = compose.compose_post(ctx.settings, compose.ForumPost(
            post_id=post["id"], topic_id=topic["id"], post_number=post.get("post_number") or 1,
            username=post.get("username") or "", author_name=post.get("name") or "",
            cooked="", title=list_title(ctx.settings, topic, post), topic_slug=topic.get("slug") or "",
            list_tag=link.list_tag if link else None, references=references, edited=True))
        created = outbox.enqueue(session, f"edit:{post_id}:{version}", message,
                                 [ctx.settings.LIST_ADDRESS], sender=ctx.settings.BRIDGE_ADDRESS)
    return "notice « [modifié] » envoyée" if created else "notice déjà dans la file d'envoi"


def topic_edited(ctx, payload: dict, cache: dict) -> str:
    topic_id = payload.get("id")
    if not topic_id:
        raise Skip("événement sans identifiant de sujet")
    with ctx.db.session() as session:
        exists = session.get(TopicLink, topic_id) is not None
    if not exists:
        raise Skip(f"sujet {topic_id} non relié à la liste")
    try:
        topic = ctx.forum.topic_get(topic_id)
    except ForumNotFound:
        topic = payload
    category_id = topic.get("category_id") or payload.get("category_id")
    chain = live.category_chain(ctx, category_id, cache) if category_id else []
    theme = theme_of(ctx.settings, chain)
    with ctx.db.session() as session:
        link = session.get(TopicLink, topic_id)
        before = (link.title, link.category_id, link.theme)
        if topic.get("title"):
            link.title = topic["title"]
        if category_id:
            link.category_id = category_id
            link.theme = theme["slug"] if theme else None
        after = (link.title, link.category_id, link.theme)
    if before == after:
        return "sujet inchangé"
    return f"sujet mis à jour : {before} → {after}"


def categories_changed(ctx, payload: dict, cache: dict) -> str:
    ctx.forum.facts.invalidate_categories()
    return "catégories relues au prochain message"


# ------------------------------------------------------------------------------ threading headers
def _stream_posts(topic: dict) -> dict[int, dict]:
    return {p.get("post_number"): p for p in (topic.get("post_stream") or {}).get("posts") or []}


def _message_id_of(ctx, session, topic: dict, number: int, cache: dict) -> str | None:
    """Message-ID of post NUMBER of the topic: its PostLink (list mail or forum post we sent),
    else the forum post's own id. The post is found in the topic as the forum serves it (read
    already by the eligibility check), by its id: a moderator's « move posts » changes a post's
    topic and number, not its id, and the PostLink keeps the old place (25th pass)."""
    full = live.topic(ctx, topic["id"], cache)
    post = _stream_posts(full).get(number)
    if post is not None and post.get("id"):
        link = session.scalars(select(PostLink).where(PostLink.post_id == post["id"])
                               .order_by(PostLink.id)).first()
    else:  # beyond the posts the topic carries: its place as recorded
        link = session.scalars(select(PostLink).where(PostLink.topic_id == topic["id"],
                                                      PostLink.post_number == number)
                               .order_by(PostLink.id)).first()
    if link is not None:
        return link.message_id
    if post is not None:
        if (post.get("post_type") or REGULAR_POST) != REGULAR_POST or post.get("hidden") \
                or post.get("deleted_at"):
            return None  # never name a whisper or a hidden post: the reply threads to the root
        return compose.post_message_id(ctx.settings, post["id"])
    if number == 1:
        stream = (full.get("post_stream") or {}).get("stream") or []
        if stream:
            return compose.post_message_id(ctx.settings, stream[0])
    return None


def reply_headers(ctx, session, topic: dict, post: dict, link: TopicLink | None,
                  cache: dict) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) for ``post`` (ids without <>): the replied-to post (else the
    topic's first post), with References = root, then the parent. A parent the list never saw
    (a whisper, a hidden post) is not named: its id would tell the list it exists."""
    if post.get("post_number", 1) <= 1:
        return None, []
    root = (link.root_message_id if link and link.root_message_id else None) or \
        _message_id_of(ctx, session, topic, 1, cache)
    number = post.get("reply_to_post_number") or 1
    parent = _message_id_of(ctx, session, topic, number, cache) if number > 1 else root
    parent = parent or root
    references = [r for r in dict.fromkeys([root, parent]) if r]
    return parent, references


def _parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
