"""Names that borrow letters from another script (mail.lookalike)."""
from __future__ import annotations

import pytest
from confusable_homoglyphs import confusables

from forumsync.mail.lookalike import mixed_script, skeleton


@pytest.mark.parametrize("text, mixed", [
    ("Marie Dupont", False),
    ("marie.dupont+liste@mairie-meyzieu.fr", False),
    ("Jean-François Dupont", False),        # Latin with accents: one script
    ("Маrie Dupont", True),                 # a Cyrillic М among Latin letters
    ("Αlice", True),                        # a Greek Α
    ("Иван Петров", False),                 # Cyrillic only
    ("", False),
])
def test_mixed_script(text, mixed):
    assert mixed_script(text) is mixed


def test_ascii_answers_are_the_librarys():
    """The ASCII shortcut gives the library's answer for every ASCII character and pairs of them."""
    chars = [chr(code) for code in range(128)]
    samples = chars + [a + b for a in chars for b in chars[::7]] + ["".join(chars)]
    assert [mixed_script(s) for s in samples] == [bool(confusables.is_mixed_script(s)) for s in samples]


def test_skeleton_sees_through_homoglyphs():
    assert skeleton("Маrie  DUPÓNT") == skeleton("marie dupont")
