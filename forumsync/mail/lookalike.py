"""Names that look like someone else's: a comparison key blind to homoglyphs and accents.

« Маrie Dupont » with a Cyrillic М, « marie dupont », « Marie  Dupónt » and « MARIE DUPONT »
all give the same key, so a sender cannot show a member's name by borrowing letters from
another script. Homoglyph data: the ``confusable-homoglyphs`` library (Unicode's
confusables.txt), looked up one character at a time (linear, whatever the input).
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

MAX_NAME = 200


@lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    if char.isascii():
        return char
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True)
    for entry in found or ():
        for glyph in entry.get("homoglyphs") or ():
            if glyph.get("c", "").isascii():
                return glyph["c"]
    return char


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
    return bool(confusables.is_mixed_script(text))
