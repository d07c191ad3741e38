"""The forum's post length rules, read once per gateway, and the refusals they let us foresee.

Discourse refuses a post over ``max_post_length`` (32,000 by default) and, through the core
API (not the plugin, whose PostCreator skips validations), titles and bodies under
``min_topic_title_length`` / ``min_first_post_length`` / ``min_post_length`` (15, 20, 20).
Knowing them avoids a wasted write; a key that may not read site settings learns them from
the forum's refusal instead (``forum.refusals``). Kept on the gateway (``forum.facts``).
"""
from __future__ import annotations

import math
import re

from ..forum.gateway import ForumRejected
from ..forum.refusals import BODY_LONG, BODY_SHORT, TITLE_EMOJI, TITLE_LONG, TITLE_SHORT, TITLE_UNCLEAR
from ..title_form import (EMOJI_SETTINGS, SENTINEL_SETTINGS, SETTINGS as TITLE_SETTINGS, emoji_count,
                          stored_title, title_sentinel)

# Discourse's default max_post_length is 32,000 characters; leave room for notes and marker.
MAX_POST_CHARS = 30000  # when the forum does not tell its own max_post_length
MINIMUMS = ("min_topic_title_length", "min_first_post_length", "min_post_length")
# What Topic's before_validation and QualityTitleValidator read (title_form), same request.
TITLE_RULES = tuple(dict.fromkeys((*TITLE_SETTINGS, *SENTINEL_SETTINGS)))
# Read in the same request, each on its own (Discourse's default when not listed): the title's
# maximum length (TopicTitleLengthValidator) and what MaxEmojisValidator reads.
MAX_TITLE_LENGTH = 255
TITLE_LIMITS = ("max_topic_title_length", *EMOJI_SETTINGS)


def remembered(forum, name: str, compute):
    """COMPUTE(gateway)'s value kept on the gateway for its lifetime (``forum.facts``)."""
    return forum.facts.remember(name, math.inf, compute)


def max_post_chars(forum) -> int:
    """The forum's ``max_post_length`` minus room for our notes (read once per gateway)."""
    return remembered(forum, "max_post_chars", _max_chars)


def minimums(forum) -> dict:
    """The forum's length minimums by setting name ({} when this key may not read them)."""
    return remembered(forum, "post_minimums", _minimums)


def length_settings(forum) -> dict | None:
    """``max_post_length`` and the MINIMUMS as the forum lists them, read in one request
    (None when this key may not read site settings)."""
    def read(gateway):
        try:
            return gateway.site_settings_get(("max_post_length",) + MINIMUMS + TITLE_RULES + TITLE_LIMITS)
        except ForumRejected:
            return None
    return remembered(forum, "post_length_settings", read)


def _max_chars(forum) -> int:
    value = (length_settings(forum) or {}).get("max_post_length")
    try:
        return max(2000, int(value) - 2000)
    except (TypeError, ValueError):
        return MAX_POST_CHARS


def _minimums(forum) -> dict:
    settings = length_settings(forum) or {}
    known = {}
    for name in MINIMUMS:
        try:
            known[name] = int(settings.get(name))
        except (TypeError, ValueError):
            return {}
    return known


def title_rules(forum) -> dict | None:
    """The title settings (TITLE_RULES) as values, read with the lengths; None when this key
    may not read site settings (then only a refusal tells)."""
    settings = length_settings(forum)
    if settings is None or any(name not in settings for name in TITLE_RULES):
        return None
    rules = {}
    for name in TITLE_RULES:
        value = settings[name]
        if isinstance(value, bool) or str(value).strip().lower() in ("true", "false"):
            rules[name] = value if isinstance(value, bool) else str(value).strip().lower() == "true"
        else:
            try:
                rules[name] = int(value)
            except (TypeError, ValueError):
                return None
    return rules


def title_limits(forum) -> dict:
    """``max_topic_title_length`` and the emoji settings (TITLE_LIMITS), each Discourse's
    default when the forum does not list it (or this key may not read settings)."""
    settings = length_settings(forum) or {}
    limits = {"max_topic_title_length": MAX_TITLE_LENGTH, **EMOJI_SETTINGS}
    for name, default in list(limits.items()):
        value = settings.get(name)
        if value is None:
            continue
        if isinstance(default, bool):
            limits[name] = value if isinstance(value, bool) else str(value).strip().lower() in ("true", "t", "1")
        else:
            try:
                limits[name] = int(value)
            except (TypeError, ValueError):
                pass
    return limits


def foreseen(forum, raw: str, staged: bool | None = None, title: str | None = None) -> set[str]:
    """The refusals RAW (and TITLE, for a new topic) would meet; STAGED None or True: only
    the maximum (the plugin checks no minimum). A title is judged as Discourse judges it:
    cleaned first (``title_form.stored_title``), then its length and TextSentinel."""
    problems = {BODY_LONG} if len(raw) > max_post_chars(forum) else set()
    if staged is False:
        known = minimums(forum)
        key = "min_first_post_length" if title is not None else "min_post_length"
        if known.get(key) and len(measured(raw)) < known[key]:
            problems.add(BODY_SHORT)
        rules = title_rules(forum) if title is not None else None
        cleaned = title if title is None else stored_title(title, rules)
        if title is not None and known.get("min_topic_title_length") \
                and len(cleaned.strip()) < known["min_topic_title_length"]:
            problems.add(TITLE_SHORT)
        if rules is not None and cleaned.strip() and not title_sentinel(cleaned, rules).valid():
            problems.add(TITLE_UNCLEAR)
        if title is not None:
            limits = title_limits(forum)
            if len(cleaned.strip()) > limits["max_topic_title_length"]:
                problems.add(TITLE_LONG)
            if emoji_count(cleaned, limits) > limits["max_emojis_in_title"]:
                problems.add(TITLE_EMOJI)
    return problems


def measured(raw: str) -> str:
    """What Discourse measures against the minimum (StrippedLengthValidator: our HTML
    comment marker does not count, an emoji counts one, runs of dots or commas one)."""
    raw = re.sub(r"<!--(.*?)-->", "", raw, flags=re.S)
    raw = re.sub(r":\w+(:\w+)?:", "X", raw)
    return re.sub(r",{2,}", ",", re.sub(r"\.{2,}", "…", raw)).strip()
