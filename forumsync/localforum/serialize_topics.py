"""Posts and topics → Discourse JSON (API responses and webhook payloads), with their tags."""
from __future__ import annotations

from sqlalchemy import func, select

from . import prepared, shapes
from .cooking import excerpt
from .models import Post, Tag, Topic, TopicTag, User
from .serialize_common import avatar_template, fill, iso, user_basic


_TAG_NAMES = (select(Tag.name).join(TopicTag, TopicTag.tag_id == Tag.id)
              .where(TopicTag.topic_id == prepared.value("topic_id")).order_by(Tag.name))
# both counts in one pass over the topic's posts (each post serialized paid two queries)
_POST_COUNTS = select(
    func.count(Post.id), func.count(Post.id).filter(Post.reply_to_post_number == prepared.value("number")),
).where(Post.topic_id == prepared.value("topic_id"), Post.deleted_at.is_(None))
_LIVE_POSTS = (select(Post).where(Post.topic_id == prepared.value("topic_id"), Post.deleted_at.is_(None))
               .order_by(Post.post_number))
# a topic's highest post number, deleted posts included (posts.py numbers a reply with it)
HIGHEST_NUMBER = select(func.max(Post.post_number)).where(Post.topic_id == prepared.value("topic_id"))


def tag_names(session, topic: Topic) -> list[str]:
    return prepared.scalars(session, _TAG_NAMES, topic_id=topic.id)


def tag_objects(session, topic: Topic) -> list[dict]:
    rows = session.execute(select(Tag.id, Tag.name).join(TopicTag, TopicTag.tag_id == Tag.id)
                           .where(TopicTag.topic_id == topic.id).order_by(Tag.name))
    return [{"id": tid, "name": name, "slug": name} for tid, name in rows]


def _post_values(session, post: Post, viewer: User | None) -> dict:
    user, topic = post.user, post.topic
    posts_count, reply_count = prepared.first(session, _POST_COUNTS, topic_id=topic.id,
                                              number=post.post_number)
    staff = bool(viewer and viewer.staff)
    mine = bool(viewer and viewer.id == user.id)
    return {
        "id": post.id, "name": user.name, "username": user.username,
        "avatar_template": avatar_template(user), "created_at": iso(post.created_at),
        "cooked": post.cooked, "raw": post.raw, "post_number": post.post_number,
        "post_type": post.post_type, "posts_count": posts_count, "updated_at": iso(post.updated_at),
        "reply_count": reply_count, "reply_to_post_number": post.reply_to_post_number,
        "quote_count": 0, "incoming_link_count": 0, "reads": 1, "readers_count": 0, "score": 0,
        "yours": mine, "topic_id": topic.id, "topic_slug": topic.slug,
        "display_username": user.name or user.username, "version": post.version,
        "can_edit": staff or mine, "can_delete": staff or mine, "can_recover": staff,
        "can_wiki": staff, "bookmarked": False, "actions_summary": [], "moderator": user.moderator,
        "admin": user.admin, "staff": user.staff, "user_id": user.id, "hidden": post.hidden,
        "trust_level": user.trust_level, "deleted_at": iso(post.deleted_at), "user_deleted": False,
        "edit_reason": post.edit_reason, "can_view_edit_history": True, "wiki": False,
        "reviewable_id": None, "reviewable_score_count": 0, "reviewable_score_pending_count": 0,
        "post_url": f"/t/{topic.slug}/{topic.id}/{post.post_number}", "link_counts": [],
        "read": True, "draft_sequence": 0,
    }


def serialize_post(session, post: Post, viewer: User | None, kind: str = "show") -> dict:
    """kind: "created" (POST /posts.json), "show" (GET /posts/{id}.json), "updated" (PUT,
    without the ``{"post": …}`` wrapper), "topic" (an item of ``post_stream.posts``)."""
    values = _post_values(session, post, viewer)
    if kind == "topic":
        values["reviewable_id"] = 0
        data = fill(shapes.TOPIC_POST, values)
        if post.action_code:  # PostSerializer#include_action_code?
            data["action_code"] = post.action_code
        if post.via_email:  # PostSerializer#include_via_email?
            data["via_email"] = True
        return data
    shape = {"created": shapes.POST_CREATED, "show": shapes.POST_SHOW,
             "updated": shapes.POST_UPDATED}[kind]
    data = fill(shape, values)
    if post.action_code:
        data["action_code"] = post.action_code
    if post.via_email:
        data["via_email"] = True
    data["raw"] = post.raw
    if kind != "created":
        data["name"] = values["name"]
        data["display_username"] = values["display_username"]
    return data


def visible_posts(session, topic: Topic, viewer: User | None) -> list[Post]:
    query = select(Post).where(Post.topic_id == topic.id).order_by(Post.post_number)
    if not (viewer and viewer.staff):
        query = query.where(Post.deleted_at.is_(None), Post.post_type != 4)
    return list(session.scalars(query))


