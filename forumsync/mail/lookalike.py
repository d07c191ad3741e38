"""Names that look like someone else's: a comparison key blind to homoglyphs and accents.

« Маrie Dupont » with a Cyrillic М, « marie dupont », « Marie  Dupónt » and « MARIE DUPONT »
all give the same key, so a sender cannot show a member's name by borrowing letters from
another script. Homoglyph data: the ``confusable-homoglyphs`` library (Unicode's
confusables.txt), looked up one character at a time (linear, whatever the input). Its table of
homoglyphs takes ~6 MB in every process that imports ``confusables`` (80,000 objects): what
``skeleton`` needs of it, the ASCII look-alike of each non-Latin character, is read from the
library's data file once, at the first character that is neither ASCII nor Latin, and kept as
a small table (``_ascii_lookalikes``); ``tests/mail/test_lookalike.py`` checks it against the
library's ``is_confusable`` for every character of its data.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import categories, utils

MAX_NAME = 200
LATIN = "LATIN"


@lru_cache(maxsize=1)
def _ascii_lookalikes() -> dict[str, str]:
    """Non-Latin character → the first ASCII homoglyph ``confusables.is_confusable(char,
    preferred_aliases=["latin"])`` gives it: the library's rule (a character is confusable
    with Latin when one of its homoglyphs has a Latin character), on its own data file."""
    table = {}
    for char, glyphs in utils.load("confusables.json").items():
        if len(char) != 1 or categories.alias(char) == LATIN:  # _latin reads one character
            continue
        if not any(categories.alias(c) == LATIN for glyph in glyphs for c in glyph["c"]):
            continue
        first = next((glyph["c"] for glyph in glyphs if glyph.get("c", "").isascii()), None)
        if first is not None:
            table[char] = first
    return table


@lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    if char.isascii() or categories.alias(char) == LATIN:
        return char  # is_confusable(char, preferred_aliases=["latin"]) skips Latin characters
    return _ascii_lookalikes().get(char, char)


# 0/O and 1/l/I are the classic digit look-alikes
_DIGITS_AND_BARS = str.maketrans({"0": "o", "1": "l", "|": "l", "i": "l"})


def skeleton(text: str) -> str:
    """Lower-case ASCII-ish key: homoglyphs mapped to Latin, accents and punctuation dropped."""
    return _skeleton(str(text or "")[:MAX_NAME])


@lru_cache(maxsize=4096)  # a list's senders come back message after message
def _skeleton(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    # Invisible format characters (zero-width space/joiners, BOM…) count as nothing.
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = "".join(_latin(c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold().translate(_DIGITS_AND_BARS)
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def _ascii_is_one_script() -> bool:
    """Every ASCII character is Latin or Common (the script ``is_mixed_script`` ignores) in
    the library's data: an ASCII string is then never mixed, without a lookup per character."""
    return len({categories.alias(chr(code)) for code in range(128)} - {"COMMON"}) <= 1


_ASCII_ONE_SCRIPT = _ascii_is_one_script()


def mixed_script(text: str) -> bool:
    """True when letters from several scripts are mixed (Latin with Cyrillic or Greek…)."""
    text = str(text or "")[:MAX_NAME]
    if _ASCII_ONE_SCRIPT and text.isascii():
        return False  # every sender's address, most names: see _ascii_is_one_script
    # confusables.is_mixed_script's rule (COMMON ignored), without importing its homoglyphs
    return len(categories.unique_aliases(text) - {"COMMON"}) > 1
