"""Issue 12, point 3, as a property: whatever a hostile sender writes (text and HTML parts,
display names, file names), the post raw made from the mail holds no live mention or hashtag,
no quote BBCode and no image but the mail's own attachments. "Live" is checked twice: structurally
(``mail.inert.live_syntax``: markdown-it-py set up as Discourse, text_join included) and by
the local forum's cooking (``localforum.cooking.cook``, as live as Discourse's for mentions,
hashtags, quotes and images).

Two levels: the mail stages alone (parse → trim → inline images swapped, many examples), and
the whole service (HTTP inbound → worker → local forum, fewer examples)."""
from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from forumsync.localforum.cooking import cook
from forumsync.mail import parse_bytes
from forumsync.mail.body import extract_body
from forumsync.mail.inert import BIDI, live_syntax
from forumsync.pipeline.trim import trim_body

ATTACKS = [
    "@staff", "@everyone", "@admin", "(@moderators)", "\\@staff", "&#64;staff", "x.@here",
    '[quote="admin, post:1, topic:1"]', "[/quote]", "[quote]", "[img]http://10.0.0.1/a.png[/img]",
    "![x](http://127.0.0.1/a.png)", "<img src=http://169.254.169.254/x.png>", "!", "[", "]", "(", ")",
    "`", "``", "\\", "\\\\", "*", "_", "<", ">", "&lt;", "https://intranet.local/x.png",
    "www.exemple.fr", "exemple.fr", "marie@meyzieu.fr", "\u202e", "\u2066", "\u200f", "\n", "\n\n",
    "> ", "    ", "```", "~~~", "# ", "- ", "1. ", "[details=\"x\"]", "[/details]", "|", "cid:",
    "@\u0301a", "@é", "[url=http://x]@staff[/url]", "<a href='http://x'>", "</a>", "[b]", ":",
    "\n+\n", "+", "\t", "\n\n    ", "\n    ", "* ", "1) ",  # lists and indented code (25th pass)
    "#staff", "#c::tag", "\\#staff", "&#35;staff", "&num;x", "C#", "#", "#_", "n°#3", "&#12;",  # hashtags
    'quote="', ",", '"]', "username:admin", '[chat quote="admin;', "https://x.fr/",  # raw readers
    "\u180e", "\u00a0", "\u2028", "\u202f",  # stored as plain spaces by the forum (raw_form)
]
HTML_ATTACKS = ATTACKS + [
    "<p>", "</p>", "<br>", "<b>@staff</b>", "<code>@staff</code>", "<pre>@x\n[quote]</pre>",
    '<img src="https://evil.example/p.png" alt="@staff [quote]">', '<img src="cid:own1">',
    '<img src="cid:nope">', '<a href="https://a.org/x) ![i](https://e.org/p.png">t</a>',
    '<a href="https://x.org">https://x.org</a>', "<blockquote>", "</blockquote>",
    "<li>[quote]</li>", "<h1>@staff</h1>", "<table><tr><td>@staff</td></tr></table>",
    "<code>", "</code>", "<kbd>", "<a href='https://x.fr/[quote=\"admin, a\"]'>",
]
fragments = st.lists(st.one_of(st.sampled_from(ATTACKS), st.text(max_size=8)), max_size=25).map("".join)
html_fragments = st.lists(st.one_of(st.sampled_from(HTML_ATTACKS), st.text(max_size=8)),
                          max_size=25).map("".join)
names = st.lists(st.sampled_from(["Marie", "@staff", "\u202eexe.fdp", "[quote]", "![x](http://e/p.png)",
                                  "*", "\u2066", " ", "<img src=x>", "é", "&#64;x", "#staff"]), max_size=5).map("".join)
filenames = st.lists(st.sampled_from(["a", "\u202e", "fdp.exe", "](http://e/p.png) ![x", "[img]", "@staff",
                                      "|", "\\", "\u2067", ".png", "`", "#staff", 'quote="admin, a"',
                                      'username:admin"']), min_size=1, max_size=6).map("".join)

# The email package draws MIME boundaries with the random module (harmless here).
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
OWN_PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 8


