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

from ..raw_form import spaces_as_stored

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
_LINE_START = re.compile(r"^(\s{0,3})(#{1,6}(?:\s|$)|[=\-]{2,}\s*$|\+(?=\s|$))")


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
    links = (url_finder().match(line) if url_finder().test(line) else None) or []
    links += _glued_links(line, links)
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


# A scheme glued to a symbol (« a=https://x.fr », « p\\|https://x.fr »): linkify-it's full-text
# match wants whitespace or punctuation before it, markdown-it's inline linkify rule only a
# character that is no scheme character (lib/rules_inline/linkify.mjs: SCHEME_RE), so Discourse
# links it (53rd pass: left bare here, the check found a live link in the note quoting a
# subject in capitals).
_GLUED_SCHEME = re.compile(r"(?<=[^\sA-Za-z0-9.+-])(?:https?|ftp|mailto):", re.I)


class _Link:
    """A linkify-it match moved to its place in the whole line."""

    def __init__(self, match, offset: int):
        self.schema, self.text, self.url = match.schema, match.text, match.url
        self.index, self.last_index = match.index + offset, match.last_index + offset


def _glued_links(line: str, links) -> list:
    """The links markdown-it's inline rule makes of schemes glued to a symbol, which LINKS
    (linkify-it's on the whole line) do not hold."""
    found = []
    for glued in _GLUED_SCHEME.finditer(line):
        start = glued.start()
        if any(link.index <= start < link.last_index for link in (*links, *found)):
            continue
        rest = url_finder().match(line[start:]) if url_finder().test(line[start:]) else None
        if rest and rest[0].index == 0:
            found.append(_Link(rest[0], start))
    return found


def _kept_spans(line: str, links) -> list[tuple[int, int, str]]:
    """(start, end, Markdown) of what is not escaped: explicit autolinks and addresses as
    written, URLs as explicit links (never ``linkify`` links, see the module docstring)."""
    spans = [(m.start(), m.end(), _kept_autolink(m.group(0)) if m.group(0).startswith("<")
              else _kept_address(m.group(0)))
             for m in _SKIP.finditer(line)
             if m.group(0).startswith("<") or "@" in m.group(0) and "://" not in m.group(0)]
    for link in links:
        text = link.text
        if link.schema == "mailto:" or (not link.schema and "@" in text and "/" not in text):
            spans.append((link.index, link.last_index, _kept_address(text)))
        elif link.url == text and link.schema != "//" and not _ENDS_AUTOLINK.search(text):
            spans.append((link.index, link.last_index, _kept_autolink(f"<{text}>")))
        else:
            spans.append((link.index, link.last_index, f"[{_escape(text)}](<{_destination(link.url)}>)"))
    return sorted(spans, key=lambda span: (span[0], -span[1]))


# (« //exemple.fr », without a scheme, is a link for linkify and no autolink: « <//exemple.fr> »
# is text around a linkify link, a onebox post_inert cannot rewrite, and the message went to
# quarantine (red team, 50th pass). It is written as an explicit link, like those below.)
# What ends an autolink « <…> » early (CommonMark: no "<", ">", space or control inside): such
# a URL as « <…> » left its tail as text, linkified there and followed by a live @mention
# (« http://x'>exemple.fr@staff »: found by the property test in CI, 7 December 2026). Those
# URLs are written as explicit links, their destination percent-encoded.
# (U+180E too: the forum stores it as a space, see html._UNSAFE_URL_CHARS)
_ENDS_AUTOLINK = re.compile(r"[<>\s\x00-\x1f\x7f\u180e]")


def _kept_autolink(autolink: str) -> str:
    """« <URL> » as written, but for its brackets (``html.bracket_safe``)."""
    from .html import bracket_safe  # (html imports this module)

    return "<" + bracket_safe(autolink[1:-1]) + ">"


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
    """Markdown-safe rendition of plain text; ``>`` quotes become blockquotes; what Markdown
    reads as indented code (a pasted settings file, a log) is written as the sender wrote it."""
    out: list[str] = []
    indented: list[tuple[int, str]] = []  # (index in OUT, line as written) of indented lines
    previous_depth = 0
    # as the forum will store and cook it: its no-break, thin… spaces as plain ones (raw_form)
    for raw in spaces_as_stored(text.replace("\r", "")).split("\n"):
        line = _escape_inline(raw).rstrip()
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
        if raw[:1] in _INDENT_STARTS and _INDENTED.match(raw):
            indented.append((len(out), raw))
        out.append(line)
        previous_depth = depth
    if indented:
        _unescape_indented_code(out, indented)
    return _BLANK_LINES.sub("\n\n", "\n".join(out)).strip("\n")


