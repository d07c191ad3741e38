"""Plain-text mail as Markdown that Discourse shows as the sender wrote it.

Discourse turns single newlines into line breaks, so lines are kept. Only what Markdown would
mangle is escaped: emphasis and code characters, raw HTML, headings and setext underlines,
link brackets. URLs and addresses are left alone (escaping would break autolinking). Quoted
lines stay ``>`` blockquotes, separated from a following answer by a blank line (otherwise the
answer would be swallowed by the quote: Markdown's lazy continuation).
"""
from __future__ import annotations

import re

_SKIP = re.compile(
    r"(<(?:https?|mailto):[^\s<>]+>|<[\w.+-]+@[\w-]+(?:\.[\w-]+)+>"
    r"|(?:https?|ftp|mailto):[^\s<>\"]+|www\.[^\s<>\"]+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
_INLINE = re.compile(r"[\\`*_\[\]~|<]")
# Markdown's inline characters backslash-escaped (the backslash itself first), "<" as an entity.
_INLINE_ESCAPES = (("\\", "\\\\"), *((c, "\\" + c) for c in "`*_[]~|"), ("<", "&lt;"))
_MAY_LINK = re.compile(r"[:@]|www\.")  # every _SKIP alternative holds one of these
_QUOTE = re.compile(r"^((?:> ?)+)(.*)$")
_LINE_START = re.compile(r"^(\s{0,3})(#{1,6}(?:\s|$)|[=\-]{2,}\s*$|\+(?=\s))")


def _escape(text: str) -> str:
    """What _INLINE matches, escaped (a few str.replace beat one dict-driven str.translate)."""
    for char, escaped in _INLINE_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _escape_inline(line: str) -> str:
    """Escape Markdown inline syntax outside URLs and addresses (odd pieces of the split).

    One line at a time (no URL or address spans lines): most lines need no escaping, and
    most of the others hold no URL or address."""
    if not _INLINE.search(line):
        return line
    if not _MAY_LINK.search(line):
        return _escape(line)
    pieces = _SKIP.split(line)
    for i in range(0, len(pieces), 2):
        pieces[i] = _escape(pieces[i])
    return "".join(pieces)


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
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
