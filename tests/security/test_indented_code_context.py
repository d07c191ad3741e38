"""Indented code is written as the sender wrote it (``text.plain_to_markdown``), decided on one
text from its start. Red team, twenty-eighth pass: three contexts in which that decision no
longer held, and the sender's Markdown and BBCode were live (a link hiding its address,
emphasis, ``[b]``); ``live_syntax``, the last net, reports images and bare links only.

- a forward prefixes every line with « > »: after it, a tab reaches the next tab stop, two
  columns short (``body.quoted_line`` expands the indentation's tabs first);
- « ␣>- x » is a list in a quote the shortcut did not see (``text._LIST_ITEM``);
- two text parts follow each other: the second's code after the first's list is a paragraph
  of that list (``body.joined_texts`` closes the blocks first).

Twenty-ninth pass, two more:
- a body that begins with indented code lost its first line's indentation (``strip()``): a
  paragraph, the code after it its lines (``inert.body_text`` keeps it);
- the trim stage folds a signature from « 2. Tél : … », a paragraph's continuation in the mail
  (an ordered list not starting at 1 cannot interrupt a paragraph) but a list's first item as
  the fold's first line, and the code after it that item's paragraph (``quotes.split_trailing``
  escapes such a marker).

Thirtieth pass: a signature inside an HTML mail's ``<li><pre>`` was folded from the middle of
the fenced code, whose rest became paragraphs (``quotes._inside_fenced_code``: no fold there).
"""
from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from forumsync.mail import parse_bytes
from forumsync.mail.body import extract_body
from forumsync.mail.inert import discourse_parser
from forumsync.mail.text import plain_to_markdown
from tests.security.service import LIST, Service, service  # noqa: F401 - fixtures

LIVE = ("![x](https://evil.example/pixel.png) [b]gras[/b] [url=https://evil.example]Mairie[/url]"
        " [Mairie de Meyzieu](https://evil.example/login) *souligné*")


def assert_inert(html: str) -> None:
    for href, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', html):
        assert text == href.removeprefix("mailto:"), html  # shows its address, never hides it
    assert "Mairie de Meyzieu</a>" not in html, html
    assert "<em>" not in html and "<strong>gras" not in html, html
    assert "<img" not in html, html


def _forward(tag: str) -> bytes:
    inner = ("From: Claire Martin <claire.martin@mairie.fr>\r\nSubject: Ordre du jour\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n\r\n\t" + LIVE + "\r\n")
    return ("From: Marie Dupont <marie.dupont@meyzieu.fr>\r\nTo: " + LIST + "\r\n"
            "Subject: TR: Ordre du jour\r\nMessage-ID: <" + tag + "@meyzieu.fr>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\nJe vous transfère ceci.\r\n--b\r\n"
            "Content-Type: message/rfc822\r\n\r\n" + inner + "\r\n--b--\r\n").encode()