@st.composite
def hostile_mails(draw) -> bytes:
    msg = EmailMessage()
    name = draw(names).replace("\n", " ").replace('"', "")
    msg["From"] = f'"{name}" <pirate@evil.example>' if name.strip() else "pirate@evil.example"
    msg["To"] = "club@listes.example.org"
    msg["Subject"] = "Attaque"
    msg["Message-ID"] = f"<prop-{draw(st.integers(0, 10**12))}@evil.example>"
    kind = draw(st.sampled_from(["plain", "html", "alternative", "forward"]))
    text = draw(fragments)
    if kind == "plain":
        msg.set_content(text or "x")
    elif kind == "forward":
        inner = EmailMessage()
        inner["From"] = draw(names).strip() or "x@y.fr"
        inner["Subject"] = " ".join(draw(fragments)[:200].split()) or "s"
        inner.set_content(text or "x")
        msg.set_content("Message transféré")
        msg.add_attachment(inner)
    else:
        html = "<html><body>" + draw(html_fragments) + "</body></html>"
        msg.set_content("" if kind == "html" else text or "x")
        msg.add_alternative(html, subtype="html")
        msg.get_payload()[-1].add_related(OWN_PNG, maintype="image", subtype="png", cid="<own1>",
                                          filename=draw(filenames))
    for _ in range(draw(st.integers(0, 2))):
        msg.add_attachment(b"data", maintype="application", subtype="octet-stream",
                           filename=draw(filenames))
    return msg.as_bytes()


def _body_as_posted(raw: bytes) -> tuple[str, set[str]]:
    """The mail stages' Markdown, inline images swapped for upload-like URLs as publish does."""
    body = extract_body(parse_bytes(raw))
    markdown, _ = trim_body(body.markdown)
    own = set()
    for index, att in enumerate(body.attachments):
        if att.content_id and f"cid:{att.content_id}" in markdown:
            url = f"upload://own{index}.png"
            markdown = markdown.replace(f"cid:{att.content_id}", url)
            own.add(url)
    return re.sub(r"!\[([^\]\n]*)\]\(cid:[^)\s]*\)", r"\1", markdown), own


def _live(raw: str, own: set[str]) -> list[str]:
    from forumsync.raw_form import stored_raw

    raw = stored_raw(raw)  # what the forum stores, then cooks and reads
    structural = [p for p in live_syntax(raw, own) if not p.startswith("onebox")]
    cooked = cook(raw, resolve_upload=lambda short: f"/uploads/{short}")
    allowed = {f"/uploads/{u[len('upload://'):].split('.')[0]}" for u in own}
    cooked_live = re.findall(r'class="mention', cooked) + re.findall(r"<aside\b", cooked)
    cooked_live += re.findall(r'class="hashtag-', cooked)  # cooked, or raw: looked up either way
    cooked_live += [s for s in re.findall(r'<img[^>]*\ssrc="([^"]*)"', cooked) if s not in allowed]
    return structural + cooked_live + _raw_read(raw)


# What Discourse's server reads in the raw apart from cooking (tests/security/test_raw_readers.py)
_RAW_READERS = [re.compile(r'\[quote=\"([^,]+),.+\"\]'), re.compile(r'username:([^\W_]*)"(?=\])'),
                re.compile(r'\[quote=\"([^"]+)"\]'), re.compile(r'\[chat quote=\"([^;]+);.+\"\]')]


def _raw_read(raw: str) -> list[str]:
    return [m.group(0) for pattern in _RAW_READERS for m in pattern.finditer(raw)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_mails())
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e1@x>\n\n"
         b"@staff \\@everyone [quote=\"admin\"]\nx\n[/quote]\n![a](http://127.0.0.1/x.png)\n")
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e2@x>\n\n"
         b"!www.exemple.fr\n")  # found by this test: "!" before a bare URL made an image
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e3@x>\n\n"
         b"&www.exemple.fr@staff\n")  # found by this test: a link after punctuation, then @staff
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e4@x>\n"
         b"Content-Type: text/html; charset=utf-8\n\n<html><body>```@staff`</body></html>\n")
# found by this test (CI, 6 Dec 2026): « ```@staff` » taken for a code fence, its @staff left live
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e5@x>\n"
         b"Content-Type: text/html; charset=utf-8\n\n"
         b"<html><body><a href='http://x'>@staff<p>exemple.fr@staff</body></html>\n")
# found by this test (CI rehearsal, 6 Dec 2026): a bare domain (no "www.") linkify ends at the "@"
@example(b"From: pirate@evil.example\nTo: club@listes.example.org\nSubject: Attaque\n"
         b"Message-ID: <prop-0@evil.example>\nContent-Type: text/plain; charset=\"utf-8\"\n\n"
         b"<a href='http://x'>exemple.fr@staff\n")
# found by this test (CI rehearsal, 7 Dec 2026): a URL holding ">" written as « <…> » ended there
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e6@x>\n"
         b"Content-Type: text/html; charset=utf-8\n\n"
         b"<html><body><a href='http://x'><pre>@x\n[quote]</pre></body></html>\n")
