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
_INLINE = re.compile(r"[\\`*_\[\]~|]")
# What _INLINE matches, backslash-escaped, and "<" as an entity (one C-level pass).
_INLINE_ESCAPES = str.maketrans({**{c: "\\" + c for c in "\\`*_[]~|"}, "<": "&lt;"})
_QUOTE = re.compile(r"^((?:> ?)+)(.*)$")
_LINE_START = re.compile(r"^(\s{0,3})(#{1,6}(?:\s|$)|[=\-]{2,}\s*$|\+(?=\s))")


def _escape_inline(text: str) -> str:
    """Escape Markdown inline syntax outside URLs and addresses (odd pieces of the split)."""
    pieces = _SKIP.split(text)
    for i in range(0, len(pieces), 2):
        pieces[i] = pieces[i].translate(_INLINE_ESCAPES)
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
    for line in _escape_inline(text.replace("\r", "")).split("\n"):
        line = line.rstrip()
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
