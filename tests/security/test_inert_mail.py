"""Issue 12, point 3: text from list mail is inert on the forum. Each attack goes through the
real service (LMTP → inbox → worker → local forum over HTTP, cooked as Discourse cooks) and
asserts what the attacker gets: no live mention, no forged quote, no image but the mail's own
attachments, no bidi trickery in names and file names; links stay clickable (no onebox)."""
from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from forumsync.inbound.lmtp import start_lmtp_server
from forumsync.localforum.models import Post, Upload, User
from forumsync.localforum.serialize_uploads import upload_url
from forumsync.mail.inert import BIDI, live_syntax
from tests.fixtures.pipeline import make_mail, make_pipe

LIST = "club@listes.example.org"


@pytest.fixture
def service(tmp_path, sqlite_url, localforum):
    """The pipeline behind a real LMTP server, theme categories provisioned; members and
    groups an attacker would like to ping exist on the forum."""
    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum)
    pipe.provision()
    localforum.create_user("admin2", "admin2@club.example.org", "Admin Deux", admin=True)
    localforum.create_group("staff2", usernames=["admin2"])
    server = start_lmtp_server(ctx)

    def deliver(raw: bytes):
        with smtplib.LMTP("127.0.0.1", server.port) as client:
            assert client.sendmail("liste@listes.example.org", [LIST], raw) == {}
        pipe.run()
        with localforum.session() as s:
            return s.scalars(select(Post).order_by(Post.id.desc())).first()

    pipe.deliver = deliver
    yield pipe
    server.stop()
    ctx.close()


def _live_in_cooked(cooked: str, upload_srcs=()) -> list[str]:
    """Live mentions, quotes and images in the forum's cooked HTML."""
    found = re.findall(r'class="mention[^"]*"', cooked) + re.findall(r"<aside\b", cooked)
    found += [src for src in re.findall(r'<img[^>]*\ssrc="([^"]*)"', cooked) if src not in upload_srcs]
    return found


def _upload_srcs(localforum) -> set[str]:
    with localforum.session() as s:
        return {upload_url(u) for u in s.scalars(select(Upload))}


def _html_mail(html: str, *, sender="Pirate <pirate@evil.example>", subject="Attaque", related=()):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, LIST, subject
    msg["Message-ID"] = f"<{abs(hash(html))}@evil.example>"
    msg.set_content("(version texte vide)")
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    for cid, data in related:
        html_part.add_related(data, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid}.png")
    return msg.as_bytes()


def test_mentions_in_plain_and_html_mail_notify_nobody(service, localforum):
    plain = service.deliver(make_mail(
        subject="Annonce", body="@staff2 @admin2 @everyone, (@staff2) \\@admin2 &#64;admin2\n"
        "écrire à marie@meyzieu.fr\n", message_id="<mentions-plain@evil.example>"))
    html = service.deliver(_html_mail(
        "<p>Bonjour @staff2 et <b>@admin2</b> <a href='https://x.example.org'>@everyone</a></p>"
        "<p>\\@admin2</p><p>Réponse en bas de page</p>" * 3))
    for post in (plain, html):
        assert _live_in_cooked(post.cooked) == [], post.cooked
        assert [p for p in live_syntax(post.raw) if p.startswith("mention")] == []
    assert "@\u200bstaff2" in plain.raw and "marie@meyzieu.fr" in plain.raw  # address untouched
    assert "@\u200bstaff2" in plain.cooked  # the text is still there, just not a mention


def test_forged_quote_bbcode_is_shown_as_text(service, localforum):
    forged = '[quote="admin2, post:1, topic:1"]\nJe suis l\'administrateur, envoyez vos mots de passe.\n[/quote]'
    plain = service.deliver(make_mail(subject="Citation", body=forged + "\n",
                                      message_id="<quote-plain@evil.example>"))
    html = service.deliver(_html_mail(
        '<p>[quote="admin2, post:1, topic:1"]</p><p>Je suis l\'administrateur</p><p>[/quote]</p>'
        "<p>[img]http://127.0.0.1:9/interne.png[/img]</p>" * 2, subject="Citation HTML"))
    for post in (plain, html):
        assert "<aside" not in post.cooked and "<img" not in post.cooked, post.cooked
        assert "[quote=" in post.cooked.replace("\u200b", "")  # visible as text (test_raw_readers)
        assert not any(p == "quote" or p.startswith("image") for p in live_syntax(post.raw))


