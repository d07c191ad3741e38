"""Rules every post obeys whichever door it comes through: post types and length checks."""
from __future__ import annotations

import re

from . import sitesettings
from .errors import invalid

REGULAR = 1
SMALL_ACTION = 3
WHISPER = 4


def stripped_length_value(value: str) -> str:
    """StrippedLengthValidator.get_sanitized_value (lib/validators/stripped_length_validator.rb):
    what Discourse measures for a post's minimum length: no HTML comments, an emoji counts
    one character, runs of dots and commas one each, stripped."""
    value = re.sub(r"<!--(.*?)-->", "", value, flags=re.S)
    value = re.sub(r":\w+(:\w+)?:", "X", value)
    value = re.sub(r"\.{2,}", "…", value)
    value = re.sub(r",{2,}", ",", value)
    return value.strip()


def check_lengths(session, raw: str | None, title: str | None, new_topic: bool, private: bool,
                  require_title: bool = False) -> None:
    """Discourse's title and body length validators; ApiError 422 with its messages."""
    errors = length_errors(session, raw, title, new_topic, private, require_title)
    if errors:
        raise invalid(errors)


def length_errors(session, raw: str | None, title: str | None, new_topic: bool, private: bool,
                  require_title: bool = False) -> list[str]:
    """The messages of ``check_lengths`` (none: the lengths are fine)."""
    errors = []
    if title is not None or require_title:
        title_text = (title or "").strip()
        minimum = sitesettings.get(session, "min_topic_title_length")
        maximum = sitesettings.get(session, "max_topic_title_length")
        if not title_text:
            errors.append("Title can't be blank")
        elif len(title_text) < minimum:
            errors.append(f"Title is too short (minimum is {minimum} characters)")
        elif len(title_text) > maximum:
            errors.append(f"Title is too long (maximum is {maximum} characters)")
    if raw is not None:
        body = raw.strip()
        if private:
            minimum = sitesettings.get(session, "min_personal_message_post_length")
        elif new_topic:
            minimum = sitesettings.get(session, "min_first_post_length")
        else:
            minimum = sitesettings.get(session, "min_post_length")
        if not body:
            errors.append("Body can't be blank")
        elif len(stripped_length_value(body)) < minimum:
            errors.append(f"Body is too short (minimum is {minimum} characters)")
        elif len(body) > sitesettings.get(session, "max_post_length"):
            errors.append(f"Body is too long (maximum is {sitesettings.get(session, 'max_post_length')} characters)")
    return errors

