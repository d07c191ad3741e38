"""The email package's multipart boundary pattern, matched without a regex compiled per part,
and its end-of-line pattern searched where it can match.

For each multipart, ``email.feedparser`` compiles ``(?P<sep>--BOUNDARY)(?P<end>--)?…$``: a
boundary is unique to its message, so Python's pattern cache never helps, and the compile was
~6 % of a pool process's time over the usrp-users corpus. That pattern is then tried on every
line of every part below it (the parser's end-of-part test). It matches exactly when the line
starts with the literal ``--BOUNDARY`` and the fixed tail pattern matches from there: so
``BoundaryMatcher.match`` tests ``startswith`` first and runs one tail pattern, compiled once,
at that position, and returns its match. The feedparser reads only the ``end`` and
``linesep`` groups of that match (the same groups, the same values).

``install`` gives ``email.feedparser`` its own view of the ``re`` module in which ``compile``
answers that one pattern with a ``BoundaryMatcher`` and passes every other pattern to ``re``.
The parse trees stay identical (``tests/mail/test_boundary.py``: every message of the test
data and of both shared corpora, parsed with and without it). The parse of the corpus went
from 1.17 to 0.86 ms per message.

The same view gives the feedparser its ``NLCRE_eol``, ``(\r\n|\r|\n)\Z``, as
``EndOfLineSearch``: the feedparser searches it in every part's whole payload (and epilogue) to
drop the line end that belongs to the next boundary, so ``re`` tried it at every position of
every attachment's base64 (15 % of a pool process's time over the usrp-users corpus). A match
must end at the end of the text, so it starts at one of its last two characters: the same
pattern searched from there finds the same match (same span, same groups).
"""
from __future__ import annotations

import contextlib
import email.feedparser
import re

_HEAD = "(?P<sep>"
_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_TAIL_PATTERN = re.compile(_TAIL[1:])
_ESCAPED_CHAR = re.compile(r"\\(.)", re.S)


class BoundaryMatcher:
    """The feedparser's boundary pattern for one separator (``--`` + the boundary)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str):
        self.separator = separator

    def match(self, line: str):
        if not line.startswith(self.separator):
            return None
        return _TAIL_PATTERN.match(line, len(self.separator))


def boundary_matcher(pattern: str, flags: int = 0):
    """A ``BoundaryMatcher`` when PATTERN is the feedparser's boundary pattern, else None."""
    if flags or not (pattern.startswith(_HEAD) and pattern.endswith(_TAIL)):
        return None
    escaped = pattern[len(_HEAD):-len(_TAIL)]
    separator = _ESCAPED_CHAR.sub(r"\1", escaped)
    if re.escape(separator) != escaped:  # not written by re.escape: the real pattern
        return None
    return BoundaryMatcher(separator)


class _FeedparserRe:
    """``re`` as ``email.feedparser`` sees it: ``compile`` knows the boundary pattern."""

    def __getattr__(self, name):
        return getattr(re, name)

    @staticmethod
    def compile(pattern, flags=0):
        matcher = boundary_matcher(pattern, flags) if isinstance(pattern, str) else None
        return matcher if matcher is not None else re.compile(pattern, flags)


class EndOfLineSearch:
    """``NLCRE_eol`` searched where its match can only start: the text's last two characters."""

    __slots__ = ("pattern",)

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern

    def search(self, text: str, pos: int = 0, endpos: int | None = None):
        end = len(text) if endpos is None else min(endpos, len(text))
        return self.pattern.search(text, max(pos, end - 2), end)

    def __getattr__(self, name):
        return getattr(self.pattern, name)


_STDLIB_EOL = email.feedparser.NLCRE_eol


def install() -> None:
    """Make ``email.feedparser`` use ``BoundaryMatcher`` and ``EndOfLineSearch`` (idempotent)."""
    if not isinstance(email.feedparser.re, _FeedparserRe):
        email.feedparser.re = _FeedparserRe()
    if not isinstance(email.feedparser.NLCRE_eol, EndOfLineSearch):
        email.feedparser.NLCRE_eol = EndOfLineSearch(_STDLIB_EOL)


def uninstall() -> None:
    """``email.feedparser`` back on the ``re`` module and its own pattern (tests compare both)."""
    email.feedparser.re = re
    email.feedparser.NLCRE_eol = _STDLIB_EOL


@contextlib.contextmanager
def stdlib_feedparser():
    """The email package as shipped, for a while: the benchmarks' raw parse baseline is the
    standard library's, never this module's."""
    installed = isinstance(email.feedparser.re, _FeedparserRe)
    uninstall()
    try:
        yield
    finally:
        if installed:
            install()
