"""The local forum's data and rules, as plain functions over a SQLAlchemy session.

The HTTP views, the HTML UI, the test fixture and the plugin endpoints
(``forumsync/localforum/plugin_api.py``) all go through these functions, so permissions,
validation and webhooks behave the same whichever door a change comes through.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..db import create_db_engine
from . import alerts, serializers, sitesettings
from .cooking import cook
from .errors import ApiError, forbidden, invalid, not_found
from .models import (Base, Category, Group, GroupUser, Post, Tag, Topic, TopicTag, Upload, User,
                     WebhookDelivery, utcnow)

WHISPER = 4
REGULAR = 1
EXTERNAL_ID = re.compile(r"[\w-]{1,50}")
USERNAME = re.compile(r"[\w.-]{2,60}")


class LocalForumStore:
    """Engine + sessions of the local forum's SQLite file; creates tables on first use."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_db_engine(url)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.commit_hooks: list[Callable[[], None]] = []
        with self.session() as session:
            ensure_defaults(session)

    @contextlib.contextmanager
    def session(self) -> Iterable[Session]:
        """A committed transaction; commit hooks (webhook wake-up) run after it."""
        with self.sessionmaker() as session:
            with session.begin():
                yield session
            queued = session.info.pop("webhook_queued", False)
        if queued:  # only a new webhook wakes the deliverer, not every request
            for hook in list(self.commit_hooks):
                hook()

    def dispose(self) -> None:
        self.engine.dispose()


def _add_missing_columns(engine) -> None:
    """A local forum file made by an older version gets the columns added since (nullable
    ones: the local forum has no migrations, its data is demo/test data)."""
    from sqlalchemy import inspect, text

    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(engine.dialect)
                    connection.execute(text(f'ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}'))


def ensure_defaults(session: Session) -> None:
    """Discourse's automatic groups and the Uncategorized category."""
    for gid, name in serializers.AUTOMATIC_GROUPS.items():
        if session.get(Group, gid) is None:
            session.add(Group(id=gid, name=name, automatic=True))
    if session.scalar(select(func.count(Category.id))) == 0:
        session.add(Category(id=1, name="Uncategorized", slug="uncategorized", color="0088CC",
                             permissions={"everyone": 1}, position=0))
    session.flush()


def parse_time(value) -> datetime | None:
    """created_at from the API (ISO 8601, naive = UTC) → naive UTC datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        from dateutil import parser

        try:
            parsed = parser.isoparse(str(value))
        except (ValueError, OverflowError):
            raise invalid("created_at is invalid") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def slugify(text: str) -> str:
    """Discourse's ASCII slugs ("Été à Lyon" → "ete-a-lyon"); "topic" when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:80].strip("-") or "topic"


# ------------------------------------------------------------------ users
def user_by_username(session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == (username or "").lower()))


def user_by_email(session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))


def user_by_external_id(session, external_id: str) -> User | None:
    return session.scalar(select(User).where(User.external_id == external_id))


def unique_username(session, base: str) -> str:
    base = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFKD", base).encode("ascii", "ignore")
                  .decode()).strip("._-")[:50] or "user"
    if len(base) < 2:
        base = base + "1"
    candidate, n = base, 1
    while user_by_username(session, candidate) is not None:
        n += 1
        candidate = f"{base}{n}"
    return candidate


def create_user(session, username: str, email: str, name: str | None = None, *,
                password: str | None = None, active: bool = True, approved: bool = True,
                admin: bool = False, moderator: bool = False, staged: bool = False,
                external_id: str | None = None, trust_level: int = 1) -> User:
    """A new user; raises ApiError(422) with Discourse's messages on taken username/email."""
    errors = []
    if not username or not USERNAME.fullmatch(username):
        errors.append("Username must only include numbers, letters, dashes, dots, and underscores")
    elif user_by_username(session, username) is not None:
        errors.append("Username must be unique")
    if not email or "@" not in email:
        errors.append("Primary email is invalid.")
    elif user_by_email(session, email) is not None:
        errors.append("Primary email has already been taken")
    if errors:
        raise invalid(errors)
    user = User(username=username, email=email.strip().lower(), name=name, password=password,
                active=active and not staged, approved=approved, admin=admin,
                moderator=moderator, staged=staged, external_id=external_id,
                trust_level=0 if staged else trust_level)
    session.add(user)
    session.flush()
    _join_automatic_groups(session, user)
    return user


