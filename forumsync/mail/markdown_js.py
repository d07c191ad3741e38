"""markdown-it-py parsing as markdown-it 14.0.0 (JavaScript) does: the parser Discourse cooks
with (discourse-markdown-it's package.json pinned it; its 2026 lockfile has 14.1.1, which
``install(md, "14.1.1")`` follows: see ``VERSIONS``). markdown-it-py 4.3 differs from it in a few
rules, and each difference found by comparing the two token streams (red team, 50th pass:
markdown-it run by node on generated and corpus texts) where markdown-it makes live what
markdown-it-py does not is written here as markdown-it writes it:

- ``MAX_NESTING``: Discourse builds its engine with ``markdownit(options)``, the "default"
  preset, whose ``maxNesting`` is 100; markdown-it-py's "commonmark" preset has 20. Past it, a
  block's content is dropped: a mention 20 quotes deep (``> > … @staff``) was not seen at all.
- ``backtick``: markdown-it caches, per inline content, where closing runs of backticks are,
  and once a scan reached its end (``backticksScanned``) an opening run with no cached closer
  after it is text. A scan inside a link label stops at the label's end, and one that fails
  from a later run leaves runs before it uncached: « [`a](x) @staff `b` » has no code span
  for markdown-it (the mention is live); markdown-it-py 4.3 caches from the whole source and
  made « `a](x) @staff ` » code.
- ``scan_delims``: markdown-it reads the character before and after a run of ``*``, ``_``,
  ``~`` as a UTF-16 code unit: a character outside the BMP (an emoji) is half a surrogate
  pair, neither a space nor punctuation; and ``isPunctChar`` is Unicode P only (14.0.0).
  markdown-it-py reads the code point, P and S: « www.x.fr/a*😀*@staff » has an emphasis for
  markdown-it, which ends the linkify link at « a » (the mention after it is live), and none
  for markdown-it-py, whose link ran over the mention.
- ``reference``: markdown-it 14.0.0 reads a link reference definition in the whole paragraph
  (later versions fetch its lines one by one, as markdown-it-py does), so a destination's
  backslash at a line's end escapes the line break and the destination goes on: « [x]: @staff\\ »
  then a line « //a.fr » is no definition but a paragraph (the mention is live); for
  markdown-it-py the first line alone was a definition (not shown, not checked). A definition
  whose destination does run on counts no line for it (markdown-it's ``lines`` skips it): the
  next line is parsed again. The first line's quick check (« [a\\\\]: @staff]x » is no
  definition) and the paragraph's trailing whitespace (trimmed) are markdown-it's too.
- ``html_inline``, ``html_block``: markdown-it 14.0.0's patterns (a comment holds no « -- »,
  a declaration is upper-case letters then a space, JavaScript's ``\\s``, its block names)
  and a block that ends at the first line indented less than its container, a blank one too.
  markdown-it-py 4.3 read « a <!-- x -- @staff --> », « <!x @staff> », « </a> » U+0085 then
  « @staff », « - <!-- », a blank line, « ␣␣@staff » as HTML, their text unchecked.

The local forum's cooking and the check's parser both have them (``install``), and linkify-it's
case folding (``mail.linkify``). Where the two parsers still differ, nothing live differs: the
``href`` of a « //host » link with non-ASCII letters (markdown-it escapes it with %, markdown-it-py
writes punycode), a ``mailto:`` link's text, the ``map`` of table cells and of unclosed fences.
"""
from __future__ import annotations

import re
import unicodedata

from markdown_it.common.utils import charCodeAt, isMdAsciiPunct, isSpace, isWhiteSpace, normalizeReference
from markdown_it.rules_block.reference import getNextLine
from markdown_it.rules_inline import emphasis, strikethrough
from markdown_it.rules_inline.state_inline import Scanned

# markdown-it's "default" preset (lib/presets/default.mjs), the one Discourse's engine uses.
MAX_NESTING = 100


