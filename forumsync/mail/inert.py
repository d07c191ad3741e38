"""Mail text made inert for Discourse: what a sender writes never becomes a live mention,
quote, image or onebox on the forum, and names carry no bidi trickery.

What is "live" follows Discourse's cooking (discourse-markdown-it):
- mentions (features/mentions.js + text-post-process.js): ``@name`` in a *text* token after
  markdown-it's ``text_join`` (so ``\\@staff`` and ``&#64;staff`` are live too), outside
  links, preceded by the token start, a space or a punctuation mark. Escaping cannot stop
  them: a zero-width space after the ``@`` does (the name must follow the ``@`` at once);
- quotes (bbcode-block.js): a line starting with ``[quote`` (``\\[quote`` is text);
- images: Markdown ``![](…)``, inline BBCode ``[img]…[/img]`` (bbcode-inline.js), raw
  ``<img>``, and a bare link alone on its line (onebox.js oneboxes ``linkify`` links only:
  ``<https://…>`` autolinks stay plain links).

``live_syntax`` is the structural check: it parses the raw with markdown-it-py configured as
Discourse (text_join, linkify with Discourse's TLD list) and lists what would be live.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from collections import OrderedDict
from functools import lru_cache

from .. import markdown_memo
from . import markdown_js
from .text import _MAY_REALLY_LINK
from ..raw_form import spaces_as_stored
from .raw_readers import break_raw_readers

ZWSP = "\u200b"
# The one character JavaScript's \s matches and Python's does not (ZERO WIDTH NO-BREAK SPACE).
JS_ONLY_SPACE = "\ufeff"
# Bidi embeddings, overrides and isolates, and the marks (LRM/RLM) that reorder text.
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
# Discourse's markdown_linkify_tlds default (config/site_settings.yml).
DISCOURSE_TLDS = "com|net|org|io|onion|co|tv|ru|cn|us|uk|me|de|fr|fi|gov".split("|")
# An "@" that may open a mention: followed by a letter, digit, underscore or combining mark
# (the unicode_usernames variant is the widest), see _mention_start.
# ("\_" too: markdown-it joins the escaped "_" to the text, and "@_" is a mention.)
_AT = re.compile(r"@(?=[\w\u0300-\u036f]|\\_)")
# "@" written as an HTML entity: decoded by markdown-it, then joined to the text (live).
_AT_ENTITY = re.compile(r"&(?:#0*64|#[xX]0*40|commat);")
# Fence lines (CommonMark 4.5), inside any blockquotes. Opening is read strictly (fence_opening):
# a line taken for a fence that is not one would leave the lines after it live ("```@staff`" is
# a paragraph: a backtick fence's info string has no backtick; 4 spaces make indented code).
# Closing is read widely: ending a fence early only escapes more.
_FENCE_RUN = re.compile(r"(`{3,}|~{3,})(.*)")
_FENCE = re.compile(r"^ {0,3}(?:>\s?)*\s*(`{3,}|~{3,})")


def fence_opening(line: str) -> str | None:
    """The run of backticks or tildes with which LINE opens a fenced code block, or None.
    Read without a backtracking pattern (a line of many nested « > » is common in mail)."""
    if "```" not in line and "~~~" not in line:  # most lines: no run of three to open with
        return None
    rest = line
    while True:  # blockquote markers: up to 3 spaces, ">", an optional space or tab
        text = rest.lstrip(" ")
        if len(rest) - len(text) > 3 or not text.startswith(">"):
            break
        rest = text[2:] if text[1:2] in (" ", "\t") else text[1:]
    text = rest.lstrip(" ")
    match = _FENCE_RUN.match(text) if len(rest) - len(text) <= 3 else None
    if match is None or match.group(1)[0] == "`" and "`" in match.group(2):
        return None
    return match.group(1)


def fence_closes(line: str, fence: str) -> bool:
    """Whether LINE may end the fenced code block FENCE opened (read widely, see _FENCE)."""
    match = _FENCE.match(line)
    return match is not None and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence)


def fenced_lines(lines):
    """(line, whether it is fenced code: inside a fenced block, its fences included) for each
    of LINES. Nothing there is live, and code must stay as written."""
    fence = None
    for line in lines:
        if fence is None:
            fence = fence_opening(line)
            yield line, fence is not None
        else:
            if fence_closes(line, fence):
                fence = None
            yield line, True


# ---------------------------------------------------------------- names and file names
def strip_bidi(text: str) -> str:
    """TEXT without bidi controls (a name ``\u202eRDP.exe`` shows reversed otherwise)."""
    return BIDI.sub("", text or "")


def inert_name(name: str) -> str:
    """A display name as shown on the forum: no bidi controls, no control characters or line
    breaks, spaces collapsed. Call it on every sender name before it reaches the forum (the
    staged user's name, the attribution line)."""
    name = _CONTROLS.sub(" ", strip_bidi(name or ""))
    name = _ZERO_WIDTH.sub("", name)  # "Ma\u200brie" must read, and compare, as "Marie"
    return " ".join(name.split())


def inert_filename(name: str) -> str:
    """An attachment's file name: like ``inert_name``, and no path separators."""
    return inert_name(name).replace("/", "_").replace("\\", "_")


# ---------------------------------------------------------------- Markdown fragments
_FRAGMENT_ESCAPES = (("\\", "\\\\"), *((c, "\\" + c) for c in "`*_[]~|!#"), ("<", "&lt;"))


def escape_fragment(text: str) -> str:
    """A piece of mail text (a file name, a header value) safe inside one Markdown line:
    formatting characters escaped, mentions neutralised, on one line."""
    text = inert_name(text)
    for char, escaped in _FRAGMENT_ESCAPES:
        text = text.replace(char, escaped)
    return neutralise_text(text)


def link_label(name: str) -> str:
    """A file name as the text of ``[label|attachment](url)`` or ``![label](url)``: no
    brackets or pipes (they end the label or add Discourse's ``|attachment``-style options)."""
    label = inert_filename(name).replace("[", "(").replace("]", ")").replace("|", "-")
    label = label.replace("\\", "_").replace("`", "'").replace("\ufeff", "")
    # no raw HTML either ("<img src=data:…>.pdf", "<details open>.pdf"), no entity that makes one
    label = label.replace("&", "&amp;").replace("<", "&lt;")
    # read as it will be written, between "[" and "]" (``quote="admin, …`` makes a quote there)
    return break_raw_readers("[" + neutralise_text(label) + "]")[1:-1] or "piece-jointe"


# Discourse's hashtag matcher (features/hashtag-autocomplete.js): "#" then 1 to 101 of these.
# JavaScript's \w (no "u" flag) is ASCII: written out, Python's \w is Unicode.
HASHTAG_CHARS = "A-Za-z0-9_:\\-\u00c0-\u1fff\u2c00-\ud7ff"
# What follows the "#" may also be a name character written as a backslash escape ("\\_", "\\-",
# "\\:") or as an entity ("&#115;", "&eacute;"): markdown-it decodes both and text_join joins
# them to the "#" before text-post-process reads it ("#\\_staff" from an HTML mail's "#_staff").
_HASHTAG = re.compile(f"#(?=[{HASHTAG_CHARS}]|\\\\[_:-]|&(?:#[0-9]{{1,7}}|#[xX][0-9a-fA-F]{{1,6}}|[A-Za-z][A-Za-z0-9]{{1,31}});)")
# "#" written as an HTML entity: decoded by markdown-it, then joined to the text (live).
_HASH_ENTITY = re.compile(r"&(?:#0*35|#[xX]0*23|num);")
# A numeric character reference: its "#" is no hashtag (markdown-it's entity rule).
_CHAR_REF = re.compile(r"&#(?:[xX][0-9a-fA-F]{1,6}|[0-9]{1,7});")
# Invisible characters that tell the candidates apart while the text is parsed (format
# characters, Cf: neither whitespace nor punctuation for markdown-it, nor link ends).
_MARK_OPEN, _MARK_BIT0, _MARK_BIT1, _MARK_CLOSE = "\u2060", "\u200c", "\u200d", "\u2063"
_MARK = re.compile("\u2060([\u200c\u200d]+)\u2063")
# The same characters written by the sender would spell marks of their own (an index, and a
# zero-width space put in a link or in code: red team, 42nd pass). In the copy that is parsed
# they become another invisible format character, parsed the same way (one character for one,
# so every position holds).
_SENDER_MARKS, _NOT_A_MARK = re.compile("[\u2060\u200c\u200d\u2063]"), "\u2062"


def _escaped(text: str, at: int) -> bool:
    """Whether the character at AT follows an odd run of backslashes (an escape)."""
    start = at
    while start and text[start - 1] == "\\":
        start -= 1
    return (at - start) % 2 == 1


def _hashtag_candidates(markdown: str) -> list[int]:
    """Where in MARKDOWN a "#" is followed by a hashtag character, but for the "#" of a
    numeric character reference (``&#12;``) whose "&" is not escaped (``\\&#12;`` is text)."""
    refs = {m.start() + 1 for m in _CHAR_REF.finditer(markdown)
            if not _escaped(markdown, m.start())} if "&#" in markdown else ()
    return [m.start() for m in _HASHTAG.finditer(markdown) if m.start() not in refs]


def neutralise_hashtags(markdown: str) -> str:
    """Every "#" Discourse would cook into a hashtag (a category or a tag looked up on the
    server, its name and link shown) gets a zero-width space after it (or, where that would
    change the parse, its entity before it: ``_judged_unmarked``). Only in text it would
    cook: a "#" in code (fenced, indented, inline), in a link or an address, in raw HTML, or
    after a letter (``C#2``) is left as written. Decided on the parse: each candidate "#" is
    marked with invisible characters, the text parsed as Discourse does, and the marks found
    in text tokens outside links where Discourse's matcher starts a hashtag are kept."""
    if "&" in markdown:
        markdown = _HASH_ENTITY.sub("#", markdown)  # shown as "#" by Discourse anyway
    if "#" not in markdown:
        return markdown
    candidates = _hashtag_candidates(markdown)
    if _never_hashtags(markdown, candidates):  # (no candidate: True as well)
        return markdown  # no parse (most of the corpus's messages with a "#": URL fragments)
    in_text: set[int] = set()
    live = _live_candidates(markdown, candidates, in_text)
    line_of = _line_finder(markdown)
    out, pos, unmarked, lines = [], 0, [], set()
    shift = 0  # what the result's positions are ahead of MARKDOWN's, after POS
    for index, at in enumerate(candidates):
        if index in live and markdown[at + 1] == "_":
            # the mark (a letter) before the "_" stopped it from opening an emphasis: a
            # zero-width space there would too ("#_important_"), its entity before the "#"
            # leaves the "_" as written; checked on the unmarked parse below
            start = at - _escaped(markdown, at)
            out.append(markdown[pos:start] + ZWSP_ENTITY)
            pos, shift = start, shift + len(ZWSP_ENTITY)
            lines.add(line_of(at))
        elif index in live:
            out.append(markdown[pos:at + 1] + ZWSP)
            pos, shift = at + 1, shift + 1
        elif index in in_text:  # judged dead, in text: in a link, or no hashtag start there
            unmarked.append(at + shift)  # its position in the result
            if _linkify_separator(markdown[at + 1]):
                lines.add(line_of(at))
    out.append(markdown[pos:])
    text = "".join(out) if live else markdown
    # (a mark before a linkify separator may have made a link over that "#" and the next ones
    # of its paragraph: "#-x.fr#@#a" is no link as written, "#⁠…-x.fr#@#⁠…a" is one)
    return _judged_unmarked(text, unmarked, lines) if lines else text


def _line_finder(text: str):
    """AT → the line (markdown-it's, from 0) of TEXT's character at AT: "\r\n", "\r" and "\n"
    end one. The line starts found once: a body may hold many candidates."""
    starts = [match.end() for match in _LINE_END.finditer(text)]
    return lambda at: bisect.bisect_right(starts, at)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _linkify_separator(char: str) -> bool:
    """CHAR (after a candidate "#") is one where the mark put after the "#", a format character
    and so a letter to linkify (and to markdown-it's emphasis), may change the parse: a "-"
    (``#-staff.fr``, ``#---www.x.fr``: no host starts with a "-", one starts with the mark),
    an "_" (``www.x.fr#_a_#staff``: an "_" after a letter opens no emphasis, and linkify reads
    the whole as one link), a space or a control (no path goes on there, one goes on with the
    mark: ``https://a@b#\u3000``), an escape's backslash or an entity's "&" (they end linkify's
    text token: ``www.x.fr#&#115;taff``, linkify reads "www.x.fr#" alone and leaves the "#"
    out). Any other punctuation mark in a hashtag (":", "、") goes on a path as a letter does,
    and starts or ends no host or emphasis a letter would not (``#:~:text=`` fragments)."""
    return char in "\\&-_" or unicodedata.category(char)[0] in "ZC"


# The zero-width space written as an entity: markdown-it decodes it into its own token, which
# linkify (run on text tokens, before text_join) does not read: "&ZeroWidthSpace;#-staff.fr"
# is read by linkify as "#-staff.fr", as the text was written; a raw one is a letter there.
ZWSP_ENTITY = "&ZeroWidthSpace;"
_MAX_SUSPECTS = 32


def _judged_unmarked(text: str, suspects: list[int], lines: set[int]) -> str:
    """TEXT (marks judged, zero-width spaces put) checked on its own parse when some candidate
    the marks judged dead is followed by a ``_linkify_separator`` (on LINES): the blocks that
    hold those lines only. SUSPECTS: the positions of the candidates judged dead in text
    (those of these blocks are the ones tried). A hashtag still live there gets the zero-width space
    written as an entity before its "#" (``_with_entity``),
    kept only when the links stay the same (a "#" in a link is never touched: no URL is cut);
    what is left live is post_inert's to force (never expected)."""
    tags, links, lines = _hashtags_and_links(text, lines)
    if not tags:
        return text
    line_of = _line_finder(text)
    suspects = [at for at in suspects if line_of(at) in lines]
    every = _with_entity(text, suspects)
    if _hashtags_and_links(every, lines)[:2] == (0, links):
        return every
    for at in sorted(suspects, reverse=True)[:_MAX_SUSPECTS]:  # from the end: positions hold
        trial = _with_entity(text, [at])
        found, trial_links, _lines = _hashtags_and_links(trial, lines)
        if trial_links == links and found < tags:
            text, tags = trial, found
    return text


def _with_entity(text: str, positions: list[int]) -> str:
    """TEXT with the zero-width space entity before the "#" at each of POSITIONS: a "#" after
    it starts no hashtag (Discourse wants a space or a punctuation mark before), and it ends
    the text linkify reads before the "#" as the "#" did (``https://a@b&ZeroWidthSpace;#``:
    the "&" ends the address; written after the "#", linkify's own reading of the source
    would take "#&ZeroWidthSpace" into the link)."""
    for at in sorted(positions, reverse=True):
        at -= _escaped(text, at)  # before the backslash of «\#»: it escapes the "#" still
        text = text[:at] + ZWSP_ENTITY + text[at:]
    return text


def _hashtags_and_links(text: str, lines: set[int]) -> tuple[int, list[str], set[int]]:
    """How many hashtags Discourse would cook in the blocks of TEXT that hold one of LINES, the
    links they hold (their hrefs), and all the lines of these blocks."""
    md = discourse_parser()
    state = md.blocks(text)
    tags, links, spanned = 0, [], set()
    for token in state.tokens:
        if token.type != "inline":
            continue
        if token.map:
            block = range(*token.map)
            if not any(line in lines for line in block):
                continue
            spanned.update(block)
        md.inline_children(state, token)
        for child, link_level in _at_link_levels(token.children):
            if child.type == "link_open":
                links.append(str(child.attrs.get("href", "")))
            elif child.type == "text" and link_level <= 0 and "#" in child.content:
                tags += len(hashtag_starts(child.content))
    return tags, links, spanned or lines


def _at_link_levels(children):
    """Each of an inline token's CHILDREN with the link level it is at: Markdown links and raw
    ``<a …>`` … ``</a>`` tags, as Discourse's text-post-process counts them."""
    link_level = 0
    for child in children or ():
        if child.type in ("link_open", "link_close"):
            link_level += child.nesting
        elif child.type == "html_inline":
            content = child.content.lower()
            if _HTML_A_OPEN.match(content):
                link_level += 1
            elif content.startswith("</a>"):
                link_level -= 1
        yield child, link_level


# An autolink (markdown-it's rule: no space, control, "<" or ">" inside), of the two schemes
# linkify and the mail's links use; a "#" inside one is in a link, whatever it is followed by.
# Not one holding "|", "[" or ")": a table's "|" splits it into two cells, Discourse's inline
# "[img]" takes it up to a "[/img]" inside it, a link's destination up to a ")" inside it
# ("[a](x<https://x.fr/)#staff>"), and the "#" after starts a text token (red team, 39th pass).
_AUTOLINK = re.compile(r"<https?://[^<>\x00-\x20|\[)]*>", re.I)
# A closing "</a>" (raw HTML) lowers the link level the forum counts: an autolink after a stray
# one is "outside" a link for text-post-process there (localforum.cooking, _live_candidates).
_HTML_A_CLOSE = re.compile(r"</a", re.I)


def _never_hashtags(markdown: str, candidates: list[int]) -> bool:
    """Whether no candidate "#" of MARKDOWN can start a hashtag, seen without a parse: each is
    ``_inside_a_word``, or inside an autolink (``<https://x.fr/page#ancre>``: in a text with no
    backtick, no code span can take the autolink's "<"; an escaped "<" starts none; see
    ``_AUTOLINK`` for what else could, and ``_HTML_A_CLOSE``). Linear in the text: each word
    and each autolink is looked at once, however many candidates it holds (``a#b`` written
    8,000 times without a space cost 20 s when each candidate scanned its word: 42nd pass)."""
    spans = [match.span() for match in _AUTOLINK.finditer(markdown) if not _escaped(markdown, match.start())] \
        if "`" not in markdown and "<" in markdown and not _HTML_A_CLOSE.search(markdown) else []
    span_starts = [start for start, _ in spans]
    inside_a_word = _word_checker(markdown)

    def in_an_autolink(at: int) -> bool:
        index = bisect.bisect_left(span_starts, at) - 1  # the last autolink starting before AT
        return index >= 0 and at < spans[index][1]

    return all(inside_a_word(at) or in_an_autolink(at) for at in candidates)


_WORD = re.compile(r"\S+")


def _word_checker(markdown: str):
    """A function telling whether the "#" at AT is inside a word of MARKDOWN: it follows a
    letter or a digit, and nothing in its word (its run of non-space characters) could be
    linked (``text._MAY_REALLY_LINK``): that letter and the "#" are in one text token, where a
    "#" after a letter never starts a hashtag (``C#``, ``bug#12``). Only a link ending at the
    "#" (``a@b.fr#x``: the "#" then starts a text token) could make it one, and no link holds
    a space (linkify stops at any). Each word is searched once."""
    words: list[tuple[int, int]] = []
    starts: list[int] = []
    verdicts: dict[int, bool] = {}

    def inside_a_word(at: int) -> bool:
        if not at or not markdown[at - 1].isalnum():
            return False
        if not words:
            words.extend(match.span() for match in _WORD.finditer(markdown))
            starts.extend(start for start, _ in words)
        index = bisect.bisect_right(starts, at) - 1
        if index not in verdicts:
            start, end = words[index]
            verdicts[index] = _MAY_REALLY_LINK.search(markdown, start, end) is None
        return verdicts[index]

    return inside_a_word


def _mark(index: int) -> str:
    return _MARK_OPEN + "".join(_MARK_BIT1 if bit == "1" else _MARK_BIT0
                                for bit in format(index, "b")) + _MARK_CLOSE


def _live_candidates(markdown: str, candidates: list[int], in_text: set[int] | None = None) -> set[int]:
    """The indexes (in CANDIDATES) of the "#" Discourse's text-post-process would cook.
    IN_TEXT, if given, gets the indexes of those found in a text token, in a link or not
    (not in code, raw HTML or a link's destination: what is written there is shown as is)."""
    if _SENDER_MARKS.search(markdown):
        markdown = _SENDER_MARKS.sub(_NOT_A_MARK, markdown)
    pieces, pos = [], 0
    for index, at in enumerate(candidates):
        pieces.append(markdown[pos:at + 1] + _mark(index))
        pos = at + 1
    pieces.append(markdown[pos:])
    marked = "".join(pieces)
    md = discourse_parser()
    state = md.blocks(marked)
    live: set[int] = set()
    for token in state.tokens:
        if token.type != "inline" or _MARK_OPEN not in token.content:
            continue
        md.inline_children(state, token)
        for child, link_level in _at_link_levels(token.children):
            if child.type == "text" and _MARK_OPEN in child.content:
                if link_level <= 0:
                    live |= _marked_hashtags(child.content)
                if in_text is not None:
                    in_text.update(_mark_index(m) for m in _MARK.finditer(child.content))
    return live


def _mark_index(match: re.Match) -> int:
    """The candidate index a ``_MARK`` match spells (``_mark``'s bits)."""
    return int(match.group(1).replace(_MARK_BIT0, "0").replace(_MARK_BIT1, "1"), 2)


def _marked_hashtags(content: str) -> set[int]:
    """The marks of a text token's content that follow a "#" opening a hashtag there."""
    plain, marks = [], {}  # position of the "#" in the content without marks → mark index
    pos = length = 0
    for match in _MARK.finditer(content):
        plain.append(content[pos:match.start()])
        length += match.start() - pos
        marks[length - 1] = _mark_index(match)
        pos = match.end()
    plain.append(content[pos:])
    text = "".join(plain)
    return {marks[at] for at in hashtag_starts(text) if at in marks}


_HASHTAG_START = re.compile(f"#[{HASHTAG_CHARS}]")


def hashtag_starts(text: str) -> list[int]:
    """Where hashtags start in a text token's content, Discourse's way, widened: a "#" at the
    start, or after a space or a punctuation mark, followed by a hashtag character (whatever
    follows the name: Discourse also wants a space or a punctuation mark there, or the end)."""
    return [m.start() for m in _HASHTAG_START.finditer(text)
            if not m.start() or text[m.start() - 1].isspace() or _is_punct(text[m.start() - 1])]


def neutralise_all_hashtags(markdown: str) -> str:
    """The last resort when ``live_syntax`` still finds a hashtag: a zero-width space after
    every "#" followed by a hashtag character, in code and links too."""
    markdown = _HASH_ENTITY.sub("#", markdown)
    return _HASHTAG.sub("#" + ZWSP, markdown)


def neutralise_text(markdown: str) -> str:
    """MARKDOWN (from mail) with no live mention, no live hashtag, and no quote BBCode the
    server would read in the raw (``raw_readers``); judged on the text as the forum will store
    and cook it (``raw_form``: ``x\u180e#staff`` is stored ``x #staff``, a live hashtag)."""
    markdown = spaces_as_stored(markdown)
    return break_raw_readers(neutralise_mentions(neutralise_hashtags(markdown)))


def neutralise_mentions(markdown: str) -> str:
    """Every ``@`` that could open a mention gets a zero-width space after it, outside fenced
    code blocks (where nothing is live and code must stay copyable). An address such as
    ``marie@meyzieu.fr`` is untouched (a letter before the ``@``: no mention there)."""
    if "&" in markdown:
        markdown = _AT_ENTITY.sub("@", markdown)  # shown as "@" by Discourse anyway
    if "@" not in markdown:
        return markdown
    return "\n".join(line if fenced or "@" not in line else _AT.sub(_at_replacement(line), line)
                     for line, fenced in fenced_lines(markdown.split("\n")))


def _after_link(line: str, at: int) -> bool:
    """True when the word before the ``@`` at AT is a link or an address Discourse's linkify
    would end there (``www.exemple.fr@staff``: a link, then a live ``@staff``)."""
    start = max(line.rfind(" ", 0, at), line.rfind("\t", 0, at)) + 1
    word = line[start:at].lower()
    if word.rfind("<") > word.rfind(">"):
        return False  # inside an explicit <…> link: nothing there is live
    word = word[max(word.rfind(")"), word.rfind(">"), word.rfind("]")) + 1:]
    # a link wherever it starts in the word (``&www.x.fr@staff``: linkify starts after "&"), or
    # an address already complete (``marie@x.fr@staff``: the address, then a mention)
    if any(mark in word for mark in ("www.", "http:", "https:", "ftp:", "://", "@")):
        return True
    # a bare domain linkify takes for a link up to the "@" (``exemple.fr@staff``), asked of
    # Discourse's linkify itself: ``jean.dupont@staff`` is no link, and no mention either, and
    # in ``info.fr@meyzieu.fr`` the "@" is inside the address linkify finds
    end = len(line)
    for space in (" ", "\t"):
        found = line.find(space, at)
        end = min(end, found) if found >= 0 else end
    chunk, at_in_chunk = line[start:end], at - start
    matches = discourse_parser().linkify.match(chunk) or ()
    if any(match.index < at_in_chunk < match.last_index for match in matches):
        return False
    return any(match.last_index == at_in_chunk for match in matches)


def _at_replacement(line: str):
    def replace(match: re.Match) -> str:
        before = line[match.start() - 1] if match.start() else " "
        if _word_char(before) and not _after_link(line, match.start()):
            return "@"  # inside a word (an address): never a mention start
        return "@" + ZWSP
    return replace


def neutralise_all_mentions(markdown: str) -> str:
    """The last resort when ``live_syntax`` still finds a mention: every ``@`` followed by
    a name character gets the zero-width space, addresses included."""
    return _AT.sub("@" + ZWSP, _AT_ENTITY.sub("@", markdown))


def _word_char(char: str) -> bool:
    # "_" is punctuation for markdown-it (Unicode Pc): "_@staff" is a mention.
    return char.isalnum() or unicodedata.category(char).startswith("M")


# ---------------------------------------------------------------- the structural check
# The closing tag, its letters in either case (bbcode-inline.js compares each slice of the
# source lowered with "[/img]": ASCII letters only; a search in the whole source lowered was
# off by one character for each « İ » before it, which lowers into two: « İ[img]x[/img]@staff »
# lost the « @ » of the live mention after it; red team, 50th pass).
IMG_CLOSE = re.compile(r"\[/img\]", re.I | re.A)


def _img_bbcode(state, silent: bool) -> bool:
    """Discourse's inline ``[img]url[/img]`` (bbcode-inline.js), after the escape rule."""
    if state.src[state.pos:state.pos + 5].lower() != "[img]":
        return False
    found = IMG_CLOSE.search(state.src, state.pos + 5, state.posMax)
    if found is None:
        return False
    end = found.start()
    if not silent:
        token = state.push("image", "img", 0)
        token.attrs = {"src": state.src[state.pos + 5:end], "alt": ""}
        token.children = []
    state.pos = end + 6
    return True




def _bbcode_terminator(state, start_line: int, end_line: int, silent: bool) -> bool:
    """Discourse's block BBCode rule as a terminator (bbcode-block.js#applyBBCode in silent
    mode: "[" at the line's start, ASCII letters, a "]" on the line, and true at once, closing
    tag or not). Registered after ``fence`` with alt paragraph, reference, blockquote, list:
    such a line ends a paragraph, a list or a blockquote there, so a fence that markdown-it
    alone would read inside a list item is lazy text for Discourse (sixth red-team pass).
    Any tag (plugins register their own): ending more blocks only makes more text checked.
    It never makes a block itself: outside silent mode the line is left to the other rules."""
    if not silent:
        return False
    start = state.bMarks[start_line] + state.tShift[start_line]
    end = state.eMarks[start_line]
    return bool(_BBCODE_TAG_START.match(state.src, start, end))


def install_bbcode_terminator(md) -> None:
    md.block.ruler.after("fence", "bbcode_terminator", _bbcode_terminator,
                         {"alt": ["paragraph", "reference", "blockquote", "list"]})


@lru_cache(maxsize=2)
def discourse_parser(version: str = "14.0.0"):
    """markdown-it-py set up as Discourse's engine: CommonMark, raw HTML, hard breaks,
    linkify (Discourse's TLDs), tables, strikethrough, inline ``[img]``; ``text_join`` kept;
    the rules markdown-it (JavaScript) writes otherwise as it does (``markdown_js``)."""
    from markdown_it import MarkdownIt

    from . import markdown_js
    from .linkify import QuickPretestLinkify, make_linkify_linear

    make_linkify_linear()
    md = (MarkdownIt("commonmark", {"breaks": True, "linkify": True, "html": True})
          .enable(["table", "strikethrough", "linkify"]))
    markdown_js.install(md, version)  # where markdown-it-py 4.3 parses otherwise than markdown-it
    md.linkify = QuickPretestLinkify().tlds(DISCOURSE_TLDS)  # linkify-it's answers, quicker
    md.inline.ruler.push("bbcode_img", _img_bbcode)
    install_bbcode_terminator(md)
    # Quoted paragraphs are parsed once per process. 512 contents find 47.5 % of the repeated
    # characters again, 2,048 found 50.0 % (usrp-users corpus), for ~5 MB more per process.
    return markdown_memo.install(md, size=512 if version == markdown_js.VERSIONS[0] else 64)


def _is_punct(char: str) -> bool:
    """markdown-it 14's isPunctChar: Unicode punctuation (P) and symbols (S), ASCII ones."""
    return unicodedata.category(char)[0] == "P" or markdown_js.unicode_symbol(char) or (
        char.isascii() and not char.isalnum() and not char.isspace())


_MENTION = re.compile(r"@([\w\u0300-\u036f][\w.\-\u0300-\u036f]*)")


def mention_starts(text: str) -> list[str]:
    """Mentions in a text token's content, Discourse's way, widened: an ``@`` at the start,
    or after a space or a punctuation mark, followed by a name character."""
    found = []
    for match in _MENTION.finditer(text):
        at = match.start()
        if at and not (text[at - 1].isspace() or _is_punct(text[at - 1])):
            continue
        found.append("@" + match.group(1))
    return found


# Discourse reads a tag's name as its letters: "[quote-]", "[quote.fr]" open a quote too.
# (re.A: a tag name is ASCII letters only, as parseBBCodeTag reads it; with re.I alone, "[a-z]"
# also matches the Kelvin sign and the long s, and "[detailsK]" hid its "details": red-team.)
# What may stand before a block at a line's start: indentation, quote and list markers.
LINE_CONTAINERS = r"[ \t]*(?:(?:>|[-*+]|\d{1,9}[.)])[ \t]*)*"
_QUOTE_LINE = re.compile(rf"^{LINE_CONTAINERS}\[quote(?![a-z])", re.I | re.A)
# Any block BBCode (bbcode-block.js#applyBBCode: a line that starts, after its container
# markers, with "[tag…]" where tag is letters, and either ends with "[/tag]" or has nothing
# after the opening tag). Any tag: plugins register their own (details, wrap, poll, spoiler…).
_BBCODE_TAG = r"\[([a-z]+)[^\]\n]*\]"  # "[", the tag's ASCII letters, then up to its "]"
_BBCODE_OPEN = re.compile(rf"^({LINE_CONTAINERS}){_BBCODE_TAG}", re.I | re.A)
_BBCODE_TAG_START = re.compile(_BBCODE_TAG, re.I | re.A)  # at bMarks + tShift: containers read
# The block lines forumsync itself writes (pipeline/trim.py folds quoted history and
# signatures): never from the mail, whose "[" are escaped.
FOLD_LINES = frozenset({'[details="Message cité"]', '[details="Signature"]'})


def block_bbcode(line: str) -> str | None:
    """The tag of the block BBCode LINE would open in Discourse, or None: nothing after the
    opening tag (trailingSpaceOnly), or a closing tag found as findInlineCloseTag finds it —
    the line ends with "]", and some "[/tag" after the opening tag reads as its closing tag
    (whatever follows it, a backslash before it counting for nothing: raw source)."""
    match = _BBCODE_OPEN.match(line)
    if match is None or line.strip() in FOLD_LINES:
        return None
    tag, rest = match.group(2).lower(), line[match.end():]
    if not rest.strip():
        return tag
    if rest.rstrip().endswith("]") and re.search(r"\[/" + tag + r"(?![a-z])", rest, re.I | re.A):
        return tag
    return None


def fence_lines(tokens) -> set[int]:
    """The indexes of the lines inside fenced code, fences included, as markdown-it parsed them
    (a fence ends with its container: "> ```" then a line without ">" is no fence there; a
    line model of fences missed that, red-team). Indented code is not taken out (stricter)."""
    return {index for token in tokens if token.type == "fence" and token.map
            for index in range(*token.map)}


def neutralise_block_bbcode(markdown: str) -> str:
    """MARKDOWN with the "[" of every block BBCode line (outside fenced code) escaped."""
    code = fence_lines(discourse_parser().blocks(markdown).tokens)  # block tokens suffice
    out = []
    for index, line in enumerate(markdown.split("\n")):
        if index not in code and block_bbcode(line) is not None:
            prefix = _BBCODE_OPEN.match(line).group(1)
            line = prefix + "\\" + line[len(prefix):]
        out.append(line)
    return "\n".join(out)
_HTML_IMG = re.compile(r"<img\b", re.I)
_HTML_A_OPEN = re.compile(r"^<a(\s.*)?>", re.S)


# Cheap necessary conditions, to skip the parse (without oneboxes): a mention needs an "@" in
# the text, written as such or as an entity ("&#64;staff", "@&#115;taff"): a text token may
# also start after a linkify link inside a word ("www.x.fr@staff"), so the characters around
# the "@" prove nothing; an image needs "![", "[img]" or "<img".
_MAYBE_IMAGE = re.compile(r"!\[|\[img\]|<img", re.I)


# Answers computed ahead for exact inputs (pipeline/ahead_checks.py runs this check in the
# import's pool processes): the same pure function of the same text, without the parse here.
_AHEAD: OrderedDict = OrderedDict()
AHEAD_MAX = 512


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


def body_text(body: str) -> str:
    """BODY as a post holds it: no blank lines before or after, but its first line keeps its
    indentation (Discourse's PostCreator only strips the end). Indented code at the start of a
    mail is written as the sender wrote it; a ``strip()`` made its first line a paragraph, and
    the code after it that paragraph's lines, their Markdown live (red team, 29th pass)."""
    return _LEADING_BLANK_LINES.sub("", body).rstrip()


def normalised(text: str) -> str:
    """TEXT as a post's text is checked and sent: one line model (markdown-it's: "\\r" ends a
    line), no U+FEFF (a space between a tag's attributes for Discourse), no NUL, and the
    spaces the forum stores as plain ones written so (``raw_form``: what it cooks)."""
    text = text.replace(JS_ONLY_SPACE, "").replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    return spaces_as_stored(text)


def remember_live_syntax(raw: str, own_images, onebox: bool, problems: list[str]) -> None:
    _AHEAD[(raw, frozenset(own_images), onebox)] = list(problems)
    while len(_AHEAD) > AHEAD_MAX:
        _AHEAD.popitem(last=False)


def _hashtag_at(text: str, at: int) -> str:
    return _HASHTAG_NAME.match(text, at).group(0)


_HASHTAG_NAME = re.compile(f"#[{HASHTAG_CHARS}]{{1,101}}")


def live_syntax(raw: str, own_images=(), onebox: bool = True) -> list[str]:
    """What in RAW Discourse would make live: ``mention @x``, ``hashtag #x``, ``quote``, ``image <src>``,
    ``onebox <url>`` (unless ONEBOX is false). OWN_IMAGES: image sources allowed (the mail's
    own uploads)."""
    known = _AHEAD.pop((raw, frozenset(own_images), onebox), None) if _AHEAD else None
    if known is not None:
        return list(known)
    # JavaScript's \s holds U+FEFF, Python's does not: Discourse's markdown-it reads
    # "<img\ufeffsrc=…>" as a tag, markdown-it-py as text. Parsed as Discourse sees it, and
    # as the forum stores it (raw_form: "x\u180e#staff" is cooked "x #staff").
    raw = spaces_as_stored(raw.replace(JS_ONLY_SPACE, " "))
    if "\r" in raw:  # markdown-it's normalize: "\r\n" and "\r" end lines (the line checks too)
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    allowed = set(own_images)
    problems = _live_syntax(raw, allowed, onebox, discourse_parser())
    if _VERSION_SENSITIVE.search(raw):
        # markdown-it 14.1 (Discourse since 2026) reads this text otherwise than 14.0.0 may:
        # what either makes live is live (markdown_js.VERSIONS)
        problems += [p for p in _live_syntax(raw, allowed, onebox, discourse_parser(_LATER))
                     if p not in problems]
    return problems


_LATER = "14.1.1"
# What markdown-it 14.0.0 and 14.1 may read otherwise (markdown_js.VERSIONS): a comment or a
# declaration (« <! »), the block names "search" and "source", a link reference definition
# (« ]: »), a run of emphasis or strikethrough marks beside a symbol (Unicode S, outside ASCII
# and the BMP's surrogates: punctuation for 14.1's isPunctChar only).
_SYMBOL_CLASS = "".join(re.escape(chr(c)) for c in range(0x80, 0x10000)
                        if not 0xD800 <= c < 0xE000 and markdown_js.unicode_symbol(chr(c)))
_VERSION_SENSITIVE = re.compile(f"<!|<search|<source|\\]:|[*_~][{_SYMBOL_CLASS}]|[{_SYMBOL_CLASS}][*_~]",
                                re.I | re.A)


def _live_syntax(raw: str, allowed: set, onebox: bool, md) -> list[str]:
    problems = []
    state = None
    if "[" in raw:
        state = md.blocks(raw)
        code = fence_lines(state.tokens)
        lines = [line for index, line in enumerate(raw.split("\n")) if index not in code]
        if any(_QUOTE_LINE.match(line) for line in lines):
            problems.append("quote")
        problems += sorted({f"bbcode {tag}" for tag in map(block_bbcode, lines) if tag and tag != "quote"})
    if not onebox and "@" not in raw and "&" not in raw and "#" not in raw and not _MAYBE_IMAGE.search(raw):
        return problems
    state = state or md.blocks(raw)
    for token in state.tokens:
        if token.type == "html_block" and _HTML_IMG.search(token.content):
            problems.append("image <img>")
        if token.type == "inline" and _may_be_live(token.content, onebox):
            md.inline_children(state, token)
            if token.children:
                problems += _inline_problems(token.children, allowed, onebox)
    return problems


# What an inline content needs for any of _inline_problems' findings, in any of its tokens: a
# mention an "@" (or an entity: "&#64;"), an image "![", "<img" or "[img]", a onebox a
# link linkify makes (``mail.text._MAY_REALLY_LINK``: a scheme, "//", "www.", "xn--", one of
# Discourse's TLDs or an "@"; its only context, a non-alphanumeric after the TLD, holds
# wherever markup splits a text token). A content with none is not parsed: two thirds of
# the inline characters of a list's posts (usrp-users corpus), the most costly part of the check.
_MAY_BE_LIVE = re.compile(r"[@&#]|!\[|<img|\[img\]", re.I)


def _may_be_live(content: str, onebox: bool) -> bool:
    return _MAY_BE_LIVE.search(content) is not None or (onebox and _MAY_REALLY_LINK.search(content) is not None)


def _inline_problems(children, allowed, onebox: bool = True) -> list[str]:
    problems, link_level = [], 0
    for child in children:
        if child.type == "link_open":
            link_level += 1
            href = str(child.attrs.get("href", ""))
            if child.markup == "linkify" and href.lower().startswith(("http", "//")) and onebox:
                problems.append(f"onebox {href}")
        elif child.type == "link_close":
            link_level -= 1
        elif child.type == "image":
            src = str(child.attrs.get("src", ""))
            if src not in allowed:
                problems.append(f"image {src}")
        elif child.type == "html_inline":
            content = child.content.lower()
            if _HTML_IMG.match(content):
                problems.append("image <img>")
            elif _HTML_A_OPEN.match(content):
                link_level += 1
            elif content.startswith("</a>"):
                link_level -= 1
        elif child.type == "text" and link_level <= 0:
            problems += [f"mention {m}" for m in mention_starts(child.content)]
            if "#" in child.content:
                problems += [f"hashtag {_hashtag_at(child.content, at)}" for at in hashtag_starts(child.content)]
    return problems
