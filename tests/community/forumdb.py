"""Reading the local forum's own database from the community tests."""
from sqlalchemy import func, select

from forumsync.localforum.models import Category, Post, Topic


def category(localforum, name):
    with localforum.session() as s:
        row = s.scalar(select(Category).where(Category.name == name))
        return None if row is None else {"id": row.id, "name": row.name,
                                          "permissions": dict(row.permissions or {})}


def topics(localforum, category_name):
    """[{id, title, closed, external_id, raw (first post)}] of a category, by id; without the
    category's own "About the … category" topic (Discourse makes one with each category)."""
    with localforum.session() as s:
        rows = s.execute(select(Topic).join(Category, Category.id == Topic.category_id)
                         .where(Category.name == category_name, Topic.deleted_at.is_(None),
                                Topic.id != func.coalesce(Category.topic_id, 0))
                         .order_by(Topic.id)).scalars().all()
        result = []
        for t in rows:
            first = s.scalar(select(Post).where(Post.topic_id == t.id).order_by(Post.id).limit(1))
            result.append({"id": t.id, "title": t.title, "closed": t.closed,
                           "external_id": t.external_id, "raw": first.raw if first else ""})
        return result


def posts(localforum, topic_id):
    with localforum.session() as s:
        return [{"id": p.id, "raw": p.raw, "user_id": p.user_id}
                for p in s.scalars(select(Post).where(Post.topic_id == topic_id).order_by(Post.id))]