# The versions of markdown-it Discourse has cooked with: 14.0.0 (pinned by discourse-markdown-it's
# package.json until 2026), 14.1.1 (its 2026 lockfile). They differ in isPunctChar (P, then P and S),
# reference definitions (the whole paragraph, then line by line as markdown-it-py), the comment and
# declaration patterns (then CommonMark 0.31's, as markdown-it-py) and a block name (source, then
# search). The first is the parsers' own; the check (``inert.live_syntax``) reads with both.
VERSIONS = ("14.0.0", "14.1.1")


def install(md, version: str = VERSIONS[0]):
    """Make MD parse as markdown-it VERSION where the rules above differ; returns MD."""
    if version not in VERSIONS:
        raise ValueError(version)
    later = version != VERSIONS[0]
    md.options["maxNesting"] = MAX_NESTING
    md.inline.ruler.at("backticks", backtick)
    md.inline.ruler.at("emphasis", _with_js_delims(emphasis.tokenize, later))
    md.inline.ruler.at("strikethrough", _with_js_delims(strikethrough.tokenize, later))
    if not later:  # (14.1 reads definitions line by line, as markdown-it-py's own rule)
        md.block.ruler.at("reference", reference)  # (it terminates no other block: no "alt")
    md.block.ruler.at("html_block", _html_block_rule(HTML_SEQUENCES_14_1 if later else HTML_SEQUENCES),
                      {"alt": ["paragraph", "reference", "blockquote"]})
    md.inline.ruler.at("html_inline", _html_inline_rule(HTML_TAG_RE_14_1 if later else HTML_TAG_RE))
    return md


# ------------------------------------------------------------------ emphasis delimiters
# uc.micro 2.1 (Unicode 15.1, the one markdown-it 14.0.0 and 14.1.1 install) has symbols that
# an older Python's unicodedata does not know (Python 3.11: Unicode 14.0): the ideographic
# description characters U+2FFC to U+2FFF and the CJK stroke U+31EF (So since 15.1). Its P is
# the same as Python 3.11's.
UC_MICRO_NEWER_SYMBOLS = frozenset("\u2ffc\u2ffd\u2ffe\u2fff\u31ef")


def unicode_symbol(char: str) -> bool:
    """uc.micro's S (Unicode symbols) on one character."""
    return unicodedata.category(char)[0] == "S" or char in UC_MICRO_NEWER_SYMBOLS


def _js_punct(char: str, symbols: bool = False) -> bool:
    """markdown-it's isPunctChar on one UTF-16 code unit: Unicode P (uc.micro), and S from 14.1."""
    return unicodedata.category(char)[0] == "P" or symbols and unicode_symbol(char)


def _code_unit_kind(char: str, symbols: bool = False) -> tuple[bool, bool]:
    """(whitespace, punctuation) for CHAR as markdown-it reads it: a character outside the BMP
    is read as one of its surrogates, which is neither."""
    code = ord(char)
    if code > 0xFFFF:
        return False, False
    return isWhiteSpace(code), isMdAsciiPunct(code) or _js_punct(char, symbols)


def scan_delims(state, start: int, can_split_word: bool, symbols: bool = False) -> Scanned:
    """StateInline.prototype.scanDelims of markdown-it 14.0.0 (14.1 with SYMBOLS)."""
    src, maximum = state.src, state.posMax
    marker = src[start]
    last = src[start - 1] if start > 0 else " "
    pos = start
    while pos < maximum and src[pos] == marker:
        pos += 1
    count = pos - start
    following = src[pos] if pos < maximum else " "
    last_white, last_punct = _code_unit_kind(last, symbols)
    next_white, next_punct = _code_unit_kind(following, symbols)
    left_flanking = not (next_white or (next_punct and not (last_white or last_punct)))
    right_flanking = not (last_white or (last_punct and not (next_white or next_punct)))
    if can_split_word:
        can_open, can_close = left_flanking, right_flanking
    else:
        can_open = left_flanking and (not right_flanking or last_punct)
        can_close = right_flanking and (not left_flanking or next_punct)
    return Scanned(can_open, can_close, count)


