"""Red team, 41st pass: Discourse's server reads quote BBCode in a post's raw with regular
expressions, apart from cooking (code, link addresses and image labels included), and an
escape does not stop them. ``PostAlerter#extract_quoted_users`` notifies the user named in
``[quote="NAME,…"]``; ``Post#extract_quoted_post_numbers`` files the post as a reply to the
post it names; the chat plugin notifies the user of ``[chat quote="NAME;…"]``. Nothing a
mail carries may match them; what readers see stays as the sender wrote it."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from forumsync.localforum.alerts import QUOTED
from forumsync.localforum.models import Notification, User
from forumsync.mail.raw_readers import ZWSP, break_raw_readers, raw_reader_claims
from forumsync.pipeline.post_inert import inert
from tests.fixtures.pipeline import make_mail
from tests.security.test_inert_mail import _html_mail, service  # noqa: F401 (fixture)

# Discourse's patterns, transcribed here on their own (not forumsync's copy).
RUBY = [re.compile(r'\[quote=\"([^,]+),.+\"\]'),        # app/services/post_alerter.rb
        re.compile(r'username:([^\W_]*)"(?=\])'),       # the same, display_name_on_posts
        re.compile(r'\[quote=\"([^"]+)"\]'),            # app/models/post.rb
        re.compile(r'\[chat quote=\"([^;]+);.+\"\]')]   # plugins/chat post_notification_handler.rb


def _ruby_finds(raw: str) -> list[str]:
    return [m.group(0) for pattern in RUBY for m in pattern.finditer(raw)]


def _quoted_notifications(localforum, username: str) -> int:
    with localforum.session() as s:
        user_id = s.scalar(select(User.id).where(User.username == username))
        return len(s.scalars(select(Notification.id).where(Notification.user_id == user_id,
                                                           Notification.notification_type == QUOTED)).all())


def test_the_local_forum_notifies_a_user_quoted_by_name(localforum):
    """The check below is not blind: a member's own post quoting admin2 notifies admin2."""
    localforum.create_user("admin2", "admin2@club.example.org", "Admin Deux", admin=True)
    localforum.create_user("claire", "claire@club.example.org", "Claire")
    member = localforum.client("claire")
    member.create_post('[quote="admin2, post:1, topic:1"]\ntexte\n[/quote]\n\nje réponds ici, merci',
                       title="Une citation écrite sur le forum")
    assert _quoted_notifications(localforum, "admin2") == 1


def test_quote_bbcode_in_addresses_code_and_file_names_notifies_nobody(service, localforum):
    plain = service.deliver(make_mail(
        subject="Liens", message_id="<rt41-plain@evil.example>",
        body='voir https://evil.example.org/[quote="admin2,post:1"]\n'
             "et encore \\[quote=\"admin2, post:1\" un texte\"] ici\n"
             "\n    [quote=\"admin2, post:1, topic:1\"] dans du code indenté\n",
        attachments=[('quote="admin2, post:1, topic:1"', "image/png", b"\x89PNG\r\n\x1a\nimage")]))
    html = service.deliver(_html_mail(
        '<pre>[quote="admin2, post:1, topic:1"]\n[chat quote="admin2;1;x"]</pre>'
        '<p><code>[quote="admin2, a"]</code> <kbd>username:admin2"]</kbd> '
        "<a href='https://x.example.fr/[quote=\"admin2, a\"]'>le lien</a></p>"))
    for post in (plain, html):
        assert _ruby_finds(post.raw) == [], post.raw
        assert ZWSP in post.raw or "%22" in post.raw
    assert _quoted_notifications(localforum, "admin2") == 0
    # what readers see is what was written: the address is the one a browser requests
    # (its brackets percent-encoded since the 53rd pass: no « [quote » left to read)
    assert "<https://evil.example.org/%5Bquote=\"admin2,post:1\"%5D>" in plain.raw
    assert 'href="https://x.example.fr/%5Bquote=%22admin2,%20a%22%5D"' in html.cooked
    assert '[quote="admin2, post:1, topic:1"]' in html.cooked.replace(ZWSP, "")