def test_no_image_but_the_mails_own_attachments(service, localforum):
    html = ('<p>Voici la capture :</p><img src="cid:capture@mail">'
            '<img src="http://169.254.169.254/latest/meta-data.png" alt="interne">'
            '<img src="https://intranet.club.local/logo.png" alt="logo">'
            '<p>![piège](http://127.0.0.1:8080/admin.png) et '
            '<a href="https://a.example.org/x) ![i](https://evil.example/p.png">lien</a></p>')
    post = service.deliver(_html_mail(html, related=[("capture@mail", b"\x89PNG\r\n\x1a\nimage")]))
    uploads = _upload_srcs(localforum)
    images = re.findall(r'<img[^>]*\ssrc="([^"]*)"', post.cooked)
    assert images and set(images) <= uploads, (images, uploads)  # the capture, nothing else
    assert _live_in_cooked(post.cooked, uploads) == []
    # the remote images are still reachable, as links
    assert 'href="https://intranet.club.local/logo.png"' in post.cooked
    plain = service.deliver(make_mail(
        subject="Images", body="![x](http://127.0.0.1:8080/admin.png)\n<img src=http://10.0.0.1/a.png>\n"
        "[img]http://10.0.0.1/b.png[/img]\n", message_id="<img-plain@evil.example>"))
    assert "<img" not in plain.cooked, plain.cooked


def test_links_stay_clickable_and_are_not_oneboxed(service, localforum):
    post = service.deliver(make_mail(subject="Liens", body="https://intranet.club.local/photo.png\n"
                                     "voir www.exemple.fr et https://x.example.org/a_b\n",
                                     message_id="<links@evil.example>"))
    assert '<a href="https://intranet.club.local/photo.png">' in post.cooked
    assert '<a href="http://www.exemple.fr">www.exemple.fr</a>' in post.cooked
    assert not [p for p in live_syntax(post.raw) if p.startswith("onebox")], post.raw


def test_bidi_controls_leave_names_and_file_names(tmp_path, sqlite_url, localforum):
    """Bridge account (no plugin): the attribution line shows the name; with the plugin the
    staged user carries it. Neither keeps bidi controls, nor does the file name."""
    for plugin in (True, False):  # hiding the plugin lasts: without it last
        ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=plugin)
        if plugin:
            pipe.provision()
        server = start_lmtp_server(ctx)
        raw = make_mail(subject="Facture", sender=f'"Marie\u202eetnevuoM" <m{plugin}@evil.example>',
                        body="ci-joint\n", message_id=f"<bidi-{plugin}@evil.example>",
                        attachments=[("facture\u202efdp.exe", "application/octet-stream", b"MZ"),
                                     ("a\u2066b\u2069c.txt", "text/plain", b"x")])
        try:
            with smtplib.LMTP("127.0.0.1", server.port) as client:
                client.sendmail("l@listes.example.org", [LIST], raw)
            pipe.run()
        finally:
            server.stop()
        with localforum.session() as s:
            post = s.scalars(select(Post).order_by(Post.id.desc())).first()
            names = [u.name or "" for u in s.scalars(select(User))]
            files = [u.original_filename for u in s.scalars(select(Upload))]
        assert not BIDI.search(post.raw) and not BIDI.search(post.cooked)
        assert not any(BIDI.search(n) for n in names) and not any(BIDI.search(f) for f in files)
        assert "facturefdp.exe" in post.raw and "abc.txt" in post.raw
        assert _live_in_cooked(post.cooked, _upload_srcs(localforum)) == [], post.cooked
        if not plugin:
            assert "MarieetnevuoM" in post.raw  # the attribution line, reversal gone
        else:
            assert "MarieetnevuoM" in names
        ctx.close()


HASHTAG_MAIL = ("Voir #staff, #annonces::tag et #c::tag ; \\#staff &#35;staff.\n"
                "En C# ou C#2, le ticket n°#3 et #12, https://exemple.fr/doc#section\n"
                "\n"
                "    #define STAFF 1 /* #staff en code indenté */\n")