def _with_js_delims(rule, symbols: bool):
    def scan(state, start: int, can_split_word: bool) -> Scanned:
        return scan_delims(state, start, can_split_word, symbols)

    def tokenize(state, silent: bool) -> bool:
        state.scanDelims = scan.__get__(state)  # this state's runs read as markdown-it's
        return rule(state, silent)
    tokenize.__name__ = rule.__module__.rsplit(".", 1)[-1]
    return tokenize


# ------------------------------------------------------------------ code spans
# markdown-it strips one space on each side with /^ (.+) $/: "." is no line terminator.
_ONE_SPACE_EACH_SIDE = re.compile("^ ([^\n\r\u2028\u2029]+) $")


def backtick(state, silent: bool) -> bool:
    """lib/rules_inline/backticks.mjs of markdown-it 14.0.0, its cache included."""
    src, start = state.src, state.pos
    if src[start] != "`":
        return False
    maximum = state.posMax
    pos = start + 1
    while pos < maximum and src[pos] == "`":
        pos += 1
    marker = src[start:pos]
    opener_length = len(marker)
    if state.backticksScanned and state.backticks.get(opener_length, 0) <= start:
        if not silent:
            state.append_pending(marker)
        state.pos += opener_length
        return True
    match_end = pos
    while (match_start := src.find("`", match_end)) != -1:
        match_end = match_start + 1
        while match_end < maximum and src[match_end] == "`":
            match_end += 1
        closer_length = match_end - match_start
        if closer_length == opener_length:
            if not silent:
                token = state.push("code_inline", "code", 0)
                token.markup = marker
                token.content = _ONE_SPACE_EACH_SIDE.sub(r"\1", src[pos:match_start].replace("\n", " "))
            state.pos = match_end
            return True
        state.backticks[closer_length] = match_start  # an upper limit of where a closer can be
    state.backticksScanned = True
    if not silent:
        state.append_pending(marker)
    state.pos += opener_length
    return True


# ------------------------------------------------------------------ reference definitions
def _escaped_line_end(string: str) -> bool:
    """STRING ends with a line break after an odd run of backslashes (an escaped line break)."""
    if not string.endswith("\n"):
        return False
    end = len(string) - 1
    start = end
    while start and string[start - 1] == "\\":
        start -= 1
    return (end - start) % 2 == 1


def _next_line(state, line: int) -> str | None:
    """The paragraph's LINE as markdown-it 14.0.0 reads it (``getLines`` with the block's
    indent: spaces beyond it kept, « [x]: @staff\\ » then « ␣//a.fr » ends the destination
    at the space), or None where the paragraph ends (markdown-it-py's ``getNextLine``)."""
    if getNextLine(state, line) is None:
        return None
    return state.getLines(line, line + 1, state.blkIndent, True)


# What JavaScript's String.prototype.trim removes (markdown-it 14.0.0 trims the paragraph's text).
_JS_TRIMMED = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _paragraph_end(state, line: int, string: str) -> str:
    """STRING (the lines fetched, LINE the next one) as markdown-it reads it: when no line of
    the paragraph follows, without its trailing whitespace (« [x]: a\\␣ » then a list: the
    destination is « a\\ », a definition; markdown-it-py read « a », then « \\ » after it)."""
    return string.rstrip(_JS_TRIMMED) if getNextLine(state, line) is None else string


def _after_blanks(string: str, pos: int, maximum: int) -> int:
    """The first position from POS (up to MAXIMUM) that is no space or tab."""
    while pos < maximum and isSpace(charCodeAt(string, pos)):
        pos += 1
    return pos


def _skip_spaces(state, string: str, pos: int, maximum: int, nextLine: int):
    """The reference rule's loop over spaces and line ends, fetching the paragraph's next line
    at each line end (markdown-it reads on in the whole paragraph): (string, pos, maximum,
    nextLine) after them."""
    while pos < maximum:
        ch = charCodeAt(string, pos)
        if ch == 0x0A:
            if (lineContent := _next_line(state, nextLine)) is not None:
                string = _paragraph_end(state, nextLine + 1, string + lineContent)
                maximum = len(string)
                nextLine += 1
        elif not isSpace(ch):
            break
        pos += 1
    return string, pos, maximum, nextLine


