"""live_syntax's shortcut (no parse) must never hide a live mention or image."""
from __future__ import annotations

import pytest

from forumsync.mail.inert import live_syntax


@pytest.mark.parametrize("raw, problem", [
    ("&#64;staff bonjour", "mention @staff"),            # "@" as an entity: decoded, then live
    ("a &commat;admin", "mention @admin"),
    ("bonjour @&#115;taff", "mention @staff"),           # the name's letter as an entity
    ("voir www.exemple.fr@staff", "mention @staff"),     # a text token starts after the link
    ("\\@staff", "mention @staff"),
    ("![x](https://exemple.fr/a.png)", "image https://exemple.fr/a.png"),
    ("[IMG]https://exemple.fr/a.png[/IMG]", "image https://exemple.fr/a.png"),
])
def test_without_oneboxes_the_same_mentions_and_images(raw, problem):
    assert problem in live_syntax(raw, onebox=True)
    assert problem in live_syntax(raw, onebox=False)


@pytest.mark.parametrize("raw", ["marie@exemple.fr", "@\u200bstaff", "rien de vivant ici", "a &amp; b"])
def test_inert_text_stays_inert(raw):
    assert live_syntax(raw, onebox=False) == []


@pytest.mark.parametrize("text, neutralised", [
    ("exemple.fr@staff", True),                 # a bare domain linkify takes for a link, then @staff
    ("voir (mairie.fr@staff).", True),
    ("[@staff\n\nexemple.fr@staff](http://x)", True),  # found by the fuzz test (CI rehearsal, 6 Dec 2026)
    ("jean.dupont@staff", False),               # no link before the "@" (no such TLD): no mention
    ("info.fr@mairie-meyzieu.fr", False),       # the "@" inside an address linkify finds
    ("marie@meyzieu.fr", False),
])
def test_an_at_after_a_bare_domain_is_neutralised_and_addresses_are_kept(text, neutralised):
    from forumsync.mail.inert import ZWSP, neutralise_mentions

    out = neutralise_mentions(text)
    assert live_syntax(out, onebox=False) == []
    assert (out != text) is neutralised
    assert out.replace(ZWSP, "") == text