def _join_automatic_groups(session, user: User) -> None:
    gids = [10 + level for level in range(user.trust_level + 1)]
    if user.admin:
        gids += [1, 3]
    if user.moderator:
        gids += [2, 3]
    for gid in sorted(set(gids)):
        session.add(GroupUser(group_id=gid, user_id=user.id))
    session.flush()


def staged_user_for_email(session, email: str, name: str | None = None) -> User:
    """The user owning EMAIL, or a new staged user made by Discourse's rules for incoming mail
    (staged_users.find_or_create: raises staged_users.SenderRefused)."""
    from . import staged_users

    return staged_users.find_or_create(session, email, name)[0]


# ------------------------------------------------------------------ groups
def group_by_name(session, name: str) -> Group | None:
    return session.scalar(select(Group).where(func.lower(Group.name) == (name or "").lower()))


def group_by_id_or_name(session, key) -> Group | None:
    if str(key).isdigit():
        group = session.get(Group, int(key))
        if group is not None:
            return group
    return group_by_name(session, str(key))


def create_group(session, name: str, full_name: str | None = None, **fields) -> Group:
    if not name or not re.fullmatch(r"[\w.-]{1,60}", name):
        raise invalid("Name must only include numbers, letters, dashes, dots, and underscores")
    if group_by_name(session, name) is not None:
        raise invalid("Name has already been taken")
    group = Group(name=name, full_name=full_name or None)
    for key in ("bio_raw", "visibility_level", "mentionable_level", "messageable_level",
                "members_visibility_level"):
        if fields.get(key) not in (None, ""):
            setattr(group, key, int(fields[key]) if key.endswith("level") else fields[key])
    session.add(group)
    session.flush()
    return group


def update_group(session, group: Group, **fields) -> Group:
    if fields.get("name") and fields["name"] != group.name:
        if group_by_name(session, fields["name"]) is not None:
            raise invalid("Name has already been taken")
        group.name = fields["name"]
    if "full_name" in fields:
        group.full_name = fields["full_name"] or None
    if "bio_raw" in fields:
        group.bio_raw = fields["bio_raw"] or None
    for key in ("visibility_level", "mentionable_level", "messageable_level",
                "members_visibility_level"):
        if fields.get(key) not in (None, ""):
            setattr(group, key, int(fields[key]))
    session.flush()
    return group


def add_group_members(session, group: Group, users: list[User], owner: bool = False) -> list[User]:
    """Add USERS (as owners when OWNER); returns those newly added or promoted."""
    changed = []
    for user in users:
        membership = session.scalar(select(GroupUser).where(GroupUser.group_id == group.id,
                                                            GroupUser.user_id == user.id))
        if membership is None:
            session.add(GroupUser(group_id=group.id, user_id=user.id, owner=owner))
            changed.append(user)
        elif owner and not membership.owner:
            membership.owner = True
            changed.append(user)
    session.flush()
    return changed


def remove_group_members(session, group: Group, users: list[User]) -> list[User]:
    removed = []
    for user in users:
        membership = session.scalar(select(GroupUser).where(GroupUser.group_id == group.id,
                                                            GroupUser.user_id == user.id))
        if membership is not None:
            session.delete(membership)
            removed.append(user)
    session.flush()
    return removed


def user_group_names(session, user: User) -> set[str]:
    names = set(session.scalars(select(Group.name).join(GroupUser)
                                .where(GroupUser.user_id == user.id)))
    names.add("everyone")
    return names


# ------------------------------------------------------------------ categories
def category_by_slug(session, slug: str, parent_id: int | None = None) -> Category | None:
    query = select(Category).where(Category.slug == slug)
    if parent_id is not None:
        query = query.where(Category.parent_category_id == parent_id)
    return session.scalars(query.order_by(Category.id)).first()


def _parse_permissions(value) -> dict:
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid("permissions is invalid") from None
    if not isinstance(value, dict):
        raise invalid("permissions is invalid")
    out = {}
    for group, permission in value.items():
        try:
            out[str(group)] = int(permission)
        except (TypeError, ValueError):
            raise invalid(f"Invalid permission for group {group}") from None
    return out


def _int_list(value) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)):
        value = [value]
    try:
        return [int(v) for v in value if v not in (None, "")]
    except (TypeError, ValueError):
        raise invalid("moderating_group_ids is invalid") from None


