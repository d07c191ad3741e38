"""Red team, 42nd pass: two texts that cost far more than their size since hashtags are
neutralised (each was a message held for the whole CPU budget, then quarantined).

- A paragraph of many lines each holding a link (« a@b.fr#- », a list of addresses):
  markdown-it-py's linkify rule rebuilt the list of the paragraph's tokens for every link it
  made (``arrayReplaceAt``), quadratic, and the hashtag check parses such a paragraph two or
  three times more: 100 KB took 23 s in the parse stage (0.2 s before hashtags), plus 8 s in
  the last check. The rule now splices in place (``mail.linkify.make_linkify_linear``).
- One long word of « a#b »: each candidate "#" scanned its whole word again (25 KB: 20 s).
  Each word is now looked at once (``inert._word_checker``).
"""
from __future__ import annotations

import time
from email.message import EmailMessage

from forumsync.mail.body import extract_body
from forumsync.mail.inert import live_syntax, neutralise_text
from forumsync.mail.text import plain_to_markdown


def _body_cpu(lines: int) -> float:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "marie@meyzieu.fr", "Adresses"
    msg.set_content("#-staff.fr\n" + "a@b.fr#-\n" * lines)
    start = time.process_time()
    body = extract_body(msg)
    live_syntax(body.markdown)  # the last check's parse
    return time.process_time() - start


def test_a_paragraph_of_links_costs_in_proportion_to_its_size():
    small, large = _body_cpu(2_000), _body_cpu(8_000)
    # linear: ~4 times (0.5 s against 2 s here); it was quadratic, ~16 times (23 s at 11,110)
    assert large < 8 * small + 1.0, (small, large)


def test_a_long_word_of_hashes_costs_what_an_ordinary_text_costs():
    def cpu(text: str) -> float:
        markdown = plain_to_markdown(text)
        start = time.process_time()
        neutralise_text(markdown)
        return time.process_time() - start

    ordinary, hostile = cpu("a b " * 8_333), cpu("a#b" * 8_333)
    # before the fix 20 s against a few milliseconds
    assert hostile < 10 * ordinary + 0.5, (hostile, ordinary)
