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


def _full_parse_answer(raw: str, onebox: bool) -> list[str]:
    """live_syntax's answer as it was computed before its inline shortcut: every inline
    content of the document parsed (markdown-it's own parse), then the same findings."""
    from forumsync.mail import inert

    problems = []
    for token in inert.discourse_parser().parse(raw):
        if token.type == "html_block" and inert._HTML_IMG.search(token.content):
            problems.append("image <img>")
        if token.type == "inline" and token.children:
            problems += inert._inline_problems(token.children, set(), onebox)
    return problems


TRICKY = [
    "evil．com", "evil。com", "ｗｗｗ.evil.io/a.png", "evil.ｃｏｍ", "http：//evil.io", "EVIL.FR/x", "//evil.io",
    "xn--e1afmkfd.xn--p1ai", "évil.fr", "`code`evil.com", "**evil**.com", "evil*.*com", "a\\*evil.com",
    "evil<b>.</b>com", "http&#58;//evil.com", "ht\\tp://evil.com", "evil.com\\x", "evil.co.uk:8080/p",
    "<https://evil.com/a.png>", "[t](https://evil.com)", "![i][r]\n\n[r]: https://evil.com/i.png",
    "[img]https://evil.com/i.png[/img]", "<IMG src=x>", "a <img\nsrc=x>", "&#x40;staff", "\\@staff",
    "> > citation www.evil.io\n> suite", "- liste evil.fr\n  - sous-liste @admin", "| a | b |\n|---|---|\n| evil.io | x |",
    "rien de vivant ici", "10:30 : réunion", "3.5 fois", "a@b", "fin.",
]


@pytest.mark.parametrize("raw", TRICKY)
@pytest.mark.parametrize("onebox", [True, False])
def test_the_inline_shortcut_finds_what_a_full_parse_finds(raw, onebox):
    """live_syntax parses a block's inline content only when it holds an "@", an entity, an
    image's start or what linkify could link (``_may_be_live``): on every one of these, its
    findings are a full parse's."""
    found = [p for p in live_syntax(raw, (), onebox=onebox) if not p.startswith(("quote", "bbcode"))]
    assert found == _full_parse_answer(raw, onebox)  # (the line checks of quotes and BBCode aside)