def create_category(session, name: str, *, slug: str | None = None, color: str | None = None,
                    text_color: str | None = None, parent_category_id=None,
                    description: str | None = None, permissions=None, moderating_group_ids=None,
                    custom_fields: dict | None = None, position: int | None = None,
                    mailinglist_mirror=None) -> Category:
    if not name or not str(name).strip():
        raise invalid("Name can't be blank")
    parent_id = int(parent_category_id) if parent_category_id not in (None, "") else None
    if parent_id is not None and session.get(Category, parent_id) is None:
        raise invalid("Parent category does not exist")
    same_parent = (Category.parent_category_id.is_(None) if parent_id is None
                   else Category.parent_category_id == parent_id)
    if session.scalar(select(Category.id).where(func.lower(Category.name) == name.strip().lower(),
                                                same_parent)) is not None:
        raise invalid("Category Name has already been taken")
    slug = slug or slugify(name)
    if session.scalar(select(Category.id).where(Category.slug == slug, same_parent)) is not None:
        raise invalid("Slug is already in use")
    perms = _parse_permissions(permissions) or {"everyone": 1}
    if position is None:
        position = (session.scalar(select(func.max(Category.position))) or 0) + 1
    category = Category(name=name.strip(), slug=slug, color=(color or "0088CC").lstrip("#"),
                        text_color=(text_color or "FFFFFF").lstrip("#"),
                        parent_category_id=parent_id, permissions=perms,
                        moderating_group_ids=_int_list(moderating_group_ids),
                        custom_fields=dict(custom_fields or {}), position=position,
                        mailinglist_mirror=str(mailinglist_mirror).lower() in ("true", "1", "t"))
    session.add(category)
    session.flush()
    _create_about_topic(session, category, description)
    return category


ABOUT_TITLE = "About the {category} category"  # Discourse's category.topic_prefix
ABOUT_PLACEHOLDER = ("(Replace this first paragraph with a brief description of your new "
                     "category. This guidance will appear in the category selection area, so "
                     "try to keep it below 200 characters.)")


def _create_about_topic(session, category: Category, description: str | None) -> None:
    """Category#create_category_definition: a pinned "About" topic whose first post holds the
    description (the model's ``description`` when given, else the placeholder); no webhook."""
    author = session.scalar(select(User).where(User.admin.is_(True)).order_by(User.id))
    if author is None:
        return
    now = utcnow()
    title = ABOUT_TITLE.format(category=category.name)
    topic = Topic(title=title, slug=slugify(title), category_id=category.id, user_id=author.id,
                  pinned_at=now, created_at=now, bumped_at=now, updated_at=now)
    session.add(topic)
    session.flush()
    raw = description or ABOUT_PLACEHOLDER
    post = Post(topic_id=topic.id, user_id=author.id, post_number=1, post_type=REGULAR, raw=raw,
                cooked=cook_for(session, raw), created_at=now, updated_at=now)
    session.add(post)
    category.topic_id = topic.id
    category.description = category_description_from(post.cooked)
    session.flush()


def delete_category(session, category: Category) -> None:
    """Category#destroy: refused while it holds topics besides its About topic (Discourse's
    "can't delete a category with topics"); the About topic goes with it."""
    others = session.scalar(select(func.count(Topic.id)).where(
        Topic.category_id == category.id, Topic.id != category.topic_id,
        Topic.deleted_at.is_(None)))
    if others:
        raise invalid("Can't delete this category because it has topics.")
    if category.topic_id is not None:
        for post in session.scalars(select(Post).where(Post.topic_id == category.topic_id)):
            session.delete(post)
        session.flush()
        topic = session.get(Topic, category.topic_id)
        if topic is not None:
            session.delete(topic)
        session.flush()
    session.delete(category)
    session.flush()


def category_description_from(cooked: str) -> str | None:
    """PostRevisor#update_category_description: the first paragraph's inner HTML, images
    removed; None while it is still the placeholder."""
    match = re.search(r"<p>(.*?)</p>", cooked or "", re.S)
    if match is None:
        return None
    inner = re.sub(r"<img[^>]*>", "", match.group(1)).strip()
    if not inner or inner.startswith(ABOUT_PLACEHOLDER[:50]):
        return None
    return inner


