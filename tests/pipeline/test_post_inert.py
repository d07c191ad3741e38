"""The last check of a post's text (pipeline.post_inert): what is still live is neutralised,
and a text is parsed again only when neutralising changed it."""
from __future__ import annotations

import pytest

from forumsync.mail import inert as inert_module
from forumsync.pipeline import post_inert


@pytest.fixture
def parses(monkeypatch):
    calls = []
    original = inert_module.live_syntax

    def counted(raw, own=(), onebox=True):
        calls.append(raw)
        return original(raw, own, onebox)

    monkeypatch.setattr(post_inert, "live_syntax", counted)
    return calls


def test_a_bare_link_is_made_an_autolink_then_checked_once_more(parses):
    parts = ["Voir https://demarches.meyzieu.fr/cantine/ pour l'inscription."]
    out, tail = post_inert.inert(parts, [], set())
    assert out == ["Voir <https://demarches.meyzieu.fr/cantine/> pour l'inscription."]
    # one parse, and the final one after neutralising (what is still live is never published)
    assert tail == [] and len(parses) == 2 and parses[1] == out[0]
    assert inert_module.live_syntax(out[0]) == []  # nothing left live


def test_a_changed_text_or_a_tail_is_parsed_again(parses):
    parts = ["@staff regardez https://demarches.meyzieu.fr/a/"]
    out, _tail = post_inert.inert(parts, [], set())
    assert len(parses) == 3 and parses[1] != parses[0]  # the mention neutralised, checked again, then final
    assert inert_module.live_syntax(out[0]) == []
    parses.clear()
    out, tail = post_inert.inert(["Lien : https://demarches.meyzieu.fr/b/"], ["[fichier.pdf](upload://x.pdf)"],
                                 {"upload://x.pdf"})
    assert len(parses) == 3  # the second check leaves the tail out (another text), the final has it
    assert out == ["Lien : <https://demarches.meyzieu.fr/b/>"] and tail == ["[fichier.pdf](upload://x.pdf)"]


def test_what_cannot_be_made_inert_is_quarantined(monkeypatch):
    """The net under the net: a construct the neutralisers miss is never published."""
    from forumsync.pipeline.errors import Quarantine

    monkeypatch.setattr(post_inert, "neutralise_all_mentions", lambda text: text)  # a neutraliser that fails
    with pytest.raises(Quarantine) as refused:
        post_inert.inert(["@staff regardez"], [], set())
    assert refused.value.reason.startswith("contenu actif que forumsync ne sait pas neutraliser (mention @staff)")


def test_a_bare_address_with_an_international_host_is_made_an_autolink():
    """linkify answers the punycode host (xn--…) of what the text writes in Unicode: the
    rewrite finds the written form (red-team note, 6 December 2026)."""
    text = "voir\n\nhttps://exämple.fr/x\n\nfin"
    assert inert_module.live_syntax(text) == ["onebox https://xn--exmple-cua.fr/x"]
    parts, _ = post_inert.inert([text], [], set())
    assert parts == ["voir\n\n<https://exämple.fr/x>\n\nfin"] and inert_module.live_syntax(parts[0]) == []
