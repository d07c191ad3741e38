"""Topics and posts: POST /posts.json, GET/PUT /posts/{id}, /t/… (view, edit, status, move)."""
from __future__ import annotations

from flask import Blueprint, Response, g, redirect, request
from sqlalchemy import select

from . import newposts, serialize_topics
from .errors import forbidden, missing_param, not_found
from .guardian import is_category_moderator
from .http import api_route, as_bool, as_list, current_user, forum, json_response, params
from .latest_posts import before_id, latest_posts
from .models import Category, Post
from .posts import create_post, delete_post, get_post, update_post
from .tag_params import tag_names
from .topics import (delete_topic, get_topic, move_posts, recover_topic, set_topic_status,
                     topic_by_external_id as find_topic_by_external_id, update_topic)

bp = Blueprint("localforum_topics", __name__)


def _empty_ok() -> Response:
    # Discourse's `render body: nil`: an empty 200 that pydiscourse accepts.
    return Response("", 200, content_type="text/plain; charset=utf-8")


@api_route(bp, "/posts", methods=["POST"])
def post_create():
    p = params()
    raw = p.get("raw")
    if raw in (None, ""):
        raise missing_param("raw")
    with forum().store.session() as session:
        user = current_user(session)
        new_topic = p.get("topic_id") in (None, "")
        private = (p.get("archetype") or "regular") == "private_message"
        if not private:
            topic = None if new_topic else get_topic(session, p.get("topic_id"), user)
            category = _category_of(session, p, topic)
            if newposts.needs_approval(session, user, category, new_topic):
                return json_response(newposts.enqueue(session, user, raw, topic=topic,
                                                      category=category, title=p.get("title")))
        forum().user_limits.check(session, user, new_topic)
        post_type = 4 if as_bool(p.get("whisper")) else p.get("post_type") or 1
        post = create_post(
            session, user, raw, title=p.get("title"), category_id=p.get("category"),
            topic_id=p.get("topic_id"), reply_to_post_number=p.get("reply_to_post_number"),
            created_at=p.get("created_at"), external_id=p.get("external_id"),
            tags=tag_names(session, p.get("tags")), archetype=p.get("archetype") or "regular",
            target_recipients=as_list(p.get("target_recipients") or p.get("target_usernames")),
            post_type=post_type)
        forum().user_limits.performed(session, user, new_topic)
        return json_response(serialize_topics.serialize_post(session, post, user, "created"))


def _category_of(session, p, topic):
    if topic is not None:
        return topic.category
    try:
        return session.get(Category, int(p.get("category") or 1))
    except (TypeError, ValueError):
        return None


@api_route(bp, "/posts", methods=["GET"], endpoint="posts_latest")
def posts_latest():
    """PostsController#latest (see latest_posts.py); anonymous readers allowed, as there."""
    with forum().store.session() as session:
        user = current_user(session) if g.get("api_username") else None  # anonymous may read it
        posts = latest_posts(session, user, before_id(request.args.get("before")))
        return json_response({"latest_posts": [serialize_topics.serialize_post(session, post, user, "show")
                                               for post in posts]})


@api_route(bp, "/posts/<int:post_id>", methods=["GET"])
def post_show(post_id):
    with forum().store.session() as session:
        user = current_user(session)
        post = get_post(session, post_id, user)
        return json_response(serialize_topics.serialize_post(session, post, user, "show"))


@api_route(bp, "/posts/<int:post_id>", methods=["PUT"])
def post_update(post_id):
    p = params()
    nested = p.get("post") if isinstance(p.get("post"), dict) else {}
    raw = nested.get("raw", p.get("raw"))
    if raw in (None, ""):
        raise missing_param("post")
    with forum().store.session() as session:
        user = current_user(session)
        post = get_post(session, post_id, user)
        update_post(session, user, post, raw,
                    nested.get("edit_reason", p.get("edit_reason")))
        return json_response({"post": serialize_topics.serialize_post(session, post, user, "updated")})


@api_route(bp, "/posts/<int:post_id>", methods=["DELETE"])
def post_delete(post_id):
    with forum().store.session() as session:
        user = current_user(session)
        post = get_post(session, post_id, user)
        delete_post(session, user, post)
    return _empty_ok()


@api_route(bp, "/posts/by_number/<int:topic_id>/<int:post_number>", methods=["GET"])
def post_by_number(topic_id, post_number):
    with forum().store.session() as session:
        user = current_user(session)
        post = session.scalar(select(Post).where(Post.topic_id == topic_id,
                                                 Post.post_number == post_number))
        if post is None:
            raise not_found()
        post = get_post(session, post.id, user)
        return json_response(serialize_topics.serialize_post(session, post, user, "show"))


