"""Stage ``closed_topic``: a reply to a closed or archived topic is published all the same.

Only staff may post in a closed topic, and admins also in archived ones
(TopicGuardian#can_create_post_on_topic?): ``author`` (the next stage) has the bridge (admin)
account post the reply, with the attribution line naming the sender, from the fact
``live_topic`` found (``topic_closed``). Here, the post's French notice mentioning the
theme's lead group ``@animateurs-<slug>`` (the mention notifies it: no extra write).
No archive lift, which would add two small-action posts per reply. Sets ``notice`` only.
"""
from __future__ import annotations

from sqlalchemy import select

from ..models import TopicLink
from . import categories
from .msgdata import MsgData


def process(ctx, msg, msgdata: MsgData) -> None:
    closed = state(msgdata)
    msgdata["notice"] = notice(ctx, msgdata["live_topic"], closed) if closed else None


def state(msgdata) -> str | None:
    """``"closed"`` or ``"archived"`` for a reply in such a topic (``live_topic``), else None."""
    return msgdata.get("topic_closed") if msgdata.get("topic_id") is not None else None


def notice(ctx, topic: dict, closed: str) -> str:
    """« *Sujet fermé sur le forum : … @animateurs-<theme>, pour information.* »"""
    theme = categories.theme_of_category(ctx, topic.get("category_id"))
    if theme is None:
        with ctx.db.session() as session:
            theme = session.scalar(select(TopicLink.theme).where(TopicLink.topic_id == topic["id"]))
    theme = theme or ctx.settings.DEFAULT_THEME
    state = "archivé" if closed == "archived" else "fermé"
    group = f" @animateurs-{theme}, pour information." if theme else ""
    return (f"*Sujet {state} sur le forum : ce message reçu par la liste y est publié quand "
            f"même.{group}*")
