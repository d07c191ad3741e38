"""forumsync.mail.markdown_js: markdown-it-py parses as markdown-it 14.0.0 (JavaScript), the
parser Discourse cooks with, where the two differ (red team, 50th pass).

Each text below is one where markdown-it makes a mention live and markdown-it-py 4.3 did not
see it (the tokens were compared with markdown-it 14.0.0 run by node; the last test does it
again when node and that markdown-it are at hand: ``FORUMSYNC_MARKDOWN_IT`` names the folder
whose ``node_modules`` holds it, e.g. after ``npm install markdown-it@14.0.0`` there)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from forumsync.localforum.cooking import cook
from forumsync.mail import markdown_js
from forumsync.mail.inert import discourse_parser, live_syntax

# (text, why markdown-it reads it otherwise)
LIVE_FOR_MARKDOWN_IT = [
    ("> " * 22 + "@staff", "maxNesting 100 (default preset), not 20: the quote's text is kept"),
    ("- " * 21 + "@staff", "maxNesting 100: a list's text too"),
    ("[`a](x) @staff `b`", "backticks: the cache left by the link label's scan makes « ` » text"),
    ("Voir [`config` puis @staff `b`", "backticks: the same cache, no code span"),
    ("voir www.x.fr/a*😀*@staff ok", "emphasis: an emoji is half a surrogate pair, the link ends at « a »"),
    ("voir x.fr/a*€*@staff", "emphasis: « € » (Sc) is no punctuation for isPunctChar 14.0.0"),
    ("[x]: @staff\\\n //a.fr", "reference: the escaped line break carries the destination on"),
    ("[a\\\\]: @staff]x", "reference: the first line's quick check (« ] » after a backslash)"),
    ("ſ-@staff.fr", "linkify: no ASCII case folding of « ſ » (no address)"),
    ("voir httpſ://x.fr/@staff ok", "linkify: « httpſ: » is no scheme"),
    ("voir x.uſ/@staff ok", "linkify: « uſ » is not the TLD « us »"),
    ("a <!-- x -- @staff -->", "html_inline: a comment holds no « -- »"),
    ("<!x @staff>", "html_inline: a declaration is upper-case letters then a space"),
    ("<!x\n@staff", "html_block: type 4 is « <! » and an upper-case letter"),
    ("a <a\u0085title=\"@staff\">", "html_inline: U+0085 is no JavaScript \\s"),
    ("</a>\u0085\n@staff", "html_block: type 7 ends with JavaScript \\s only"),
    ("<search> @staff", "html_block: « search » is no block name in 14.0.0"),
    ("- <!--\n\n  @staff -->", "html_block: an outdented blank line ends it"),
    ("1. <pre>\n\n   @staff", "html_block: an outdented blank line ends it"),
]


@pytest.mark.parametrize("text, why", LIVE_FOR_MARKDOWN_IT)
def test_the_check_sees_the_mentions_markdown_it_makes_live(text, why):
    assert "mention @staff" in [p.split(".")[0] for p in live_syntax(text)], why


# Of those, live for 14.0.0 only: 14.1 reads them as markdown-it-py did.
ONLY_14_0 = {"voir x.fr/a*€*@staff", "[x]: @staff\\\n //a.fr", "[a\\\\]: @staff]x", "<!x @staff>",
             "<search> @staff", "a <!-- x -- @staff -->"}


# Live for markdown-it 14.1 (Discourse's 2026 lockfile: 14.1.1) and not for 14.0.0: the check
# reads a text where the two may differ with both (inert._VERSION_SENSITIVE).
LIVE_FOR_14_1 = [
    ("a <!-- b -- ` --> @staff `", "14.1's comment holds « -- »: the « ` » is in it, no code span"),
    ("x <!b `> @staff `", "14.1's declaration is « <! » and a letter: the « ` » is in it"),
]


@pytest.mark.parametrize("text, why", LIVE_FOR_14_1)
def test_what_markdown_it_14_1_makes_live_is_seen_too(text, why):
    assert "mention @staff" in live_syntax(text), why
    tokens = discourse_parser("14.1.1").parse(text)[1].children
    assert [t.content for t in tokens if t.type == "text"][-1].startswith(" @staff"), why


@pytest.mark.parametrize("text, why", [(text, why) for text, why in LIVE_FOR_MARKDOWN_IT + LIVE_FOR_14_1
                                       if text not in ONLY_14_0 and not text.startswith("- <!--")])
def test_the_local_forum_cooks_them_as_discourse_does(text, why):
    """The local forum cooks as markdown-it 14.1.1, Discourse's (« - <!-- »: its comment stays
    open, the rest is hidden)."""
    assert '<span class="mention">@staff' in cook(text), why


@pytest.mark.parametrize("text", sorted(ONLY_14_0))
def test_what_only_14_0_makes_live_the_local_forum_leaves_as_14_1_does(text):
    assert '<span class="mention">@staff' not in cook(text)
    assert "mention @staff" in live_syntax(text)  # the check reads both versions


def test_a_definition_whose_destination_runs_on_counts_no_line_for_it():
    """markdown-it's ``lines`` skips the destination: the next line is parsed again."""
    tokens = discourse_parser().parse("[x]: a\\\nb\nc")
    assert [t.content for t in tokens if t.type == "inline"] == ["b\nc"]
    for text in ("[x]: http://r.fr</a>\\\n\n# titre", "[quote]:]😀::```[x]|\\\n```"):
        discourse_parser().parse(text)  # a destination at the paragraph's end: the rule moves on