def _restricted_category_and_tags(localforum) -> None:
    """A category only the staff2 group sees, and tags an attacker could name."""
    from forumsync.localforum.models import Tag

    localforum.create_category("Équipe", slug="staff", permissions={"staff2": 1})
    with localforum.session() as s:
        s.add_all([Tag(name="annonces"), Tag(name="c"), Tag(name="12"), Tag(name="3")])


def _hashtags_in_cooked(cooked: str) -> list[str]:
    return re.findall(r'class="hashtag-(?:cooked|raw)"[^>]*>', cooked)


@pytest.mark.parametrize("plugin", [True, False], ids=["staged-author", "bridge-account"])
def test_hashtags_in_mail_pull_no_category_or_tag(tmp_path, sqlite_url, localforum, plugin):
    """``#slug`` is looked up when Discourse cooks the post, with the guardian of its last
    editor (the bridge account is an admin: it sees the restricted category and would show
    its name and link to every reader). From mail it is shown as written, never cooked."""
    _restricted_category_and_tags(localforum)
    # The local forum cooks hashtags as Discourse does: an admin's own post links them.
    own = localforum.client().create_post("Voir #staff et #annonces::tag, merci bien.",
                                          title="Un sujet écrit sur le forum", category_id=1)
    with localforum.session() as s:
        cooked = s.get(Post, own["id"]).cooked
    assert 'class="hashtag-cooked" href="/c/staff/' in cooked and "<span>Équipe</span>" in cooked, cooked
    assert 'href="/tag/annonces"' in cooked, cooked

    ctx, pipe = make_pipe(tmp_path, sqlite_url, localforum, plugin=plugin)
    pipe.provision()
    try:
        row = pipe.send(make_mail(subject="Croisillons", body=HASHTAG_MAIL,
                                  message_id=f"<hashtags-{plugin}@evil.example>"))
        assert row.state == "published", (row.state, row.reason)
        with localforum.session() as s:
            post = s.scalars(select(Post).order_by(Post.id.desc())).first()
            raw, cooked, author = post.raw, post.cooked, post.user.username
    finally:
        ctx.close()
    assert (author == ctx.settings.FORUM_API_USERNAME) is not plugin, author
    assert _hashtags_in_cooked(cooked) == [], cooked
    assert "Équipe" not in cooked and "/tag/" not in cooked, cooked
    assert [p for p in live_syntax(raw) if p.startswith("hashtag")] == [], raw
    # shown as written (a zero-width space after the "#"), the rest untouched
    for written in ("#\u200bstaff", "#\u200bannonces::tag", "#\u200bc::tag", "#\u200b12", "n°#\u200b3"):
        assert written in cooked, (written, cooked)
    assert "C# ou C#2" in raw and "https://exemple.fr/doc#section" in raw, raw
    assert "<pre><code>#define STAFF 1 /* #staff en code indenté */" in cooked, cooked


def test_hashtags_in_html_mail_and_names_are_inert(service, localforum):
    _restricted_category_and_tags(localforum)
    post = service.deliver(_html_mail(
        "<p>Voir #staff et <b>#annonces::tag</b>, <code>#include</code> "
        "<a href='https://x.example.org/#frag'>#c::tag</a></p><p>Réponse en bas de page</p>" * 3,
        sender="#staff <pirate@evil.example>"))
    assert _hashtags_in_cooked(post.cooked) == [], post.cooked
    assert [p for p in live_syntax(post.raw) if p.startswith("hashtag")] == [], post.raw
    assert "<code>#include</code>" in post.cooked and "https://x.example.org/#frag" in post.cooked


def _cooks_a_hashtag(raw: str) -> bool:
    from forumsync.localforum.cooking import cook

    def everything(slug):
        return {"relative_url": "/c/x/1", "text": "Réservée", "type": "category",
                "slug": slug, "ref": slug, "id": 1}
    return "hashtag-cooked" in cook(raw, hashtag_lookup=everything)


@pytest.mark.parametrize("text", ["#&#115;taff", "voir #\\_staff", "#\\-x", "#&eacute;quipe",
                                  "a \\&#115;", "#&#x73;taff"])
