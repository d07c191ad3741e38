"""A small French HTML interface to the local forum, enough to watch the demo work.

No login: each form says which user acts (the demo runs on loopback). Moderator actions go
through the same store functions as the API, so the same permission rules apply.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from . import serialize_topics
from .errors import ApiError
from .guardian import is_category_moderator
from .http import forum
from .models import Category, Post, Topic, User
from .posts import create_post
from .topics import get_topic, set_topic_status, update_topic
from .ui_french import french
from .users import user_by_username

bp = Blueprint("localforum_ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/localforum")

ERROR_PREFIX = "Action refusée : "


def _users(session) -> list[User]:
    return list(session.scalars(select(User).where(User.staged.is_(False), User.active.is_(True))
                                .order_by(User.username)))


def _acting(session) -> User:
    user = user_by_username(session, request.form.get("username", ""))
    if user is None or user.staged or not user.active:
        raise ApiError(403, "utilisateur inconnu ou inactif")
    return user


def _categories(session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.position, Category.id)))


@bp.get("/")
@bp.get("/ui/")
def index():
    with forum().store.session() as session:
        categories = _categories(session)
        counts = {c.id: session.scalar(select(func.count(Topic.id)).where(
            Topic.category_id == c.id, Topic.deleted_at.is_(None))) for c in categories}
        return render_template("localforum/index.html", categories=categories, counts=counts,
                               title=forum().settings.FORUM_NAME)


@bp.get("/ui/c/<int:category_id>")
def category(category_id):
    with forum().store.session() as session:
        cat = session.get(Category, category_id)
        if cat is None:
            return render_template("localforum/error.html", message="Catégorie introuvable."), 404
        topics = list(session.scalars(select(Topic).where(
            Topic.category_id == cat.id, Topic.deleted_at.is_(None),
            Topic.archetype == "regular").order_by(Topic.pinned_at.is_(None), Topic.bumped_at.desc())))
        children = [c for c in _categories(session) if c.parent_category_id == cat.id]
        return render_template("localforum/category.html", category=cat, topics=topics,
                               children=children, users=_users(session),
                               title=forum().settings.FORUM_NAME)


@bp.get("/ui/t/<int:topic_id>")
def topic(topic_id):
    with forum().store.session() as session:
        t = session.get(Topic, topic_id)
        if t is None or t.deleted_at is not None:
            return render_template("localforum/error.html", message="Sujet introuvable."), 404
        posts = list(session.scalars(select(Post).where(Post.topic_id == t.id,
                                                        Post.deleted_at.is_(None))
                                     .order_by(Post.post_number)))
        return render_template("localforum/topic.html", topic=t, posts=posts,
                               tags=serialize_topics.tag_names(session, t), users=_users(session),
                               categories=_categories(session), title=forum().settings.FORUM_NAME)


def _run(action, back):
    try:
        with forum().store.session() as session:
            action(session)
        flash("C'est fait.", "ok")
    except ApiError as exc:
        flash(ERROR_PREFIX + " ; ".join(french(e) for e in exc.errors) + ".", "error")
    return redirect(back)


@bp.post("/ui/c/<int:category_id>/new")
def topic_new(category_id):
    created = {}

    def action(session):
        post = create_post(session, _acting(session), request.form.get("raw", ""),
                           title=request.form.get("title", ""), category_id=category_id)
        created["id"] = post.topic_id

    response = _run(action, url_for(".category", category_id=category_id))
    if created:
        return redirect(url_for(".topic", topic_id=created["id"]))
    return response


@bp.post("/ui/t/<int:topic_id>/reply")
def topic_reply(topic_id):
    def action(session):
        create_post(session, _acting(session), request.form.get("raw", ""),
                    topic_id=topic_id,
                    reply_to_post_number=request.form.get("reply_to_post_number") or None)
    return _run(action, url_for(".topic", topic_id=topic_id))


@bp.post("/ui/t/<int:topic_id>/status")
def topic_status(topic_id):
    def action(session):
        topic_row = get_topic(session, topic_id)
        set_topic_status(session, _acting(session), topic_row, request.form["status"],
                         request.form.get("enabled") == "true")
    return _run(action, url_for(".topic", topic_id=topic_id))


@bp.post("/ui/t/<int:topic_id>/move")
def topic_move(topic_id):
    def action(session):
        topic_row = get_topic(session, topic_id)
        user = _acting(session)
        if not is_category_moderator(session, user, topic_row.category):
            raise ApiError(403, "seuls les modérateurs peuvent déplacer un sujet")
        update_topic(session, user, topic_row, category_id=request.form.get("category_id"))
    return _run(action, url_for(".topic", topic_id=topic_id))
