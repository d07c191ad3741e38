"""HTTP plumbing shared by the local forum's API views.

Discourse answers the same route with and without ``.json``, reads JSON and form-encoded
bodies (``post[raw]``, ``tags[]``, ``permissions[group]``), and always sends
``Content-Type: application/json; charset=utf-8`` (pydiscourse insists on it).
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, Response, current_app, g, request

from .errors import forbidden
from .models import User
from .users import user_by_username

JSON_TYPE = "application/json; charset=utf-8"
_BRACKETS = re.compile(r"\[([^\]]*)\]")


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    response = Response(body, status=status, headers=headers or {})
    response.headers["Content-Type"] = JSON_TYPE
    return response


def api_route(bp: Blueprint, rule: str, **options):
    """Register RULE both bare and with ``.json`` (as Discourse routes do)."""
    def decorator(view):
        endpoint = options.pop("endpoint", view.__name__)
        bp.add_url_rule(rule + ".json", endpoint + "_json", view, **options)
        bp.add_url_rule(rule, endpoint, view, **options)
        return view
    return decorator


def _set_nested(target: dict, key: str, values: list):
    """``post[raw]`` → target["post"]["raw"]; ``tags[]`` → list; ``a[b][]`` → nested list."""
    head = key.split("[", 1)[0]
    parts = [head] + _BRACKETS.findall(key[len(head):])
    node = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if last:
            node[part] = values if (key.endswith("[]") or len(values) > 1) else values[0]
            return
        if parts[index + 1] == "":
            node[part] = values
            return
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return


def params() -> dict:
    """Query string, form fields and JSON body merged into one nested dict."""
    cached = g.get("_localforum_params")
    if cached is not None:
        return cached
    data: dict = {}
    for source in (request.args, request.form):
        for key in source.keys():
            _set_nested(data, key, source.getlist(key))
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            data.update(body)
    g._localforum_params = data
    return data


def as_list(value) -> list:
    """A list from a JSON list, a repeated form field or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(as_list(item) if isinstance(item, str) and "," in item else [item])
        return [v for v in out if v not in (None, "")]
    if isinstance(value, dict):
        return list(value.values())
    return [v.strip() for v in str(value).split(",") if v.strip()]


def as_bool(value, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "t", "yes", "on")


def forum():
    """The LocalForum object of the running app (store, deliverer, settings …)."""
    return current_app.extensions["localforum"]


def current_user(session) -> User:
    """The acting user (Api-Username), loaded in SESSION; 403 when gone or not active."""
    username = g.get("api_username")
    user = user_by_username(session, username) if username else None
    if user is None or user.staged or not user.active:
        raise forbidden()
    return user
