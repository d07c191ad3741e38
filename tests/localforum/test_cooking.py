"""Cooking Markdown into Discourse-like, sanitized HTML."""
from forumsync.localforum.cooking import cook, excerpt


def test_commonmark_with_discourse_line_breaks_and_links():
    html = cook("Bonjour **toi**\nligne 2 https://example.org")
    assert html == ('<p>Bonjour <strong>toi</strong><br>\nligne 2 '
                    '<a href="https://example.org">https://example.org</a></p>')


def test_tables_and_strikethrough():
    html = cook("~~non~~\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<s>non</s>" in html
    assert "<table>" in html and "<td>1</td>" in html


def test_quote_bbcode_becomes_discourse_aside():
    html = cook('[quote="alice, post:1, topic:2"]\ncité *ici*\n[/quote]\n\nfin')
    assert html.startswith('<aside class="quote no-group" data-username="alice" data-post="1" '
                           'data-topic="2">')
    assert "<blockquote>\n<p>cité <em>ici</em></p>\n</blockquote>" in html
    assert html.endswith("<p>fin</p>")


def test_nested_quotes_and_anonymous_quote():
    html = cook("[quote]\nexterne\n[quote=\"bob\"]\ninterne\n[/quote]\n[/quote]")
    assert html.count("<aside") == 2
    assert 'data-username="bob"' in html


def test_details_block():
    html = cook('[details="Message cité"]\n> ancien\n[/details]')
    assert html.startswith("<details>\n<summary>\nMessage cité</summary>")
    assert "<blockquote>\n<p>ancien</p>\n</blockquote>" in html


def test_unclosed_bbcode_stays_text():
    assert cook("[quote]sans fin") == "<p>[quote]sans fin</p>"


def test_sanitized():
    html = cook('<script>alert(1)</script>\n\n<a href="javascript:x()" onclick="y()">lien</a>'
                '\n\n<img src="x.png" onerror="z()">')
    assert "script" not in html and "onclick" not in html and "onerror" not in html
    assert "javascript:" not in html


def test_upload_short_urls_are_resolved():
    html = cook("![img](upload://abc.png)", lambda short: f"/uploads/{short}.png")
    assert html == '<p><img src="/uploads/abc.png" alt="img"></p>'
    assert "upload://zzz" in cook("![img](upload://zzz.png)", lambda short: None)


def test_excerpt():
    assert excerpt("<p>Un <strong>texte</strong> &amp; plus</p>") == "Un texte & plus"
    assert excerpt("<p>" + "a" * 300 + "</p>", 10) == "a" * 10 + "…"