def _topic_common(session, topic: Topic) -> dict:
    posts = list(session.scalars(_LIVE_POSTS, {"topic_id": topic.id}))
    last = posts[-1] if posts else None
    highest = prepared.scalar(session, HIGHEST_NUMBER, topic_id=topic.id)
    return {
        "id": topic.id, "title": topic.title, "fancy_title": topic.title, "slug": topic.slug,
        "posts_count": len(posts), "reply_count": max(len(posts) - 1, 0),
        "highest_post_number": highest or 0, "created_at": iso(topic.created_at),
        "last_posted_at": iso(last.created_at) if last else None, "bumped": True,
        "bumped_at": iso(topic.bumped_at), "archetype": topic.archetype, "unseen": False,
        "pinned": topic.pinned_at is not None, "unpinned": None,
        "excerpt": excerpt(posts[0].cooked) if posts else "", "visible": topic.visible,
        "closed": topic.closed, "archived": topic.archived, "bookmarked": None, "liked": None,
        "views": 0, "like_count": 0, "has_summary": False,
        "last_poster_username": last.user.username if last else topic.user.username,
        "category_id": topic.category_id, "pinned_globally": topic.pinned_globally,
        "featured_link": None, "image_url": None, "word_count": sum(len(p.raw.split()) for p in posts),
        "deleted_at": iso(topic.deleted_at), "user_id": topic.user_id,
        "pinned_at": iso(topic.pinned_at), "pinned_until": None,
        "participant_count": len({p.user_id for p in posts}), "thumbnails": None,
        "_posts": posts, "_last": last,
    }


def serialize_topic_list_item(session, topic: Topic) -> dict:
    values = _topic_common(session, topic)
    posters = []
    seen = set()
    for post in values["_posts"]:
        if post.user_id not in seen:
            seen.add(post.user_id)
            posters.append({"extras": "latest" if post is values["_last"] else "",
                            "description": "Original Poster" if not posters else "Frequent Poster",
                            "user_id": post.user_id, "primary_group_id": None})
    values["posters"] = posters
    values["last_posted_at"] = values["last_posted_at"] or values["created_at"]
    return fill(shapes.TOPIC_LIST_ITEM, values)


CHUNK_SIZE = 20


def serialize_topic_view(session, topic: Topic, viewer: User | None, can_moderate: bool,
                         print_all: bool = False) -> dict:
    """GET /t/{id}.json: like Discourse, ``posts`` holds the first 20 posts (1000 with
    ``print=true``) and ``stream`` every post id; fetch the rest with /t/{id}/posts.json."""
    values = _topic_common(session, topic)
    posts = visible_posts(session, topic, viewer)
    chunk = posts[:1000 if print_all else CHUNK_SIZE]
    data = fill(shapes.TOPIC_VIEW, values)
    data["post_stream"] = {"posts": [serialize_post(session, p, viewer, "topic") for p in chunk],
                           "stream": [p.id for p in posts]}
    data["tags"] = tag_objects(session, topic)
    data["timeline_lookup"] = [[1, 0]] if posts else []
    data["draft_key"] = f"topic_{topic.id}"
    data["chunk_size"] = CHUNK_SIZE
    data["deleted_by"] = None
    data["bookmarked"] = False
    data["has_deleted"] = any(p.deleted_at for p in values["_posts"])
    last = values["_last"]
    details = data["details"]
    details.update({
        "can_edit": can_moderate, "notification_level": 1, "can_move_posts": can_moderate,
        "can_delete": can_moderate, "can_create_post": not topic.closed or can_moderate,
        "can_reply_as_new_topic": True, "can_close_topic": can_moderate,
        "can_archive_topic": can_moderate, "can_split_merge_topic": can_moderate,
        "can_toggle_topic_visibility": can_moderate, "can_pin_unpin_topic": can_moderate,
        "can_moderate_category": can_moderate, "can_remove_self_id": viewer.id if viewer else 0,
        "created_by": user_basic(topic.user),
        "last_poster": user_basic(last.user if last else topic.user),
    })
    data["external_id"] = topic.external_id  # Discourse returns it; the spec omits it
    return data


def serialize_basic_topic(session, topic: Topic) -> dict:
    count = session.scalar(select(func.count(Post.id)).where(Post.topic_id == topic.id,
                                                              Post.deleted_at.is_(None)))
    return {"id": topic.id, "title": topic.title, "fancy_title": topic.title,
            "slug": topic.slug, "posts_count": count}


# ------------------------------------------------------------------ webhook payloads
def webhook_post(session, post: Post) -> dict:
    """The ``post`` object of a post_* webhook (Discourse's WebHookPostSerializer)."""
    topic = post.topic
    category = topic.category
    data = _post_values(session, post, None)
    keep = list(shapes.POST_SHOW) + ["name", "display_username"]
    payload = {key: data[key] for key in keep if key in data}
    payload.update({
        "raw": post.raw, "topic_title": topic.title, "topic_slug": topic.slug,
        "category_id": topic.category_id, "category_slug": category.slug if category else None,
        "topic_archetype": topic.archetype, "topic_posts_count": data["posts_count"],
        "topic_filtered_posts_count": data["posts_count"],
        "post_type": post.post_type, "hidden": post.hidden,
    })
    if post.via_email:  # WebHookPostSerializer < PostSerializer: include_via_email?
        payload["via_email"] = True
    return payload


def webhook_topic(session, topic: Topic) -> dict:
    """The ``topic`` object of a topic_* webhook (Discourse's WebHookTopicViewSerializer)."""
    values = _topic_common(session, topic)
    keys = ("id", "title", "fancy_title", "posts_count", "created_at", "views", "reply_count",
            "like_count", "last_posted_at", "visible", "closed", "archived", "archetype", "slug",
            "category_id", "word_count", "deleted_at", "user_id", "featured_link",
            "pinned_globally", "pinned_at", "pinned_until", "unpinned", "pinned",
            "highest_post_number", "participant_count", "thumbnails")
    payload = {key: values[key] for key in keys}
    last = values["_last"]
    payload.update({
        "deleted_by": None, "bookmarked": False, "tags": tag_names(session, topic),
        "tags_descriptions": {}, "external_id": topic.external_id,
        "created_by": user_basic(topic.user),
        "last_poster": user_basic(last.user if last else topic.user),
    })
    return payload
