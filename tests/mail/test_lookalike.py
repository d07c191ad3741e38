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


def test_latin_and_other_answers_are_the_librarys():
    """The Latin shortcut of ``skeleton`` and ``mixed_script`` without the homoglyph table give
    the library's answers: Latin-1 and Latin Extended letters, Greek, Cyrillic, symbols."""
    from forumsync.mail.lookalike import _latin

    chars = [chr(code) for code in list(range(0xA0, 0x250)) + list(range(0x370, 0x530))
             + list(range(0x2100, 0x2150)) + list(range(0xFF01, 0xFF5E))]
    chars += sorted({c for c in confusables.confusables_data if len(c) == 1 and not c.isascii()}
                    - set(chars))  # every other character it knows (ASCII stays itself)

    def library_latin(char):
        found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True)
        for entry in found or ():
            for glyph in entry.get("homoglyphs") or ():
                if glyph.get("c", "").isascii():
                    return glyph["c"]
        return char

    assert [_latin(c) for c in chars] == [library_latin(c) for c in chars]
    assert sum(_latin(c) != c for c in chars) > 1000  # the table is not empty
    samples = chars + ["Jean-" + c + "ric" for c in chars] + ["Ivan " + c for c in chars]
    assert [mixed_script(s) for s in samples] == [bool(confusables.is_mixed_script(s)) for s in samples]


def test_latin_names_do_not_load_the_homoglyph_table():
    """~6 MB in every process that reads a From: the library's ``confusables`` module is never
    imported; its data file is read once, for the first non-Latin letter."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from forumsync.mail.lookalike import skeleton, mixed_script\n"
            "assert skeleton('Jérôme Ñúñez-Łukasz Dupont') == 'jerome nunez łukasz dupont'\n"
            "assert not mixed_script('Jérôme Dupont')\n"
            "from forumsync.mail.lookalike import _ascii_lookalikes as table\n"
            "print(table.cache_info().currsize)\n"
            "assert skeleton('Маrie') == 'marle'\n"
            "print(table.cache_info().currsize, 'confusable_homoglyphs.confusables' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "1", "False"]
