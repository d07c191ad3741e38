"""TextSentinel (lib/text_sentinel.rb) and TextCleaner.clean_title (lib/text_cleaner.rb):
what Discourse finds unclear in a body or a title, and how it rewrites a title before
validating it (Topic's before_validation: ``TextCleaner.clean_title(TextSentinel
.title_sentinel(title).text)``). Both run only where validation runs: the core API and the
local forum's UI, never the plugin's door (``skip_validations``: TopicCreator saves the
topic with ``validate: false``, which skips before_validation too)."""
from __future__ import annotations

from ..title_form import (EMOJI_SETTINGS, ENTROPY_SCALE, SENTINEL_SETTINGS, SETTINGS as TITLE_SETTINGS,
                          Sentinel, emoji_count, stored_title)
from ..title_form import title_sentinel as title_form_sentinel
from . import sitesettings

BODY_UNCLEAR = "Body seems unclear, is it a complete sentence?"  # errors.messages.is_invalid
TITLE_UNCLEAR = {  # QualityTitleValidator#validate_each, errors.messages.is_invalid_*
    "meaningful": "Title seems unclear, most of the words contain the same letters over and over?",
    "unpretentious": "Title seems unclear, one or more words is very long?",
    "quiet": "Title seems unclear, did you mean to enter it in ALL CAPS?",
    "other": "Title seems unclear, is it a complete sentence?",
}


def body_sentinel(session, raw: str, private: bool) -> Sentinel:
    """TextSentinel.body_sentinel: ``body_min_entropy`` (7), scaled for a private message,
    capped at 70 % of the minimum post length."""
    entropy = sitesettings.get(session, "body_min_entropy")
    min_post = sitesettings.get(session, "min_post_length")
    if private:
        min_pm = sitesettings.get(session, "min_personal_message_post_length")
        entropy = int(entropy * (min_pm / min_post))
        if entropy > min_pm:
            entropy = int(min_pm * ENTROPY_SCALE)
    elif entropy > min_post:
        entropy = int(min_post * ENTROPY_SCALE)
    return Sentinel(raw, entropy, None, sitesettings.get(session, "allow_uppercase_posts"))


def title_sentinel(session, title: str) -> Sentinel:
    """TextSentinel.title_sentinel (``title_form.title_sentinel``) under this forum's settings."""
    return title_form_sentinel(title, {name: sitesettings.get(session, name) for name in SENTINEL_SETTINGS})


def body_errors(session, raw: str, private: bool) -> list[str]:
    """PostValidator#raw_quality (staff not exempt; staged users never get here)."""
    return [] if body_sentinel(session, raw, private).valid() else [BODY_UNCLEAR]


def title_errors(session, title: str) -> list[str]:
    """QualityTitleValidator#validate_each (not for private messages): one message, the
    first failing check's."""
    sentinel = title_sentinel(session, title)
    if sentinel.valid():
        return []
    for check in ("meaningful", "unpretentious", "quiet"):
        if not getattr(sentinel, f"seems_{check}")():
            return [TITLE_UNCLEAR[check]]
    return [TITLE_UNCLEAR["other"]]


def emoji_errors(session, title: str) -> list[str]:
    """MaxEmojisValidator (private messages too): « Title can't have more than N emoji », or
    « Title can't have emoji » at 0 (server.en.yml max_emojis, emojis_disabled)."""
    settings = {name: sitesettings.get(session, name) for name in EMOJI_SETTINGS}
    most = settings["max_emojis_in_title"]
    if not title.strip() or emoji_count(title, settings) <= most:
        return []
    return [f"Title can't have more than {most} emoji" if most > 0 else "Title can't have emoji"]


def clean_title(session, title: str) -> str:
    """TextCleaner.clean_title under this forum's settings (``title_form.stored_title``)."""
    return stored_title(title, {name: sitesettings.get(session, name) for name in TITLE_SETTINGS})
