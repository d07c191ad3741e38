"""Groups: create, list, show, members (add/remove), owners."""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from . import serializers, shapes
from .errors import forbidden, invalid, not_found
from .groups import (add_group_members, create_group, group_by_id_or_name, group_by_name,
                     remove_group_members, update_group)
from .http import api_route, as_list, current_user, forum, json_response, params
from .models import Group, GroupUser, User
from .users import user_by_email, user_by_username

bp = Blueprint("localforum_groups", __name__)


def _group(session, key) -> Group:
    group = group_by_id_or_name(session, key)
    if group is None:
        raise not_found()
    return group


def _users(session, p) -> list[User]:
    users = []
    for username in as_list(p.get("usernames")):
        user = user_by_username(session, username)
        if user is None:
            raise invalid(f"Could not find user \"{username}\"")  # noqa: B907
        users.append(user)
    for email in as_list(p.get("user_emails") or p.get("emails")):
        user = user_by_email(session, email)
        if user is None:
            raise invalid(f"Could not find user with email {email}")
        users.append(user)
    return users


@api_route(bp, "/admin/groups", methods=["POST"])
def group_create():
    p = params()
    fields = p.get("group") if isinstance(p.get("group"), dict) else p
    with forum().store.session() as session:
        if not current_user(session).admin:
            raise forbidden()
        group = create_group(session, fields.get("name"), fields.get("full_name"),
                             **{k: v for k, v in fields.items()
                                      if k not in ("name", "full_name")})
        owners = [user_by_username(session, u) for u in as_list(fields.get("owner_usernames"))]
        add_group_members(session, group, [u for u in owners if u], owner=True)
        members = [user_by_username(session, u) for u in as_list(fields.get("usernames"))]
        add_group_members(session, group, [u for u in members if u])
        return json_response({"basic_group": serializers.serialize_group_basic(session, group)})


@api_route(bp, "/admin/groups/<int:group_id>", methods=["DELETE"])
def group_delete(group_id):
    with forum().store.session() as session:
        if not current_user(session).admin:
            raise forbidden()
        group = session.get(Group, group_id)
        if group is None or group.automatic:
            raise not_found()
        session.delete(group)
    return json_response({"success": "OK"})


@api_route(bp, "/groups", methods=["GET"])
def group_list():
    with forum().store.session() as session:
        current_user(session)
        groups = list(session.scalars(select(Group).order_by(Group.name)))
        items = []
        for group in groups:
            item = serializers.serialize_group_basic(session, group, shapes.GROUP_LIST_ITEM)
            item["user_count"] = len(group.memberships)
            items.append(item)
        return json_response({"groups": items, "extras": {"type_filters": [
            "my", "owner", "public", "close", "automatic", "non_automatic"]},
            "total_rows_groups": len(items), "load_more_groups": "/groups?page=1"})


def _group_show(find):
    """GET a group found by FIND(session) (by name or by id), 404 when there is none."""
    with forum().store.session() as session:
        user = current_user(session)
        group = find(session)
        if group is None:
            raise not_found()
        return json_response({"group": serializers.serialize_group_full(session, group, user),
                              "extras": {"visible_group_names": [group.name]}})


@api_route(bp, "/groups/<name>", methods=["GET"])
def group_show(name):
    return _group_show(lambda session: group_by_name(session, name))


@api_route(bp, "/groups/by-id/<int:group_id>", methods=["GET"])
def group_show_by_id(group_id):
    return _group_show(lambda session: session.get(Group, group_id))


@api_route(bp, "/groups/<name>/members", methods=["GET"])
def group_members(name):
    p = params()
    offset = int(p.get("offset") or 0)
    limit = min(int(p.get("limit") or 50), 1000)
    with forum().store.session() as session:
        current_user(session)
        group = _group(session, name)
        memberships = list(session.scalars(select(GroupUser).where(GroupUser.group_id == group.id)
                                           .order_by(GroupUser.id)))
        members = [serializers.serialize_member(m) for m in memberships[offset:offset + limit]]
        owners = [serializers.serialize_member(m) for m in memberships if m.owner]
        return json_response({"members": members, "owners": owners,
                              "meta": {"total": len(memberships), "limit": limit, "offset": offset}})


def _can_manage(session, user: User, group: Group) -> bool:
    if user.admin:
        return True
    return session.scalar(select(GroupUser.owner).where(GroupUser.group_id == group.id,
                                                        GroupUser.user_id == user.id)) is True


def _managed_group(session, group_id) -> Group:
    """The group the acting user may change (an admin, or an owner): 404 unknown, 403 an
    automatic group or someone else's."""
    actor = current_user(session)
    group = _group(session, group_id)
    if group.automatic or not _can_manage(session, actor, group):
        raise forbidden()
    return group


@api_route(bp, "/groups/<group_id>/members", methods=["PUT"])
def group_members_add(group_id):
    p = params()
    with forum().store.session() as session:
        group = _managed_group(session, group_id)
        users = _users(session, p)
        if not users:
            raise invalid("You must provide at least one username or email address.")
        added = add_group_members(session, group, users)
        if not added:
            names = ", ".join(u.username for u in users)
            raise invalid(f"{names} is already a member of this group.")
        return json_response({"success": "OK", "usernames": [u.username for u in added],
                              "emails": []})


@api_route(bp, "/groups/<group_id>/members", methods=["DELETE"])
def group_members_remove(group_id):
    p = params()
    with forum().store.session() as session:
        group = _managed_group(session, group_id)
        users = _users(session, p)
        removed = remove_group_members(session, group, users)
        return json_response({"success": "OK", "usernames": [u.username for u in removed],
                              "skipped_usernames": [u.username for u in users if u not in removed]})


@api_route(bp, "/groups/<group_id>/owners", methods=["PUT"])
def group_owners_add(group_id):
    return _owners_add(group_id)


@api_route(bp, "/admin/groups/<group_id>/owners", methods=["PUT"])
def admin_group_owners_add(group_id):
    return _owners_add(group_id)


def _owners_add(group_id):
    """GroupsController#add_owners reads top-level ``usernames`` (users_from_params); a nested
    ``group[usernames]`` is ignored: success, nobody added."""
    p = params()
    with forum().store.session() as session:
        group = _managed_group(session, group_id)
        users = _users(session, p)
        add_group_members(session, group, users, owner=True)
        return json_response({"success": "OK", "usernames": [u.username for u in users]})


@api_route(bp, "/admin/groups/<group_id>/owners", methods=["DELETE"])
def admin_group_owners_remove(group_id):
    p = params()
    with forum().store.session() as session:
        if not current_user(session).admin:
            raise forbidden()
        group = _group(session, group_id)
        user_id = int(p.get("user_id") or 0)
        membership = session.scalar(select(GroupUser).where(GroupUser.group_id == group.id,
                                                            GroupUser.user_id == user_id))
        if membership is not None:
            membership.owner = False
        return json_response({"success": "OK"})


@api_route(bp, "/groups/<group_id>", methods=["PUT"])
def group_update(group_id):
    p = params()
    fields = p.get("group") if isinstance(p.get("group"), dict) else p
    with forum().store.session() as session:
        group = _managed_group(session, group_id)
        update_group(session, group, **fields)
        if fields.get("usernames"):
            add_group_members(session, group, _users(session, {"usernames": fields["usernames"]}))
        if fields.get("owner_usernames"):
            add_group_members(session, group,
                              _users(session, {"usernames": fields["owner_usernames"]}), owner=True)
    return json_response({"success": "OK"})