# found by this test (7 Dec 2026, same day): a <pre> inside a link left « [quote] » at a line's start
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e7@x>\n\n"
         b"Bonjour,\n\n+\n    premier point\n\n    ![a](http://127.0.0.1/x.png) <img src=http://e/x.png>\n")
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e8@x>\n\n"
         b"Merci\n\n> +\n>     point\n>\n>     ![a](http://127.0.0.1/x.png)\n")
# red team, 25th pass: a bare « + » opened a list the indented-code shortcut did not see
@example(b"From: a@b.fr\nTo: club@listes.example.org\nSubject: s\nMessage-ID: <e9@x>\n\n#_\n#&lowbar;x #\\-y\n")
# found by this test (fast lane, 7 Dec 2026): « #_ » written « #\\_ », a hashtag once unescaped
def test_mail_stages_never_produce_live_syntax(raw):
    markdown, own = _body_as_posted(raw)
    assert _live(markdown, own) == [], markdown


def test_the_checks_see_what_is_live():
    """The two checks are not blind: raw Markdown with each construct is reported."""
    for raw, own in [("@staff", set()), ("\\@staff", set()), ('[quote="a"]\nx\n[/quote]', set()),
                     ("![a](http://e/p.png)", set()), ("[img]http://e/p.png[/img]", set()),
                     ("<img src=http://e/p.png>", set()), ("![a](upload://x.png)", {"upload://y.png"}),
                     ("#staff", set()), ("\\#staff", set()), ("&#35;c::tag", set()), ("**x**#staff", set()),
                     ('`[quote="admin, a"]`', set()), ('<https://x.fr/username:admin"]>', set())]:
        assert _live(raw, own), raw
    assert _live("![a](upload://own1.png) marie@x.fr @\u200bstaff \\[quote\\]", {"upload://own1.png"}) == []
    assert _live("#\u200bstaff C# C#2 `#staff` <https://x.fr/#a> &#12;", set()) == []


# ---------------------------------------------------------------- through the service
_service_examples = settings(max_examples=25, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.admin_api_limit(6000)  # 25 mails through the service: above Discourse's 60/min
@_service_examples
@given(raw=hostile_mails())
def test_posts_made_from_mail_hold_no_live_syntax(raw, tmp_path_factory, localforum):
    """HTTP inbound → worker → local forum: the stored post's raw and cooked (images only
    from the uploads this mail made), the staged user's name, the uploads' file names."""
    from sqlalchemy import select

    from forumsync.app import create_app
    from forumsync.localforum.models import Post, Upload, User
    from forumsync.localforum.serialize_uploads import base62_sha1, upload_url
    from tests.fixtures.pipeline import make_pipe

    tmp = tmp_path_factory.mktemp("prop")
    ctx, pipe = make_pipe(tmp, f"sqlite:///{tmp / 'fs.sqlite3'}", localforum,
                          INBOUND_TOKEN="jeton-propriete")
    try:
        with localforum.session() as s:
            posts_before = set(s.scalars(select(Post.id)))
        client = create_app(context=ctx).test_client()
        answer = client.post("/inbound/mail", data=raw, headers={"Authorization": "Bearer jeton-propriete"})
        assert answer.status_code == 202, answer.text
        pipe.run()
        with localforum.session() as s:
            posts = [p for p in s.scalars(select(Post)) if p.id not in posts_before]
            # the mail's own files (an identical file uploaded earlier is reused: same upload)
            carried = {hashlib.sha1(a.data).hexdigest() for a in extract_body(parse_bytes(raw)).attachments}
            mine = [u for u in s.scalars(select(Upload)) if u.sha1 in carried]
            paths = {upload_url(u) for u in mine}
            short = {f"upload://{base62_sha1(u.sha1)}.{u.extension}" for u in mine}
            names = [u.name or "" for u in s.scalars(select(User))]
            files = [u.original_filename for u in mine]
        assert pipe.rows()[-1].state in ("published", "dropped", "quarantined")
        for post in posts:
            cooked_live = re.findall(r'class="mention', post.cooked) + re.findall(r"<aside\b", post.cooked)
            cooked_live += re.findall(r'class="hashtag-', post.cooked)
            cooked_live += [s for s in re.findall(r'<img[^>]*\ssrc="([^"]*)"', post.cooked) if s not in paths]
            assert cooked_live == [], (post.raw, post.cooked)
            assert [p for p in live_syntax(post.raw, short) if not p.startswith("onebox")] == [], post.raw
        assert not any(BIDI.search(n) for n in names) and not any(BIDI.search(f) for f in files)
    finally:
        ctx.close()