def update_category(session, category: Category, **fields) -> Category:
    if "name" in fields and fields["name"]:
        category.name = str(fields["name"]).strip()
    if fields.get("slug"):
        category.slug = fields["slug"]
    for key in ("color", "text_color"):
        if fields.get(key):
            setattr(category, key, str(fields[key]).lstrip("#"))
    if "position" in fields and fields["position"] not in (None, ""):
        category.position = int(fields["position"])
    if "parent_category_id" in fields:
        value = fields["parent_category_id"]
        parent_id = int(value) if value not in (None, "") else None
        if parent_id == category.id:
            raise invalid("A category cannot be its own parent")
        if parent_id is not None and session.get(Category, parent_id) is None:
            raise invalid("Parent category does not exist")
        category.parent_category_id = parent_id
    if "permissions" in fields and fields["permissions"] is not None:
        category.permissions = _parse_permissions(fields["permissions"]) or {"everyone": 1}
    if "mailinglist_mirror" in fields and fields["mailinglist_mirror"] is not None:
        category.mailinglist_mirror = str(fields["mailinglist_mirror"]).lower() in ("true", "1", "t")
    if "moderating_group_ids" in fields:
        category.moderating_group_ids = _int_list(fields["moderating_group_ids"])
    if fields.get("custom_fields"):
        merged = dict(category.custom_fields or {})
        merged.update(fields["custom_fields"])
        category.custom_fields = merged
    session.flush()
    return category


def category_permission(session, user: User | None, category: Category) -> int | None:
    """The best permission type (1 full, 2 reply, 3 see) USER has on CATEGORY, None = none."""
    if user is not None and user.admin:
        return 1
    groups = user_group_names(session, user) if user is not None else {"everyone"}
    perms = [int(p) for g, p in (category.permissions or {}).items() if g in groups]
    best = min(perms) if perms else None
    if user is not None and is_category_moderator(session, user, category):
        best = min(best or 2, 2)
    return best


def is_category_moderator(session, user: User | None, category: Category | None) -> bool:
    """Staff, or a member of one of the category's moderating groups (when enabled)."""
    if user is None:
        return False
    if user.staff:
        return True
    if category is None or not category.moderating_group_ids:
        return False
    if not sitesettings.get(session, "enable_category_group_moderation"):
        return False
    return session.scalar(select(func.count(GroupUser.id)).where(
        GroupUser.user_id == user.id,
        GroupUser.group_id.in_(category.moderating_group_ids))) > 0


def can_see_topic(session, user: User | None, topic: Topic) -> bool:
    if topic.archetype == "private_message":
        if user is None:
            return False
        return user.admin or user.username.lower() in {u.lower() for u in topic.allowed_usernames}
    if topic.category is None:
        return True
    return category_permission(session, user, topic.category) is not None


# ------------------------------------------------------------------ topics and posts
def resolve_upload(session) -> Callable[[str], str | None]:
    def resolve(short: str) -> str | None:
        sha1 = serializers.sha1_from_base62(short)
        upload = session.scalar(select(Upload).where(Upload.sha1 == sha1)) if sha1 else None
        return serializers.upload_url(upload) if upload else None
    return resolve


def cook_for(session, raw: str) -> str:
    return cook(raw, resolve_upload(session))


def stripped_length_value(value: str) -> str:
    """StrippedLengthValidator.get_sanitized_value (lib/validators/stripped_length_validator.rb):
    what Discourse measures for a post's minimum length: no HTML comments, an emoji counts
    one character, runs of dots and commas one each, stripped."""
    value = re.sub(r"<!--(.*?)-->", "", value, flags=re.S)
    value = re.sub(r":\w+(:\w+)?:", "X", value)
    value = re.sub(r"\.{2,}", "…", value)
    value = re.sub(r",{2,}", ",", value)
    return value.strip()


