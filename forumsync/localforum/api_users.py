"""Users: POST /users.json, GET /u/{username}.json, admin list filtered by email."""
from __future__ import annotations

from flask import Blueprint
from sqlalchemy import func, or_, select

from . import serializers
from .errors import ApiError, forbidden, not_found
from .http import api_route, as_bool, current_user, forum, json_response, params
from .models import Notification, User
from .users import create_user, user_by_external_id, user_by_username

bp = Blueprint("localforum_users", __name__)


@api_route(bp, "/users", methods=["POST"])
def user_create():
    p = params()
    with forum().store.session() as session:
        actor = current_user(session)
        active = as_bool(p.get("active"), False) and actor.admin
        try:
            with session.begin_nested():
                user = create_user(
                    session, p.get("username") or "", p.get("email") or "", p.get("name"),
                    password=p.get("password"), active=active,
                    approved=as_bool(p.get("approved"), True) if actor.admin else False,
                    staged=as_bool(p.get("staged")) and actor.admin,
                    external_id=p.get("external_id") or None)
        except ApiError as exc:
            return json_response({"success": False, "message": "\n".join(exc.errors),
                                  "errors": {"base": exc.errors}, "values": {
                                      "name": p.get("name"), "username": p.get("username"),
                                      "email": p.get("email")}, "is_developer": False})
        message = ("Your account is activated and ready to use." if user.active else
                   "You're almost done! We sent an activation mail to the email address you provided.")
        return json_response({"success": True, "active": user.active, "message": message,
                              "user_id": user.id})


@api_route(bp, "/session/hp", methods=["GET"])
def honeypot():
    """The signup honeypot pydiscourse's create_user reads first (outside the spec)."""
    import secrets

    return json_response({"value": secrets.token_hex(16), "challenge": secrets.token_hex(16)})


def _user_response(session, user: User | None):
    if user is None:
        raise not_found()
    return json_response({"user_badges": [], "user": serializers.serialize_user_full(session, user)})


@api_route(bp, "/u/<username>", methods=["GET"])
def user_show(username):
    with forum().store.session() as session:
        current_user(session)
        return _user_response(session, user_by_username(session, username))


@api_route(bp, "/u/<username>/emails", methods=["GET"])
def user_emails(username):
    """Staff only, as in Discourse: the address behind a username."""
    with forum().store.session() as session:
        if not current_user(session).staff:
            raise forbidden()
        user = user_by_username(session, username)
        if user is None:
            raise not_found()
        return json_response({"email": user.email, "secondary_emails": [],
                              "unconfirmed_emails": [], "associated_accounts": []})


@api_route(bp, "/users/<username>", methods=["GET"])
def user_show_legacy(username):
    return user_show(username)


@api_route(bp, "/u/by-external/<external_id>", methods=["GET"])
def user_by_external(external_id):
    with forum().store.session() as session:
        current_user(session)
        return _user_response(session, user_by_external_id(session, external_id))


@api_route(bp, "/admin/users/list/<flag>", methods=["GET"])
def admin_user_list(flag):
    p = params()
    with forum().store.session() as session:
        actor = current_user(session)
        if not actor.staff:
            raise forbidden()
        query = select(User)
        if flag == "active":
            query = query.where(User.active.is_(True))
        elif flag == "staff":
            query = query.where(or_(User.admin.is_(True), User.moderator.is_(True)))
        elif flag == "admins":
            query = query.where(User.admin.is_(True))
        elif flag == "moderators":
            query = query.where(User.moderator.is_(True))
        elif flag == "staged":
            query = query.where(User.staged.is_(True))
        elif flag == "new":
            query = query.where(User.trust_level == 0)
        if p.get("email"):
            query = query.where(func.lower(User.email) == str(p["email"]).strip().lower())
        if p.get("filter"):
            needle = f"%{str(p['filter']).lower()}%"
            query = query.where(or_(func.lower(User.username).like(needle),
                                    func.lower(User.email).like(needle),
                                    func.lower(User.name).like(needle)))
        page = int(p.get("page") or 1)
        users = session.scalars(query.order_by(User.created_at.desc(), User.id.desc())
                                .offset((page - 1) * 100).limit(100))
        return json_response([serializers.serialize_admin_user(u) for u in users])


@api_route(bp, "/notifications", methods=["GET"])
def notifications():
    """NotificationsController#index: the acting user's notifications; an admin may ask for
    another user's with ``username`` (how tests see what a staged user would be mailed)."""
    p = params()
    with forum().store.session() as session:
        user = current_user(session)
        target = user
        if p.get("username") and p["username"].lower() != user.username.lower():
            if not user.admin:
                raise forbidden()
            target = user_by_username(session, p["username"])
            if target is None:
                raise not_found()
        rows = session.scalars(select(Notification).where(Notification.user_id == target.id)
                               .order_by(Notification.id.desc()).limit(60))
        return json_response({"notifications": [
            {"id": n.id, "user_id": n.user_id, "notification_type": n.notification_type,
             "read": False, "high_priority": False, "created_at": n.created_at.isoformat() + "Z",
             "post_number": n.post_number, "topic_id": n.topic_id,
             "data": {"original_post_id": n.post_id}} for n in rows],
            "total_rows_notifications": session.scalar(select(func.count(Notification.id)).where(
                Notification.user_id == target.id)),
            "seen_notification_id": 0, "load_more_notifications": "/notifications?offset=60"})