def test_hashtag_name_written_as_escape_or_entity_is_made_inert(text):
    """markdown-it decodes an escape or an entity and joins it to the "#" before Discourse's
    text-post-process reads it: "#\\_staff" (an HTML mail's "#_staff") is the hashtag
    "#_staff". neutralise_text missed them; post_inert's force could not either, and the
    message was held in quarantine."""
    from forumsync.mail.inert import neutralise_text
    from forumsync.pipeline.post_inert import inert

    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), out
    assert [p for p in live_syntax(out) if p.startswith("hashtag")] == [], out
    [forced], _ = inert([text], [], set())  # the net alone: never a quarantine
    assert not _cooks_a_hashtag(forced), forced


def test_html_mail_hashtag_with_underscore_is_published_inert(service, localforum):
    _restricted_category_and_tags(localforum)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Pirate <pirate@evil.example>", LIST, "Souligné"
    msg["Message-ID"] = "<souligne@evil.example>"
    msg.set_content("<p>Voir #_staff_ et #staff</p>", subtype="html")
    post = service.deliver(msg.as_bytes())
    assert post is not None and "Voir #" in post.raw, "held in quarantine, not published"
    assert _hashtags_in_cooked(post.cooked) == [], post.cooked


@pytest.mark.parametrize("text", ["voir #-staff.fr", "voir #---www.x.fr ici", "www.x.fr#&#115;taff",
                                  "www.x.fr#_a_#staff", "#-x.fr#@#a"])
def test_hashtag_before_a_hyphen_or_after_a_link_is_judged_on_the_unmarked_parse(text):
    """The invisible marks after a candidate "#" are pseudo-letters for linkify: "⁠…-staff.fr"
    is a host where "-staff.fr" is none, and "x.fr#⁠…" keeps the "#" in its link where
    linkify (before text_join) ends "x.fr#" at the "#". neutralise_text left the hashtag
    live; post_inert's zero-width space is a letter too and makes a link (onebox): quarantine.
    The result is now checked on its own parse, and such a "#" gets the zero-width space
    written as an entity before it (linkify does not read it), the links unchanged (39th pass)."""
    from forumsync.mail.inert import neutralise_text
    from forumsync.pipeline.post_inert import inert

    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), out
    inert([out], [], set())  # published, not held


@pytest.mark.parametrize("text", ["a\r\rvoir #-staff.fr", "\r#-a.fr #-b.fr", "a\rb\r\rvoir #-staff.fr"])
def test_hashtag_before_a_hyphen_after_a_lone_carriage_return_is_made_inert(text):
    """markdown-it ends a line at a lone "\r": the unmarked check's lines (counted on "\n")
    named other blocks, and the hashtag stayed live (red team, rt40)."""
    from forumsync.mail.inert import neutralise_text

    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), repr(out)


@pytest.mark.xfail(strict=True, reason="known limit: after a stray </a> the forum counts a linkify link as outside a link; "
                   "this \"#\" cannot be made inert without changing the address (post_inert escapes the </a>)")
def test_numeric_reference_in_a_link_after_a_stray_closing_a_is_made_inert():
    """After a stray "</a>" Discourse's link count is at 0 inside a linkify link, whose text
    keeps "&#115;" raw: its "#115" is cooked. The "#" of a numeric reference is no candidate,
    so neutralise_text left it live (red team, rt40)."""
    from forumsync.mail.inert import neutralise_text

    out = neutralise_text("</a> voir https://x.fr/&#115;taff")
    assert not _cooks_a_hashtag(out), repr(out)


def _hrefs(raw: str) -> list[str]:
    from forumsync.localforum.cooking import cook
    return re.findall(r'href="([^"]*)"', cook(raw))


@pytest.mark.xfail(strict=True, reason="known limit: \"&#35;\" is decoded to \"#\" everywhere, in a linkify link too")
def test_hash_entity_inside_a_link_is_left_as_written():
    """"&#35;" is decoded into a "#" before the candidates are found, in a linkify link too,
    where markdown-it keeps it raw: the link's address changed (red team, rt40)."""
    from forumsync.mail.inert import neutralise_text

    text = "voir https://x.fr/a&#35;staff"
    assert _hrefs(neutralise_text(text)) == _hrefs(text)


