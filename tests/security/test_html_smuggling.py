"""No raw HTML tag from mail reaches the forum (red-team findings, 6 December 2026).

Two ways in were found: an HTML mail's link whose text is its address (markdownify wrote it as
``<href>``: ``<details>`` is a tag, not an autolink), with U+FEFF between a tag's "attributes"
(JavaScript's ``\\s`` holds U+FEFF: Discourse's markdown-it reads ``<img\\ufeffsrc=…>`` as a tag,
markdown-it-py as text); and attachment file names, written unescaped into the attachment
links that ``post_inert`` did not check. Each goes through the service (LMTP, worker, local
forum with the plugin, which cooks U+FEFF as Discourse does)."""
from __future__ import annotations

import re
from email.message import EmailMessage

from forumsync.localforum.cooking import cook
from forumsync.mail.html import html_to_markdown, safe_destination
from forumsync.mail.inert import link_label, live_syntax
from forumsync.pipeline.post_inert import _raw_html, inert
from tests.fixtures.pipeline import make_mail
from tests.security.service import LIST, service  # noqa: F401 - fixture

FEFF = "&#xfeff;"
# Tags Discourse's allowlist keeps, as they would appear in cooked HTML.
LIVE_TAGS = re.compile(r"<(?:aside|details|summary|img|video|div|span|iframe|audio|source|picture)\b", re.I)


def _html_mail(html: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Pirate <pirate@evil.example>", LIST, "Attaque"
    msg["Message-ID"] = "<smuggle-%d@evil.example>" % (abs(hash(html)) % 10**9)
    msg.set_content("version texte")
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def _as_discourse_reads_it(raw: str) -> str:
    """RAW with U+FEFF as the space JavaScript's \\s takes it for."""
    return raw.replace("\ufeff", " ")


def _assert_no_raw_html(raw: str) -> None:
    assert "\ufeff" not in raw
    assert not _raw_html(_as_discourse_reads_it(raw)), raw
    assert not [p for p in live_syntax(raw) if p.startswith("image")], raw


ATTACKS = [
    f'<p><a href="aside{FEFF}class=&quot;quote&quot;{FEFF}data-username=&quot;admin2&quot;">'
    f'aside{FEFF}class=&quot;quote&quot;{FEFF}data-username=&quot;admin2&quot;</a></p>',
    f'<p><a href="img{FEFF}src=&quot;https://track.example.com/p.png&quot;">'
    f'img{FEFF}src=&quot;https://track.example.com/p.png&quot;</a></p>',
    f'<p><a href="details{FEFF}open">details{FEFF}open</a></p><p>Texte replié.</p>',
    '<p><a href="details">details</a></p><p>Texte replié.</p>',
    '<p><a href="div class=title">div class=title</a>admin2 :</p>',
]


def test_an_html_link_named_as_its_address_is_never_a_raw_tag():
    for html in ATTACKS:
        markdown = html_to_markdown(html)
        _assert_no_raw_html(markdown)
        assert not LIVE_TAGS.search(cook(markdown)), markdown
    # a real address keeps its short form
    assert html_to_markdown('<a href="https://publik.fr/">https://publik.fr/</a>') == "<https://publik.fr/>"


def test_the_html_attacks_through_the_service(service):  # noqa: F811 - fixture
    for html in ATTACKS:
        row = service.deliver(_html_mail(html))
        assert row.state == "published", row.reason
        post = service.post(row.post_id)
        _assert_no_raw_html(post.raw)
        assert not LIVE_TAGS.search(post.cooked), post.cooked


HOSTILE_NAMES = [
    "<img src=data:image&#47;png;base64,iVBORw0KGgo width=600 height=200>.pdf",
    "<video poster=https:&#47;&#47;evil.example&#47;p.png>.pdf",
    "<details open><summary>Lire la suite</summary>.pdf",
    "<aside class=quote data-username=admin2>.pdf",
]


def test_hostile_attachment_names_are_text(service):  # noqa: F811 - fixture
    raw = make_mail("Pièces jointes", "Voir les pièces jointes.\n", sender="Pirate <pirate@evil.example>",
                    attachments=[(name, "application/pdf", b"%PDF-1.4 x") for name in HOSTILE_NAMES])
    row = service.deliver(raw)
    assert row.state == "published", row.reason
    post = service.post(row.post_id)
    _assert_no_raw_html(post.raw)
    assert not LIVE_TAGS.search(post.cooked), post.cooked
    assert post.raw.count("|attachment](upload://") == len(HOSTILE_NAMES)


def test_link_labels_and_destinations_carry_no_markup():
    # (the "#47" shown after "&" would be a hashtag: a zero-width space after its "#")
    assert "<" not in link_label("<details open>.pdf") and "&amp;#\u200b47;" in link_label("a&#47;b.pdf")
    assert "\ufeff" not in link_label("a\ufeffb.pdf")
    assert safe_destination("details\ufeffopen") == "details%EF%BB%BFopen"
    assert safe_destination("a\u00a0b") == "a%C2%A0b"


def test_the_last_check_catches_raw_html_in_the_attachment_links():
    """post_inert is the net under link_label: a tail it did not write safely is neutralised."""
    tail = ["[<details open>x.pdf|attachment](upload://abc.pdf)"]
    parts, new_tail = inert(["Texte"], tail, set())
    assert parts == ["Texte"] and "<details" not in new_tail[0] and "&lt;details" in new_tail[0]
    parts, _ = inert(["a <img\ufeffsrc=https://x.example/p.png> b"], [], set())
    assert "\ufeff" not in parts[0] and not _raw_html(parts[0])


def test_the_local_forum_cooks_u_feff_as_discourse():
    assert "<details" in cook("<details\ufeffopen>\n\nx\n\n</details>")
    assert "<img" in cook("a <img\ufeffsrc=\"https://x.example/p.png\"> b")
