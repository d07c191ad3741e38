"""Text that is not mail but is not ours either — a newcomer's display name, a w.c.s. export,
a release feed — comes out inert too (red-team findings, third pass, 6 December 2026)."""
from __future__ import annotations

import re
from types import SimpleNamespace

from forumsync.catalogue.render import _url, md
from forumsync.community.feeds import Entry
from forumsync.community.releases import release_raw
from forumsync.community.welcome import welcome_topic_raw
from forumsync.localforum.cooking import cook
from forumsync.mail.inert import live_syntax
from forumsync.pipeline.post_inert import _raw_html

HOSTILE = ('@admin ![x](https://evil.example/p.png) <img src="https://evil.example/q.png"> '
           '[img]https://evil.example/r.png[/img]')
LIVE_IN_COOKED = re.compile(r'class="mention|<img|<aside', re.I)


def _assert_inert(markdown: str) -> None:
    assert live_syntax(markdown) == [], markdown
    assert not _raw_html(markdown), markdown
    assert not LIVE_IN_COOKED.search(cook(markdown)), cook(markdown)


def test_a_newcomers_display_name_is_text_in_the_welcome_topic():
    settings = SimpleNamespace(LIST_NAME="Club Publik", THEMES=[{"name": "SVE"}])
    raw = welcome_topic_raw(settings, SimpleNamespace(name=HOSTILE + " \u202eexe.pdf", email="x@y.fr"))
    _assert_inert(raw)
    assert "\u202e" not in raw


def test_a_catalogue_export_makes_no_mention_link_or_tag():
    for text in ("Contact @admin", "https://evil.example/page", HOSTILE, "# titre", "> cité"):
        line = md(text)
        _assert_inert(line)
        _assert_inert(f"Description\n\n{line}\n\nfin")
    url = _url('https://demarches.example/acte\n<img\tsrc="https://evil.example/p.png">/')
    assert not re.search(r"[\s<>]", url)
    _assert_inert(f"| Nom |\n|---|\n| [Meyzieu]({url}) |")


def test_a_release_feed_entry_is_converted_as_mail_is():
    entry = Entry("1", "v1", link="javascript:alert(1)",
                  summary=f"<p>{HOSTILE}</p><p>https://evil.example/onebox</p><details open>x</details>")
    raw = release_raw({"name": "Publik", "url": "https://x"}, entry)
    _assert_inert(raw)
    assert "javascript:" not in raw
    raw = release_raw({"name": "Publik"}, Entry("2", "v2", link="https://publik.example/notes",
                                                   summary="Voir @dev et https://evil.example/x"))
    _assert_inert(raw)
    assert "<https://publik.example/notes>" in raw
