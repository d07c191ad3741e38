"""Groups of the local forum: lookups, creation and update, members."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from .errors import invalid
from .models import Group, GroupUser, User


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

