"""Stage ``publish``: write the topic or the reply on the forum, then record the mapping.

Everything is decided before this stage: the topic as it is now (``live_topic``: moved,
merged, closed, deleted; ``closed_topic``'s notice), the poster (``author``, from those facts
and the sender's), what an earlier attempt already wrote (``reconcile``: then nothing is
written here). This stage composes the post (``compose_post``: files first, then the pure
``draft``), writes it, and on a refusal asks ``refusal_policy`` for the one remedy to try
before writing again (a refused poster: the author's documented fallback, ``author.fall_back``).

The forum write happens outside any database transaction; the mapping rows (PostLink,
TopicLink) are queued in ``msgdata["writes"]`` by ``records.done`` and committed by the
runner together with the inbox row's final state, in one short transaction.

Idempotency: new topics carry ``external_id`` (``mail.ids.topic_external_id``); replies through
the plugin are idempotent on the Message-ID; other posts end with the hidden marker
(``mail.ids.post_marker``) that ``reconcile`` looks for on a second attempt.
"""
from __future__ import annotations

from datetime import timezone

from ..forum.gateway import ForumNotFound, ForumPending, ForumRejected
from ..mail.ids import bracketed
from ..models import utcnow
from . import (access, author, categories, closed_topic, compose_post, live_topic, post_limits, reconcile,
               records, route)
from .draft import Draft
from .errors import Drop
from .msgdata import MsgData, post_key
from .refusal_policy import Remedy, remedy

# The stages that follow the topic: run again when it vanished between reading and writing
# (``live_topic`` finds it moved, or gone; ``closed_topic`` sends a reply to a topic closed
# now to its continuation; ``author`` decides the poster again).
_FOLLOW = (live_topic, closed_topic, author, reconcile)
# ... and when the forum refused the place (``refusal_policy`` FOLLOW): every stage that decides
# where the reply goes, on the forum as it is now (closed: continuation; moved or made
# read-only: a new topic in its theme).
_PLACE = (access, route) + _FOLLOW


class _PlaceRefused(Exception):
    """The forum refused the place this run decided on: decide it again (``process``)."""


def process(ctx, msg, msgdata: MsgData) -> None:
    msgdata.setdefault("writes", [])
    try:
        try:
            _publish(ctx, msgdata)
        except ForumNotFound:
            if msgdata.get("topic_id") is None:
                raise
            # The topic vanished since this batch looked at it: look again (follow or quarantine).
            live_topic.forget(msgdata)
            for stage in _FOLLOW:
                stage.process(ctx, msg, msgdata)
            _publish(ctx, msgdata)
        except _PlaceRefused:
            live_topic.forget(msgdata)
            ctx.forum.facts.invalidate_categories()
            for stage in _PLACE:
                stage.process(ctx, msg, msgdata)
            _publish(ctx, msgdata)
    except ForumPending as exc:
        # Held for approval (NewPostManager "enqueued"): no post, no id; never posted again
        # by another account (that would bypass the category's moderators).
        raise Drop(f"en attente de validation sur le forum (file d'approbation, élément "
                   f"{exc.pending_id}) : le message paraîtra s'il est approuvé") from None


def _publish(ctx, msgdata) -> None:
    if msgdata.get("reconciled"):
        return
    new_topic = msgdata.get("topic_id") is None
    target = _new_topic_target(ctx, msgdata) if new_topic else dict(
        topic_id=msgdata["live_topic"]["id"], reply_to_post_number=msgdata.get("reply_to_post_number"))
    composed = compose_post.drafted(ctx, msgdata, **target)
    problems = compose_post.foreseen(ctx, msgdata, composed)
    while True:
        try:
            answer = _write(ctx, msgdata, compose_post.fit(ctx, msgdata, composed, problems))
            break
        except ForumRejected as exc:
            action = remedy(ctx, msgdata, exc, problems, new_topic)
            if action is None:
                raise
            if action is Remedy.LINKED:
                return
            if action is Remedy.FOLLOW:
                raise _PlaceRefused() from exc
            if action is Remedy.RECOMPOSE:
                composed = compose_post.drafted(ctx, msgdata, **target)
    post = records.post_of(answer)
    if new_topic and answer.get("created") is False:
        records.found_again(ctx, msgdata, post, composed.external_id)
    elif new_topic:
        theme = msgdata.get("theme") or ctx.settings.DEFAULT_THEME
        records.remember_post(msgdata, records.new_topic_view(post, composed.category_id,
                                                              composed.title), post)
        records.done(ctx, msgdata, post, new_topic=dict(
            external_id=composed.external_id, category_id=composed.category_id, theme=theme))
    else:
        topic = msgdata["live_topic"]
        records.remember_post(msgdata, topic, post)
        records.done(ctx, msgdata, post, topic=topic)


def _new_topic_target(ctx, msgdata) -> dict:
    theme = msgdata.get("theme") or ctx.settings.DEFAULT_THEME
    return dict(title=msgdata.get("title") or msgdata.get("subject") or "(sans objet)",
                category_id=categories.list_topic_category_id(ctx, theme),
                external_id=reconcile.external_id(msgdata))


def _write(ctx, msgdata, draft: Draft) -> dict:
    """One write: through the plugin for a staged author, else as the poster's account."""
    if msgdata.get("staged"):
        return ctx.forum.staged_post_create(
            email=msgdata["from_email"], name=msgdata.get("from_name") or "",
            username_hint=msgdata.get("username_hint"), raw=draft.raw,
            message_id=bracketed(post_key(msgdata)), title=draft.title,
            category_id=draft.category_id, topic_id=draft.topic_id,
            reply_to_post_number=draft.reply_to_post_number, created_at=draft.created_at,
            external_id=draft.external_id, files=draft.files)
    poster = _poster(ctx, msgdata["username"])
    created_at = _not_after_now(draft.created_at)
    if draft.topic_id is None:
        return poster.topic_create(draft.title, draft.raw, draft.category_id,
                                   created_at=created_at, external_id=draft.external_id)
    return poster.post_create(draft.topic_id, draft.raw, reply_to_post_number=draft.reply_to_post_number,
                              created_at=created_at)


def _not_after_now(when):
    """A mail's date as a post's, capped at now as the plugin caps it (Email::Receiver: a date
    in the future becomes now): a sender's clock ahead put the post after later ones, and its
    date confused the forum's order (red team, 31st pass)."""
    if when is None:
        return None
    now = utcnow()
    try:
        return min(when, now)
    except TypeError:  # a naive date: UTC
        return min(when.replace(tzinfo=timezone.utc), now)


def _poster(ctx, username: str):
    """The gateway acting as USERNAME (one clone per user, kept on the gateway)."""
    if not username or username == ctx.settings.FORUM_API_USERNAME:
        return ctx.forum
    return post_limits.remembered(ctx.forum, f"poster:{username}", lambda gateway: gateway.as_user(username))
