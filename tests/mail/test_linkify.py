"""forumsync.mail.linkify: linkify-it's ``pretest`` answered with fewer scans, the same answers."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linkify_it import LinkifyIt

from forumsync.mail import inert
from forumsync.mail.linkify import QuickPretestLinkify, _unfolded
from forumsync.testing.corpus import corpus_raws
from tests.conftest import real_data

QUICK = QuickPretestLinkify().tlds(inert.DISCOURSE_TLDS)
PLAIN = LinkifyIt().tlds(inert.DISCOURSE_TLDS)
TEXTS = ["Bonjour, à demain.", "voir www.publik.fr", "écrire à marie@meyzieu.fr", "HTTPS://X.FR",
         "x_http://a.b", "//exemple", "a:b", "LOCALHOST:8080", "localhoſt", "192.168.1.1.", "mailto:a",
         "ftp:", "<http:", "｜https://a", "foo.com.", "foo.fr>", "", "_//x", "e.g. this", "KELVIN K"]
# Characters the patterns care about (schemas, hosts, separators, case folding: ſ, K sign).
ALPHABET = st.sampled_from(list("htpsfmailowc.:/@_<>｜ ſKkx019-") + ["http", "www.", "mailto:",
                                                                    ".fr", "localhost", "//", "\n"])


# (linkify-it-py's answers on the text read as linkify-it's JavaScript patterns read it: no
# ASCII case folding of « ſ », « K », « İ », « ı »; test_markdown_js.py)


def test_pretest_answers_as_linkify_it_on_chosen_texts():
    for text in TEXTS:
        assert QUICK.pretest(text) == PLAIN.pretest(_unfolded(text)), text


@settings(max_examples=1500, deadline=None)
@given(st.lists(ALPHABET, max_size=12).map("".join))
def test_pretest_answers_as_linkify_it_on_any_text(text):
    assert QUICK.pretest(text) == PLAIN.pretest(_unfolded(text))


def test_pretest_answers_as_linkify_it_on_every_paragraph_of_the_corpus():
    """Every inline content the pool's check parses over the usrp-users corpus."""
    from forumsync.mail import parse_bytes
    from forumsync.mail.body import extract_body

    contents = set()
    for raw in corpus_raws([real_data("corpus", "usrp-users-dev2k.mbox.gz")], limit=600):
        body = extract_body(parse_bytes(raw)).markdown
        contents.update(t.content for t in inert.discourse_parser().parse(body) if t.type == "inline")
    assert len(contents) > 2000
    assert [QUICK.pretest(c) for c in contents] == [PLAIN.pretest(_unfolded(c)) for c in contents]


def test_the_schema_search_runs_only_where_a_schema_name_is_written():
    quick = QuickPretestLinkify().tlds(inert.DISCOURSE_TLDS)
    pattern, searched = quick._schema, []

    class Recorder:
        def search(self, text):
            searched.append(text)
            return pattern.search(text)

    quick._schema = Recorder()
    assert quick.pretest("Une phrase sans lien") is False
    assert searched == []
    assert quick.pretest("voir https:") is True and searched == ["voir https:"]


def test_a_schema_name_with_letters_and_no_colon_falls_back_to_linkify_its_pretest():
    quick = QuickPretestLinkify().tlds(inert.DISCOURSE_TLDS)
    quick.add("git", "http:")  # "GIT" could match it: no quick answer
    plain = LinkifyIt().tlds(inert.DISCOURSE_TLDS).add("git", "http:")
    assert quick._needles is None
    for text in ("un git//exemple", "GIT//x", "rien"):
        assert quick.pretest(text) == plain.pretest(_unfolded(text))


@pytest.mark.parametrize("text", ["www.publik.fr", "Bonjour, à demain."])
def test_the_pool_checks_parser_uses_it(text):
    assert isinstance(inert.discourse_parser().linkify, QuickPretestLinkify)
    assert inert.discourse_parser().linkify.pretest(text) == PLAIN.pretest(_unfolded(text))


# ------------------------------------------------------------------ the rule's splice
SPLICE_TEXTS = ["voir www.publik.fr et marie@meyzieu.fr\nhttps://a.fr https://b.fr", "a@b.fr#-\n" * 30,
                "[lien](https://x.fr) puis https://y.fr", "<a href='x'>https://in.fr</a> https://out.fr",
                "http\\://x.fr/ et x.fr", "> cité https://q.fr\n\n- item https://l.fr", "**gras https://g.fr**"]


def _tokens(md, text: str) -> list:
    def flat(tokens):
        return [(t.type, t.content, t.attrs, t.level, t.markup, t.info,
                 flat(t.children) if t.children else None) for t in tokens]
    return flat(md.parse(text))