def _check_lengths(session, raw: str | None, title: str | None, new_topic: bool, private: bool,
                   require_title: bool = False) -> None:
    errors = []
    if title is not None or require_title:
        title_text = (title or "").strip()
        minimum = sitesettings.get(session, "min_topic_title_length")
        maximum = sitesettings.get(session, "max_topic_title_length")
        if not title_text:
            errors.append("Title can't be blank")
        elif len(title_text) < minimum:
            errors.append(f"Title is too short (minimum is {minimum} characters)")
        elif len(title_text) > maximum:
            errors.append(f"Title is too long (maximum is {maximum} characters)")
    if raw is not None:
        body = raw.strip()
        if private:
            minimum = sitesettings.get(session, "min_personal_message_post_length")
        elif new_topic:
            minimum = sitesettings.get(session, "min_first_post_length")
        else:
            minimum = sitesettings.get(session, "min_post_length")
        if not body:
            errors.append("Body can't be blank")
        elif len(stripped_length_value(body)) < minimum:
            errors.append(f"Body is too short (minimum is {minimum} characters)")
        elif len(body) > sitesettings.get(session, "max_post_length"):
            errors.append(f"Body is too long (maximum is {sitesettings.get(session, 'max_post_length')} characters)")
    if errors:
        raise invalid(errors)


def _set_tags(session, topic: Topic, tags: Iterable[str]) -> None:
    names = []
    for tag in tags or ():
        name = re.sub(r"\s+", "-", str(tag).strip().lower())[:sitesettings.get(session, "max_tag_length")]
        if name and name not in names:
            names.append(name)
    names = names[:sitesettings.get(session, "max_tags_per_topic")]
    for row in session.scalars(select(TopicTag).where(TopicTag.topic_id == topic.id)):
        session.delete(row)
    session.flush()
    for name in names:
        tag = session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            session.flush()
        session.add(TopicTag(topic_id=topic.id, tag_id=tag.id))
    session.flush()


def get_topic(session, topic_id, viewer: User | None = None, include_deleted: bool = False) -> Topic:
    """The topic, or ApiError 404 (missing, deleted for non-staff, or not visible to VIEWER)."""
    try:
        topic = session.get(Topic, int(topic_id))
    except (TypeError, ValueError, OverflowError):
        topic = None
    if topic is None:
        raise not_found()
    if topic.deleted_at is not None and not (include_deleted or (viewer and viewer.staff)):
        raise not_found()
    if viewer is not None and not can_see_topic(session, viewer, topic):
        raise forbidden()
    return topic


def topic_by_external_id(session, external_id: str) -> Topic | None:
    return session.scalar(select(Topic).where(Topic.external_id == external_id,
                                              Topic.deleted_at.is_(None)))


def get_post(session, post_id, viewer: User | None = None) -> Post:
    try:
        post = session.get(Post, int(post_id))
    except (TypeError, ValueError, OverflowError):
        post = None
    if post is None or (post.deleted_at is not None and not (viewer and viewer.staff)):
        raise not_found()
    if viewer is not None:
        if not can_see_topic(session, viewer, post.topic):
            raise forbidden()
        if post.post_type == WHISPER and not viewer.staff:
            raise not_found()
    return post


