"""Validate the local forum's responses against Discourse's official OpenAPI spec.

The spec is vendored in tests/data/discourse/openapi.json (MIT, see its README). It forbids extra fields
(`additionalProperties: false`) but omits a few that Discourse really sends and forumsync
relies on; ERRATA adds exactly those, nothing else:
- categories: `parent_category_id`, `moderating_group_ids`, free-form `custom_fields`;
- posts: `reply_to_post_number` is an integer in Discourse (the spec says string|null);
  `action_code` of small-action posts ("closed.enabled", PostSerializer#include_action_code?);
- topic view: `external_id`, and `category_id` null for private messages;
  topic lists: `more_topics_url`.

Endpoints the local forum serves that the spec does not cover (not validated here, tested
for behaviour only): GET /admin/site_settings.json, PUT /admin/site_settings/{name},
POST /t/{id}/move-posts.json, PUT /groups/{id}/owners.json, DELETE /admin/groups/{id}/owners.json,
GET /t/{slug}/{id}.json (same body as /t/{id}.json), GET /session/hp.json, GET /c/{id}.json (301), GET /posts/by_number/{topic}/{n}.json,
GET /c/{slug}/{id}/none.json, GET /users/{username}.json,
GET /uploads/default/original/…, GET /uploads/short-url/…, the HTML UI (/ui/…), and the
bare (no `.json`) spellings of every route (pydiscourse uses /posts, /t/{id}/status …).
"""
from __future__ import annotations

import functools
import json

from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.conftest import ROOT

SPEC_PATH = ROOT / "tests" / "data" / "discourse" / "openapi.json"


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def apply_errata(spec: dict) -> dict:
    for schema in _walk(spec):
        props = schema.get("properties")
        if not isinstance(props, dict):
            continue
        if "text_color" in props and "slug" in props:  # a category
            props.setdefault("parent_category_id", {"type": ["integer", "null"]})
            props.setdefault("moderating_group_ids", {"type": "array", "items": {"type": "integer"}})
            if "custom_fields" in props:
                props["custom_fields"] = {"type": "object", "additionalProperties": True}
        if "post_number" in props and "reply_to_post_number" in props:  # a post
            props["reply_to_post_number"] = {"type": ["integer", "string", "null"]}
            props.setdefault("action_code", {"type": "string"})
        if "post_stream" in props and "timeline_lookup" in props:  # topic view
            props.setdefault("external_id", {"type": ["string", "null"]})
            props["category_id"] = {"type": ["integer", "null"]}
        if "per_page" in props and "topics" in props:  # topic list
            props.setdefault("more_topics_url", {"type": "string"})
    return spec


@functools.lru_cache(maxsize=1)
def openapi() -> OpenAPI:
    spec = json.loads(SPEC_PATH.read_text())
    spec["servers"] = [{"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "80"}}}]
    return OpenAPI.from_dict(apply_errata(spec))


def validate(response) -> None:
    """Raise unless RESPONSE (a requests.Response) matches the spec for its request."""
    openapi().validate_response(RequestsOpenAPIRequest(response.request),
                                RequestsOpenAPIResponse(response))


class SpecClient:
    """requests against a RunningForum as USERNAME, validating each answer whose route the
    spec covers (pass ``spec=False`` for routes outside it)."""

    def __init__(self, forum, username=None):
        import requests

        self.forum = forum
        self.session = requests.Session()
        self.session.headers.update(forum.headers(username))

    def request(self, method, path, spec=True, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 10)
        response = self.session.request(method, self.forum.url + path, **kw)
        if spec and response.status_code < 400:
            validate(response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)
