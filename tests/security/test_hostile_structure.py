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


def test_a_thousand_attributions_are_trimmed_in_linear_time():
    """« ab wrote » on every line: each one copied and scanned the rest of the mail (red team,
    seventh pass: 30 s for 297 KB, 326 s for 990 KB)."""
    from forumsync.mail.quotes import split_trailing

    text = "ab wrote\n" * 33_000 + "> cité\n" * 3
    started = time.process_time()
    kept, quoted, _ = split_trailing(text)
    assert time.process_time() - started < 2.0
    assert quoted.strip().endswith("> cité") and kept.count("ab wrote") == 32_999


def _forwarded(depth: int, text: str) -> EmailMessage:
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "Niveau 0 <n0@x.fr>", "Au fond"
    inner.set_content(text)
    for level in range(1, depth + 1):
        outer = EmailMessage()
        outer["From"], outer["Subject"] = f"Niveau {level} <n{level}@x.fr>", f"Tr : niveau {level}"
        outer.set_content(f"Je transfère (niveau {level}).")
        outer.add_attachment(inner)
        inner = outer
    return inner


def test_forwards_nested_ninety_nine_deep_stay_small_and_lose_nothing():
    """Each forward level quoted every level inside it again: a 903 KB mail of 99 levels made
    a 60 MB body, 69 s and 579 MB (red team, seventh pass). At most MAX_FORWARD_DEPTH levels
    are rendered; the deeper ones are in the full text attached to the post."""
    from email import message_from_bytes, policy

    from forumsync.mail.body import DEEPER_FORWARD, MAX_FORWARD_DEPTH, MAX_MARKDOWN_CHARS, extract_body

    deepest = "".join(f"ligne {n} tout au fond\n" for n in range(30_000))
    msg = message_from_bytes(_forwarded(99, deepest).as_bytes(), policy=policy.default)
    started = time.process_time()
    body = extract_body(msg)
    assert time.process_time() - started < 3.0
    assert len(body.markdown) < MAX_MARKDOWN_CHARS
    assert body.markdown.count("Message transféré :") == MAX_FORWARD_DEPTH
    assert DEEPER_FORWARD.replace("*", "\\*")[:20] in body.markdown or DEEPER_FORWARD[:20] in body.markdown
    assert "Je transfère (niveau 99)." in body.markdown and "Je transfère (niveau 90)." not in body.markdown
    assert body.full_text is not None
    assert "Je transfère (niveau 1)." in body.full_text and "ligne 29999 tout au fond" in body.full_text
    assert "Objet : Tr : niveau 50" in body.full_text


def test_a_small_forward_is_rendered_whole_without_full_text():
    from email import message_from_bytes, policy

    from forumsync.mail.body import extract_body

    body = extract_body(message_from_bytes(_forwarded(3, "le fond\n").as_bytes(), policy=policy.default))
    assert body.markdown.count("Message transféré :") == 3 and "le fond" in body.markdown
    assert body.full_text is None


def test_one_line_of_thousands_of_addresses_is_cut_between_links_and_published(service):  # noqa: F811
    """« a.fr a.fr … » on one 900 KB line: its Markdown (each address a link) is cut at a
    space, not inside a link whose leftover bare address the last check refused (the red team
    saw the message held as « contenu actif… onebox »)."""
    hosts = service.deliver(make_mail("Domaines", "a.fr " * 180_000 + "\n"))
    assert hosts.state == "published", hosts.reason
    raw = service.post(hosts.post_id).raw
    assert "Message tronqué" in raw and "[a.fr](<http://a.fr>)" in raw


def test_twenty_thousand_references_are_read_in_linear_time_and_kept_to_the_nearest():
    """References and In-Reply-To were deduplicated against a list: 3.3 s each for 20,000 ids
    (red team, eighth pass). Threading keeps In-Reply-To and the newest References."""
    from email import message_from_bytes, policy

    from forumsync.pipeline.parse import MAX_REFERENCES, references

    ids = " ".join(f"<r{n}@x.fr>" for n in range(20_000))
    msg = message_from_bytes(f"In-Reply-To: <parent@x.fr>\nReferences: {ids} <r5@x.fr>\n"
                             f"Message-ID: <moi@x.fr>\n\ncorps\n".encode(), policy=policy.default)
    started = time.process_time()
    found = references(msg, "moi@x.fr")
    assert time.process_time() - started < 1.0
    assert found[:3] == ["parent@x.fr", "r19999@x.fr", "r19998@x.fr"] and len(found) == MAX_REFERENCES


def test_file_names_of_forty_thousand_semicolons_are_read_in_linear_time():
    """The standard library's get_filename splits parameters in quadratic time: 1.6 s a part
    for 40,000 « ; » (red team, eighth pass); six such parts held a message 9 s."""
    from email import message_from_bytes, policy

    from forumsync.mail.body import extract_body

    msg = EmailMessage()
    msg["From"], msg["Subject"] = "Pirate <pirate@evil.example>", "Pièces"
    msg.set_content("Voici.")
    for n in range(6):
        msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=f"p{n}.pdf")
    raw = msg.as_bytes().replace(b'filename="p', b'filename="' + b";" * 40_000 + b'p')
    parsed = message_from_bytes(raw, policy=policy.default)
    started = time.process_time()
    body = extract_body(parsed)
    assert time.process_time() - started < 1.0
    assert len(body.attachments) == 6
