"""The local forum's own tables (its own declarative Base and SQLite file, not forumsync's).

A deliberately small relational copy of what Discourse stores for the API subset we speak:
users, groups, categories with group permissions, topics, posts, tags, uploads, site
settings, and the durable queue of outgoing webhooks. Created with ``metadata.create_all``.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint, func)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    staged: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    trust_level: Mapped[int] = mapped_column(Integer, default=1)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def staff(self) -> bool:
        return self.admin or self.moderator


# Users are looked up by lower(email) and lower(username) (users.py, staged_users.py) for
# every post a sender publishes: without these, each lookup read the whole table. Not unique:
# they speed up the lookups and change no rule (Discourse: index_users_on_username_lower).
Index("ix_users_email_lower", func.lower(User.email))
Index("ix_users_username_lower", func.lower(User.username))


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    bio_raw: Mapped[str | None] = mapped_column(Text)
    visibility_level: Mapped[int] = mapped_column(Integer, default=0)
    mentionable_level: Mapped[int] = mapped_column(Integer, default=0)
    messageable_level: Mapped[int] = mapped_column(Integer, default=0)
    members_visibility_level: Mapped[int] = mapped_column(Integer, default=0)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list["GroupUser"]] = relationship(back_populates="group",
                                                          cascade="all, delete-orphan")


class GroupUser(Base):
    __tablename__ = "group_users"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    group: Mapped[Group] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    color: Mapped[str] = mapped_column(String(6), default="0088CC")
    text_color: Mapped[str] = mapped_column(String(6), default="FFFFFF")
    # Like Discourse: the first <p> of the About topic's first post (never set from the API).
    description: Mapped[str | None] = mapped_column(Text)
    topic_id: Mapped[int | None] = mapped_column(Integer)  # the "About the … category" topic
    position: Mapped[int] = mapped_column(Integer, default=0)
    parent_category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    # {"group_name": permission_type}; 1 full, 2 create/reply, 3 see
    permissions: Mapped[dict] = mapped_column(JSON, default=lambda: {"everyone": 1})
    moderating_group_ids: Mapped[list] = mapped_column(JSON, default=list)
    mailinglist_mirror: Mapped[bool | None] = mapped_column(Boolean, default=False)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class TopicTag(Base):
    __tablename__ = "topic_tags"
    __table_args__ = (UniqueConstraint("topic_id", "tag_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    archetype: Mapped[str] = mapped_column(String(30), default="regular")
    external_id: Mapped[str | None] = mapped_column(String(50), unique=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    pinned_at: Mapped[datetime | None] = mapped_column(DateTime)
    pinned_globally: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # private messages: usernames allowed to see it
    allowed_usernames: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    bumped_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    category: Mapped[Category | None] = relationship()


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("topic_id", "post_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    post_number: Mapped[int] = mapped_column(Integer)
    reply_to_post_number: Mapped[int | None] = mapped_column(Integer)
    post_type: Mapped[int] = mapped_column(Integer, default=1)
    action_code: Mapped[str | None] = mapped_column(String(40))  # small actions: "closed.enabled"
    raw: Mapped[str] = mapped_column(Text)
    cooked: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    edit_reason: Mapped[str | None] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # PostCreator's via_email: the plugin's list posts (creator_options.rb), kept by a copy
    via_email: Mapped[bool | None] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    topic: Mapped[Topic] = relationship()
    user: Mapped[User] = relationship()


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha1: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SiteSetting(Base):
    __tablename__ = "site_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebhookDelivery(Base):
    """Durable queue of outgoing webhook events, one row per event (the emit_web_hook_event
    job); each attempt is a WebhookAttempt whose id is that attempt's X-Discourse-Event-Id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(50))  # post_created …
    event_type: Mapped[str] = mapped_column(String(20))  # post, topic …
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookAttempt(Base):
    """One POST of a queued event (Discourse's WebHookEvent row): a retry is a new attempt,
    hence a new X-Discourse-Event-Id."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    status: Mapped[int] = mapped_column(Integer, default=-1)  # -1: no HTTP answer
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class UniquePostKey(Base):
    """Post#store_unique_post_key's Redis key (``unique[-pm]-post-{user_id}:{sha1(raw)}``,
    the post's id as value, expiring after ``unique_posts_mins``), kept as a row: what
    PostValidator#unique_post_validator reads (post_validator.py)."""

    __tablename__ = "unique_post_keys"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    post_id: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class QueuedPost(Base):
    """A post held for approval (Discourse's ReviewableQueuedPost), e.g. in a category that
    requires topic or reply approval."""

    __tablename__ = "queued_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    topic_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(255))
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TopicUser(Base):
    """A user's notification level on a topic (Discourse's topic_users): 3 watching,
    2 tracking, 1 regular, 0 muted."""

    __tablename__ = "topic_users"
    __table_args__ = (UniqueConstraint("user_id", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    notification_level: Mapped[int] = mapped_column(Integer, default=1)
    notifications_reason_id: Mapped[int | None] = mapped_column(Integer)


class Notification(Base):
    """What PostAlerter tells a user (a staged user gets it by mail on Discourse)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    notification_type: Mapped[int] = mapped_column(Integer)  # 2 replied, 9 posted …
    topic_id: Mapped[int | None] = mapped_column(Integer)
    post_number: Mapped[int | None] = mapped_column(Integer)
    post_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
