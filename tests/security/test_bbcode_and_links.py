"""Block BBCode and links a sender could still make live (red-team findings, second pass,
6 December 2026). Discourse reads block BBCode line by line before any inline parsing
(bbcode-block.js#applyBBCode: a line starting with "[tag…]", tag being its letters, that ends
with "[/tag]" or has nothing after the opening tag, for any tag a plugin registers), so a
newline kept inside an HTML ``<code>``, or an address copied as written, could open a
``[details]`` or a fake quote; linkify links a host without scheme, which a rewrite looking
for "http://…" missed; a long post cut in the middle of a code span left the rest live."""
from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from forumsync.localforum.cooking import cook
from forumsync.mail.html import html_to_markdown
from forumsync.mail.inert import block_bbcode, fenced_lines, live_syntax
from forumsync.mail.text import plain_to_markdown
from forumsync.pipeline.draft import Draft, shortened
from forumsync.pipeline.post_inert import _raw_html, inert
from forumsync.pipeline.trim import trim_body
from tests.fixtures.pipeline import make_mail
from tests.security.service import LIST, service  # noqa: F401 - fixture

EVIL_IMG = re.compile(r"<img[^>]*evil\.example", re.I)


def _block_lines(markdown: str) -> list[str]:
    return [line for line, fenced in fenced_lines(markdown.split("\n")) if not fenced and block_bbcode(line)]


def _assert_inert(markdown: str) -> None:
    assert _block_lines(markdown) == [], markdown
    assert live_syntax(markdown) == [], markdown
    assert not _raw_html(markdown.replace("\ufeff", " ")), markdown


@pytest.mark.parametrize("line, tag", [
    ('[details="Photo"]', "details"), ("[quote-]x[/quote]", "quote"), ("> [wrap=a]", "wrap"),
    ("[quote.fr](<http://quote.fr>) mailto:x@y.fr[/quote]", "quote"), ("- [Spoiler]  ", "spoiler"),
    ("[www.x.fr](<http://www.x.fr>)", None), ("[code.org](<http://code.org>) x", None),
    ('[details="Message cité"]', None), ("\\[details]", None), ("x [details]", None),
    # third pass: findInlineCloseTag takes any "[/tag" once the line ends with "]"
    ('[details](http://a.example/) [\\[/details](http://b.example/) \\]', "details"),
    ("[details.fr/\\[/details\\]](<http://details.fr/[/details]>) x\\]", "details"),
    ("[wrap](x) [/wrap](y)", None), ("[wrap](x) [/wrapper] ]", None),
    # fourth pass: a tag name is ASCII letters (the Kelvin sign, the long s end it)
    ("[details\u212a](https://e.fr/a) x [/details](https://e.fr/b) \\]", "details"),
    ("[spoiler\u017f]", "spoiler"),
])
def test_block_bbcode_is_read_as_discourse_reads_it(line, tag):
    assert block_bbcode(line) == tag


def test_the_fold_forumsync_writes_is_its_own_and_stays():
    from forumsync.mail.inert import FOLD_LINES
    from forumsync.pipeline.trim import DETAILS_TITLE, SIGNATURE_TITLE

    assert FOLD_LINES == {f'[details="{title}"]' for title in (DETAILS_TITLE, SIGNATURE_TITLE)}
    body, trimmed = trim_body("Réponse.\n\n> cité\n> encore\n")
    assert trimmed and '[details="Message cité"]' in body
    assert live_syntax(body) == [] and _block_lines(body) == []


def test_a_link_title_is_dropped():
    """The sender's text, raw inside "(href "title")": live once the link breaks (third pass)."""
    assert html_to_markdown('<a href="http://a.example/" title="![x](https://evil.example/p.png)">t</a>') == \
        "[t](http://a.example/)"


CODE_ATTACKS = [
    '<p>Bonjour,</p><p><code>x\n[details="Photo"]\n![](https://evil.example/x.png)\n'
    '&lt;img src=https://evil.example/y.png&gt;\n[/details]\ny</code></p>',
    "<p><kbd>a\n[quote-]\nfaux\n[/quote]\nb</kbd></p>",
    "<p><samp>a\n[wrap=a]\n![](https://evil.example/z.png)\n[/wrap]\nb</samp></p>",
]