def test_code_spans_and_comments_markdown_it_reads_stay_code_and_html():
    assert "mention @staff" not in live_syntax("`@staff` et [a](b) `@staff`")
    assert live_syntax("a <!-- @staff --> b") == []
    assert live_syntax("- <!--\n  @staff\n  -->") == []


# ------------------------------------------------------------------ markdown-it itself
_DUMP = r"""
const md = require('markdown-it')({html: true, breaks: true, xhtmlOut: false, linkify: true});
md.linkify.tlds(process.argv[1].split('|'));
const out = [];
for (const text of JSON.parse(require('fs').readFileSync(0, 'utf8'))) {
  out.push(md.parse(text, {}).filter(t => t.type === 'inline').map(t => t.children.map(
    c => [c.type, ['text', 'code_inline', 'html_inline'].includes(c.type) ? c.content : null,
          c.attrGet('href') || c.attrGet('src')])));
}
process.stdout.write(JSON.stringify(out));
"""


ROOT = Path(__file__).resolve().parents[2]


def _markdown_it_folder(version: str) -> Path:
    """A folder whose node_modules holds markdown-it VERSION: ``FORUMSYNC_MARKDOWN_IT``, else
    ``.node-markdown-it/VERSION`` (installed by ``./run test``). Absent: skipped with the
    reason, a failure under CI=true (``./run`` installs it there)."""
    if not shutil.which("node"):
        pytest.skip("node absent : markdown-it (JavaScript) ne peut pas être lancé")
    folders = [Path(os.environ["FORUMSYNC_MARKDOWN_IT"])] if os.environ.get("FORUMSYNC_MARKDOWN_IT") else []
    folders.append(ROOT / ".node-markdown-it" / version)
    for folder in folders:
        package = folder / "node_modules" / "markdown-it" / "package.json"
        if package.exists() and json.loads(package.read_text())["version"] == version:
            return folder
    reason = (f"markdown-it {version} absent ({', '.join(map(str, folders))}) : « ./run test » "
              f"l'installe par npm")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.parametrize("version", markdown_js.VERSIONS)
def test_the_same_tokens_as_markdown_it(version):
    """The parser of each version (``discourse_parser(version)``) against that markdown-it,
    run by node."""
    from forumsync.mail.inert import DISCOURSE_TLDS

    folder = _markdown_it_folder(version)
    texts = [text for text, _why in LIVE_FOR_MARKDOWN_IT + LIVE_FOR_14_1 + NEWER_SYMBOLS]
    done = subprocess.run(["node", "-e", _DUMP, "|".join(DISCOURSE_TLDS)], cwd=folder, check=True,
                          input=json.dumps(texts), capture_output=True, text=True, timeout=60)
    theirs = json.loads(done.stdout)
    for text, expected in zip(texts, theirs):
        ours = [[[c.type, c.content if c.type in ("text", "code_inline", "html_inline") else None,
                  c.attrs.get("href") or c.attrs.get("src")] for c in t.children]
                for t in discourse_parser(version).parse(text) if t.type == "inline"]
        assert ours == expected, text


def test_an_img_tag_after_a_dotted_capital_i_ends_where_it_is_written():
    """``[img]``'s closing tag was looked for in the source lowered, where « İ » is two
    characters: the image ran one character past « [/img] » for each « İ » before it, and the
    « @ » of the mention after it was lost (found by the same comparison, red team 50th pass)."""
    text = "İİ[img]https://x.fr/a.png[/img] @staff"
    assert live_syntax(text) == ["image https://x.fr/a.png", "mention @staff"]
    assert '<span class="mention">@staff</span>' in cook(text)


# Symbols of Unicode 15.1 that uc.micro 2.1 (installed with markdown-it 14.0.0 and 14.1.1)
# knows and Python 3.11's unicodedata (Unicode 14.0) does not: punctuation for 14.1's
# isPunctChar, a boundary for Discourse's mentions (red team, 53rd pass bis).
NEWER_SYMBOLS = [
    ("\u2ffc@staff", "a mention after a symbol: Discourse's allowedBoundary is isPunctChar"),
    ("a \u31ef@staff x", "the same with U+31EF (CJK stroke, So since Unicode 15.1)"),
    ("a*\u2ffc*x.fr/*@staff", "emphasis: 14.1 reads « ⿼ » as punctuation, the link ends at « / »"),
    ("voir *\u31ef*x.fr/*@staff", "the same with U+31EF"),
]


@pytest.mark.parametrize("text, why", NEWER_SYMBOLS)
def test_symbols_newer_than_python_s_unicode_are_symbols(text, why):
    assert "mention @staff" in live_syntax(text), why
    assert '<span class="mention">@staff' in cook(text), why


def test_the_symbols_are_uc_micro_s():
    assert {chr(c) for c in (0x2FFC, 0x2FFD, 0x2FFE, 0x2FFF, 0x31EF)} <= {
        chr(c) for c in range(0x10000) if markdown_js.unicode_symbol(chr(c))}
