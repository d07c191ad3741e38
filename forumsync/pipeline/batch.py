"""Publishing a backlog in batches: one forum request for up to 100 messages (the plugin's setting).

Discourse allows 60 admin API requests a minute for the whole site, and a list's history is
thousands of messages: one request per message is an hour and a half of budget per 5,000.
When the forum has the plugin's ``batch_posts`` and the worker has a backlog (at least
``INBOX_BATCH_THRESHOLD`` rows claimed at once; ``import-mbox`` always), each message still
goes through every stage one by one, up to ``publish``; only ``publish`` is batched: a
message a staged author posts waits in a ``PendingBatch``, sent with the others in one
``POST /forumsync/posts/batch.json`` (``ForumGateway.staged_posts_batch``), created in order.

What is stored is what the one-by-one path stores (``tests/pipeline/test_batch_import.py``
imports the same mbox both ways and compares), because:

- a message whose stages could see a waiting one is decided after it (``batch_thread``): a
  reply to a waiting message names it (``reply_to_message_id``), a « Re: » certain to join a
  topic a waiting message opens joins it (``topic_of_message_id``), any other way a waiting
  message could change what ``thread`` decides (its Message-ID or root among the references,
  in a forwarded body, the same cleaned subject as a topic it opens or touches, the same
  Message-ID again) first sends the batch (``flush``);
- the topic is not read before a batched reply: ``author`` decides with it taken as open
  (the sender's staged identity), and what ``live_topic`` would find (closed, archived,
  deleted, parent post moved) the plugin refuses on that item (``topic_closed``, 404,
  ``parent_moved``), and an active forum account's address too (``staged_only``: that member
  posts under their own account);
- a refused item — for that reason or any other — and every item of a refused request is
  then published by the one-by-one path itself, in order (``batch_send``): fallback to the
  bridge account, quarantine with its reason, retry: exactly as today;
- the senders' users are asked in one request per claim (``batch_users``) and the
  ``sender`` stage reads them from the gateway's cache, as if it had asked each;
- a message ``publish`` posts otherwise (a member's own account, the bridge account, a second
  attempt, a signed reply address) first sends the waiting batch, then is posted alone.

A full batch is sent ahead (``flush(wait=False)``: the request goes from a thread) and the
main side goes on with the next messages' stages, so the forum and this process work at the
same time; the batch lands (its rows concluded, in order) before the next is sent, before a
message posted alone, and before any message it could concern (``InFlight``: what a waiting
batch would flush for, the same Message-ID again). A row dropped or quarantined meanwhile
may be concluded before the rows in flight. A request the forum does not answer schedules
every waiting row for a retry, whose second attempt reconciles by Message-ID.
Messages replying to a waiting one skip ``access``: the topic they join is the one their
parent opened or passed ``access`` for, in this same batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from ..forum.gateway import ForumUnavailable
from ..inbound import copies
from ..mail.ids import topic_external_id
from ..mail.subjects import subject_key as make_subject_key
from ..models import TopicLink
from . import (author, batch_send, batch_thread, batch_users, categories, compose_post, live_topic, prepare,
               runner, thread)
from .batch_send import Item
from .errors import Quarantine

FEATURE = "batch_posts"
DEFAULT_MAX_POSTS = 100  # when the plugin does not say (plugin/config/settings.yml)
# One request stays well inside what a forum takes: nginx's client_max_body_size in front of
# Discourse (10 MB by default) and Rack's multipart file limit (128 parts). A message bigger
# than that alone is posted alone, as before.
MAX_BATCH_BYTES = 8 * 1024 * 1024
MAX_BATCH_FILES = 100


@dataclass
class PendingBatch:
    """The messages waiting to be published together, and what they would change."""

    ctx: object
    cache: dict  # runner's per-batch forum facts (live_topic.topic_or_none)
    max_items: int
    items: dict = field(default_factory=dict)  # message id → Item, in order
    size: int = 0  # bytes of the waiting items' raws and files
    files: int = 0
    roots: set = field(default_factory=set)
    subject_keys: set = field(default_factory=set)  # of the topics waiting items open or join
    rootless_keys: set = field(default_factory=set)  # of those whose root may never arrive
    opaque: bool = False  # a waiting reply joins a topic we have no row for: subjects unknown
    again: int | None = None  # a row to run again alone (see process)
    inflight: "InFlight | None" = None  # the batch sent ahead (flush without wait)
    # ("new", opener id) or ("db", topic id) → [subject key, newest waiting date]; message → that
    activity: dict = field(default_factory=dict)
    topic_of: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ one message
    def process(self, inbox_id: int) -> str:
        raw, msgdata = runner.read_claimed(self.ctx, inbox_id, self.cache)
        if self.inflight is not None and msgdata.get("message_id") in self.inflight.items:
            self.land()  # the same Message-ID again must meet dedupe after the first is recorded
        meta = msgdata.get("meta") or {}
        if msgdata["attempt"] > 1 or msgdata.get("message_id") in self.items or \
                meta.get("copy_of") or meta.get("copies") and self._copies_tried(inbox_id):
            # A second attempt reconciles with the forum (publish's idempotency); the same
            # Message-ID again must meet dedupe after the first is recorded; a copy of a
            # Message-ID is written under its own id (msgdata.post_key), one at a time, and
            # looks for the others' posts (``reconcile``), as does a first copy once one of
            # its copies was tried (a first copy whose copies all wait goes in the batch).
            self.flush("again")
            return runner.process_claimed(self.ctx, inbox_id, self.cache)
        state = runner.conclude(self.ctx, inbox_id, msgdata,
                                lambda: self._stages(inbox_id, raw, msgdata))
        if self.again == inbox_id:  # decided against the waiting batch, now published: again, alone
            self.again = None
            return runner.process_claimed(self.ctx, inbox_id, self.cache)
        return state

    def _copies_tried(self, inbox_id: int) -> bool:
        with self.ctx.db.session() as session:
            return bool(copies.tried_copies(session.connection(), inbox_id))

    def _stages(self, inbox_id: int, raw, msgdata: dict):
        msg, stages = prepare.stages_for(self.ctx, raw, msgdata)  # AHEAD ones from the pool
        for stage in stages:
            if stage is live_topic:  # the topic-facing stages, author, publish: after the batch
                break
            if stage is thread:
                batch_thread.decide(self, msg, msgdata)
            elif getattr(stage, "__name__", "").endswith(".access") and msgdata.get("pending_parent"):
                continue  # see the module docstring
            else:
                stage.process(self.ctx, msg, msgdata)
        if self._batchable(msgdata):
            author.process(self.ctx, msg, msgdata)  # the topic taken as open: the plugin checks it
            if self._add(inbox_id, msgdata):
                return runner.PENDING
        self.flush("alone")
        if msgdata.get("pending_parent"):
            self.again = inbox_id
            return runner.PENDING
        for stage in stages[stages.index(live_topic):]:
            stage.process(self.ctx, msg, msgdata)
        return None

    def _batchable(self, msgdata: dict) -> bool:
        """A staged user posts it in an open topic (``sender``'s facts; the plugin checks the topic)."""
        return bool(msgdata.get("sender_staged") and msgdata.get("from_email")
                    and not msgdata.get("reply_target"))

    # ------------------------------------------------------------------ the batch
    def _add(self, inbox_id: int, msgdata: dict) -> bool:
        """Queue the message's post (False: too big for any batch, to be posted alone)."""
        ctx = self.ctx
        message_id = msgdata["message_id"]
        common = dict(email=msgdata["from_email"], name=msgdata.get("from_name") or "",
                      username_hint=msgdata.get("username_hint"),
                      message_id=f"<{message_id}>", created_at=msgdata.get("date"))
        new_topic, roots, keys, touched, orphan = None, set(), set(), None, False
        if msgdata.get("topic_id") is None:
            theme = msgdata.get("theme") or ctx.settings.DEFAULT_THEME
            try:
                category_id = categories.list_topic_category_id(ctx, theme)
            except Quarantine:
                return False  # posted alone: quarantined there with its reason
            external_id = topic_external_id(msgdata.get("root_message_id") or message_id)
            raw = compose_post.compose(ctx, msgdata)
            title = msgdata.get("title") or msgdata.get("subject") or "(sans objet)"
            title, raw = compose_post.fitted_text(ctx, msgdata, compose_post.known_problems(ctx, raw), title, raw)
            payload = dict(common, raw=raw, title=title, category_id=category_id,
                           external_id=external_id)
            new_topic = dict(external_id=external_id, category_id=category_id, theme=theme)
            roots.add(msgdata.get("root_message_id") or message_id)
            keys.update(k for k in (msgdata.get("subject_key"), make_subject_key(title)) if k)
            orphan = (msgdata.get("root_message_id") or message_id) != message_id
        else:
            raw = compose_post.compose(ctx, msgdata)
            raw = compose_post.fitted_text(ctx, msgdata, compose_post.known_problems(ctx, raw), None, raw)[1]
            payload = dict(common, raw=raw)
            parent = msgdata.get("pending_parent")
            if parent:
                target = "topic_of_message_id" if msgdata.get("pending_topic_only") else "reply_to_message_id"
                payload[target] = f"<{parent}>"
            else:
                payload.update(topic_id=msgdata["topic_id"],
                               reply_to_post_number=msgdata.get("reply_to_post_number"),
                               reply_to_post_id=msgdata.get("parent_post_id"))
                touched = msgdata["topic_id"]
            if msgdata.get("adopt_root"):
                roots.add(message_id)
        payload["files"] = msgdata.get("post_files")
        files = payload["files"] or ()
        size = len(payload["raw"].encode("utf-8")) + sum(len(data) for _n, data, _t in files)
        if size > MAX_BATCH_BYTES or len(files) > MAX_BATCH_FILES:
            return False
        if self.size + size > MAX_BATCH_BYTES or self.files + len(files) > MAX_BATCH_FILES:
            if msgdata.get("pending_parent"):
                return False  # its parent goes now: decided again, alone
            self.flush("size", wait=False)
        self.items[message_id] = Item(inbox_id, msgdata, payload, new_topic)
        self.roots |= roots
        self.subject_keys |= keys
        if orphan:
            self.rootless_keys |= keys
        if touched is not None:
            self._touch(touched)
        self._active(message_id, msgdata, new_topic and (msgdata.get("subject_key") or make_subject_key(title)),
                     touched)
        self.size += size
        self.files += len(files)
        if len(self.items) >= self.max_items:
            self.flush("full", wait=False)
        return True

    def _touch(self, topic_id: int) -> None:
        """A waiting reply in TOPIC_ID moves its activity date: remember its subject."""
        with self.ctx.db.connection() as conn:
            key = conn.scalar(select(TopicLink.subject_key).where(TopicLink.topic_id == topic_id))
        if key is None:
            self.opaque = True
        elif key:
            self.subject_keys.add(key)
            self.rootless_keys.add(key)  # its root may be missing, or arriving in this batch

    def _active(self, message_id: str, msgdata: dict, opened_key, touched) -> None:
        """Remember which topic the waiting item is in and how recent it leaves it."""
        if opened_key is not None:
            ref = ("new", message_id)
        elif touched is not None:
            ref = ("db", touched)
        else:
            ref = self.topic_of.get(msgdata.get("pending_parent"))
        date = msgdata.get("date")
        if ref is None or date is None:
            self.opaque = True  # activity unknown: subjects decided after publishing
            return
        self.topic_of[message_id] = ref
        entry = self.activity.setdefault(ref, [opened_key or "", date])
        entry[1] = max(entry[1], date)

    def flush(self, why: str = "end", wait: bool = True) -> None:
        """Send the waiting messages in one request and conclude each, in order. WHY is counted
        in the gateway's stats (``batch_flush_<why>``): what cut the batches short. Not WAIT:
        the request goes from a thread (``batch_send.start``) and the rows are concluded by
        ``land``, called before anything the batch could change (see ``InFlight``)."""
        self.land()
        if not self.items:
            return
        self.ctx.forum.stats[f"batch_flush_{why}"] += 1
        queue = list(self.items.values())
        self.inflight = InFlight(self.ctx, set(self.items), self.roots,
                                 self.subject_keys, self.rootless_keys, self.opaque, queue,
                                 batch_send.start(self.ctx, queue))
        self.items, self.roots, self.subject_keys, self.opaque = {}, set(), set(), False
        self.rootless_keys, self.activity, self.topic_of = set(), {}, {}
        self.size = self.files = 0
        if wait:
            self.land()

    def land(self) -> None:
        """Conclude the batch sent ahead, if any (its answer, then ``batch_send.send``)."""
        inflight, self.inflight = self.inflight, None
        if inflight is not None:
            batch_send.send(self.ctx, self.cache, inflight.queue, first=inflight.answer)


@dataclass
class InFlight:
    """A batch sent ahead, not concluded yet: what its items would change in ``thread``'s
    decisions (the fields ``batch_thread`` reads of a PendingBatch). A message they could
    concern waits for it to land (``batch_thread.decide``, ``PendingBatch.process``): it is
    then decided against the database as the one-by-one path would."""

    ctx: object
    items: set  # Message-IDs of its messages
    roots: set
    subject_keys: set
    rootless_keys: set
    opaque: bool
    queue: list
    answer: object  # the Future of its first request


def max_items(ctx) -> int:
    caps = ctx.forum.capabilities() or {}
    try:
        return max(1, int(caps.get("batch_max_posts") or DEFAULT_MAX_POSTS))
    except (TypeError, ValueError):
        return DEFAULT_MAX_POSTS


def wanted(ctx, claimed: int, threshold: int | None = None) -> bool:
    """Batches for a backlog (CLAIMED rows at once) when the forum's plugin takes them."""
    threshold = ctx.settings.INBOX_BATCH_THRESHOLD if threshold is None else threshold
    if not threshold or claimed < threshold:
        return False
    try:
        return ctx.forum.has_feature(FEATURE)
    except ForumUnavailable:
        return False


def publish_claimed(ctx, ids: list[int], cache: dict | None = None) -> int:
    """Run claimed rows through the stages, publishing in batches; returns how many."""
    batch_users.prefetch_users(ctx, ids)
    pending = PendingBatch(ctx, {} if cache is None else cache, max_items(ctx))
    prepare.Ahead.start(ctx, ids, pending.cache)  # the CPU-bound stages run ahead in a pool
    try:
        for inbox_id in ids:
            pending.process(inbox_id)
        pending.flush()
    finally:
        try:
            pending.land()  # never leave a request sent ahead unconcluded (rows stay claimed)
        finally:
            prepare.finish(pending.cache)
    return len(ids)
