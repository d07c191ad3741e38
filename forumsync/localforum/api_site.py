"""Site-wide endpoints: /site.json, admin site settings, tags, uploads (and serving them)."""
from __future__ import annotations

import copy
from urllib.parse import quote

from flask import Blueprint, Response, redirect
from sqlalchemy import func, select

from . import serialize_uploads, serializers, shapes, sitesettings
from .errors import forbidden, missing_param, not_found
from .http import api_route, current_user, forum, json_response, params
from .models import Group, Tag, TopicTag, Upload
from .uploads import create_upload

bp = Blueprint("localforum_site", __name__)


@api_route(bp, "/site", methods=["GET"])
def site():
    from .api_categories import visible_categories

    with forum().store.session() as session:
        user = current_user(session)
        data = copy.deepcopy(shapes.SITE)
        data.update({
            "default_archetype": "regular",
            "post_types": {"regular": 1, "moderator_action": 2, "small_action": 3, "whisper": 4},
            "trust_levels": {"newuser": 0, "basic": 1, "member": 2, "regular": 3, "leader": 4},
            "groups": [{"id": g.id, "name": g.name, "flair_url": None, "flair_bg_color": None,
                        "flair_color": None, "automatic": g.automatic}
                       for g in session.scalars(select(Group).order_by(Group.name))],
            "uncategorized_category_id": 1, "user_field_max_length": 2048,
            "can_create_tag": user.staff, "can_tag_topics": True, "can_tag_pms": False,
            "tags_filter_regexp": "[\\/\\?#\\[\\]@!\\$&'\\(\\)\\*\\+,;=\\.%\\\\`^\\s|\\{\\}\"<>]+",
            "archetypes": [{"id": "regular", "name": "Regular Topic", "options": []}],
            "full_name_visible_in_signup": True,
        })
        data["notification_types"] = {k: i + 1 for i, k in enumerate(shapes.SITE["notification_types"])}
        categories = []
        for category, permission in visible_categories(session, user):
            item = serializers.serialize_category(session, category, permission, shapes.SITE_CATEGORY)
            categories.append(item)
        data["categories"] = categories
        return json_response(data)


@api_route(bp, "/admin/site_settings", methods=["GET"])
def site_settings():
    with forum().store.session() as session:
        if not current_user(session).admin:
            raise forbidden()
        return json_response({"site_settings": sitesettings.all_settings(session, _filter_names())})


def _filter_names():
    """``filter_names`` as Rails reads it: an array (``filter_names[]=a&filter_names[]=b``) or
    a string; None without it (SiteSetting.all_settings's ``filter_names.include?``)."""
    from flask import request

    if "filter_names[]" in request.args:
        return request.args.getlist("filter_names[]")
    return request.args.get("filter_names")


@api_route(bp, "/admin/site_settings/<name>", methods=["PUT"])
def site_setting_update(name):
    p = params()
    if name not in p:
        raise missing_param(name)
    with forum().store.session() as session:
        if not current_user(session).admin:
            raise forbidden()
        sitesettings.set_value(session, name, p[name])
    return Response("", 200, content_type="text/plain; charset=utf-8")


@api_route(bp, "/tags", methods=["GET"])
def tags():
    with forum().store.session() as session:
        current_user(session)
        rows = session.execute(select(Tag.id, Tag.name, func.count(TopicTag.id))
                               .outerjoin(TopicTag, TopicTag.tag_id == Tag.id)
                               .group_by(Tag.id, Tag.name).order_by(Tag.name))
        return json_response({"tags": [{"id": tid, "text": name, "name": name, "count": count,
                                        "pm_count": 0, "target_tag": None}
                                       for tid, name, count in rows],
                              "extras": {"categories": []}})


@api_route(bp, "/uploads", methods=["POST"])
def upload_create():
    from flask import request

    file = request.files.get("file")
    if file is None:
        raise missing_param("file")
    data = file.read()
    with forum().store.session() as session:
        user = current_user(session)
        upload = create_upload(session, user, file.filename or "fichier", data,
                               file.mimetype)
        return json_response(serialize_uploads.serialize_upload(upload))


@bp.get("/uploads/default/original/1X/<sha1>.<ext>")
def upload_file(sha1, ext):
    with forum().store.session() as session:
        upload = session.scalar(select(Upload).where(Upload.sha1 == sha1))
        if upload is None:
            raise not_found()
        return Response(upload.data, 200, content_type=upload.content_type, headers={
            "Content-Disposition": "inline; filename*=UTF-8''" + quote(upload.original_filename)})


@bp.get("/uploads/short-url/<short>.<ext>")
def upload_short(short, ext):
    sha1 = serialize_uploads.sha1_from_base62(short)
    with forum().store.session() as session:
        upload = session.scalar(select(Upload).where(Upload.sha1 == sha1)) if sha1 else None
        if upload is None:
            raise not_found()
        return redirect(serialize_uploads.upload_url(upload), 302)
