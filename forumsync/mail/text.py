"""Plain-text mail as Markdown that Discourse shows as the sender wrote it.

Discourse turns single newlines into line breaks, so lines are kept. Only what Markdown would
mangle is escaped: emphasis and code characters, raw HTML, headings and setext underlines,
link brackets. Addresses are left alone (escaping would break autolinking); a URL becomes an
explicit link (``<https://…>``, or ``[www.x.fr](<http://www.x.fr>)``): clickable, but not a
``linkify`` link, which Discourse would onebox (fetching the address, showing its images).
Quoted lines stay ``>`` blockquotes, separated from a following answer by a blank line
(otherwise the answer would be swallowed by the quote: Markdown's lazy continuation).
Mentions are neutralised later, on the whole body (``mail.inert``).
"""
from __future__ import annotations

import functools
import re

_SKIP = re.compile(
    r"(<(?:https?|mailto):[^\s<>]+>|<[\w.+-]+@[\w-]+(?:\.[\w-]+)+>"
    r"|(?:https?|ftp|mailto):[^\s<>\"]+|www\.[^\s<>\"]+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
_INLINE = re.compile(r"[\\`*_\[\]~|<]")
# Markdown's inline characters backslash-escaped (the backslash itself first), "<" as an entity.
_INLINE_ESCAPES = (("\\", "\\\\"), *((c, "\\" + c) for c in "`*_[]~|"), ("<", "&lt;"))
_MAY_LINK = re.compile(r"[:@]|www\.")  # every _SKIP alternative holds one of these
# What Discourse's linkify can link holds one of these: a scheme, "www.", an address, or a
# host ending in one of its markdown_linkify_tlds (inert.DISCOURSE_TLDS).
_MAY_LINKIFY = re.compile(r"[:@]|www\.|xn--|\.(?:com|net|org|io|onion|co|tv|ru|cn|us|uk|me|de|fr|fi|gov)"
                          r"(?![a-z0-9])", re.I)
# Of the lines _MAY_LINKIFY lets through (mostly for a ":": « 10:30 », « a écrit : »), those
# linkify cannot link: its test needs a scheme (http:, https:, ftp:, mailto:, //), "www.", a
# host ending in one of its TLDs (the list above, and the punycode ``xn--…`` it always adds),
# or an "@"; and every _SKIP span kept holds an "@" or a ``<http…:``/``<mailto:``. Without
# one of these the line is only escaped, as the longer path would do, without linkify's cost.
_MAY_REALLY_LINK = re.compile(r"@|(?:https?|ftp|mailto):|//|www\.|xn--|"
                              r"\.(?:com|net|org|io|onion|co|tv|ru|cn|us|uk|me|de|fr|fi|gov)(?![a-z0-9])",
                              re.I)
_QUOTE = re.compile(r"^((?:> ?)+)(.*)$")
_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_START = re.compile(r"^(\s{0,3})(#{1,6}(?:\s|$)|[=\-]{2,}\s*$|\+(?=\s))")


def _escape(text: str) -> str:
    """What _INLINE matches, escaped (a few str.replace beat one dict-driven str.translate)."""
    for char, escaped in _INLINE_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


# Lines up to this size are remembered (``_escape_inline`` is a pure function of the line):
# quoted history repeats the same lines from message to message of a thread.
_CACHED_LINE_CHARS = 400


def _escape_inline(line: str) -> str:
    """Escape Markdown inline syntax outside URLs and addresses; URLs become explicit links."""
    return _escape_short_line(line) if len(line) <= _CACHED_LINE_CHARS else _escape_line(line)


@functools.lru_cache(maxsize=4096)
def _escape_short_line(line: str) -> str:
    return _escape_line(line)


def _escape_line(line: str) -> str:
    """``_escape_inline``, computed. One line at a time (no URL or address spans lines): most
    lines need no escaping, and most of the others hold no URL or address."""
    if not _MAY_LINKIFY.search(line) or not _MAY_REALLY_LINK.search(line):
        return _escape(line) if _INLINE.search(line) else line
    links = url_finder().match(line) if url_finder().test(line) else None
    if not links and not _MAY_LINK.search(line):
        return _escape(line) if _INLINE.search(line) else line
    out, pos = [], 0
    for kept in _kept_spans(line, links or ()):
        start, end, replacement = kept
        if start < pos:
            continue
        before = _escape(line[pos:start])
        if replacement.startswith("[") and before.endswith("!"):  # _escape left it bare
            before = before[:-1] + "\\!"  # "![…](…)" would be an image
        out.append(before)
        out.append(replacement)
        pos = end
    out.append(_escape(line[pos:]))
    return "".join(out)


def _kept_spans(line: str, links) -> list[tuple[int, int, str]]:
    """(start, end, Markdown) of what is not escaped: explicit autolinks and addresses as
    written, URLs as explicit links (never ``linkify`` links, see the module docstring)."""
    spans = [(m.start(), m.end(), m.group(0) if m.group(0).startswith("<") else _kept_address(m.group(0)))
             for m in _SKIP.finditer(line)
             if m.group(0).startswith("<") or "@" in m.group(0) and "://" not in m.group(0)]
    for link in links:
        text = link.text
        if link.schema == "mailto:" or (not link.schema and "@" in text and "/" not in text):
            spans.append((link.index, link.last_index, _kept_address(text)))
        elif link.url == text and not _ENDS_AUTOLINK.search(text):
            spans.append((link.index, link.last_index, f"<{text}>"))
        else:
            spans.append((link.index, link.last_index, f"[{_escape(text)}](<{_destination(link.url)}>)"))
    return sorted(spans, key=lambda span: (span[0], -span[1]))


# What ends an autolink « <…> » early (CommonMark: no "<", ">", space or control inside): such
# a URL as « <…> » left its tail as text, linkified there and followed by a live @mention
# (« http://x'>exemple.fr@staff »: found by the property test in CI, 7 December 2026). Those
# URLs are written as explicit links, their destination percent-encoded.
_ENDS_AUTOLINK = re.compile(r"[<>\s\x00-\x1f\x7f]")


def _destination(url: str) -> str:
    """URL as a link destination « <…> » can hold it (``html.safe_destination``)."""
    from .html import safe_destination  # (html imports this module)

    return safe_destination(url)


def _kept_address(text: str) -> str:
    """An address kept as written, but for the characters that would make Markdown or BBCode
    of it (``mailto:x@y.fr[/quote]``, ``a@b.fr`…``: red-team); an address holds none of them."""
    for char in "\\[]`!":
        if char in text:
            text = text.replace(char, "\\" + char)
    return text


def url_finder():
    """Discourse's linkify URL finder (linkify-it), shared by the text and HTML converters."""
    from .inert import discourse_parser

    return discourse_parser().linkify


def _escape_line_start(line: str) -> str:
    match = _LINE_START.match(line)
    if match:
        line = match.group(1) + "\\" + line[len(match.group(1)):]
    return line


def plain_to_markdown(text: str) -> str:
    """Markdown-safe rendition of plain text; ``>`` quotes become blockquotes."""
    out: list[str] = []
    previous_depth = 0
    for line in text.replace("\r", "").split("\n"):
        line = _escape_inline(line).rstrip()
        match = _QUOTE.match(line)
        if match:
            depth = match.group(1).count(">")
            body = _escape_line_start(match.group(2))
            line = ("> " * depth + body).rstrip()
        else:
            depth = 0
            line = _escape_line_start(line)
        if depth < previous_depth and line.strip() and out and out[-1].strip():
            out.append(("> " * depth).rstrip())  # ends the deeper quote (lazy continuation)
        out.append(line)
        previous_depth = depth
    return _BLANK_LINES.sub("\n\n", "\n".join(out)).strip("\n")


def inline_markdown(text: str | None) -> str:
    """One line of someone else's text (an export's label, a newcomer's name) as inert Markdown:
    on one line, Markdown's inline characters escaped, addresses as explicit links (no
    onebox), mentions neutralised, nothing that opens a block at the line's start."""
    from .inert import neutralise_mentions

    text = neutralise_mentions(_escape_inline(" ".join((text or "").split())))
    return re.sub(r"^([#>+-])", r"\\\1", text)