def reference(state, startLine: int, _endLine: int, silent: bool) -> bool:
    """markdown-it-py 4.3's reference rule (lines fetched one by one), read as markdown-it 14.0.0
    reads the whole paragraph: a destination goes on over an escaped line break, and the lines
    it runs over are not counted (see the module docstring)."""
    pos = state.bMarks[startLine] + state.tShift[startLine]
    maximum = state.eMarks[startLine]
    nextLine = startLine + 1
    if state.is_code_block(startLine):
        return False
    if state.src[pos] != "[":
        return False
    # markdown-it 14.0.0's quick check of the first line: its first "]" not right after a
    # backslash (an escaped backslash counts as one) must be followed by ":" on that line
    end = pos
    while (end := end + 1) < maximum:
        if state.src[end] == "]" and state.src[end - 1] != "\\":
            if end + 1 == maximum or state.src[end + 1] != ":":
                return False
            break
    string = _paragraph_end(state, nextLine, state.src[pos:maximum + 1])
    maximum = len(string)

    labelEnd = None
    pos = 1
    while pos < maximum:
        ch = charCodeAt(string, pos)
        if ch == 0x5B:  # [
            return False
        elif ch == 0x5D:  # ]
            labelEnd = pos
            break
        elif ch == 0x0A:
            if (lineContent := _next_line(state, nextLine)) is not None:
                string = _paragraph_end(state, nextLine + 1, string + lineContent)
                maximum = len(string)
                nextLine += 1
        elif ch == 0x5C:  # \
            pos += 1
            if (pos < maximum and charCodeAt(string, pos) == 0x0A
                    and (lineContent := _next_line(state, nextLine)) is not None):
                string = _paragraph_end(state, nextLine + 1, string + lineContent)
                maximum = len(string)
                nextLine += 1
        pos += 1
    if labelEnd is None or charCodeAt(string, labelEnd + 1) != 0x3A:  # :
        return False

    pos = labelEnd + 2
    string, pos, maximum, nextLine = _skip_spaces(state, string, pos, maximum, nextLine)

    # markdown-it reads the destination in the whole paragraph: an escaped line break at the
    # end of the lines fetched so far goes on into the next line
    while _escaped_line_end(string) and (lineContent := _next_line(state, nextLine)) is not None:
        string = _paragraph_end(state, nextLine + 1, string + lineContent)
        maximum = len(string)
        nextLine += 1
    destStart = pos
    destRes = state.md.helpers.parseLinkDestination(string, pos, maximum)
    if not destRes.ok:
        return False
    href = state.md.normalizeLink(destRes.str)
    if not state.md.validateLink(href):
        return False
    pos = destRes.pos
    # markdown-it's destination counts no line it runs over (a paragraph's last line break is
    # no line it runs over: markdown-it's text of the paragraph ends before it)
    uncounted = string.count("\n", destStart, pos - 1 if pos == maximum and string.endswith("\n") else pos)

    destEndPos = pos
    destEndLineNo = nextLine
    start = pos
    string, pos, maximum, nextLine = _skip_spaces(state, string, pos, maximum, nextLine)

    titleRes = state.md.helpers.parseLinkTitle(string, pos, maximum, None)
    while titleRes.can_continue:
        if (lineContent := _next_line(state, nextLine)) is None:
            break
        string = _paragraph_end(state, nextLine + 1, string + lineContent)
        pos = min(maximum, len(string))
        maximum = len(string)
        nextLine += 1
        titleRes = state.md.helpers.parseLinkTitle(string, pos, maximum, titleRes)

    if pos < maximum and start != pos and titleRes.ok:
        title = titleRes.str
        pos = titleRes.pos
    else:
        title = ""
        pos = destEndPos
        nextLine = destEndLineNo

    pos = _after_blanks(string, pos, maximum)
    if pos < maximum and charCodeAt(string, pos) != 0x0A and title:
        # garbage after the title: it could still be a definition without it
        title = ""
        pos = destEndPos
        nextLine = destEndLineNo
        pos = _after_blanks(string, pos, maximum)
    if pos < maximum and charCodeAt(string, pos) != 0x0A:
        return False

    label = normalizeReference(string[1:labelEnd])
    if not label:
        return False
    if silent:
        return True
    if "references" not in state.env:
        state.env["references"] = {}
    state.line = nextLine - uncounted
    if label not in state.env["references"]:
        state.env["references"][label] = {"title": title, "href": href, "map": [startLine, state.line]}
    return True