def test_hashtag_before_emphasis_keeps_the_emphasis():
    """"#_important_": the "#" is alone in its text token (no hashtag), the rest emphasis. The
    mark after the "#" (a letter) stops the "_" from opening it: judged live, the zero-width
    space written after the "#" shows "#_important_" (red team, rt40)."""
    from forumsync.localforum.cooking import cook
    from forumsync.mail.inert import neutralise_text

    text = "voir #_important_ ici"
    assert "<em>" in cook(neutralise_text(text)), repr(neutralise_text(text))


@pytest.mark.parametrize("text", ["écrire à marie@meyzieu.fr#staff", "a@b.fr#staff merci",
                                  "voir www.exemple.fr#staff", "mailto:a@b.fr#staff"])
def test_a_hashtag_right_after_a_link_is_made_inert(text):
    """A "#" after a letter is no hashtag in a text token, and ``neutralise_hashtags`` skips
    the parse when every "#" is so (``C#``); but a link linkify ends at the "#" (an address
    cannot hold it) leaves the "#" at the start of the next text token, where Discourse cooks
    it: such a word holds something linkify may link, and is decided on the parse."""
    from forumsync.mail.inert import neutralise_text

    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), out


@pytest.mark.parametrize("text", ["En C# ou C#2", "le bug#12 et l'issue#3", "Marché#Été"])
def test_a_hashtag_after_a_letter_is_left_as_written(text):
    from forumsync.mail.inert import neutralise_text

    assert neutralise_text(text) == text
    assert not _cooks_a_hashtag(text)


@pytest.mark.parametrize("text", ["`a <https://x.fr/`#staff>", "\\<https://x.fr/ #staff>",
                                  "<https://x.fr/a #staff>"])
def test_a_hashtag_in_what_only_looks_like_an_autolink_is_made_inert(text):
    """A "#" inside an autolink is in a link (``<https://x.fr/page#ancre>``, left as written
    without a parse); but a code span opened before takes the "<" (the autolink is none),
    and so does an escape or a space."""
    from forumsync.mail.inert import neutralise_text

    assert _cooks_a_hashtag(text)  # as written, Discourse would cook it
    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), out


def test_a_fragment_in_an_autolink_is_left_as_written():
    from forumsync.mail.inert import neutralise_text

    text = "Voir <https://files.exemple.fr/manual/page.html#usrp2_load> et <http://x.fr/#a>."
    assert neutralise_text(text) == text
    assert not _cooks_a_hashtag(text)


@pytest.mark.parametrize("text", [
    "a | b\n--|--\n<https://x.fr/|#staff>",  # a table's "|" splits the autolink into two cells
    "[a](x<https://x.fr/)#staff>",  # a link's destination takes the "<" and ends at the ")"
    "[img]<https://x.fr/[/img]#staff>",  # Discourse's inline [img] takes it up to its [/img]
    "x </a> <https://x.fr/#staff>",  # a stray </a> before: the autolink's text is "outside" a link
])
def test_a_hashtag_in_an_autolink_another_construct_breaks_is_made_inert(text):
    """``neutralise_hashtags`` skips the parse when every "#" lies in an autolink
    (``<https://x.fr/page#ancre>``); but a table cell, a link destination or an inline
    ``[img]`` may take the autolink's start and end inside it, leaving the "#" at the start
    of a text token (red team, 39th pass)."""
    from forumsync.mail.inert import neutralise_text

    assert _cooks_a_hashtag(text)  # as written, the forum cooks it
    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), out


@pytest.mark.parametrize("text", ["voir https://x.fr/p#-staff et #-a.fr",
                                  "https://x.fr/p#:~:text=a et #---www.x.fr ici",
                                  "<https://x.fr/#_a> et www.x.fr#&#115;taff"])
def test_a_misjudged_hashtag_is_made_inert_and_the_links_beside_it_kept(text):
    """The check on the result's own parse (the marks misjudged the hashtag) touches no "#"
    inside a link (a URL cut at its "#" would lose its fragment), makes no link, and shows the
    text as written."""
    from forumsync.localforum.cooking import cook
    from forumsync.mail.inert import neutralise_text

    def links(cooked):
        return re.findall(r'href="([^"]*)"', cooked)

    def shown(cooked):
        return re.sub(r"<[^>]+>", "", cooked).replace("\u200b", "")

    out = neutralise_text(text)
    assert not _cooks_a_hashtag(out), out
    assert links(cook(out)) == links(cook(text)), out
    assert shown(cook(out)) == shown(cook(text)), out


