"""Outgoing webhook events, stored in the request's transaction (the deliverer in
``webhooks.py`` sends them after the commit)."""
from __future__ import annotations

import json

from . import prepared
from .models import Post, Topic, WebhookDelivery
from .serialize_topics import webhook_post, webhook_topic


def queue_event(session, event: str, event_type: str, payload: dict) -> int:
    """Store an outgoing webhook (its id is returned); the deliverer thread sends it after the
    commit. Inserted at once in the request's transaction, so events keep their order."""
    row_id = prepared.insert(session, WebhookDelivery, {
        "event": event, "event_type": event_type, "state": "pending",
        "body": json.dumps(payload, ensure_ascii=False, separators=(",", ":"))})
    session.info["webhook_queued"] = True
    return row_id


def post_event(session, event: str, post: Post) -> int:
    """A post_* event carrying the post as Discourse's WebHookPostSerializer shows it."""
    return queue_event(session, event, "post", {"post": webhook_post(session, post)})


def topic_event(session, event: str, topic: Topic) -> int:
    """A topic_* event carrying the topic as Discourse's WebHookTopicViewSerializer shows it."""
    return queue_event(session, event, "topic", {"topic": webhook_topic(session, topic)})