# ------------------------------------------------------------------ raw HTML
# JavaScript's \s: Python's also holds U+001C to U+001F and U+0085, and not U+FEFF.
_S = "[\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"
# lib/common/html_re.mjs of markdown-it 14.0.0: a comment holds no "--" and starts with no ">"
# or "->", a declaration is upper-case letters then a space (markdown-it-py 4.3 has CommonMark
# 0.31's wider ones: « <!-- x -- @staff --> », « <!x @staff> » were HTML, their text unchecked).
_ATTR_VALUE = "(?:[^\"'=<>`\\x00-\\x20]+|'[^']*'|\"[^\"]*\")"
_ATTRIBUTE = f"(?:{_S}+[a-zA-Z_:][a-zA-Z0-9:._-]*(?:{_S}*={_S}*{_ATTR_VALUE})?)"
_OPEN_TAG = f"<[A-Za-z][A-Za-z0-9\\-]*{_ATTRIBUTE}*{_S}*\\/?>"
_CLOSE_TAG = f"<\\/[A-Za-z][A-Za-z0-9\\-]*{_S}*>"
HTML_TAG_RE = re.compile(f"(?:{_OPEN_TAG}|{_CLOSE_TAG}|<!---->|<!--(?:-?[^>-])(?:-?[^-])*-->"
                         f"|<[?][\\s\\S]*?[?]>|<![A-Z]+{_S}+[^>]*>|<!\\[CDATA\\[[\\s\\S]*?\\]\\]>)")
_LINK_OPEN = re.compile(f"<a(?:>|{_S})", re.I | re.A)
_LINK_CLOSE = re.compile(f"</a{_S}*>", re.I | re.A)


def html_inline(state, silent: bool, tag_re=None) -> bool:
    """lib/rules_inline/html_inline.mjs of markdown-it 14.0.0 (TAG_RE: 14.1's patterns), with
    markdown-it-py 4.3's quick fails (a terminator each alternative needs, looked for once:
    linear time; « <!--> » and « <!---> » are 14.1's shortest comments)."""
    if not state.md.options.get("html", None):
        return False
    src, pos, maximum = state.src, state.pos, state.posMax
    if src[pos] != "<" or pos + 2 >= maximum:
        return False
    ch = src[pos + 1]
    if ch not in "!?/" and not ("a" <= ch.lower() <= "z" and ch.isascii()):
        return False
    if src.startswith("<!--", pos):
        if (state.html_terminator_last("-->") < pos + 4 and not src.startswith("<!-->", pos)
                and not src.startswith("<!--->", pos)):
            return False
    elif src.startswith("<![CDATA[", pos):
        if state.html_terminator_last("]]>") < pos + 9:
            return False
    elif ch == "?":
        if state.html_terminator_last("?>") < pos + 2:
            return False
    elif state.html_terminator_last(">") < pos + 2:
        return False
    match = (tag_re or HTML_TAG_RE).match(src, pos)
    if not match:
        return False
    if not silent:
        token = state.push("html_inline", "", 0)
        token.content = match.group(0)
        if _LINK_OPEN.match(token.content):
            state.linkLevel += 1
        if _LINK_CLOSE.match(token.content):
            state.linkLevel -= 1
    state.pos += len(match.group(0))
    return True


# lib/common/html_blocks.mjs of markdown-it 14.0.0 ("source", not "search")
_BLOCK_NAMES = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h1|h2|h3|h4|h5|"
    "h6|head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|"
    "option|p|param|section|source|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul")
