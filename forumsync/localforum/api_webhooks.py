"""GET /admin/api/web_hooks(.json) and /admin/api/web_hooks/{id}: the forum's webhook, read-only.

Discourse (`Admin::WebHooksController#index` / `#show`, `AdminWebHookSerializer`) lists its
webhooks to admins only, with the payload URL, the secret, the subscribed event types and the
last delivery status. The local forum has exactly one webhook: the URL it delivers to
(LOCALFORUM_WEBHOOK_URL, or none), signed with FORUM_WEBHOOK_SECRET, for the events it emits.
`forumsync doctor` reads this endpoint to check a real forum's configuration.
"""
from __future__ import annotations

from flask import Blueprint, request

from .errors import forbidden, not_found
from .http import api_route, current_user, forum, json_response

bp = Blueprint("localforum_webhooks", __name__)

# Discourse's WebHookEventType::TYPES ids and groups (app/models/web_hook_event_type.rb), for the
# events the local forum emits (see webhook_events.queue_event callers).
EVENT_TYPES = [
    {"id": 101, "name": "topic_created", "group": "topic"},
    {"id": 103, "name": "topic_edited", "group": "topic"},
    {"id": 104, "name": "topic_destroyed", "group": "topic"},
    {"id": 201, "name": "post_created", "group": "post"},
    {"id": 202, "name": "post_edited", "group": "post"},
    {"id": 203, "name": "post_destroyed", "group": "post"},
]
CONTENT_TYPES = [{"id": 1, "name": "application/json"},
                 {"id": 2, "name": "application/x-www-form-urlencoded"}]
DELIVERY_STATUSES = [{"id": 1, "name": "inactive"}, {"id": 2, "name": "failed"},
                     {"id": 3, "name": "successful"}, {"id": 4, "name": "disabled"}]
WEBHOOK_ID = 1


def _last_delivery_status(deliverer) -> int:
    """1 inactive (nothing sent yet), 2 failed, 3 successful — from the last attempt."""
    if not deliverer.sent:
        return 1
    status = deliverer.sent[-1].get("status")
    return 3 if isinstance(status, int) and 200 <= status < 300 else 2


def serialize_webhook(lf) -> dict:
    deliverer = lf.deliverer
    return {
        "id": WEBHOOK_ID,
        "payload_url": deliverer.url or "",
        "content_type": 1,
        "last_delivery_status": _last_delivery_status(deliverer),
        "secret": deliverer.secret or "",
        "wildcard_web_hook": False,
        "verify_certificate": True,
        "active": bool(deliverer.url),
        "web_hook_event_types": [dict(t) for t in EVENT_TYPES],
        "category_ids": [],
        "tag_names": [],
        "group_ids": [],
    }


def _require_admin() -> None:
    with forum().store.session() as session:
        if not current_user(session).admin:
            raise forbidden()


@api_route(bp, "/admin/api/web_hooks", methods=["GET"])
def web_hooks_index():
    _require_admin()
    lf = forum()
    offset = request.args.get("offset", 0, type=int) or 0
    hooks = [serialize_webhook(lf)] if lf.deliverer.url else []
    return json_response({
        "web_hooks": hooks[offset:offset + 50],
        "extras": {"event_types": [dict(t) for t in EVENT_TYPES],
                   "default_event_types": [dict(t) for t in EVENT_TYPES if t["group"] == "post"],
                   "content_types": CONTENT_TYPES, "delivery_statuses": DELIVERY_STATUSES},
        "total_rows_web_hooks": len(hooks),
        "load_more_web_hooks": f"/admin/api/web_hooks.json?limit=50&offset={offset + 50}",
    })


@api_route(bp, "/admin/api/web_hooks/<int:hook_id>", methods=["GET"])
def web_hook_show(hook_id):
    _require_admin()
    lf = forum()
    if hook_id != WEBHOOK_ID or not lf.deliverer.url:
        raise not_found()
    return json_response({"web_hook": serialize_webhook(lf)})