def _parser():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"breaks": True, "linkify": True, "html": True}).enable(["linkify"])
    md.linkify = QuickPretestLinkify().tlds(inert.DISCOURSE_TLDS)
    return md


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SPLICE_TEXTS + ["\n", " ", "[", "](", ")", "<a href=x>", "</a>"]),
                          ALPHABET), max_size=15).map("".join))
def test_linkify_splicing_in_place_gives_the_same_tokens(text):
    """``make_linkify_linear``: markdown-it-py's own ``arrayReplaceAt`` and the in-place splice
    make the same tokens (the module's global is swapped for the comparison)."""
    import sys

    from markdown_it.common.utils import arrayReplaceAt

    from forumsync.mail.linkify import make_linkify_linear, splice_in_place

    module = sys.modules["markdown_it.rules_core.linkify"]
    make_linkify_linear()
    assert module.arrayReplaceAt is splice_in_place
    md = _parser()
    for sample in SPLICE_TEXTS + [text]:
        ours = _tokens(md, sample)
        module.arrayReplaceAt = arrayReplaceAt
        try:
            theirs = _tokens(md, sample)
        finally:
            module.arrayReplaceAt = splice_in_place
        assert ours == theirs, sample


@pytest.mark.parametrize("text, hrefs", [
    # (hrefs as markdown-it 14, JavaScript, finds them: checked with node while writing this)
    ("osth.[//a.s://", ["//a.s"]),
    ("K[/](flocalhosth.[x\u017fltvoir www.publik.fr et marie@meyzieu.fr\nhttps://a.fr https://b.fr//",
     ["http://www.publik.fr", "mailto:marie@meyzieu.fr", "https://a.fr", "https://b.fr//"]),
    ("voir https://a.fr et http://b.fr**", ["https://a.fr", "http://b.fr"]),
])
def test_a_scheme_before_a_link_label_is_read_from_the_source_as_markdown_it_does(text, hrefs):
    """markdown-it-py 4.3's inline linkify rule read the scheme off a stale pending text inside
    a link label and raised « inline rule didn't increment state.pos »: the message went to
    quarantine with a Python error where Discourse cooks it (found by the splice property test
    in a CI rehearsal, 7 December 2026). ``mail.linkify.inline_linkify`` is markdown-it's."""
    from forumsync.mail.inert import discourse_parser, live_syntax

    tokens = discourse_parser().parse(text)
    found = [c.attrs.get("href") for t in tokens if t.children for c in t.children if c.type == "link_open"]
    assert found == hrefs
    assert isinstance(live_syntax(text, (), onebox=True), list)


@pytest.mark.parametrize("text, found", [
    # (as linkify-it 5, JavaScript, finds them: checked with node, red team 50th pass)
    ("ſ-@staff.fr", []), ("httpſ://x.fr/a", []), ("voir x.uſ/a", []), ("KELVIN.fr", ["KELVIN.fr"]),
    ("https://x.fr/ſ", ["https://x.fr/ſ"]), ("ſ https://x.fr", ["https://x.fr"]),
    ("a.fr/İ@b", ["a.fr/İ@b"]),
])
def test_linkify_folds_case_as_javascript_does(text, found):
    """Python's re.IGNORECASE folds « ſ » into « s », the Kelvin sign into « k », « İ » and
    « ı » into « i »; linkify-it's /i (no "u" flag) does not: no scheme, TLD or address there."""
    matches = QUICK.match(text) or []
    assert [m.raw for m in matches] == found
    assert QUICK.test(text) is bool(found)


@pytest.mark.parametrize("text", ["a=https://evil.fr/x", "a$https://evil.fr", "x^https://e.fr",
                                  "p|https://e.fr/a", "VOIR [URL=HTTPS://EVIL.FR/X]",
                                  "prix 10€https://e.fr/p"])
def test_a_scheme_glued_to_a_symbol_is_written_as_a_link(text):
    """markdown-it's inline linkify rule links a scheme after any character that is no scheme
    character (« = », « $ », « | »…), linkify-it's full-text match only after whitespace or
    punctuation: such an address was left bare, a live link (a onebox alone on its line) in
    the text of a mail, of a newcomer's name, of a form's label (53rd pass)."""
    from forumsync.mail.inert import live_syntax
    from forumsync.mail.text import inline_markdown, plain_to_markdown

    for markdown in (inline_markdown(text), plain_to_markdown(text)):
        assert live_syntax(markdown) == [], markdown
        assert "<http" in markdown.lower(), markdown  # still a link, an explicit one
