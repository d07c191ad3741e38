"""Stage: choose the theme of a new topic (replies follow their topic wherever it was moved).

Order: a theme address among the recipients, then a ``[TAG]`` of the subject, then keywords
(whole words, case- and accent-insensitive; subject before body), then DEFAULT_THEME.
"""
from __future__ import annotations

import re

from forumsync.mail.subjects import fold

from .trim import DETAILS_TITLE


def _keyword_pattern(keyword: str) -> re.Pattern:
    words = [re.escape(w) for w in fold(keyword).split()]
    return re.compile(r"(?<!\w)" + r"[\s\-_]+".join(words) + r"(?!\w)")


MAX_BODY_CHARS = 20000  # keywords deep in a long mail are weak signals, and costly


def _find_keyword(themes, text: str, where: str):
    folded = fold(text[:MAX_BODY_CHARS])
    # Cheap substring test first: most mail mentions no keyword at all.
    if not any(fold(k).strip() and fold(k).split()[0] in folded for t in themes for k in t["keywords"]):
        return None
    for theme in themes:
        for keyword in theme["keywords"]:
            if keyword.strip() and _keyword_pattern(keyword).search(folded):
                return theme["slug"], f"mot-clé « {keyword} » dans {where}"
    return None


def choose_theme(settings, msgdata) -> tuple[str | None, str]:
    """(theme slug, French reason) for a message's parsed data (recipients, tags, title, body)."""
    themes = settings.THEMES
    recipients = [r.lower() for r in msgdata.get("recipients") or []]
    for theme in themes:
        for address in theme["addresses"]:
            if address in recipients:
                return theme["slug"], f"adresse {address} parmi les destinataires"
    for tag in msgdata.get("subject_tags") or []:
        for theme in themes:
            if any(fold(tag) == fold(t) for t in theme["tags"]):
                return theme["slug"], f"étiquette [{tag}] dans le sujet"
    subject = msgdata.get("title") or msgdata.get("subject") or ""
    found = _find_keyword(themes, subject, "le sujet")
    if not found:
        body = (msgdata.get("body") or "").split(f'[details="{DETAILS_TITLE}"]')[0]  # not the quotes
        found = _find_keyword(themes, body, "le message")
    if found:
        return found
    return settings.DEFAULT_THEME, "thème par défaut"


def process(ctx, msg, msgdata):
    if msgdata.get("topic_id"):
        return
    msgdata["theme"], msgdata["route_reason"] = choose_theme(ctx.settings, msgdata)
