"""Mail built to exhaust the worker ends in a decision, quickly, and the queue goes on
(red-team findings, second pass, 6 December 2026): patterns that were quadratic on thousands
of unterminated tags, and nesting deeper than Python's recursion limit."""
from __future__ import annotations

import time
from email.message import EmailMessage

import pytest

from forumsync.mail import body
from forumsync.mail.html import clean_office_html
from tests.fixtures.pipeline import make_mail
from tests.security.service import LIST, service  # noqa: F401 - fixture

# Each took 1–30 s of CPU before (quadratic); linear now: well under a second.
ATTACKS = ["<!--[if " * 30000, "<o:x " * 20000, "<img src " * 20000, "<a " * 30000]


def _html_mail(html: str, subject: str, alternative: bool = True) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Pirate <pirate@evil.example>", LIST, subject
    msg["Message-ID"] = f"<{subject.lower()}@evil.example>"
    if alternative:
        msg.set_content("version texte")
        msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")
    return msg.as_bytes()


@pytest.mark.parametrize("payload", ATTACKS, ids=["conditional", "office", "img", "href"])
def test_the_html_patterns_stay_linear(payload):
    started = time.process_time()
    clean_office_html(payload)
    body._HREF.findall(payload)
    assert time.process_time() - started < 1.0


def test_conditional_comments_are_cut_as_before():
    html = "a<!--[if mso]>x<!--[if y]>z<![endif]-->b<![endif]-->c<!--[IF x]>q<![ENDIF]-->d<!--[if open"
    assert clean_office_html(html) == "ab<![endif]-->cd<!--[if open"
    assert clean_office_html('<p>x<o:p></o:p><img width="1" src="a.gif"><img src="cid:b"></p>') == \
        '<p>x<img src="cid:b"></p>'


def test_a_hostile_html_mail_does_not_hold_the_queue(service):  # noqa: F811 - fixture
    hostile = service.deliver(_html_mail("<html><body><p>Bonjour</p>" + "<!--[if " * 30000 + "</body></html>",
                                         "Conditionnels", alternative=False))
    assert hostile.state in ("published", "quarantined"), hostile.reason
    after = service.deliver(make_mail("Après", "Un message ordinaire.\n"))
    assert after.state == "published", after.reason


def test_nesting_past_the_recursion_limit_is_quarantined_with_a_french_reason(service):  # noqa: F811
    deep = service.deliver(_html_mail("<div>" * 5000 + "fond" + "</div>" * 5000, "Profond", alternative=False))
    assert deep.state == "quarantined"
    assert deep.reason.startswith("message trop imbriqué pour être converti")
    after = service.deliver(make_mail("Après", "Un message ordinaire.\n"))
    assert after.state == "published", after.reason


def test_a_subject_of_sixty_thousand_tags_is_read_in_linear_time():
    """clean_subject and subject_chain copied the rest of the subject at each tag, and
    clean_subject searched a list of the tags seen: 2.9 s for 16,000 tags, over 40 s for this
    820 KB subject (review, 6 December 2026); now a walk by position."""
    from forumsync.mail.subjects import clean_subject, subject_chain

    n = 64_000
    subject = "".join(f"[t{i}] " for i in range(n)) + "Re: " * n + "TR: [liste] Bonjour"
    started = time.process_time()
    title, tags = clean_subject(subject, "[liste]")
    chain = subject_chain(subject, "[liste]")
    assert time.process_time() - started < 2.0
    assert title == "Bonjour" and len(tags) == n and tags[:2] == ["t0", "t1"]
    assert chain.prefixes == ("reply",) * n + ("forward",) and chain.is_reply
