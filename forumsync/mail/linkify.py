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


class QuickPretestLinkify(LinkifyIt):
    """``LinkifyIt`` whose ``pretest`` skips the schema search when no schema name can match."""

    def _compile(self):
        super()._compile()
        names = [name for name, compiled in self._compiled.items() if name and compiled]
        # Where a name has letters and no ":", case folding could match it unwritten: no skip.
        self._needles = None if any(":" not in n and re.search(r"[^\W\d_]", n) for n in names) \
            else {":" if ":" in n else n for n in names}
        self._schema = re.compile(self.re["schema_test"], re.IGNORECASE)
        self._host = re.compile(self.re["host_fuzzy_test"], re.IGNORECASE)

    def pretest(self, text):
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


def make_linkify_linear() -> None:
    """Have markdown-it-py's linkify rule splice in place (for every parser of the process:
    the pool's checks and the local forum's cooking alike)."""
    import sys

    import markdown_it.rules_core  # noqa: F401 (loads the module below)

    # (the package's "linkify" attribute is the rule function: the module is read from sys.modules)
    sys.modules["markdown_it.rules_core.linkify"].arrayReplaceAt = splice_in_place
