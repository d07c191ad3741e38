"""Stage ``closed_topic``: a reply to a closed or archived topic never goes in it.

Only staff may post in a closed topic, and admins also in archived ones
(TopicGuardian#can_create_post_on_topic?): the list's sender could not, so their mail may not
either. Posting it as the bridge admin let any forged In-Reply-To write in a topic a lead had
closed, and notify the lead group every time (red-team pass 13). The message is not lost, and
the lead's decision stands: the reply goes to the closed topic's **continuation**, a topic of
its theme:
- the first such reply opens it, with a notice linking the closed topic;
- later replies to the closed topic join it while it is open and takes list mail (``access``);
- once the continuation is closed in turn, the next reply opens a new one, which becomes the
  continuation.
Which topic continues which is recorded where mail cannot write (a ``StateValue``
``continuation:<topic id>``, written with the post's mapping rows): a root or Message-ID the
sender chose could claim a topic's continuation ahead of time (red-team pass 14).
Runs after ``live_topic`` (which found the topic's state), so a topic closed a second ago, or
met again when ``publish`` follows a vanished topic, is handled the same way. Sets
``notice`` (None, or the continuation's opening notice), and for a reply to a closed topic,
``topic_id`` and what goes with it, as ``access`` and ``route`` would have.
"""
from __future__ import annotations

from sqlalchemy import select

from ..forum.links import topic_page_url
from ..mail.inert import escape_fragment
from ..models import TopicLink
from ..models.state_value import get_state, set_state
from . import access, categories, live_topic, route
from .errors import Quarantine
from .msgdata import MsgData

CONTINUATION_KEY = "continuation:{topic_id}"


def process(ctx, msg, msgdata: MsgData) -> None:
    msgdata["notice"] = None
    closed = state(msgdata)
    if not closed:
        return
    topic = msgdata["live_topic"]
    what = f"sujet {topic['id']} {'archivé' if closed == 'archived' else 'fermé'} sur le forum"
    key = CONTINUATION_KEY.format(topic_id=int(topic["id"]))
    continuation = _continuation(ctx, key)
    if continuation is not None and _joined(ctx, msg, msgdata, continuation):
        msgdata["thread_reason"] = f"réponse à un {what} : publiée dans sa suite (sujet {continuation})"
        return
    access.become_new_topic(ctx, msgdata, f"nouveau sujet, suite d'un {what}")
    msgdata.update(live_topic=None, topic_closed=None)
    # with the post's mapping rows, once publish has set the new topic's id
    msgdata.setdefault("writes", []).append(
        lambda session: set_state(session, key, {"topic_id": msgdata["topic_id"]}))
    theme = _theme(ctx, topic)
    if theme is None:
        route.process(ctx, msg, msgdata)
    else:  # the continuation stays where the lead's topic is
        msgdata.update(theme=theme, route_reason=f"suite d'un sujet du thème {theme}", route_scores=[])
    msgdata["notice"] = notice(ctx, topic, closed)


def state(msgdata) -> str | None:
    """``"closed"`` or ``"archived"`` for a reply in such a topic (``live_topic``), else None."""
    return msgdata.get("topic_closed") if msgdata.get("topic_id") is not None else None


def notice(ctx, topic: dict, closed: str) -> str:
    """« *Suite du sujet fermé sur le forum [« … »](…) : …* » (the title is forum text: escaped)."""
    state_fr = "archivé" if closed == "archived" else "fermé"
    title = escape_fragment(topic.get("title") or f"sujet {topic['id']}")
    url = topic_page_url(ctx.settings, int(topic["id"]), topic.get("slug"))
    return (f"*Suite du sujet {state_fr} sur le forum [« {title} »](<{url}>) : ce message reçu "
            f"par la liste y répondait ; le sujet étant {state_fr}, il est publié ici.*")


def _theme(ctx, topic: dict) -> str | None:
    """The closed topic's theme: its category's, else the one forumsync recorded for it."""
    theme = categories.theme_of_category(ctx, topic.get("category_id"))
    if theme is None:
        with ctx.db.connection() as conn:
            theme = conn.execute(select(TopicLink.theme).where(TopicLink.topic_id == topic["id"])).scalar()
    return theme if theme and ctx.settings.theme(theme) else None


def _continuation(ctx, key: str) -> int | None:
    """The continuation forumsync opened for that closed topic (KEY), when still open."""
    with ctx.db.session() as session:
        topic_id = (get_state(session, key) or {}).get("topic_id")
        if topic_id is None:
            return None
        return session.scalar(select(TopicLink.topic_id).where(
            TopicLink.topic_id == topic_id, TopicLink.state == "open"))


def _joined(ctx, msg, msgdata, topic_id: int) -> bool:
    """Reply in the continuation TOPIC_ID at the top, when list mail may and it is open now."""
    saved = {key: msgdata.get(key) for key in ("topic_id", "reply_to_post_number", "parent_post_id",
                                               "reply_target", "adopt_root", "live_topic", "topic_closed")}
    msgdata.update(topic_id=topic_id, reply_to_post_number=None, parent_post_id=None,
                   reply_target=None, adopt_root=False)
    try:
        if access.refusal(ctx, msgdata) is None:
            live_topic.process(ctx, msg, msgdata)
            if not state(msgdata) and msgdata.get("topic_id") == topic_id:
                return True
    except Quarantine:  # deleted since: the reply opens a topic of its own
        pass
    msgdata.update(saved)
    return False