# A line indented by four columns (or a tab), in a quote or not: markdown-it may read it as
# indented code, where escapes and entities show as written (red team, twenty-third pass:
# « TEMPLATE\\_VARS », « &lt; » in a pasted settings file).
_INDENT_STARTS = (" ", "\t", ">")
_INDENTED = re.compile(r"(?:> ?)*(?: {4}| {0,3}\t)")
_CODE_INDENT = re.compile(r" {4}| {0,3}\t")


def _unescape_indented_code(out: list[str], indented: list[tuple[int, str]]) -> None:
    """The lines of OUT markdown-it reads as indented code, written as the sender wrote them
    (INDENTED: their index and text): code shows every character as it is, nothing in it is
    live. Read on the escaped text, whose block structure is the same (escapes only change
    what follows a line's indentation). A line that would open a block BBCode stays escaped
    (``live_syntax`` does not take indented code out)."""
    changed, runs, simple = {}, {}, True
    for index, raw in indented:
        if index and out[index - 1].strip("> ") and index - 1 not in runs:
            continue  # a paragraph goes on: indented code only opens after a blank line
        match = _QUOTE.match(raw.rstrip())
        depth = match.group(1).count(">") if match else 0
        written = ("> " * depth + match.group(2)).rstrip() if match else raw.rstrip()
        if not _CODE_INDENT.match(written, 2 * depth):  # ">    x": "> " then three spaces
            continue
        # a blank line of its own quote (or the text's start) before it, or such a line
        simple = simple and (runs.get(index - 1) == depth or out[index - 1] == ("> " * depth).rstrip()
                             if index else not depth) and not (depth and "\t" in _leading(written))
        runs[index] = depth
        if written != out[index] and _leading(written) == _leading(out[index]) \
                and not _opens_a_block_bbcode(written):
            changed[index] = written
    if not changed:  # nothing escaped in those lines: the same either way
        return
    if simple and not any(_LIST_ITEM.match(line) or _SPACED_QUOTE.match(line)
                          for line in out[:max(changed)]):  # no list, no « ␣> » quote before them
        # With no list (the text's other blocks are paragraphs and quotes: fences, tables,
        # HTML, headings and the like are escaped), an indented line after a blank line of
        # its own quote, or after such a line, is indented code: no parse (the common case).
        code = changed
    else:
        from .inert import discourse_parser

        # Parsed from the last line where every block is closed (a paragraph's first line,
        # after a blank line, outside quotes and lists) to the last line wanted: the same
        # blocks there as in the whole text, for a fraction of the parse (long quoted threads).
        first, last = min(changed), max(changed)
        start = next((i for i in range(first, 0, -1) if out[i - 1] == "" and out[i][:1] not in _OPEN
                      and not _LIST_ITEM.match(out[i])), 0)
        code = {start + index for token in discourse_parser().blocks("\n".join(out[start:last + 1])).tokens
                if token.type == "code_block" and token.map for index in range(*token.map)}
    for index, written in changed.items():
        if index in code:
            out[index] = written


_OPEN = ("", " ", "\t", ">")  # what a line that closes every block does not start with
# A list item's start, whatever its marker (a bare « + » line was not escaped and opened a list
# the shortcut did not see: red team, twenty-fifth pass), after any run of quote markers and
# spaces (« ␣>- x » is a list in a quote: twenty-eighth pass). Wider than Markdown reads a list
# (more texts go through the parse, which decides); possessive, so linear.
_LIST_ITEM = re.compile(r"[ \t>]*+(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
# A quote marker after spaces: the quote depth the shortcut reads (``_QUOTE``) is not Markdown's.
_SPACED_QUOTE = re.compile(r"[ \t]++>")


def _opens_a_block_bbcode(line: str) -> bool:
    """LINE would open a quote or another block BBCode, as ``live_syntax`` reads lines."""
    from .inert import _QUOTE_LINE, block_bbcode

    return bool(_QUOTE_LINE.match(line) or block_bbcode(line))


def _leading(line: str) -> str:
    """LINE's quote markers and indentation (what its block structure depends on)."""
    return line[:len(line) - len(line.lstrip("> \t"))]


def inline_markdown(text: str | None) -> str:
    """One line of someone else's text (an export's label, a newcomer's name) as inert Markdown:
    on one line, Markdown's inline characters escaped, addresses as explicit links (no
    onebox), mentions neutralised, nothing that opens a block at the line's start."""
    from .inert import neutralise_text

    text = neutralise_text(_escape_inline(" ".join(spaces_as_stored(text or "").split())))
    return re.sub(r"^([#>+-])", r"\\\1", text)
