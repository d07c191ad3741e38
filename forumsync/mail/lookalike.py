"""Names that look like someone else's: a comparison key blind to homoglyphs and accents.

« Маrie Dupont » with a Cyrillic М, « marie dupont », « Marie  Dupónt » and « MARIE DUPONT »
all give the same key, so a sender cannot show a member's name by borrowing letters from
another script. Homoglyph data: the ``confusable-homoglyphs`` library (Unicode's
confusables.txt), looked up one character at a time (linear, whatever the input).
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

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


def skeleton(text: str) -> str:
    """Lower-case ASCII-ish key: homoglyphs mapped to Latin, accents and punctuation dropped."""
    text = unicodedata.normalize("NFKC", str(text or "")[:MAX_NAME])
    # Invisible format characters (zero-width space/joiners, BOM…) count as nothing.
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = "".join(_latin(c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    # 0/O and 1/l/I are the classic digit look-alikes
    text = text.casefold().translate(str.maketrans({"0": "o", "1": "l", "|": "l", "i": "l"}))
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def mixed_script(text: str) -> bool:
    """True when letters from several scripts are mixed (Latin with Cyrillic or Greek…)."""
    return bool(confusables.is_mixed_script(str(text or "")[:MAX_NAME]))