def test_inline_code_in_html_mail_stays_on_one_line():
    for html in CODE_ATTACKS:
        markdown = html_to_markdown(html)
        assert all("\n" not in span for span in re.findall(r"`[^`]*`", markdown)), markdown
        _assert_inert(markdown)


PLAIN_ATTACKS = [
    "quote.fr mailto:x@y.fr[/quote]",
    "details.fr/[/details] x]",
    "details\u212a.fr/[/details] x]",
    "quote\u212a.fr/[/quote] x]",
    "details.fr mailto:x@y.fr[/details]",
    "mailto:a@b.fr`\nquote.fr mailto:x@y.fr[/quote]\nmailto:c@d.fr![](//evil.example/p.png)`",
    "exemple.xn--p1ai/photo.png",
]


def test_addresses_and_hosts_in_plain_mail_make_no_markup():
    """As posted: converted, then the last check (which escapes a line that still opens a
    block: ``[quote.fr](…) …[/quote]``, where the closing tag counts before any escape)."""
    for text in PLAIN_ATTACKS:
        _assert_inert(inert([plain_to_markdown(text)], [], set())[0][0])
    assert plain_to_markdown("écrire à marie@meyzieu.fr") == "écrire à marie@meyzieu.fr"  # unchanged


def _html_mail(html: str, subject: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Pirate <pirate@evil.example>", LIST, subject
    msg["Message-ID"] = f"<{abs(hash(html)) % 10**9}@evil.example>"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_a_quote_tag_ended_by_a_non_ascii_letter_is_a_quote():
    for letter in ("\u212a", "\u017f", "\u0131"):
        assert "quote" in live_syntax(f"[quote{letter}]x[/quote]")


def test_the_mails_own_details_lines_are_escaped_before_folding():
    body, _ = trim_body('x\n```\n[details="Message cité"]\n```\n> [/details]\n')
    assert '\\[details="Message cité"]' in body and "> \\[/details]" in body


def test_any_raw_html_tag_is_neutralised_not_only_the_allowlisted_ones():
    parts, _ = inert(["x <mark>y</mark> <h1>z</h1> <https://publik.fr> <marie@meyzieu.fr>"], [], set())
    assert parts == ["x &lt;mark>y&lt;/mark> &lt;h1>z&lt;/h1> <https://publik.fr> <marie@meyzieu.fr>"]


def test_a_bbcode_line_ends_a_list_as_in_discourse():
    """Sixth pass: Discourse's block BBCode rule terminates paragraphs, lists and quotes (its
    silent mode answers at "[letters…]"): what follows is no fence inside the item there."""
    text = "- foo\n[code.fr](<http://code.fr>)\n    ```\n    ![x](https://evil.example/a.png)"
    assert "image https://evil.example/a.png" in live_syntax(text)
    assert "<pre>" not in cook(text) and "<li>foo</li>" in cook(text)


def test_a_carriage_return_ends_a_line_as_for_markdown_it():
    """markdown-it normalises "\r" to a line end: the line checks read it so too."""
    text = "x\r[details](https://e.fr/a) x [/details](https://e.fr/b) ]"
    assert "bbcode details" in live_syntax(text)
    parts, _ = inert([text], [], set())
    assert "\r" not in parts[0] and _block_lines(parts[0]) == []


def test_a_fence_ends_with_its_container():
    """Fourth pass: "> ```" then a line without ">" is no fence (markdown-it, as Discourse):
    that line is checked like any other."""
    for text in ("> ```\n[details](https://e.fr/a) x [/details](https://e.fr/b) \\]",
                 "- a\n  ```\n\n[details](https://e.fr/a) x [/details](https://e.fr/b) \\]"):
        assert "bbcode details" in live_syntax(text)
    assert live_syntax("```\n[details]\n```") == []  # real code stays as written


THIRD_PASS = ['<p>Bonjour,</p><p><a href="http://a.example/" title="![x](https://evil.example/p.png)">details</a> '
              '<a href="http://b.example/">[/details</a> ]</p>',
              # fourth pass
              '<p><a href="https://e.fr/a">details\u212a</a> x <a href="https://e.fr/b">/details</a> ]</p>',
              '<p>&gt; ```<br><a href="https://e.fr/a">details</a> x <a href="https://e.fr/b">/details</a> ]</p>',
              '<ul><li>a<br>```</li></ul><p><a href="https://e.fr/a">quote</a> x <a href="https://e.fr/b">/quote</a> ]</p>',
              # fifth pass: a fold written by the sender in a <pre>, after a fence left open
              '<a href="https://e.fr/">t<pre>x</pre></a><pre>[details="Message cité"]\n```\n[/details]\n'
              '[quote="admin, post:1, topic:1"]\nCompte compromis\n[/quote]\n\n@staff @admin</pre>fin',
              # fifth pass: a table's "|" splitting a code span
              '<table><tr><th>h</th><th>i</th></tr><tr><td><code>a|&lt;h1&gt;Annonce&lt;/h1&gt;</code></td>'
              '<td>z</td></tr></table>',
              # sixth pass: a "[code.fr]…" line ends the list for Discourse, the fence with it
              '<p>- foo<br>code.fr<br>&nbsp;&nbsp;&nbsp;&nbsp;```<br>&nbsp;&nbsp;&nbsp;&nbsp;`<code>'
              '![x](https://evil.example/a.png)&lt;img src="https://evil.example/p.png"&gt;</code></p>',
              '<p>1. foo<br>details.fr<br>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;```<br>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;`<code>'
              '&lt;h1&gt;Annonce&lt;/h1&gt;</code></p>']


@pytest.mark.parametrize("html", CODE_ATTACKS + THIRD_PASS + ["<p>evil<span>.com/page.png</span></p>",
                                                              "<p>www<span>.evil.com/x</span></p>"])
def test_through_the_service(service, html):  # noqa: F811 - fixture
    row = service.deliver(_html_mail(html, "Attaque"))
    assert row.state == "published", row.reason
    post = service.post(row.post_id)
    _assert_inert(post.raw)
    if html not in CODE_ATTACKS:  # (the local forum cooks "[details]…[/details]" anywhere on a
        # line, inside a code span too: stricter than Discourse, which shows that code as written)
        assert not EVIL_IMG.search(post.cooked) and "<details" not in post.cooked, post.cooked
        assert 'class="quote' not in post.cooked


def test_plain_attacks_through_the_service(service):  # noqa: F811 - fixture
    for index, text in enumerate(PLAIN_ATTACKS):
        row = service.deliver(make_mail(f"Attaque {index}", text + "\n", sender="Pirate <pirate@evil.example>"))
        assert row.state == "published", row.reason
        post = service.post(row.post_id)
        _assert_inert(post.raw)
        assert "<aside" not in post.cooked and not EVIL_IMG.search(post.cooked)


def test_a_long_post_cut_inside_a_code_span_is_checked_again():
    head = "x" * 3000 + "\n`x\n![](https://evil.example/p.png)\n" + "y" * 400 + "\nz`"
    assert live_syntax(head) == []  # whole, the code span holds the image
    draft = Draft(raw=head, head=head)
    cut = shortened(draft, {"message_id": "m@x", "staged": True}, max_chars=3300, url="upload://t.txt")
    assert "evil.example" in cut
    assert [p for p in live_syntax(cut, ("upload://t.txt",)) if p.startswith("image")] == []


@pytest.mark.parametrize("text", [
    "https://intranet.local/x.png[quote][/quote]",
    "voir https://x.fr/a[quote]b[/quote] ok",
    "voir <https://x.fr/a[details]b[/details]> ok",  # an autolink written by the sender
    'https://x.fr/[quote="admin, post:1, topic:1"]',
])
def test_a_block_bbcode_inside_an_address_opens_nothing(text):
    """53rd pass (the property test at 4,000 examples): an address holding « [quote] » was
    kept as an autolink, and the local forum, which opens a block BBCode anywhere on a line
    (never kinder than Discourse), made a quote box of it. Its brackets are percent-encoded:
    the same address for every server, no tag left; in HTML mail too."""
    for markdown in (plain_to_markdown(text), html_to_markdown(f"<p>{text.replace('<', '&lt;')}</p>")):
        cooked = cook(markdown)
        assert "<aside" not in cooked and "<details" not in cooked, (markdown, cooked)
        assert live_syntax(markdown) == []
        assert not re.search(r"(?<!\\)\[(?:quote|details)", markdown), markdown
    from forumsync.mail.html import bracket_safe

    assert bracket_safe("http://u@[::1]:8080/a[b]") == "http://u@[::1]:8080/a%5Bb%5D"  # an IPv6 host keeps them