_EMPTY = re.compile(r"\A\Z")
# lib/rules_block/html_block.mjs: (opening, closing, whether it may end a paragraph)
HTML_SEQUENCES = [
    (re.compile(f"^<(?:script|pre|style|textarea)(?={_S}|>|\\Z)", re.I | re.A),
     re.compile(r"</(?:script|pre|style|textarea)>", re.I | re.A), True),
    (re.compile(r"^<!--"), re.compile(r"-->"), True),
    (re.compile(r"^<\?"), re.compile(r"\?>"), True),
    (re.compile(r"^<![A-Z]"), re.compile(r">"), True),
    (re.compile(r"^<!\[CDATA\["), re.compile(r"\]\]>"), True),
    (re.compile(f"^</?(?:{_BLOCK_NAMES})(?={_S}|/?>|\\Z)", re.I | re.A), _EMPTY, True),
    (re.compile(f"^(?:{_OPEN_TAG}|{_CLOSE_TAG}){_S}*\\Z"), _EMPTY, False),
]


def html_block(state, startLine: int, endLine: int, silent: bool, sequences=None) -> bool:
    """lib/rules_block/html_block.mjs of markdown-it 14.0.0: its sequences, and a block ends at
    the first line indented less than the block's content, a blank one too (markdown-it-py 4.3
    goes on past a blank line to the closing sequence: « - <!-- », a blank line, « ␣␣@staff »
    was HTML for it, a paragraph for markdown-it)."""
    pos = state.bMarks[startLine] + state.tShift[startLine]
    maximum = state.eMarks[startLine]
    if state.sCount[startLine] - state.blkIndent >= 4:
        return False
    if not state.md.options.get("html", None):
        return False
    if pos >= len(state.src) or state.src[pos] != "<":
        return False
    line_text = state.src[pos:maximum]
    for opening, closing, terminates in sequences or HTML_SEQUENCES:
        if opening.search(line_text):
            break
    else:
        return False
    if silent:
        return terminates
    nextLine = startLine + 1
    if not closing.search(line_text):
        while nextLine < endLine:
            if state.sCount[nextLine] < state.blkIndent:
                break
            pos = state.bMarks[nextLine] + state.tShift[nextLine]
            line_text = state.src[pos:state.eMarks[nextLine]]
            if closing.search(line_text):
                if line_text:
                    nextLine += 1
                break
            nextLine += 1
    state.line = nextLine
    token = state.push("html_block", "", 0)
    token.map = [startLine, nextLine]
    token.content = state.getLines(startLine, nextLine, state.blkIndent, True)
    return True


# markdown-it 14.1's patterns (CommonMark 0.31's comments and declarations, "search").
HTML_TAG_RE_14_1 = re.compile(f"(?:{_OPEN_TAG}|{_CLOSE_TAG}|<!---?>|<!--(?:[^-]|-[^-]|--[^>])*-->"
                              f"|<[?][\\s\\S]*?[?]>|<![A-Za-z][^>]*>|<!\\[CDATA\\[[\\s\\S]*?\\]\\]>)")
_BLOCK_NAMES_14_1 = "|".join(sorted(set(_BLOCK_NAMES.split("|")) - {"source"} | {"search"}))
HTML_SEQUENCES_14_1 = [  # (type 4 is still « <! » and an upper-case letter)
    *HTML_SEQUENCES[:5],
    (re.compile(f"^</?(?:{_BLOCK_NAMES_14_1})(?={_S}|/?>|\\Z)", re.I | re.A), _EMPTY, True),
    HTML_SEQUENCES[6],
]


def _html_inline_rule(tag_re):
    def rule(state, silent: bool) -> bool:
        return html_inline(state, silent, tag_re)
    rule.__name__ = "html_inline"
    return rule


def _html_block_rule(sequences):
    def rule(state, startLine: int, endLine: int, silent: bool) -> bool:
        return html_block(state, startLine, endLine, silent, sequences)
    rule.__name__ = "html_block"
    return rule
