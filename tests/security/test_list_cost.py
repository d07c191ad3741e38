"""Red team, twenty-first pass: lists that cost far more than their size.

- Mail → forum: a numbered list in an HTML mail is converted in quadratic time.
  
  markdownify's ``convert_li`` numbers each ``<li>`` of an ``<ol>`` by counting its previous
  siblings (``find_previous_siblings``), so an ``<ol>`` of N items costs O(N²) in pure Python:
  8,000 items (40 KB of HTML) took 6 s, 20,000 items (100 KB, what ``MAX_TEXT_CHARS`` lets
  through) about 37 s, over ``PIPELINE_MESSAGE_CPU_SECONDS`` (30 s): the mail holds a pool
  process for the whole budget and ends in quarantine (« traitement trop long ») instead of being
  published. The same list as ``<ul>`` converts in 0.45 s. Nesting the list under ~100 ``<ol><li>``
  levels makes it worse (100 KB: 38 s).
  The rank of an item is now read from an index built once per list (``html._Converter``).
- Forum → list: a forum post of nested lists makes the outbound worker build
  tens of megabytes of text that it then throws away.
  
  ``compose_post`` converts the whole cooked HTML to text with html2text
  (``outbound/bodies.py::html_to_text``), then keeps 200,000 characters (``bounded_text``).
  html2text indents every list item by its depth, so a post of 2,000 ``<ol><li>`` followed by
  3,200 ``<li>x`` (32,000 characters, Discourse's default ``max_post_length``; raw HTML lists are
  in Discourse's allowlist and an HTML block is not subject to markdown-it's nesting limit)
  makes ~17 M characters of text (2.2 s of CPU, +76 MB RSS; an ordinary 32 KB post: 0.05 s,
  no growth). With a fenced code block after the open lists, +160 MB. ``bounded_html`` only
  cuts the HTML at 200,000 characters, not its output once indented.
  Lists and quotes deeper than ``bodies.MAX_TEXT_NESTING`` are flattened for the text twin.
"""
from __future__ import annotations

import email
import time
from email.message import EmailMessage

import pytest

from forumsync.localforum.cooking import cook
from forumsync.mail.body import extract_body
from forumsync.outbound import bodies, compose
from forumsync.outbound.bodies import html_to_text
from forumsync.pipeline.budget import OverBudget, cpu_budget
from forumsync.settings import Settings

MAX_POST = 32_000


def _html_mail(html: str) -> email.message.Message:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Marie <marie@meyzieu.fr>", "club@listes.example.org", "Liste"
    msg["Message-ID"] = "<rt21-list@meyzieu.fr>"
    msg.set_content(html, subtype="html")
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def _mail_cpu(html: str, cap: float = 20.0) -> float:
    mail = _html_mail(html)
    start = time.process_time()
    try:
        with cpu_budget(cap):
            extract_body(mail)
    except OverBudget:
        pass
    return time.process_time() - start


def test_a_long_numbered_list_converts_in_about_the_time_of_a_bulleted_one():
    items = 8_000  # 40 KB of HTML; MAX_TEXT_CHARS lets 2.5 times more through
    bulleted = _mail_cpu("<ul>" + "<li>x" * items + "</ul>")
    numbered = _mail_cpu("<ol>" + "<li>x" * items + "</ol>")
    # today: ~0.45 s against ~6 s (quadratic); generous margin for a loaded machine
    assert numbered < 4 * bulleted + 1.0, (numbered, bulleted)


@pytest.fixture
def conf(tmp_path):
    return Settings({"FORUM_URL": "https://bistro.example.org", "FORUM_NAME": "Bistro",
                     "LIST_ADDRESS": "club@listes.example.org", "LIST_NAME": "Club Publik",
                     "BRIDGE_ADDRESS": "bistro@forumsync.example.org"}, "<t>", tmp_path)


def _post(cooked: str) -> compose.ForumPost:
    return compose.ForumPost(post_id=1, topic_id=7, post_number=2, username="marie",
                             author_name="Marie", cooked=cooked, title="Liste")


def _cpu(conf, raw: str) -> float:
    cooked = cook(raw)
    start = time.process_time()
    compose.compose_post(conf, _post(cooked)).as_bytes()
    return time.process_time() - start


def _nested_lists(depth: int = 2_000) -> str:
    return "<ol><li>" * depth + "<li>x" * ((MAX_POST - 8 * depth) // 5)


def test_a_post_of_nested_lists_costs_about_what_an_ordinary_post_costs(conf):
    ordinary = _cpu(conf, "Bonjour,\n\n" + "Une ligne de texte ordinaire.\n" * 1_000)
    hostile = _cpu(conf, _nested_lists())
    # before the fix ~2.2 s against ~0.05 s; now ~0.3 s, 0.82 s in a CI rehearsal (3 workers on
    # 2 cores): a margin between the two
    assert hostile < 10 * ordinary + 1.2, (hostile, ordinary)


def test_the_text_of_a_post_is_never_built_far_beyond_what_the_mail_keeps(conf, monkeypatch):
    built = []
    real = bodies.html_to_text

    def spy(settings, safe_html):
        text = real(settings, safe_html)
        built.append(len(text))
        return text

    monkeypatch.setattr(compose, "html_to_text", spy)
    compose.compose_post(conf, _post(cook(_nested_lists())))
    # the mail keeps MAX_LIST_TEXT_CHARS (200,000); today ~17,000,000 are built
    assert max(built, default=0) <= 10 * bodies.MAX_LIST_TEXT_CHARS, built


# Twenty-second pass: ``bodies.flattened`` (twenty-first pass) drops the list and quote tags nested
# deeper than MAX_TEXT_NESTING before html2text, « their text kept ». Kept, but glued: the items
# of a list past that depth run together into one word (« premiersecond »), and a quotation
# there loses its « > »: the quoted words read as the poster's own in the list's text part.
# (``<li>`` counts as a level, so 13 nested bullet lists are enough.)
# 
# Expected: an item or a quote left out at that depth still starts a line of its own.
class _Settings:
    FORUM_URL = "https://forum.example.org"
    forum_host = "forum.example.org"


def test_items_past_the_nesting_limit_stay_apart():
    deep = "<ul><li>" * 13
    html = deep + "<ol><li>premier</li><li>second</li></ol>" + "</li></ul>" * 13
    text = html_to_text(_Settings, html)
    assert "premiersecond" not in text, repr(text[-200:])
    assert "premier" in text and "second" in text