@pytest.mark.parametrize("text", [
    '```\n[quote="admin2, post:1, topic:1"]\n```',
    '![quote="admin2, post:1"](upload://x.png)',
    '\\[quote="admin, post:1"\\] et `"]`',
    'x username:marie"] y',
    '[chat quote="marie;1;2"]',
    '[quote="a\n,b"]',
    '[quote="[quote="admin,x"]',
    "`[quote=\"admin, post:3, topic:9\"]`",
])
def test_break_leaves_no_match_and_the_same_visible_text(text):
    assert _ruby_finds(text)
    broken = break_raw_readers(text)
    assert _ruby_finds(broken) == [] and raw_reader_claims(broken) == []
    assert broken.replace(ZWSP, "") == text


@pytest.mark.parametrize("text, expected", [
    ('<https://x.fr/[quote="a,b"]>', '<https://x.fr/[quote=%22a,b"]>'),
    ('[t](https://x.fr/[quote="a,b"])', '[t](https://x.fr/[quote=%22a,b"])'),
    ('[t](<https://x.fr/[quote="a,b"]>)', '[t](<https://x.fr/[quote=%22a,b"]>)'),
    ('<https://x.fr/username:marie"]>', '<https://x.fr/username:marie%22]>'),
])
def test_in_a_link_address_the_quote_mark_is_percent_encoded(text, expected):
    assert break_raw_readers(text) == expected
    assert _ruby_finds(expected) == []


def test_the_last_check_breaks_a_quote_that_ends_in_another_part():
    """A start in the body and its end in the attachments' links: each part is broken."""
    parts, tail = inert(['merci [quote="admin2'], [', voir"](upload://a.png)'], {"upload://a.png"})
    joined = "\n\n".join(parts + tail)
    assert _ruby_finds(joined) == [] and raw_reader_claims(joined) == []


# plugin/lib/forumsync/post_files.rb, PostFiles::REFERENCE (Ruby's \d: ASCII digits)
PLUGIN_FILE_REFERENCE = re.compile(r"forumsync-file:([0-9]+)(?![0-9])")


@pytest.mark.parametrize("text, expected", [
    ("voir forumsync-file:0 ici", f"voir forumsync-file:{ZWSP}0 ici"),
    ("    forumsync-file:12 en code", f"    forumsync-file:{ZWSP}12 en code"),
    ("[le fichier](forumsync-file:1)", "[le fichier](forumsync-file%3A1)"),
    ("<forumsync-file:2>", "<forumsync-file%3A2>"),
    ("![forumsync-file:3](upload://a.png)", f"![forumsync-file:{ZWSP}3](upload://a.png)"),
])
def test_a_file_reference_the_sender_wrote_is_broken(text, expected):
    """Red team, 46th pass: the plugin replaces "forumsync-file:N" anywhere in the raw by the
    Nth file's address (and refuses the post for an N with no file)."""
    assert PLUGIN_FILE_REFERENCE.search(text)
    broken = break_raw_readers(text)
    assert broken == expected
    assert PLUGIN_FILE_REFERENCE.search(broken) is None and raw_reader_claims(broken) == []
    assert raw_reader_claims(text) and all(c.startswith("file reference forumsync-file:") for c in raw_reader_claims(text))


def test_the_file_references_forumsync_writes_are_left_alone():
    """Only a link's whole address naming one of the post's own files stays a reference."""
    own = {"forumsync-file:0", "forumsync-file:1"}
    text = ("![logo.png](forumsync-file:0) [cr.pdf|attachment](forumsync-file:1) "
            "[x](forumsync-file:2) [y](forumsync-file:0a) forumsync-file:1")
    assert raw_reader_claims(text, own) == ["file reference forumsync-file:2", "file reference forumsync-file:0",
                                            "file reference forumsync-file:1"]
    broken = break_raw_readers(text, own)
    assert [m.group(0) for m in PLUGIN_FILE_REFERENCE.finditer(broken)] == ["forumsync-file:0", "forumsync-file:1"]
    assert raw_reader_claims(broken, own) == []


def test_the_last_check_keeps_its_own_file_references_and_breaks_the_senders():
    own = {"forumsync-file:0"}
    parts, tail = inert(["voir forumsync-file:0 dans le texte"], ["![logo.png](forumsync-file:0)"], own)
    assert parts == [f"voir forumsync-file:{ZWSP}0 dans le texte"]
    assert tail == ["![logo.png](forumsync-file:0)"]
