"""Red team, 45th pass: U+180E is no space for Python, but Discourse stores it as one; after an
address it was judged once the address was written, and the stored form cut the address in
two, a bare link left behind (the message held, a welcome topic with a onebox, a catalogue
topic refused). And an address the sender underlined (« _https://…_ ») was held: the escaped
« \_ » ends a text token, markdown-it linkifies the address after it (a onebox), and the last
check did not rewrite an address after it."""
from types import SimpleNamespace as S

import pytest

from forumsync.community.welcome import welcome_topic_raw
from forumsync.mail.html import html_to_markdown, safe_destination
from forumsync.mail.inert import live_syntax, neutralise_text
from forumsync.mail.text import inline_markdown
from forumsync.pipeline.post_inert import inert
from forumsync.raw_form import stored_raw


def test_safe_destination_encodes_every_stored_space():
    assert "\u180e" not in safe_destination("https://e.org/x\u180ey")


def test_inline_markdown_leaves_no_bare_link_once_stored():
    assert live_syntax(stored_raw(inline_markdown("https://e.org/x\u180e"))) == []


def test_welcome_topic_has_no_bare_link():
    raw = welcome_topic_raw(S(LIST_NAME="Club", THEMES=[]), S(name="https://e.org/x\u180e", email="x@y.fr"))
    assert live_syntax(stored_raw(raw)) == []


@pytest.mark.parametrize("html", ["<p>https://e.org/x\u180ey</p>",
                                  '<a href="https://e.org/x\u180ey">https://e.org/x\u180ey</a>'])
def test_html_link_with_u180e_is_published_not_held(html):
    parts, _ = inert([neutralise_text(html_to_markdown(html))], [], set())  # raises Quarantine today
    assert live_syntax(stored_raw(parts[0])) == []


@pytest.mark.parametrize("text", ["\u180e# Titre", "\u180e> cit", "\u180e- x", "\u180e\u180e\u180e\u180ecode"])
def test_inline_markdown_opens_no_block_once_stored(text):
    """catalogue render.md(description) is written at a line's start (render.py:168)."""
    from forumsync.mail.inert import discourse_parser
    stored = stored_raw(inline_markdown(text))
    assert [t.type for t in discourse_parser().parse(stored) if t.nesting >= 0 and t.level == 0][0] == "paragraph_open", stored


@pytest.mark.parametrize("text", ["Le guide : _https://exemple.fr/doc_ à lire", "mot_https://exemple.fr"])
def test_underscore_before_an_address_is_published_not_held(text):
    """Older than the stored form: the last check now rewrites an address after an escaped
    punctuation mark as an autolink, instead of holding the message."""
    from forumsync.mail.text import plain_to_markdown
    parts, _ = inert([neutralise_text(plain_to_markdown(text))], [], set())
    assert live_syntax(stored_raw(parts[0])) == []
