"""Small French grammar helpers for text people read: elision (« d'Anne ») and plurals."""
from __future__ import annotations

import unicodedata

_VOWELS = set("aeiouyh")


def elides(word: str) -> bool:
    """True when « de »/« le » elide before WORD: a vowel or a mute h (accents ignored)."""
    first = unicodedata.normalize("NFKD", word.lstrip(" *_\"'«(").strip()[:1]).lower()[:1]
    return bool(first) and first in _VOWELS


def de(name: str) -> str:
    """« de Marie », « d'Anne », « d'Hélène »."""
    return f"d'{name}" if elides(name) else f"de {name}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 0 écrit », « 1 écrit », « 2 écrits » (French: singular below 2)."""
    return singular if abs(count) < 2 else (plural_form or singular + "s")
