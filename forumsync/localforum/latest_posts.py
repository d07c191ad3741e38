"""``GET /posts.json``: the newest posts of the forum, as Discourse's PostsController#latest.

Discourse (app/controllers/posts_controller.rb#latest, app/queries/latest_posts_query.rb
#public_posts): regular posts (post_type 1) of visible, undeleted, non-private topics that have
a category the viewer may see, not hidden, not deleted; newest id first; PAGE_SIZE (50) a page;
``before`` (an id, ignored when not a positive integer) gives the page of ids below it. The
answer's root is ``latest_posts``. No ``after``: a reader catching up pages backwards.
"""
from __future__ import annotations

from sqlalchemy import select

from .guardian import can_see_topic
from .models import Post, Topic
from .tag_params import _tag_id as ruby_to_i  # Ruby's String#to_i

PAGE_SIZE = 50  # LatestPostsQuery::PAGE_SIZE
REGULAR = 1


def before_id(value) -> int | None:
    """``params[:before].to_i``, nil when <= 0."""
    number = ruby_to_i(value or "")
    return number if number > 0 else None


def latest_posts(session, viewer, before=None) -> list[Post]:
    query = (select(Post).join(Topic, Post.topic_id == Topic.id)
             .where(Topic.archetype != "private_message", Topic.visible.is_(True),
                    Topic.deleted_at.is_(None), Topic.category_id.is_not(None),
                    Post.hidden.is_(False), Post.deleted_at.is_(None), Post.post_type == REGULAR)
             .order_by(Post.id.desc()))
    if before is not None:
        query = query.where(Post.id < before)
    page, seen = [], {}
    for post in session.scalars(query.execution_options(yield_per=PAGE_SIZE)):
        if post.topic_id not in seen:  # Category.secured(guardian), once per topic
            seen[post.topic_id] = can_see_topic(session, viewer, post.topic)
        if seen[post.topic_id]:
            page.append(post)
            if len(page) == PAGE_SIZE:
                break
    return page