def _topic_view(topic_id):
    with forum().store.session() as session:
        user = current_user(session)
        topic = get_topic(session, topic_id, user)
        moderator = is_category_moderator(session, user, topic.category)
        return json_response(serialize_topics.serialize_topic_view(
            session, topic, user, moderator, print_all=as_bool(params().get("print"))))


@api_route(bp, "/t/<int:topic_id>", methods=["GET"])
def topic_show(topic_id):
    return _topic_view(topic_id)


@api_route(bp, "/t/<slug>/<int:topic_id>", methods=["GET"])
def topic_show_slug(slug, topic_id):
    return _topic_view(topic_id)


@api_route(bp, "/t/<int:topic_id>/posts", methods=["GET"])
def topic_posts(topic_id):
    p = params()
    wanted = {int(i) for i in as_list(p.get("post_ids"))}
    with forum().store.session() as session:
        user = current_user(session)
        topic = get_topic(session, topic_id, user)
        posts = [post for post in serialize_topics.visible_posts(session, topic, user)
                 if not wanted or post.id in wanted]
        return json_response({"post_stream": {
            "posts": [serialize_topics.serialize_post(session, post, user, "topic") for post in posts]},
            "id": topic.id})


@api_route(bp, "/t/external_id/<external_id>", methods=["GET"])
def topic_by_external_id(external_id):
    json_suffix = request.path.endswith(".json")
    if json_suffix:
        external_id = external_id[:-5] if external_id.endswith(".json") else external_id
    with forum().store.session() as session:
        current_user(session)
        topic = find_topic_by_external_id(session, external_id)
        if topic is None:
            raise not_found()
        return redirect(f"/t/{topic.slug}/{topic.id}" + (".json" if json_suffix else ""), 301)


def _topic_update(topic_id):
    p = params()
    topic_fields = p.get("topic") if isinstance(p.get("topic"), dict) else {}
    merged = {**topic_fields, **{k: v for k, v in p.items() if k != "topic"}}
    tags = merged.get("tags")
    with forum().store.session() as session:
        user = current_user(session)
        topic = get_topic(session, topic_id, user)
        update_topic(session, user, topic, title=merged.get("title"),
                     category_id=merged.get("category_id"),
                     tags=None if tags is None else tag_names(session, tags))
        return json_response({"basic_topic": serialize_topics.serialize_basic_topic(session, topic)})


@api_route(bp, "/t/<slug>/<int:topic_id>", methods=["PUT"])
def topic_update(slug, topic_id):
    return _topic_update(topic_id)


@api_route(bp, "/t/<int:topic_id>", methods=["PUT"])
def topic_update_bare(topic_id):
    return _topic_update(topic_id)


@api_route(bp, "/t/<int:topic_id>", methods=["DELETE"])
def topic_delete(topic_id):
    with forum().store.session() as session:
        user = current_user(session)
        topic = get_topic(session, topic_id, user)
        delete_topic(session, user, topic)
    return _empty_ok()


@api_route(bp, "/t/<int:topic_id>/recover", methods=["PUT"])
def topic_recover(topic_id):
    with forum().store.session() as session:
        user = current_user(session)
        recover_topic(session, user, get_topic(session, topic_id, user, include_deleted=True))
    return _empty_ok()


@api_route(bp, "/t/<int:topic_id>/status", methods=["PUT"])
def topic_status(topic_id):
    p = params()
    status = p.get("status")
    if not status:
        raise missing_param("status")
    if p.get("enabled") in (None, ""):
        raise missing_param("enabled")
    with forum().store.session() as session:
        user = current_user(session)
        topic = get_topic(session, topic_id, user)
        set_topic_status(session, user, topic, status, as_bool(p.get("enabled")))
    return json_response({"success": "OK", "topic_status_update": None})


@api_route(bp, "/t/<int:topic_id>/move-posts", methods=["POST"])
def topic_move_posts(topic_id):
    p = params()
    post_ids = as_list(p.get("post_ids"))
    if not post_ids:
        raise missing_param("post_ids")
    with forum().store.session() as session:
        user = current_user(session)
        topic = get_topic(session, topic_id, user)
        if not is_category_moderator(session, user, topic.category):
            raise forbidden()
        destination = move_posts(session, user, topic, post_ids,
                                 destination_topic_id=p.get("destination_topic_id"),
                                 title=p.get("title"), category_id=p.get("category_id"))
        return json_response({"success": "OK", "url": f"/t/{destination.slug}/{destination.id}"})