def create_post(session, user: User, raw: str, *, title: str | None = None, category_id=None,
                topic_id=None, reply_to_post_number=None, created_at=None,
                external_id: str | None = None, tags: Iterable[str] | None = None,
                archetype: str = "regular", target_recipients: Iterable[str] | str | None = None,
                post_type: int = REGULAR, check_permissions: bool = True,
                auto_track: bool = True, skip_validations: bool = False) -> Post:
    """Create a topic (no TOPIC_ID) or a reply, as USER; queues the webhooks; the poster
    watches/tracks the topic unless AUTO_TRACK is False, watchers are notified (alerts.py).

    CHECK_PERMISSIONS False is for trusted callers acting for a staged user (the plugin).
    SKIP_VALIDATIONS is PostCreator's ``skip_validations`` (the plugin passes it): no length
    checks (PostCreator#valid? returns before PostValidator, Post#save skips validation) and
    no unique-title check (TopicCreator#save_topic saves with validate: false). Per-user rate
    limits are the callers' (api_topics), so this path has none, as disable_rate_limits! does.
    """
    if user.staged and check_permissions:
        raise forbidden()
    when = parse_time(created_at) or utcnow()
    post_type = int(post_type or REGULAR)
    if post_type == WHISPER and not user.staff:
        raise forbidden()
    if topic_id not in (None, ""):
        topic = get_topic(session, topic_id)
        if check_permissions:
            if not can_see_topic(session, user, topic):
                raise forbidden()
            moderator = is_category_moderator(session, user, topic.category)
            # TopicGuardian#can_create_post_on_topic?: admins post anywhere; TL4, moderators
            # and category group moderators also in closed or archived topics.
            trusted = user.admin or moderator or user.trust_level >= 4
            if (topic.archived or topic.closed) and not trusted:
                raise forbidden()
            if topic.category is not None and not moderator:
                permission = category_permission(session, user, topic.category)
                if permission is None or permission > 2:
                    raise forbidden()
        if not skip_validations:
            _check_lengths(session, raw, None, False, topic.archetype == "private_message")
        reply_to = int(reply_to_post_number) if reply_to_post_number not in (None, "") else None
        if reply_to is not None and session.scalar(select(Post.id).where(
                Post.topic_id == topic.id, Post.post_number == reply_to)) is None:
            reply_to = None
        number = (session.scalar(select(func.max(Post.post_number))
                                 .where(Post.topic_id == topic.id)) or 0) + 1
        post = Post(topic_id=topic.id, user_id=user.id, post_number=number,
                    reply_to_post_number=reply_to, post_type=post_type, raw=raw,
                    cooked=cook_for(session, raw), created_at=when, updated_at=when)
        session.add(post)
        if post_type != WHISPER:
            topic.bumped_at = max(topic.bumped_at, when)
        session.flush()
        session.refresh(post)
        alerts.track(session, user, topic, False, auto_track)
        alerts.alert(session, post)
        queue_event(session, "post_created", "post", {"post": serializers.webhook_post(session, post)})
        return post

    private = archetype == "private_message"
    if not skip_validations:
        _check_lengths(session, raw, title, True, private, require_title=True)
    category = None
    allowed = []
    if private:
        if isinstance(target_recipients, str):
            target_recipients = [r for r in re.split(r"[,\s]+", target_recipients) if r]
        recipients = list(target_recipients or [])
        if not recipients:
            raise invalid("You must choose a valid user.")
        for name in recipients:
            if user_by_username(session, name) is None and group_by_name(session, name) is None:
                raise invalid(f"Sorry, {name} is not a valid user.")
        allowed = [user.username] + recipients
    else:
        if category_id in (None, ""):
            category = session.get(Category, 1)
        else:
            try:
                category = session.get(Category, int(category_id))
            except (TypeError, ValueError):
                category = None
            if category is None:
                raise invalid("Category can't be blank")
        if check_permissions:
            permission = category_permission(session, user, category)
            if permission is None or permission > 1:
                raise forbidden()
    if external_id not in (None, ""):
        if not EXTERNAL_ID.fullmatch(str(external_id)):
            raise invalid("External ID is invalid")
        if session.scalar(select(Topic.id).where(Topic.external_id == external_id)) is not None:
            raise invalid("External ID has already been taken")
    else:
        external_id = None
    title = title.strip()
    if not skip_validations and not sitesettings.get(session, "allow_duplicate_topic_titles") \
            and not private:
        if session.scalar(select(Topic.id).where(func.lower(Topic.title) == title.lower(),
                                                 Topic.deleted_at.is_(None))):
            raise invalid("Title has already been used")
    topic = Topic(title=title, slug=slugify(title), category_id=category.id if category else None,
                  user_id=user.id, archetype="private_message" if private else "regular",
                  external_id=external_id, allowed_usernames=allowed, created_at=when,
                  bumped_at=when, updated_at=when)
    session.add(topic)
    session.flush()
    if tags and not private:
        _set_tags(session, topic, tags)
    post = Post(topic_id=topic.id, user_id=user.id, post_number=1, post_type=REGULAR, raw=raw,
                cooked=cook_for(session, raw), created_at=when, updated_at=when)
    session.add(post)
    session.flush()
    session.refresh(topic)
    session.refresh(post)
    alerts.track(session, user, topic, True, auto_track)
    queue_event(session, "topic_created", "topic", {"topic": serializers.webhook_topic(session, topic)})
    queue_event(session, "post_created", "post", {"post": serializers.webhook_post(session, post)})
    return post


def update_post(session, user: User, post: Post, raw: str, edit_reason: str | None = None,
                check_permissions: bool = True) -> Post:
    if check_permissions and not (user.id == post.user_id or
                                  is_category_moderator(session, user, post.topic.category)):
        raise forbidden()
    if post.topic.archived and check_permissions and not user.staff:
        raise forbidden()
    _check_lengths(session, raw, None, post.post_number == 1,
                   post.topic.archetype == "private_message")
    if raw == post.raw:
        return post
    post.raw = raw
    post.cooked = cook_for(session, raw)
    post.edit_reason = edit_reason or None
    post.version += 1
    post.updated_at = utcnow()
    if post.post_number == 1:
        about_of = session.scalar(select(Category).where(Category.topic_id == post.topic_id))
        if about_of is not None:
            about_of.description = category_description_from(post.cooked)
    session.flush()
    queue_event(session, "post_edited", "post", {"post": serializers.webhook_post(session, post)})
    return post