@pytest.mark.xfail(strict=True, reason="known limit: a \"#\" judged live by the marked parse is not checked again unmarked")
def test_hashtag_before_a_scheme_in_emphasis_keeps_the_link():
    """"_#https://x.fr_": linkify makes the link, the "#" is alone in its text token (dead); the
    marked parse judged it live and the raw zero-width space after it (a letter to linkify)
    removed the link (red team, rt40)."""
    from forumsync.mail.inert import neutralise_text

    text = "_#https://x.fr_"
    out = neutralise_text(text)
    assert _hrefs(out) == _hrefs(text), repr(out)
    assert not _cooks_a_hashtag(out), repr(out)


def _cooked_hrefs(raw: str) -> list[str]:
    from forumsync.localforum.cooking import cook

    return re.findall(r'href="([^"]*)"', cook(raw))


@pytest.mark.parametrize("text", ["voir www.x.fr/doc#intro et #staff puis #\u2060\u200d\u2063x",
                                  "<code>int#main</code> et #staff puis #\u2060\u200c\u2063x"])
def test_invisible_characters_the_sender_wrote_are_no_marks(text):
    """Red team, 42nd pass: the sender's own U+2060 U+200D U+2063 after a "#" spelled the mark
    of candidate 1, and the zero-width space went into the link's address (or into code)."""
    from forumsync.mail.html import html_to_markdown
    from forumsync.mail.inert import neutralise_text
    from forumsync.mail.text import plain_to_markdown

    markdown = html_to_markdown(text) if text.startswith("<") else plain_to_markdown(text)
    result = neutralise_text(markdown)
    assert _cooked_hrefs(result) == _cooked_hrefs(markdown)
    assert "`int#main`" in result or "<code>" not in text
    assert "#\u200bstaff" in result


def test_a_hashtag_a_rewritten_link_brings_to_life_is_forced_inert_not_held():
    """Red team, 42nd pass: the last check writes a bare link as « <http://…> »; linkify then
    reads the text beside it differently, and « #staff » came alive: the message was held."""
    from forumsync.mail.inert import neutralise_text
    from forumsync.mail.text import plain_to_markdown
    from forumsync.pipeline.post_inert import inert

    markdown = neutralise_text(plain_to_markdown("voir www.~.fr;a@b.fr#staff"))
    parts, tail = inert([markdown], [], set())
    assert live_syntax(parts[0]) == [] and "#\u200bstaff" in parts[0]


@pytest.mark.parametrize("text", ["salut\u180e@staff et\u180e#staff", "voir\u2028#staff",
                                  "\u00a0\u00a0\u00a0\u00a0#staff @staff"])
def test_what_the_forum_stores_as_a_space_is_judged_as_one(text):
    """The stored form (red team, 43rd pass, reviewed): Discourse writes U+180E, U+2028, no-break and
    thin spaces as plain spaces before it cooks (TextCleaner.normalize_whitespaces); U+180E is
    no space for Python nor JavaScript, so « x\\u180e#staff » was judged « C# »-like here and
    cooked « x #staff » there: a live hashtag."""
    from forumsync.mail.inert import neutralise_text
    from forumsync.mail.text import plain_to_markdown
    from forumsync.pipeline.post_inert import inert
    from forumsync.raw_form import stored_raw

    parts, _tail = inert([neutralise_text(plain_to_markdown(text))], [], set())
    stored = stored_raw(parts[0])
    assert live_syntax(stored) == [], stored
    assert "#\u200bstaff" in stored or stored.startswith("    #staff")  # (or indented code: inert)
    assert _live_in_cooked(cook_stored(stored)) == []
    net, _tail = inert([text], [], set())  # the last check alone sees it too
    assert live_syntax(stored_raw(net[0])) == []


def cook_stored(raw: str) -> str:
    from forumsync.localforum.cooking import cook

    return cook(raw)
