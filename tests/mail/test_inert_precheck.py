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
