"""Red team, nineteenth pass: a post cut for the forum inside a ``<pre>`` block of an HTML mail.

``draft.shortened`` cuts the head at a line end (``cuts.markdown_prefix``) and checks the cut
only for live syntax: a cut inside fenced code leaves the fence open, and the cut note
(« Message tronqué … [message-complet.txt|attachment](upload://…) ») and every attachment link
that follow it are read as code by Discourse (and markdown-it): shown as raw text, the
``upload://`` short URLs never resolved. The reader cannot reach the full text nor the
attachments: the message's content is lost for them, without any reason given.
"""
from __future__ import annotations

from email.message import EmailMessage

import pytest

from forumsync.mail.cuts import markdown_prefix, post_prefix
from forumsync.mail.inert import discourse_parser
from tests.fixtures.pipeline import pipe  # noqa: F401 - fixture


def _html_log_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Marie Dupont <marie.dupont@meyzieu.fr>", "club@listes.example.org"
    msg["Subject"], msg["Message-ID"] = "Journal du serveur", "<rt19a-cut-pre@meyzieu.fr>"
    log = "\n".join(f"2026-03-02 09:{n % 60:02d} ligne {n} du journal du serveur" for n in range(3000))
    msg.set_content("<p>Voici le journal :</p><pre>" + log + "</pre><p>Merci.</p>", subtype="html")
    msg.add_attachment(b"%PDF-1.4 rapport", maintype="application", subtype="pdf", filename="rapport.pdf")
    return msg.as_bytes()


def _outside_code(raw: str) -> str:
    """The text of RAW that is not code (fences and code spans), as markdown-it reads it."""
    md = discourse_parser()
    out = []
    for token in md.parse(raw):
        if token.type == "inline":
            out += [c.content if c.type == "text" else c.attrs.get("href", "") if c.type == "link_open" else ""
                    for c in token.children or ()]
    return "\n".join(out)


def test_a_post_cut_inside_pre_keeps_its_cut_note_and_attachment_links_clickable(pipe):
    pipe.localforum.set_site_setting("max_post_length", 32000)
    row = pipe.send(_html_log_mail())
    assert row.state == "published", row.reason
    raw = pipe.post(row.post_id)["raw"]
    assert "Message tronqué" in raw  # the post was cut
    readable = _outside_code(raw)
    # the link to the whole text and the attachment's link are links, not code
    assert "Message tronqué" in readable, raw[-600:]
    assert any(h.startswith("upload://") for h in readable.split("\n")), raw[-600:]


def test_a_cut_inside_fenced_code_is_closed_with_its_own_fence():
    head = "Voici :\n\n~~~~\n" + "ligne de journal\n" * 40
    cut = post_prefix(head, 300)
    assert cut == markdown_prefix(head, 300 - 5) + "\n~~~~" or cut.endswith("\n~~~~"), cut
    assert len(cut) <= 300 and "forumsync" in _outside_code(cut + "\n\nforumsync")


@pytest.mark.parametrize("head", ["> Cité :\n>\n> ```\n" + "> ligne citée\n" * 40,
                                  "1. Étape :\n\n   ```\n" + "   commande\n" * 40])
def test_a_fence_in_a_container_ends_with_it_the_cut_is_kept(head):
    # a blank line ends the blockquote or list item, and the fence with it (markdown-it)
    assert post_prefix(head, 300) == markdown_prefix(head, 300)
    assert "forumsync" in _outside_code(markdown_prefix(head, 300) + "\n\nforumsync")


def test_a_fence_too_long_to_close_within_the_limit_moves_the_cut_before_it():
    head = "Avant le code.\n\n" + "`" * 200 + "\n" + "x\n" * 200
    cut = post_prefix(head, 300)
    assert cut == "Avant le code."
    assert post_prefix("`" * 200 + "\n" + "x\n" * 200, 300) == ""  # nothing before it


def test_a_cut_outside_code_is_the_plain_prefix():
    head = "```\ncode\n```\n\n" + "texte libre " * 100
    assert post_prefix(head, 300) == markdown_prefix(head, 300)
