"""Stage: choose the theme of a new topic (replies follow their topic wherever it was moved).

The decision is ``forumsync.themes.routing.route``: a theme address among the recipients,
else the best score of the subject's ``[TAG]``, subject keywords and keyword mentions in the
author's words (not the folded quotes or signature); mentions in the body alone must reach
``THEME_BODY_MIN_SCORE``; else DEFAULT_THEME.
"""
from __future__ import annotations

from forumsync.themes.routing import Routing, route

from .trim import authors_words
from .msgdata import MsgData


def routing_of(settings, msgdata) -> Routing:
    """The routing of a message's parsed data (recipients, tags, title, body)."""
    return route(settings.THEMES, settings.DEFAULT_THEME,
                 recipients=msgdata.get("recipients") or [], tags=msgdata.get("subject_tags") or [],
                 title=msgdata.get("title") or msgdata.get("subject") or "",
                 body=authors_words(msgdata.get("body") or ""),
                 body_min_score=settings.THEME_BODY_MIN_SCORE)


def choose_theme(settings, msgdata) -> tuple[str | None, str]:
    """(theme slug, French reason) for a message's parsed data."""
    routing = routing_of(settings, msgdata)
    return routing.slug, routing.reason


def process(ctx, msg, msgdata: MsgData):
    if msgdata.get("topic_id"):
        return
    routing = routing_of(ctx.settings, msgdata)
    msgdata["theme"], msgdata["route_reason"] = routing.slug, routing.reason
    msgdata["route_scores"] = [score.describe() for score in routing.scores]
