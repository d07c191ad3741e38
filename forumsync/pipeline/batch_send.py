"""Sending a waiting batch (``pipeline/batch.py``) in one request and concluding each row, in order.

The plugin creates the items one after the other and stops at the first it refuses
(``stop_at_refusal``): that one is published by the one-by-one path
(``runner.process_claimed``: bridge account, quarantine, retry, exactly as a single post),
then the rest is sent again, so posts keep the order of the messages. A reply to an item a
previous request published names that post (references by Message-ID only reach back
within one request). A request the forum does not answer schedules every waiting row for a
retry; a request it refuses as a whole sends each message the one-by-one way.

A full batch's first request may be sent ahead (``start``, from a thread) while the main side
runs the next messages' stages; ``send`` then takes its answer instead of sending it.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..forum.gateway import ForumRejected, ForumUnavailable
from . import records, runner

log = logging.getLogger(__name__)

CREATED = (200, 201)
NOT_ATTEMPTED = "not_attempted"  # stop_at_refusal: after a refused item, the rest waits
STATS: Counter = Counter()  # landing_wait_ms: the main side waiting for a request sent ahead


@dataclass
class Item:
    inbox_id: int
    msgdata: dict
    payload: dict
    new_topic: dict | None = None


_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forumsync-batch")


def start(ctx, queue: list[Item]) -> Future:
    """The first request of ``send`` for QUEUE, sent from a thread of its own: the main side
    goes on with the next messages while the forum creates these (``PendingBatch.land``
    concludes them). Only the request: no database write, no other forum call."""
    return _sender.submit(ctx.forum.staged_posts_batch, [item.payload for item in queue],
                          staged_only=True, stop_at_refusal=True)


def send(ctx, cache: dict, queue: list[Item], first: Future | None = None) -> None:
    """Publish QUEUE's items (batch requests, the one-by-one path for the refused) and
    conclude their rows. CACHE is the runner's per-claim dict of forum facts. FIRST: the
    first request, already sent by ``start`` (the same request this would send first)."""
    done: dict = {}  # message id → result, for the items already published
    alone: set = set()  # message ids of the items posted the one-by-one way
    while queue:
        if queue[0].msgdata.get("pending_parent") in alone:
            # Its parent did not go as planned: decided again, alone, in its turn.
            _alone(ctx, cache, queue.pop(0), alone)
            continue
        chunk = []
        for item in queue:
            if item.msgdata.get("pending_parent") in alone:
                break
            chunk.append(item)
        try:
            if first is not None:  # its items: the whole queue, unresolved (nothing done yet)
                results, first = _landed(first), None
            else:
                results = ctx.forum.staged_posts_batch(
                    [_resolved(item.payload, done) for item in chunk], staged_only=True,
                    stop_at_refusal=True)
        except ForumUnavailable as exc:
            for item in queue:
                runner.conclude(ctx, item.inbox_id, item.msgdata, _raiser(exc))
            return
        except ForumRejected as exc:  # the whole request refused: each message alone
            log.warning("lot de %s messages refusé par le forum (%s) : publication un par un",
                        len(queue), exc)
            for item in queue:
                _alone(ctx, cache, item, alone)
            return
        used = 0
        for item, result in zip(chunk, results):
            if isinstance(result, dict) and result.get("status") in CREATED and result.get("id"):
                runner.conclude(ctx, item.inbox_id, item.msgdata,
                                lambda item=item, result=result: _published(ctx, cache, item, result))
                if result.get("created") is not False:  # a post found again is no target
                    done[item.msgdata["message_id"]] = result  # (it may be anywhere now)
                used += 1
                continue
            if isinstance(result, dict) and result.get("error_type") != NOT_ATTEMPTED:
                log.info("inbox %s : refusé dans le lot (%s), publié seul",
                         item.inbox_id, "; ".join(result.get("errors") or []))
                _alone(ctx, cache, item, alone)
                used += 1
            break
        if not used:  # an answer we cannot read: that one alone, the others again
            _alone(ctx, cache, chunk[0], alone)
            used = 1
        queue = queue[used:]


def _landed(future: Future):
    """The answer of a request sent by ``start``; the main side's wait counted in STATS."""
    began = time.perf_counter()
    try:
        return future.result()
    finally:
        STATS["landing_wait_ms"] += round((time.perf_counter() - began) * 1000)


def _alone(ctx, cache: dict, item: Item, alone: set) -> None:
    """The one-by-one path, for an item the batch did not publish."""
    alone.add(item.msgdata["message_id"])
    runner.process_claimed(ctx, item.inbox_id, cache)


def _published(ctx, cache: dict, item: Item, result: dict) -> None:
    """What ``publish`` records after a post, for a post the batch created."""
    msgdata = item.msgdata
    post = records.post_of(result)
    if item.new_topic is not None and result.get("created") is False:
        records.found_again(ctx, msgdata, post, item.new_topic["external_id"])
        return
    if item.new_topic is not None:
        records.remember_post(msgdata, {
            "id": post["topic_id"], "category_id": item.new_topic["category_id"],
            "title": item.payload["title"], "archetype": "regular", "closed": False,
            "archived": False,
            "post_stream": {"stream": []}}, post)
        records.done(ctx, msgdata, post, new_topic=item.new_topic)
        return
    if msgdata.get("pending_parent"):
        msgdata.update(topic_id=post["topic_id"],
                       reply_to_post_number=result.get("reply_to_post_number"))
    topic = {"id": post["topic_id"], "category_id": result.get("category_id"),
             "title": result.get("topic_title") or "", "closed": False, "archived": False}
    cached = cache.get(("topic", post["topic_id"]))
    if cached is not None:
        records.remember_post(msgdata, cached, post)
    records.done(ctx, msgdata, post, topic=topic)


def _resolved(payload: dict, done: dict) -> dict:
    """A reply to an item a previous request published names that post, not its Message-ID
    (references only reach back within one request)."""
    key = "topic_of_message_id" if payload.get("topic_of_message_id") else "reply_to_message_id"
    parent = (payload.get(key) or "").strip("<>")
    if parent not in done:
        return payload
    posted = done[parent]
    resolved = {k: v for k, v in payload.items() if k != key}
    resolved["topic_id"] = posted["topic_id"]
    if key == "reply_to_message_id":  # topic_of_message_id: in that topic, no parent post
        resolved.update(reply_to_post_number=posted.get("post_number"), reply_to_post_id=posted["id"])
    return resolved


def _raiser(exc):
    def work():
        raise exc
    return work
