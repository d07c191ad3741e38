"""Red team, 43rd pass: what forumsync publishes checked with Discourse's own raw readers,
run by Ruby itself (Onigmo: its ``.``, ``[^,]`` and Unicode ``[[:alnum:]]``), on the raw as
Discourse stores it (PostCreator: ``TextCleaner.normalize_whitespaces``). Found: a space
Discourse normalises (``[chat\\u2003quote="``), a name of Unicode letters with marks
(``username:राम"]``), the release feed's link written after the check, and a break that was
quadratic."""
from __future__ import annotations

import email
import email.policy
import json
import shutil
import subprocess
import time
from email.message import EmailMessage

import pytest

from forumsync.mail.body import extract_body
from forumsync.pipeline.post_inert import inert

pytestmark = pytest.mark.skipif(shutil.which("ruby") is None,
                                reason="ruby absent (./run installs it: apt-get install ruby)")

# app/services/post_alerter.rb#extract_quoted_users (both settings), app/models/post.rb
# #extract_quoted_post_numbers, plugins/chat/lib/chat/post_notification_handler.rb, after
# lib/text_cleaner.rb#normalize_whitespaces; and the plugin's own PostFiles::REFERENCE
# (plugin/lib/forumsync/post_files.rb: "forumsync-file:N" is replaced by the Nth file's address)
_RUBY = r'''
s = STDIN.read.force_encoding("UTF-8")
s = s.gsub(Regexp.new("(\u00A0|\u1680|\u180E|[\u2000-\u200A]|\u2028|\u2029|\u202F|\u205F|\u3000)", "u"), " ")
found = []
[/\[quote=\"([^,]+),.+\"\]/, /username:([[:alnum:]]*)"(?=\])/, /\[quote=\"([^"]+)"\]/,
 /\[chat quote=\"([^;]+);.+\"\]/, /forumsync-file:(\d+)(?!\d)/].each { |re| s.scan(re) { found << $~[0] } }
require "json"; puts JSON.generate(found)
'''


def discourse_finds(raw: str) -> list[str]:
    """What Discourse's raw readers find in RAW once stored (Ruby's own regular expressions)."""
    out = subprocess.run(["ruby", "-e", _RUBY], input=raw.encode(), capture_output=True, check=True,
                         timeout=60)
    return json.loads(out.stdout)


def _published(html: str) -> str:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "P <p@evil.example>", "l@x.fr", "s", "<1@x>"
    msg.set_content(html, subtype="html", charset="utf-8", cte="8bit")
    body = extract_body(email.message_from_bytes(msg.as_bytes(), policy=email.policy.default))
    parts, tail = inert([body.markdown], [], set())
    return "\n\n".join(parts + tail)


def test_the_ruby_check_is_not_blind():
    assert discourse_finds('`[quote="admin2, post:1"]`') and discourse_finds('[chat\u2003quote="a;1;x"]')
    assert discourse_finds('<code>username:\u0930\u093e\u092e"]</code>')
    assert discourse_finds("voir forumsync-file:0") == ["forumsync-file:0"]
    assert discourse_finds("forumsync-file:\u0663") == []  # Ruby's \d: ASCII digits only


@pytest.mark.parametrize("html", ['<p><code>username:\u0930\u093e\u092e"]</code></p>',
                                  '<pre>[chat\u2003quote="admin2;1;x"]</pre>',
                                  '<pre>[quote="admin2, post:1, topic:1"]\n[chat quote="admin2;1;x"]</pre>',
                                  "<p><a href='https://x.fr/[quote=\"admin2, a\"]'>lien</a></p>",
                                  "<pre>forumsync-file:0\nforumsync-file:\u0663</pre><p><code>forumsync-file:1</code> "
                                  "<a href='forumsync-file:2'>forumsync-file:3</a></p>"])
def test_html_mail_leaves_nothing_discourse_reads(html):
    raw = _published(html)
    assert discourse_finds(raw) == [], raw


@pytest.mark.parametrize("filename", ['chat\u180equote="admin2;1;x"', 'username:\u0930\u093e\u092e"',
                                      'quote="admin2, post:1, topic:1"'])
def test_an_image_file_name_leaves_nothing_discourse_reads(filename):
    from forumsync.mail.inert import inert_filename, link_label
    from forumsync.pipeline.attach import link_markdown

    link = link_markdown(link_label(inert_filename(filename)), "upload://abc.png", "image/png")
    _parts, tail = inert(["Bonjour"], [link], {"upload://abc.png"})
    assert discourse_finds(tail[0]) == [], tail


def test_the_release_feeds_link_leaves_nothing_discourse_reads():
    from forumsync.community.feeds import Entry
    from forumsync.community.releases import release_raw

    entry = Entry(entry_id="1", title="v1.2", summary="Notes",
                  link='https://evil.example.org/[quote="admin2, post:1, topic:1"]')
    raw = release_raw({"name": "Publik"}, entry)
    assert discourse_finds(raw) == [], raw
    # the address a browser asks for (its brackets percent-encoded since the 53rd pass)
    assert "https://evil.example.org/%5Bquote=" in raw


def test_the_catalogue_refuses_what_discourse_would_read():
    from forumsync.catalogue.apply import TopicRefused, _check_inert
    from forumsync.catalogue.model import Demarche, Group
    from forumsync.catalogue.render import render_group

    demarche = Demarche(source="a", collectivity='[chat\u180equote="admin2;1;x', slug="f",
                        title="Formulaire de test long", url='https://x.fr/"]')
    rendered = render_group(Group(external_id="g", variants=[demarche]), {})
    if discourse_finds(rendered.raw):
        with pytest.raises(TopicRefused):
            _check_inert(rendered)


def test_breaking_a_long_line_of_starts_is_linear():
    """One line of « ](x [quote=" » × 8,300 (100 KB): 18 s in the parse stage when each start
    rescanned its line; ~0.1 s now."""
    def cpu(count: int) -> float:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "P <p@evil.example>", "l@x.fr", "s", "<2@x>"
        msg.set_content('](x [quote="' * count + "\n", charset="utf-8", cte="8bit")
        parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
        start = time.process_time()
        extract_body(parsed)
        return time.process_time() - start

    small, large = cpu(2_000), cpu(8_300)
    assert large < 8 * small + 1.0, (small, large)


def test_a_link_label_ending_in_a_backslash_keeps_its_address():
    """Red team, 44th pass: « [lien\\\\](…) » (an escaped backslash, then a link) was read as an
    escaped « ] »: a zero-width space went into the address instead of %22."""
    from forumsync.localforum.cooking import cook

    raw = _published('<p><a href="https://x.fr/[quote=&quot;admin2, a&quot;]">lien\\</a></p>')
    assert discourse_finds(raw) == []
    assert "%E2%80%8B" not in cook(raw) and "https://x.fr/%5Bquote=" in raw, raw


def test_one_quote_mark_shared_by_two_starts_is_written_once():
    from forumsync.mail.raw_readers import break_raw_readers

    broken = break_raw_readers('[l](https://x.fr/username:[quote="])')
    assert broken == '[l](https://x.fr/username:[quote=%22])' and discourse_finds(broken) == []
