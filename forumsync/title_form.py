"""A topic's title as Discourse stores it from the core API.

Topic's before_validation writes ``TextCleaner.clean_title(TextSentinel.title_sentinel(title)
.text)`` (lib/text_cleaner.rb, lib/text_sentinel.rb) before any title validator runs, on a
topic created or saved with validation (the core API, PostRevisor, PostMover); the plugin's
door saves with ``validate: false``, which leaves the title as sent. The local forum stores
that form (``localforum.text_quality.clean_title``); forumsync compares a title it wrote
through the core API with the forum's in that form (the catalogue).
"""
from __future__ import annotations

import math
import re
import unicodedata

_RUBY_STRIP = " \t\n\v\f\r\0"  # String#strip
_RUBY_SPACE = " \t\n\v\f\r"  # String#split(" "): awk-style
_RUBY_S = "[ \t\n\v\f\r]"  # Ruby's \s
_WHITESPACES = re.compile("[\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# The site settings TextCleaner.title_options reads, and Discourse's defaults for a French
# forum (title_remove_extraneous_space is on by default for en and en_GB only).
SETTINGS = {"title_prettify": True, "allow_uppercase_posts": False,
            "title_remove_extraneous_space": False}


def stored_title(title: str | None, settings: dict | None = None) -> str:
    """TextCleaner.clean_title with TextCleaner.title_options under SETTINGS (names of
    ``SETTINGS``, their defaults when absent): with ``title_prettify``, runs of ! and ? become
    one, a title all in capitals is lowercased (unless ``allow_uppercase_posts``), a first
    word all in lowercase gets its capital, the periods at the end go (an ellipsis written as
    three periods too), and with ``title_remove_extraneous_space`` the spaces before a final
    ! or ?; always: runs of spaces become one, exotic spaces plain ones, the ends stripped,
    U+200B removed."""
    options = {**SETTINGS, **(settings or {})}
    text = title or ""
    if options["title_prettify"]:
        text = re.sub(r"!+", "!", text)
        text = re.sub(r"\?+", "?", text)
        if not options["allow_uppercase_posts"] and text == text.upper():
            text = text.lower()
        words = _split_first(text)
        if words is not None and words[0] == words[0].lower():
            first, rest = words
            text = first[:1].upper() + first[1:] + ("" if rest is None else " " + rest)
        text = re.sub(rf"([^.])\.+({_RUBY_S}*)\Z", r"\1\2", text, count=1)
        if options["title_remove_extraneous_space"]:
            text = re.sub(rf"{_RUBY_S}+([!?]{_RUBY_S}*)\Z", r"\1", text, count=1)
    text = re.sub(r" +", " ", text)
    text = _WHITESPACES.sub(" ", text)
    return text.strip(_RUBY_STRIP).replace("\u200b", "")


def _split_first(text: str) -> tuple[str, str | None] | None:
    """Ruby's ``text.split(" ", 2)``: leading whitespace skipped, the first word, then the
    rest (its leading whitespace skipped too); None for a blank text."""
    text = text.lstrip(_RUBY_SPACE)
    if not text:
        return None
    match = re.match(rf"([^ \t\n\v\f\r]+){_RUBY_S}*(.*)\Z", text, re.S)
    return match.group(1), (match.group(2) if match.group(2) else None)


# What TextSentinel.title_sentinel reads, with Discourse's defaults.
SENTINEL_SETTINGS = {"min_topic_title_length": 15, "title_min_entropy": 10,
                     "title_max_word_length": 30, "allow_uppercase_posts": False}
ENTROPY_SCALE = 0.7  # TextSentinel::ENTROPY_SCALE


def _alnum(char: str) -> bool:
    """Onigmo's \\p{Alnum}: a letter or a decimal digit."""
    return char.isalpha() or unicodedata.category(char) == "Nd"


class Sentinel:
    """TextSentinel (lib/text_sentinel.rb): entropy (distinct bytes of the stripped UTF-8
    text) at least MIN_ENTROPY, at least one letter or digit, no run of letters or digits over
    MAX_WORD_LENGTH, at least one lowercase (or caseless: \\p{Other_Letter}) letter unless
    there is no letter at all or ALLOW_UPPERCASE."""

    def __init__(self, text: str, min_entropy: int | None, max_word_length: int | None,
                 allow_uppercase: bool):
        self.text = text or ""
        self.min_entropy, self.max_word_length = min_entropy, max_word_length
        self.allow_uppercase = allow_uppercase

    def entropy(self) -> int:
        return len(set(self.text.strip(_RUBY_STRIP).encode("utf-8")))

    def seems_meaningful(self) -> bool:
        return self.min_entropy is None or self.entropy() >= self.min_entropy

    def seems_pronounceable(self) -> bool:
        return any(_alnum(c) for c in self.text)

    def seems_unpretentious(self) -> bool:
        if self.max_word_length is None:
            return True
        run = 0
        for char in self.text:
            run = run + 1 if _alnum(char) else 0
            if run > self.max_word_length:
                return False
        return True

    def seems_quiet(self) -> bool:
        if self.allow_uppercase:
            return True
        categories = {unicodedata.category(c) for c in self.text}
        return bool(categories & {"Ll", "Lo"}) or not any(c.startswith("L") for c in categories)

    def valid(self) -> bool:
        return bool(self.text.strip()) and self.seems_meaningful() and self.seems_pronounceable() \
            and self.seems_unpretentious() and self.seems_quiet()


def title_sentinel(title: str, settings: dict | None = None) -> Sentinel:
    """TextSentinel.title_sentinel under SETTINGS (``SENTINEL_SETTINGS``' names): entropy
    ``title_min_entropy``, or 70 % of ``min_topic_title_length`` when that is not above it;
    words of ``title_max_word_length`` letters or digits at most."""
    options = {**SENTINEL_SETTINGS, **(settings or {})}
    entropy = options["title_min_entropy"]
    if not options["min_topic_title_length"] > entropy:
        entropy = int(options["min_topic_title_length"] * ENTROPY_SCALE)
    return Sentinel(title, entropy, options["title_max_word_length"], options["allow_uppercase_posts"])


def broken_long_words(title: str, max_word_length: int) -> str:
    """TITLE with a soft hyphen (U+00AD, not a letter: it ends TextSentinel's word) after
    every MAX_WORD_LENGTH letters or digits in a row: the same title on screen, one Discourse
    no longer finds « unclear, one or more words is very long »."""
    out, run = [], 0
    for char in title:
        if _alnum(char):
            if run == max_word_length:
                out.append("\u00ad")
                run = 0
            run += 1
        else:
            run = 0
        out.append(char)
    return "".join(out)


def forum_settings(forum) -> dict:
    """The forum's title settings, read once per gateway (``forum.facts``); Discourse's
    defaults when this key may not read site settings."""
    def read(gateway):
        from .forum.gateway import ForumRejected

        try:
            values = gateway.site_settings_get(tuple(SETTINGS))
        except ForumRejected:
            return dict(SETTINGS)
        return {name: str(values.get(name, default)).strip().lower() in ("true", "t", "1")
                for name, default in SETTINGS.items()}
    return forum.facts.remember("title_settings", math.inf, read)