def update_topic(session, user: User, topic: Topic, *, title: str | None = None,
                 category_id=None, tags: Iterable[str] | None = None,
                 check_permissions: bool = True) -> Topic:
    """Retitle / move / retag (PUT /t/-/{id}.json); fires topic_edited when something changed."""
    first = session.scalar(select(Post).where(Post.topic_id == topic.id, Post.post_number == 1))
    can_edit = is_category_moderator(session, user, topic.category) or (
        first is not None and first.user_id == user.id and not topic.closed)
    if check_permissions and not can_edit:
        raise forbidden()
    changed = False
    if title is not None and title.strip() != topic.title:
        _check_lengths(session, None, title, True, topic.archetype == "private_message")
        topic.title = title.strip()
        topic.slug = slugify(topic.title)
        changed = True
    if category_id not in (None, "") and int(category_id) != topic.category_id:
        category = session.get(Category, int(category_id))
        if category is None:
            raise invalid("Category can't be blank")
        if check_permissions and not user.admin:
            permission = category_permission(session, user, category)
            if permission is None or permission > 1:
                raise forbidden()
        topic.category_id = category.id
        changed = True
    if tags is not None:
        before = serializers.tag_names(session, topic)
        _set_tags(session, topic, tags)
        changed = changed or serializers.tag_names(session, topic) != before
    if changed:
        topic.updated_at = utcnow()
        session.flush()
        session.refresh(topic)
        queue_event(session, "topic_edited", "topic", {"topic": serializers.webhook_topic(session, topic)})
    return topic


STATUSES = ("closed", "archived", "visible", "pinned", "pinned_globally")


def set_topic_status(session, user: User, topic: Topic, status: str, enabled: bool,
                     check_permissions: bool = True) -> Topic:
    if status not in STATUSES:
        raise ApiError(400, "status is invalid", "invalid_parameters")
    if check_permissions and not is_category_moderator(session, user, topic.category):
        raise forbidden()
    if status in ("pinned", "pinned_globally"):
        before = topic.pinned_at is not None and (status == "pinned" or topic.pinned_globally)
        topic.pinned_at = utcnow() if enabled else None
        topic.pinned_globally = bool(enabled) and status == "pinned_globally"
    else:
        before = bool(getattr(topic, status))
        setattr(topic, status, bool(enabled))
    topic.updated_at = utcnow()
    session.flush()
    if before != bool(enabled):
        _small_action(session, user, topic, f"{status}.{'enabled' if enabled else 'disabled'}")
    queue_event(session, "topic_edited", "topic", {"topic": serializers.webhook_topic(session, topic)})
    return topic


SMALL_ACTION = 3


def _small_action(session, user: User, topic: Topic, action_code: str) -> Post:
    """TopicStatusUpdater#create_moderator_post_for → Topic#add_moderator_post: a small-action
    post ("closed.enabled" …) at the end of the topic, created by PostCreator (post_created)."""
    number = (session.scalar(select(func.max(Post.post_number))
                             .where(Post.topic_id == topic.id)) or 0) + 1
    now = utcnow()
    post = Post(topic_id=topic.id, user_id=user.id, post_number=number, post_type=SMALL_ACTION,
                action_code=action_code, raw="", cooked="", created_at=now, updated_at=now)
    session.add(post)
    session.flush()
    session.refresh(post)
    queue_event(session, "post_created", "post", {"post": serializers.webhook_post(session, post)})
    return post


def delete_topic(session, user: User, topic: Topic, check_permissions: bool = True) -> None:
    """Soft delete, like Discourse (the topic stays, ``deleted_at`` set)."""
    first = session.scalar(select(Post).where(Post.topic_id == topic.id, Post.post_number == 1))
    if check_permissions and not (is_category_moderator(session, user, topic.category) or
                                  (first is not None and first.user_id == user.id)):
        raise forbidden()
    now = utcnow()
    topic.deleted_at = now
    topic.deleted_by_id = user.id
    for post in session.scalars(select(Post).where(Post.topic_id == topic.id,
                                                   Post.deleted_at.is_(None))):
        post.deleted_at = now
    session.flush()
    queue_event(session, "topic_destroyed", "topic", {"topic": serializers.webhook_topic(session, topic)})


