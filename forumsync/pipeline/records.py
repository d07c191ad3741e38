"""What a published message leaves in the database: its PostLink and its topic's TopicLink.

The forum write happens outside any transaction; ``done`` queues the mapping rows in
``msgdata["writes"]``, which the runner commits with the inbox row's final state, in one
short transaction (``record``). ``publish``, ``reconcile`` and ``pipeline/batch.py`` (for the
posts a batch created) record the same way.
"""
from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..models import PostLink, TopicLink, utcnow
from . import categories


def post_of(answer: dict) -> dict:
    """``{"id", "topic_id", "post_number"}`` of a forum answer (a post, or a body holding one)."""
    post = answer.get("post") if isinstance(answer.get("post"), dict) else answer
    return {"id": post.get("id") or post.get("post_id"), "topic_id": post.get("topic_id"),
            "post_number": post.get("post_number") or 1}


def new_topic_view(post: dict, category_id, title: str) -> dict:
    """The batch's view of a topic we just opened (what ``access`` checks before a reply in it)."""
    return {"id": post["topic_id"], "category_id": category_id, "title": title,
            "archetype": "regular", "closed": False, "archived": False, "post_stream": {"stream": []}}


def remember_post(msgdata, topic: dict | None, post: dict) -> None:
    """Keep the batch's view of a topic current after we posted in it."""
    if topic is None or msgdata.get("batch") is None:
        return
    topic.setdefault("post_stream", {}).setdefault("stream", []).append(post["id"])
    msgdata["batch"][("topic", topic["id"])] = topic


def found_again(ctx, msgdata, post: dict, external_id: str) -> None:
    """The forum answered a post it already had under this Message-ID (the plugin's
    ``created: false``) where a topic was to be opened. Read from the forum:
    - the opening post of a topic carrying this thread's EXTERNAL_ID (only forumsync sets
      it): an earlier attempt's topic, recorded as the topic this message opens (its root, so
      the thread's replies find it), in the category where it is now;
    - anything else: recorded in the topic where that post is now, never as a topic forumsync
      opened in the theme's category (which replies would then trust: red-team pass 16).
    A topic gone since: recorded as the post alone."""
    from .live_topic import topic_or_none

    topic = topic_or_none(ctx, post["topic_id"], msgdata)
    if topic is not None and topic.get("external_id") == external_id and post.get("post_number") == 1:
        remember_post(msgdata, topic, post)
        done(ctx, msgdata, post, new_topic=dict(
            external_id=external_id, category_id=topic.get("category_id"),
            theme=categories.theme_of_category(ctx, topic.get("category_id")) or msgdata.get("theme")))
        return
    done(ctx, msgdata, post, topic=topic or {"id": post["topic_id"]})
    msgdata["thread_reason"] = (f"déjà sur le forum sous ce Message-ID (message {post['id']}, "
                                f"sujet {post['topic_id']}) : enregistré, rien n'est publié")


def done(ctx, msgdata, post, *, new_topic: dict | None = None, topic: dict | None = None) -> None:
    """Set the result keys and queue the mapping rows (see the module docstring)."""
    msgdata.update(post_id=post["id"], topic_id=post["topic_id"], post_number=post.get("post_number"))
    facts = dict(message_id=msgdata["message_id"], post_id=post["id"], topic_id=post["topic_id"],
                 post_number=post.get("post_number") or 1, date=msgdata.get("date") or utcnow())
    if new_topic is not None:
        tags = msgdata.get("subject_tags") or []
        facts.update(new_topic, root_message_id=msgdata.get("root_message_id") or msgdata["message_id"],
                     title=msgdata.get("title") or "", subject_key=msgdata.get("subject_key") or "",
                     list_tag=f"[{tags[0]}]"[:64] if tags else None, state="open")
    elif topic is not None:
        if msgdata.get("adopt_root"):
            facts["adopt_root"] = msgdata["message_id"]
        facts.update(category_id=topic.get("category_id"),
                     theme=categories.theme_of_category(ctx, topic.get("category_id")),
                     title=topic.get("title") or "",
                     state="archived" if topic.get("archived") else
                     "closed" if topic.get("closed") else "open")
    msgdata.setdefault("writes", []).append(lambda session: record(session, facts, new_topic is not None))


_links, _topics = PostLink.__table__, TopicLink.__table__
_LINKED = select(_links.c.id).where(_links.c.message_id == bindparam("message_id"))
_TOPIC = select(_topics.c.last_activity_at, _topics.c.root_message_id, _topics.c.category_id,
                _topics.c.theme, _topics.c.state).where(_topics.c.topic_id == bindparam("topic_id"))
_TOPIC_CHANGE = update(_topics).where(_topics.c.topic_id == bindparam("_topic_id"))  # SET from the params
_LINK_INSERT, _TOPIC_INSERT = insert(_links), insert(_topics)  # columns from the params
# PostgreSQL: INSERT … ON CONFLICT (message_id) DO NOTHING (the unique index), for two workers
# recording at once. SQLite: the select then the insert below, the transaction holding the
# write lock from its start (``db._begin_immediate``) so nothing comes between them; SQLAlchemy
# compiles a dialect's ON CONFLICT statement again at every execution (its ``Insert`` is not
# cacheable: ``inherit_cache = False``), which cost more than both plain statements together.
_LINK_INSERT_NEW = {"postgresql": pg_insert(_links).on_conflict_do_nothing(index_elements=["message_id"])}


def record(session, facts: dict, new_topic: bool) -> None:
    """Store PostLink and create/update TopicLink (inside the runner's final transaction).

    Core statements built once, on the session's connection: this runs once per published
    message, and the ORM's unit of work and statement compilation cost more than the
    statements themselves."""
    session.flush()  # ORM changes queued before us (a moved parent's PostLink) go first, as before
    conn = session.connection()
    link = dict(message_id=facts["message_id"], post_id=facts["post_id"], topic_id=facts["topic_id"],
                post_number=facts["post_number"], origin="list")
    keep_first = _LINK_INSERT_NEW.get(conn.dialect.name)
    if keep_first is not None:  # one statement: a Message-ID already linked keeps its link
        conn.execute(keep_first, link)
    elif conn.execute(_LINKED, {"message_id": facts["message_id"]}).first() is None:
        conn.execute(_LINK_INSERT, link)
    changes = {}
    if facts.get("adopt_root"):
        changes["root_message_id"] = facts["adopt_root"]
    if facts.get("category_id") is not None:
        changes["category_id"] = facts["category_id"]
    if facts.get("theme"):
        changes["theme"] = facts["theme"]
    if facts.get("state"):
        changes["state"] = facts["state"]
    link = conn.execute(_TOPIC, {"topic_id": facts["topic_id"]}).first()
    if link is None:
        from ..mail.subjects import subject_key

        values = dict(topic_id=facts["topic_id"], title=facts.get("title") or "",
                      subject_key=facts.get("subject_key") or subject_key(facts.get("title") or ""),
                      created_at=facts["date"], last_activity_at=facts["date"])
        if new_topic:
            values.update(external_id=facts["external_id"], root_message_id=facts["root_message_id"],
                          list_tag=facts.get("list_tag"))
        values.update(changes)
        conn.execute(_TOPIC_INSERT, values)
        return
    changes = {k: v for k, v in changes.items() if getattr(link, k) != v}
    if facts["date"] > link.last_activity_at:
        changes["last_activity_at"] = facts["date"]
    if changes:
        conn.execute(_TOPIC_CHANGE, {"_topic_id": facts["topic_id"], **changes})
