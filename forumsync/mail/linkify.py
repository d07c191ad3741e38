"""linkify-it with a quicker ``pretest``: the same answers, fewer scans of the text.

markdown-it runs ``pretest`` on every paragraph it parses (the pool's check of each post,
the local forum's cooking): one search of ``schema|host|@`` with the schema alternative led
by a group tried at every position of the text. A search of an alternation finds a match
exactly when one of its alternatives does, so ``pretest`` is the same as: an ``@``, or the
host pattern, or the schema pattern — and the schema pattern can only match where one of the
schema names is written, each of which holds a ``:`` or is letterless (``//``): a text with
neither is answered without that search. 3.3 × quicker over the usrp-users corpus's
paragraphs (bench/README.md); ``tests/mail/test_linkify.py`` compares it with linkify-it's.
"""
from __future__ import annotations

import re

from linkify_it import LinkifyIt


# The letters Python's re.IGNORECASE folds into ASCII ones and JavaScript's /i (no "u" flag,
# linkify-it's) does not: the dotted and dotless i, the long s, the Kelvin sign. linkify-it-py
# read "httpſ://", "x.uſ" (the TLD "us") and "ſ-@x.fr" (an address) as links, where
# linkify-it finds none (and a mention after them is live): they are read as another letter.
_NO_ASCII_FOLD = str.maketrans({"\u0130": "\u00e0", "\u0131": "\u00e0", "\u017f": "\u00e0", "\u212a": "\u00e0"})
_FOLDED = re.compile("[\u0130\u0131\u017f\u212a]")


def _unfolded(text: str) -> str:
    """TEXT with those letters read as another (one for one: positions hold)."""
    return text.translate(_NO_ASCII_FOLD) if _FOLDED.search(text) else text


class QuickPretestLinkify(LinkifyIt):
    """``LinkifyIt`` whose ``pretest`` skips the schema search when no schema name can match,
    and whose patterns fold case as linkify-it's (JavaScript) do (``_NO_ASCII_FOLD``): each
    search runs on the text's unfolded copy, the matches are cut from the text itself."""

    def test(self, text):
        return super().test(_unfolded(text))

    def match(self, text):
        copy = _unfolded(text)
        found = super().match(copy)
        if copy is text or not found:
            return found
        return [self._create_match(text, m.schema, m.index, m.last_index) for m in found]

    def match_at_start(self, text):
        copy = _unfolded(text)
        found = super().match_at_start(copy)
        if copy is text or not found:
            return found
        return self._create_match(text, found.schema, found.index, found.last_index)

    def _compile(self):
        super()._compile()
        names = [name for name, compiled in self._compiled.items() if name and compiled]
        # Where a name has letters and no ":", case folding could match it unwritten: no skip.
        self._needles = None if any(":" not in n and re.search(r"[^\W\d_]", n) for n in names) \
            else {":" if ":" in n else n for n in names}
        self._schema = re.compile(self.re["schema_test"], re.IGNORECASE)
        self._host = re.compile(self.re["host_fuzzy_test"], re.IGNORECASE)

    def pretest(self, text):
        text = _unfolded(text)
        if self._needles is None:
            return super().pretest(text)
        return "@" in text or self._host.search(text) is not None or \
            (any(needle in text for needle in self._needles) and self._schema.search(text) is not None)


def splice_in_place(src: list, pos: int, new: list) -> list:
    """SRC with its item at POS replaced by the items of NEW, in place (SRC returned).

    markdown-it-py's linkify core rule replaces each linked text token by its link tokens
    with ``common.utils.arrayReplaceAt``, which builds a new list of every child each time:
    a paragraph of N lines holding a link each cost N copies of its N children (a 100 KB
    mail of addresses: 23 s of CPU, 0.8 s in place; red team, 42nd pass). The rule only
    reads the returned list, and scans it from the end, so replacing in place gives the
    same tokens (``tests/mail/test_linkify.py``)."""
    src[pos:pos + 1] = new
    return src


def _is_scheme_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "+-.")


def inline_linkify(state, silent: bool) -> bool:
    """markdown-it's inline ``linkify`` rule as markdown-it (JavaScript, the parser Discourse
    cooks with) writes it (lib/rules_inline/linkify.mjs): the scheme before ``://`` is read
    back from the source, at most 10 characters and no further than the pending text, and a
    link no longer than its scheme is no link. markdown-it-py 4.3 reads the scheme off the
    pending text with a regular expression: inside a link label (``parseLinkLabel`` skips
    tokens silently, the pending text is then an older one) it took a scheme that is not
    there, matched a link no longer than it, did not move, and the parse raised « inline rule
    didn't increment state.pos » (« osth.[//a.s:// »): the message went to quarantine with a
    Python error, where Discourse cooks it (found by the splice property test, 7 December)."""
    if not state.md.options.linkify or state.linkLevel > 0:
        return False
    pos, src = state.pos, state.src
    if pos + 3 > state.posMax or src[pos:pos + 3] != "://":
        return False
    lowest = pos - min(10, len(state.pending), pos)
    start = pos
    while start > lowest and _is_scheme_char(src[start - 1]):
        start -= 1
    if start == pos or not (src[start].isascii() and src[start].isalpha()):
        return False
    scheme_length = pos - start
    link = state.md.linkify.match_at_start(src[start:])
    if not link:
        return False
    url = link.url
    if len(url) <= scheme_length:
        return False
    url = url.rstrip("*")  # no "*" at the end (emphasis)
    full_url = state.md.normalizeLink(url)
    if not state.md.validateLink(full_url):
        return False
    if not silent:
        state.pending = state.pending[:-scheme_length]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": full_url}
        token.markup, token.info = "linkify", "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos += len(url) - scheme_length
    return True


def make_linkify_linear() -> None:
    """Have markdown-it-py's linkify rules work as markdown-it's, in linear time, for every
    parser of the process made after this call (the pool's checks and the local forum's
    cooking alike): the core rule splices in place, the inline rule is ``inline_linkify``."""
    import sys

    import markdown_it.parser_inline as parser_inline
    import markdown_it.rules_core  # noqa: F401 (loads the module below)

    # (the package's "linkify" attribute is the rule function: the module is read from sys.modules)
    sys.modules["markdown_it.rules_core.linkify"].arrayReplaceAt = splice_in_place
    parser_inline._rules[:] = [(name, inline_linkify if name == "linkify" else rule)
                               for name, rule in parser_inline._rules]