def delete_post(session, user: User, post: Post, check_permissions: bool = True) -> None:
    """Soft delete; deleting the first post deletes the topic, as Discourse does."""
    if check_permissions and not (user.id == post.user_id or
                                  is_category_moderator(session, user, post.topic.category)):
        raise forbidden()
    if post.post_number == 1:
        delete_topic(session, user, post.topic, check_permissions=False)
        return
    post.deleted_at = utcnow()
    session.flush()
    queue_event(session, "post_destroyed", "post", {"post": serializers.webhook_post(session, post)})


def move_posts(session, user: User, topic: Topic, post_ids: list[int], *,
               destination_topic_id=None, title: str | None = None, category_id=None,
               check_permissions: bool = True) -> Topic:
    """Move posts to another topic (or a new one), renumbering them at its end."""
    if check_permissions and not is_category_moderator(session, user, topic.category):
        raise forbidden()
    ids = [int(i) for i in post_ids]
    posts = list(session.scalars(select(Post).where(Post.topic_id == topic.id, Post.id.in_(ids))
                                 .order_by(Post.post_number)))
    if not posts or len(posts) != len(set(ids)):
        raise invalid("Some of the posts you selected are not in this topic.")
    if destination_topic_id not in (None, ""):
        destination = get_topic(session, destination_topic_id)
        created = False
    else:
        if not title:
            raise invalid("Title can't be blank")
        _check_lengths(session, None, title, True, False)
        destination = Topic(title=title.strip(), slug=slugify(title), user_id=posts[0].user_id,
                            category_id=int(category_id) if category_id not in (None, "")
                            else topic.category_id, created_at=posts[0].created_at,
                            bumped_at=posts[-1].created_at)
        session.add(destination)
        session.flush()
        created = True
    number = session.scalar(select(func.max(Post.post_number))
                            .where(Post.topic_id == destination.id)) or 0
    renumber = {}
    for post in posts:
        number += 1
        renumber[post.post_number] = number
    # Move out of the way first: (topic_id, post_number) is unique.
    offset = 1_000_000
    for post in posts:
        post.post_number += offset
    session.flush()
    for post in posts:
        old_number = post.post_number - offset
        post.topic_id = destination.id
        post.post_number = renumber[old_number]
        post.reply_to_post_number = renumber.get(post.reply_to_post_number)
    session.flush()
    for post in posts:
        session.refresh(post)
    session.refresh(destination)
    if created:
        queue_event(session, "topic_created", "topic",
                    {"topic": serializers.webhook_topic(session, destination)})
    for post in posts:
        queue_event(session, "post_edited", "post", {"post": serializers.webhook_post(session, post)})
    return destination


# ------------------------------------------------------------------ uploads
def create_upload(session, user: User | None, filename: str, data: bytes,
                  content_type: str | None = None) -> Upload:
    max_kb = sitesettings.get(session, "max_attachment_size_kb")
    if len(data) > max_kb * 1024:
        raise ApiError(422, [f"Désolé, le fichier que vous essayez d'envoyer est trop volumineux "
                             f"(la taille maximale est de {max_kb} Ko)."])
    sha1 = hashlib.sha1(data).hexdigest()
    existing = session.scalar(select(Upload).where(Upload.sha1 == sha1))
    if existing is not None:
        return existing
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    upload = Upload(sha1=sha1, user_id=user.id if user else None, original_filename=filename,
                    content_type=content_type or "application/octet-stream",
                    extension=re.sub(r"[^a-z0-9]", "", extension)[:20] or "bin", data=data)
    session.add(upload)
    session.flush()
    return upload


# ------------------------------------------------------------------ webhooks
def queue_event(session, event: str, event_type: str, payload: dict) -> WebhookDelivery:
    """Store an outgoing webhook; the deliverer thread sends it after the commit."""
    row = WebhookDelivery(event=event, event_type=event_type, state="pending",
                          body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
    session.add(row)
    session.flush()
    session.info["webhook_queued"] = True
    return row
