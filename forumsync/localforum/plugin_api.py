"""The discourse-forumsync plugin's endpoints, as the local forum implements them.

Same contract as the Ruby plugin (``plugin/spec/fixtures/contract/*.json``, checked by
tests/themes/test_plugin_contract.py):

- ``GET /forumsync/capabilities.json`` (admin)
- ``POST /forumsync/posts.json`` (admin): a topic or a reply as the staged user of ``email``,
  once per Message-ID (201 created, 200 already there); multipart with ``files[]`` carries the
  post's files in the same call (``forumsync-file:N`` in the raw → the Nth upload's short URL);
- ``GET /forumsync/posts/by-message-id.json?message_id=`` (admin): the post as
  ``GET /posts/{id}.json`` shows it, plus ``forumsync_message_id``.

The Message-ID ↔ post table is the plugin's own (Discourse: a post custom field), created in
the local forum's database when the blueprint is registered.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import prepared, serialize_common, serialize_topics, serialize_uploads, staged_users
from .errors import ApiError, forbidden, missing_param, not_found
from .http import api_route, current_user, forum, json_response, params
from .models import Category, Post, utcnow
from .parsing import parse_time
from .guardian import category_permission
from .plugin_params import MAX_MESSAGE_ID, MESSAGES, PostFiles, PostParams, normalize_message_id
from .posts import create_post
from .topics import get_topic
from .uploads import create_upload

PLUGIN_NAME = "discourse-forumsync"
VERSION = "0.1.0"  # plugin/lib/forumsync/version.rb
FEATURES = ("staged_posts", "post_files", "message_id_lookup", "category_fields", "batch_posts",
            "users_by_email", "username_hint")

bp = Blueprint("localforum_forumsync", __name__)


class PluginBase(DeclarativeBase):
    pass


class MessageIdLink(PluginBase):
    """Discourse: the post custom field ``forumsync_message_id`` (+ an IncomingEmail)."""

    __tablename__ = "forumsync_message_ids"

    message_id: Mapped[str] = mapped_column(String(MAX_MESSAGE_ID), primary_key=True)
    post_id: Mapped[int] = mapped_column(Integer, index=True)  # posts.id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@bp.record
def _create_tables(state):
    localforum = state.app.extensions.get("localforum")
    if localforum is not None:
        MessageIdLink.__table__.create(localforum.store.engine, checkfirst=True)


_POST_ID_OF = select(MessageIdLink.post_id).where(MessageIdLink.message_id == prepared.value("message_id"))


def post_by_message_id(session, message_id: str | None) -> Post | None:
    if message_id is None:
        return None
    post_id = prepared.scalar(session, _POST_ID_OF, message_id=message_id)
    return session.get(Post, post_id) if post_id is not None else None


def created_body(post: Post, message_id: str, created: bool) -> dict:
    """plugin/lib/forumsync/post_serializer.rb ``created``."""
    user = post.user
    return {
        "id": post.id, "topic_id": post.topic_id, "topic_slug": post.topic.slug,
        "post_number": post.post_number, "reply_to_post_number": post.reply_to_post_number,
        "created_at": serialize_common.iso(post.created_at), "user_id": user.id,
        "username": user.username, "name": user.name, "staged": bool(user.staged),
        "message_id": message_id, "created": created,
    }


# ------------------------------------------------------------------ views
@api_route(bp, "/forumsync/capabilities", methods=["GET"])
def capabilities():
    with forum().store.session() as session:
        _admin(session)  # the plugin's ensure_admin: forumsync asks with its admin key
        batch_max = plugin_batch.max_posts(session)
    return json_response({"plugin": PLUGIN_NAME, "version": VERSION, "features": list(FEATURES),
                          "batch_max_posts": batch_max})


def _admin(session):
    user = current_user(session)
    if not user.admin:
        raise forbidden()
    return user


@api_route(bp, "/forumsync/posts", methods=["POST"])
def posts_create():
    with forum().store.session() as session:
        _admin(session)
        post_params = PostParams(params())
        files = request.files.getlist("files[]") or request.files.getlist("files")
        post_files = PostFiles(post_params.raw, len(files))
        errors = post_params.errors + (post_files.errors if post_params.raw else [])
        if errors:
            raise ApiError(422, errors, "invalid_parameters")
        post, created = create_staged_post(session, post_params, files, post_files)
        return json_response(created_body(post, post_params.message_id, created),
                             201 if created else 200)


def create_staged_post(session, post_params: PostParams, files, post_files: PostFiles, *,
                       unknown_message_id: bool = False, sender=None):
    """(post, created): the post of a valid PostParams, created once per Message-ID as the
    staged user of its email (plugin/lib/forumsync/staged_post_creator.rb); ApiError 404 for
    an unknown topic or category. The batch endpoint (plugin_batch.py) posts through here too:
    it passes UNKNOWN_MESSAGE_ID when it has just looked the Message-ID up in this transaction,
    and SENDER when it has just read the user of the email (its ``staged_only`` check)."""
    if not unknown_message_id:
        existing = post_by_message_id(session, post_params.message_id)
        if existing is not None:
            return existing, False
    if post_params.reply:
        topic = get_topic(session, post_params.topic_id)  # 404 when unknown
        if topic.closed or topic.archived:  # only staff post there (can_create_post_on_topic?)
            raise ApiError(422, [MESSAGES["topic_closed"].format(id=topic.id)], "topic_closed")
        category, needed = topic.category, 2  # create_post
    else:
        category = session.get(Category, post_params.category_id)
        if category is None:
            raise not_found()
        needed = 1  # full
    # created without a guardian (a staged sender): only where everyone may (StagedPostCreator
    # #refuse_unless_everyone_may!; forumsync checks first, this holds if a category changed)
    everyone = category_permission(session, None, category) if category is not None else None
    if everyone is None or everyone > needed:
        raise ApiError(422, [MESSAGES["category_closed"].format(id=getattr(category, "id", None))],
                       "category_closed")
    try:
        user = sender or staged_users.find_or_create(session, post_params.email, post_params.name,
                                                     post_params.username_hint)[0]
    except staged_users.SenderRefused as exc:
        raise ApiError(422, [exc.message], staged_users.SENDER_REFUSED) from exc
    raw = post_params.raw
    if files:
        raw = post_files.substitute([_upload_short_url(session, user, file) for file in files])
    try:
        post = create_post(
            session, user, raw, title=None if post_params.reply else post_params.title,
            category_id=post_params.category_id, topic_id=post_params.topic_id,
            reply_to_post_number=post_params.reply_to_post_number,
            created_at=capped_created_at(post_params.created_at), external_id=post_params.external_id,
            tags=post_params.tags or None, check_permissions=False,
            # plugin/lib/forumsync/creator_options.rb: PostCreator's skip_validations (no
            # lengths, no unique title, no rate limits), auto_track: false and via_email
            skip_validations=True, auto_track=False, via_email=True)
    except ApiError as exc:  # Refusal in the plugin: 422 with the reason, the request rolled back
        if exc.status != 422:
            raise
        raise ApiError(422, [MESSAGES["post_refused"].format(reason=" ".join(exc.errors))],
                       POST_REFUSED) from exc
    prepared.insert(session, MessageIdLink, {"message_id": post_params.message_id, "post_id": post.id})
    session.flush()
    return post, True


POST_REFUSED = "post_refused"


def capped_created_at(value):
    """Email::Receiver#create_post: a date in the future becomes now."""
    when = parse_time(value)
    if when is None:
        return None
    return min(when, utcnow())


def _upload_short_url(session, user, file) -> str:
    name = file.filename or "fichier"
    try:
        upload = create_upload(session, user, name, file.read(), file.mimetype)
    except ApiError as exc:  # the post is not created (the transaction is rolled back)
        reason = " ".join(exc.errors) if isinstance(exc.errors, list) else str(exc.errors)
        raise ApiError(422, [MESSAGES["upload_refused"].format(name=name, reason=reason)],
                       "invalid_parameters") from exc
    return serialize_uploads.upload_short_url(upload)


@api_route(bp, "/forumsync/posts/by-message-id", methods=["GET"])
def posts_by_message_id():
    p = params()
    raw = p.get("message_id")
    if raw in (None, ""):
        raise missing_param("message_id")
    with forum().store.session() as session:
        viewer = _admin(session)
        message_id = normalize_message_id(raw)
        post = post_by_message_id(session, message_id)
        if post is None:
            raise not_found()
        body = serialize_topics.serialize_post(session, post, viewer, "show")
        body["forumsync_message_id"] = message_id
        return json_response(body)


from . import plugin_batch  # noqa: E402,F401  registers POST /forumsync/posts/batch.json on bp
