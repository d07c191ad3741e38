"""Typed refusals: what the forum's 4xx answer means, read once, inside the gateway layer.

Discourse tells why it refused a post only in sentences (``"Title has already been used"``,
or the French of a forum whose default locale is French: « Le titre a déjà été utilisé »),
sometimes with an ``error_type`` (``invalid_access``, ``not_found``…). The gateway raises the
subclass of ``ForumRejected`` this module picks, so callers catch exception types and never
parse the forum's text. A content refusal may name several problems at once (a short title
and a short body): ``ContentRefused.problems`` holds them all, the class names the first.
"""
from __future__ import annotations

from .errors import ForumNotFound, ForumRejected

# Content problems a post can be fixed for (and the names publish records them under).
TITLE_TAKEN, TITLE_SHORT, BODY_SHORT, BODY_LONG = "title_used", "title_short", "body_short", "body_long"
# PostValidator#unique_post_validator: this account posted this very raw a moment ago. Not a
# problem a new text fixes: forumsync's raw carries the message's marker, so it is this
# message, already written (``refusal_policy`` links it, or retries later).
BODY_RECENT = "body_recent"
# TextSentinel: QualityTitleValidator (« Title seems unclear, … ») and PostValidator#raw_quality
# (« Body seems unclear, … »): too few distinct characters, no letter or digit, a word too
# long (titles), no lowercase letter.
TITLE_UNCLEAR, BODY_UNCLEAR = "title_unclear", "body_unclear"
# TopicTitleLengthValidator over ``max_topic_title_length`` (« Title is too long (maximum is
# 255 characters) »; it was read as a short title, decorated longer, quarantined) and
# MaxEmojisValidator (« Title can't have more than 1 emoji », « Title can't have emoji »).
TITLE_LONG, TITLE_EMOJI = "title_long", "title_emoji"
# Not a sentence of the forum: TITLE_EMOJI named again once the title was fitted to the
# maximum read (settings changed since, or unknown): the title then goes with no emoji.
TITLE_NO_EMOJI = "title_no_emoji"
TITLE_PROBLEMS = frozenset({TITLE_TAKEN, TITLE_SHORT, TITLE_UNCLEAR, TITLE_LONG, TITLE_EMOJI,
                            TITLE_NO_EMOJI})


class Forbidden(ForumRejected):
    """403: this account may not do that there (category permissions, closed topic, silenced)."""


class ConsecutiveReplies(ForumRejected):
    """422: this account wrote the topic's last ``max_consecutive_replies`` posts
    (PostValidator#force_edit_last_validator): a refusal of the poster there, not of the text."""


class NewUserLimit(ForumRejected):
    """422: the account is a new user (trust level 0) and the post is over one of their limits
    (links, embedded media, attachments, replies in one topic: PostValidator): a refusal of
    the poster, not of the text (a trusted account may post it as it is)."""


class ContentRefused(ForumRejected):
    """422 (or a 200 carrying errors): the title or body breaks one of the forum's rules."""

    problems: frozenset = frozenset()


class TitleTaken(ContentRefused):
    """Another topic already has this title (Discourse's unique title rule)."""


class TitleTooShort(ContentRefused):
    """The title is under ``min_topic_title_length``."""


class BodyTooShort(ContentRefused):
    """The post is under ``min_post_length`` / ``min_first_post_length``."""


class BodyTooLong(ContentRefused):
    """The post is over ``max_post_length``."""


class TitleTooLong(ContentRefused):
    """The title is over ``max_topic_title_length``."""


class TitleEmoji(ContentRefused):
    """The title holds more emoji than ``max_emojis_in_title`` (MaxEmojisValidator)."""


class TitleUnclear(ContentRefused):
    """TextSentinel refused the title (QualityTitleValidator)."""


class BodyUnclear(ContentRefused):
    """TextSentinel refused the body (PostValidator#raw_quality)."""


class BodyRecentlyPosted(ContentRefused):
    """The same account posted the same raw less than ``unique_posts_mins`` ago."""


_CLASSES = {TITLE_TAKEN: TitleTaken, TITLE_SHORT: TitleTooShort, BODY_SHORT: BodyTooShort,
            BODY_LONG: BodyTooLong, BODY_RECENT: BodyRecentlyPosted, TITLE_UNCLEAR: TitleUnclear,
            BODY_UNCLEAR: BodyUnclear, TITLE_LONG: TitleTooLong, TITLE_EMOJI: TitleEmoji}


def content_problems(errors: list[str]) -> list[str]:
    """The content problems the forum's sentences name (English or French), in a stable order."""
    found = set()
    for error in errors:
        found |= _problems_of(str(error).lower())
    return [p for p in _ORDER if p in found]


_ORDER = (TITLE_TAKEN, TITLE_SHORT, TITLE_LONG, TITLE_EMOJI, TITLE_UNCLEAR, BODY_RECENT, BODY_LONG,
          BODY_SHORT, BODY_UNCLEAR)


def _problems_of(text: str) -> set[str]:
    """The problems one of the forum's sentences names."""
    if "too similar to what you recently posted" in text or "similaire" in text:
        return {BODY_RECENT}  # just_posted_that: « Body is too similar to … »
    if "seems unclear" in text or "peu clair" in text or "semble confus" in text:
        return {TITLE_UNCLEAR if ("title" in text or "titre" in text) else BODY_UNCLEAR}
    found = set()
    if "title" in text or "titre" in text:
        if "already" in text or "déjà" in text:
            found.add(TITLE_TAKEN)
        elif "emoji" in text or "émoji" in text:
            found.add(TITLE_EMOJI)
        elif "too long" in text or "trop long" in text:
            found.add(TITLE_LONG)
        else:
            found.add(TITLE_SHORT)
    if ("body" in text or "corps" in text) and ("too long" in text or "trop long" in text):
        found.add(BODY_LONG)
    elif "body" in text or "corps" in text or "post is too short" in text:
        found.add(BODY_SHORT)
    return found


def refusal(message: str, status: int | None, errors: list[str],
            error_type: str | None = None) -> ForumRejected:
    """The typed exception for a refusal (STATUS, the forum's ERRORS and ERROR_TYPE)."""
    if status == 404:
        exc = ForumNotFound(message, status=status, errors=errors)
    elif any("consecutive repl" in str(e).lower() or "consécutive" in str(e).lower() for e in errors):
        exc = ConsecutiveReplies(message, status=status, errors=errors)  # max_consecutive_replies
    elif any("new users" in str(e).lower() or "nouveaux utilisateurs" in str(e).lower() for e in errors):
        exc = NewUserLimit(message, status=status, errors=errors)  # newuser_max_* (trust level 0)
    elif content_problems(errors):
        problems = content_problems(errors)
        exc = _CLASSES[problems[0]](message, status=status, errors=errors)
        exc.problems = frozenset(problems)
    else:
        cls = Forbidden if status == 403 or error_type == "invalid_access" else ForumRejected
        exc = cls(message, status=status, errors=errors)
    exc.error_type = error_type
    return exc


def error_type_of(response) -> str | None:
    """The ``error_type`` of a JSON error answer, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error_type") if isinstance(body, dict) else None