def _two_parts(tag: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Julien Petit <julien.petit@evil.example>", LIST, "Deux parties"
    msg["Message-ID"] = f"<{tag}@evil.example>"
    msg.set_content("Voici les points :\n\n- premier point\n")
    msg.add_attachment("    " + LIVE + "\n", subtype="plain", disposition="inline")
    return msg.as_bytes()


SPACED_QUOTE_LIST = " >- x\n>\n>     " + LIVE


@pytest.mark.parametrize("variant", [" >- x", " > 1. x", ">  > - x"])
def test_a_list_in_a_spaced_quote_keeps_the_line_after_it_escaped(variant):
    text = f"{variant}\n>\n>     {LIVE}" if variant != ">  > - x" else f"{variant}\n> >\n> >     {LIVE}"
    assert_inert(discourse_parser().render(plain_to_markdown("Bonjour\n\n" + text)))


def test_a_tab_indented_line_of_a_forward_is_code_in_the_quote():
    markdown = extract_body(parse_bytes(_forward("rt28-fwd-tab-unit"))).markdown
    html = discourse_parser().render(markdown)
    assert_inert(html)
    assert "<pre><code>" + "![x]" in html, html  # still code, as the sender wrote it


def test_code_of_a_second_text_part_stays_code_after_a_list():
    markdown = extract_body(parse_bytes(_two_parts("rt28-two-parts-unit"))).markdown
    html = discourse_parser().render(markdown)
    assert_inert(html)
    assert "<li>premier point</li>" in html and "<pre><code>![x]" in html, html


@pytest.mark.parametrize("kind", ["forward", "spaced-quote-list", "two-parts"])
def test_inert_on_the_forum(service, kind):
    if kind == "forward":
        raw = _forward("rt28-fwd-tab")
    elif kind == "two-parts":
        raw = _two_parts("rt28-two-parts")
    else:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "Julien Petit <julien.petit@evil.example>", LIST, "Liste"
        msg["Message-ID"] = "<rt28-spaced-quote@evil.example>"
        msg.set_content("Bonjour\n\n" + SPACED_QUOTE_LIST + "\n")
        raw = msg.as_bytes()
    row = service.deliver(raw)
    assert row.post_id, (row.state, row.reason)
    assert_inert(service.post(row.post_id).cooked)


def _plain(tag: str, text: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Julien Petit <julien.petit@evil.example>", LIST, "Réunion"
    msg["Message-ID"] = f"<{tag}@evil.example>"
    msg.set_content(text)
    return msg.as_bytes()


LEADING_CODE = "    " + LIVE + "\n    " + LIVE + "\n\nBonjour à tous, voici la configuration.\n"
SIGNATURE_LIST = ("Bonjour à tous,\n\nLa réunion est maintenue.\n\nCordialement,\nJean Dupont\n"
                  "2. Tél : 01 02 03 04 05\n\n      " + LIVE + "\n")


def test_a_folded_signature_keeps_its_code_as_code():
    from forumsync.pipeline.trim import trim_body

    trimmed, folded = trim_body(extract_body(parse_bytes(_plain("rt29-sig-unit", SIGNATURE_LIST))).markdown)
    assert folded and "2\\. Tél" in trimmed, trimmed
    assert_inert(discourse_parser().render(trimmed))


@pytest.mark.parametrize("kind", ["leading-code", "signature-list"])
def test_inert_on_the_forum_29th_pass(service, kind):
    text = {"leading-code": LEADING_CODE, "signature-list": SIGNATURE_LIST}[kind]
    row = service.deliver(_plain(f"rt29-{kind}", text))
    assert row.post_id, (row.state, row.reason)
    cooked = service.post(row.post_id).cooked
    assert_inert(cooked)
    if kind == "leading-code":
        assert cooked.startswith("<pre><code>"), cooked  # code, as the sender wrote it


PRE_IN_LIST = ("<p>Bonjour à tous,</p><ul><li><pre>Cordialement,\nJean Dupont\n"
               "Tél : 01 02 03 04 05\n" + LIVE + "\n</pre></li></ul>")


def _html(tag: str, html: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Julien Petit <julien.petit@evil.example>", LIST, "Réunion"
    msg["Message-ID"] = f"<{tag}@evil.example>"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_no_fold_inside_fenced_code():
    from forumsync.pipeline.trim import trim_body

    markdown = extract_body(parse_bytes(_html("rt30-unit", PRE_IN_LIST))).markdown
    assert_inert(discourse_parser().render(markdown))  # the mail's Markdown: all code
    trimmed, folded = trim_body(markdown)
    assert not folded and trimmed == markdown
    # a signature after the code is still folded
    after = markdown + "\n\nCordialement,\nJean Dupont\nTél : 01 02 03 04 05"
    assert trim_body(after)[1]


def test_no_fold_inside_fenced_code_on_the_forum(service):
    row = service.deliver(_html("rt30-list-fence", PRE_IN_LIST))
    assert row.post_id, (row.state, row.reason)
    assert_inert(service.post(row.post_id).cooked)
