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


# Onigmo's \p{Alnum} is Alphabetic or Decimal_Number: Alphabetic holds the letter numbers
# (Nl: « Ⅻ ») and Other_Alphabetic, marks of many scripts (Mn, Mc) and the circled or squared
# Latin letters (So: « Ⓐ », « 🅰 »), none of which ``str.isalpha`` takes. A word's length is
# counted with all of them and every mark (never shorter than Ruby's: U+0301 is no
# Other_Alphabetic, counted all the same); a letter or digit for seems_pronounceable stays
# ``_alnum`` (never more than Ruby's).
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))


def _word_char(char: str) -> bool:
    """A character that may lengthen TextSentinel's word (``\\p{Alnum}``), at least."""
    if _alnum(char) or unicodedata.category(char) in ("Mn", "Mc", "Me", "Nl"):
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _ALPHABETIC_SYMBOLS)


def _mark(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Mc", "Me")


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
            run = run + 1 if _word_char(char) else 0
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
    every MAX_WORD_LENGTH letters or digits in a row (``_word_char``): the same title on
    screen, one Discourse no longer finds « unclear, one or more words is very long ». Never
    between a letter and its combining mark: before the letter then."""
    out, run = [], 0
    for char in title:
        if _word_char(char):
            if run == max_word_length:
                at = len(out)
                if _mark(char):  # back to the letter the mark belongs to, within this run
                    back = at
                    while back > len(out) - run and _mark(out[back - 1]):
                        back -= 1
                    if back > len(out) - run and len(out) - back + 2 <= max_word_length:
                        at = back - 1
                out.insert(at, "\u00ad")
                run = len(out) - at - 1
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


# MaxEmojisValidator (lib/validators/max_emojis_validator.rb): a title may not hold more than
# ``max_emojis_in_title`` emoji (1; 0: « can't have emoji »), on every validated save, private
# messages too. Discourse counts with ``PrettyText.count_emoji``, whose source was not found
# (its earlier form: the images ``PrettyText.unescape_emoji(Emoji.unicode_unescape(title))``
# writes, i.e. Unicode emoji, « :name: » codes of known emoji, emoticons such as « :) » with
# ``enable_emoji_shortcuts``; nothing when ``enable_emoji`` is off). ``emoji_units`` counts
# more, never less: every Extended_Pictographic character (©, ®, ™ and ↔ aside: Discourse's
# Emoji.unicode_replacements skips them), a lone regional indicator or skin tone, a keycap,
# every « :name: » code whatever the name, every emoticon of Discourse's table standing as a
# word.
EMOJI_SETTINGS = {"max_emojis_in_title": 1, "enable_emoji": True, "enable_emoji_shortcuts": True}
_PICTOGRAPHIC = (  # Extended_Pictographic (emoji-data.txt), ranges of code points
    (0x203C, 0x203C), (0x2049, 0x2049), (0x2139, 0x2139), (0x2195, 0x2199), (0x21A9, 0x21AA),
    (0x231A, 0x231B), (0x2328, 0x2328), (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3),
    (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0),
    (0x25FB, 0x25FE), (0x2600, 0x2605), (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705),
    (0x2708, 0x2712), (0x2714, 0x2714), (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721),
    (0x2728, 0x2728), (0x2733, 0x2734), (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C),
    (0x274E, 0x274E), (0x2753, 0x2755), (0x2757, 0x2757), (0x2763, 0x2767), (0x2795, 0x2797),
    (0x27A1, 0x27A1), (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D),
    (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171), (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1FF), (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F), (0x1F249, 0x1F53D), (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
)  # 1F1AD-1F1FF holds the regional indicators (1F1E6-1F1FF) and 1F249-1F53D the skin tones
_EMOJI_TAIL = re.compile("[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*")
_REGIONAL = re.compile("[\U0001f1e6-\U0001f1ff]{2}")
_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")
# Discourse's emoticons (pretty-text emoji data, ``translations``), as whole words
_EMOTICONS = frozenset((":)", ":-)", "^_^", "^__^", ":(", ":-(", ";)", ";-)", ":'(", ":'-(", ":-'(",
                        ":p", ":P", ":-P", ":O", ":-O", ":D", ":-D", ":|", ":-|", ":/", "8-)", ";P",
                        ";-P", ":$", ":-$"))
# a « :name: » code (pretty-text: ``\B:[^\s:]+(?::t\d)?:``), after no ASCII word character
_CODE = re.compile(r"(?<![A-Za-z0-9_]):[^\s:]+(?::t\d)?:")


def _pictographic(char: str) -> bool:
    point = ord(char)
    if point < 0x203C:
        return False
    low, high = 0, len(_PICTOGRAPHIC)
    while low < high:
        middle = (low + high) // 2
        if _PICTOGRAPHIC[middle][1] < point:
            low = middle + 1
        else:
            high = middle
    return low < len(_PICTOGRAPHIC) and _PICTOGRAPHIC[low][0] <= point


def emoji_units(title: str, settings: dict | None = None) -> list[tuple[int, int, int]]:
    """The emoji of TITLE as MaxEmojisValidator may count them, at least (see above): spans
    (start, end, weight), weight the emoji counted there (a sequence joined by U+200D counts
    each of its pictographs). Nothing when ``enable_emoji`` is off."""
    options = {**EMOJI_SETTINGS, **(settings or {})}
    if not options["enable_emoji"]:
        return []
    units, index, length = [], 0, len(title)
    while index < length:
        keycap = _KEYCAP.match(title, index)
        if keycap:
            units.append((index, keycap.end(), 1))
            index = keycap.end()
            continue
        if not _pictographic(title[index]):
            index += 1
            continue
        start, weight = index, 0
        while index < length and _pictographic(title[index]):
            weight += 1
            flag = _REGIONAL.match(title, index)  # two regional indicators: one flag
            index = _EMOJI_TAIL.match(title, flag.end() if flag else index + 1).end()
            if index + 1 < length and title[index] == "\u200d" and _pictographic(title[index + 1]):
                index += 1
                continue
            break
        units.append((start, index, weight))
    for match in _CODE.finditer(title):
        units.append((match.start(), match.end(), 1))
    if options["enable_emoji_shortcuts"]:
        for match in re.finditer(r"[^ \t\n\v\f\r]+", title):
            if match.group() in _EMOTICONS:
                units.append((match.start(), match.end(), 1))
    return sorted(units)


def emoji_count(title: str, settings: dict | None = None) -> int:
    """How many emoji MaxEmojisValidator may count in TITLE, at least (``emoji_units``)."""
    return sum(weight for _start, _end, weight in emoji_units(title, settings))


def fewer_emoji(title: str, settings: dict | None = None) -> str:
    """TITLE with its emoji past ``max_emojis_in_title`` taken out (the first ones kept while
    they fit), spaces made single again."""
    options = {**EMOJI_SETTINGS, **(settings or {})}
    room, out, last = options["max_emojis_in_title"], [], 0
    for start, end, weight in emoji_units(title, options):
        if start < last:  # a code inside a span already handled
            continue
        if weight <= room:
            room -= weight
            continue
        out.append(title[last:start])
        last = end
    out.append(title[last:])
    return re.sub(" {2,}", " ", "".join(out)).strip(_RUBY_STRIP)


def clipped(title: str, maximum: int) -> str:
    """TITLE cut to MAXIMUM characters at most, an ellipsis marking the cut."""
    if maximum <= 1 or len(title) <= maximum:
        return title
    return title[:maximum - 1].rstrip() + "…"
