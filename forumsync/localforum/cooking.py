"""Markdown → sanitized HTML the way Discourse cooks posts.

markdown-it-py (CommonMark + tables, strikethrough, linkify, Discourse's hard line breaks),
Discourse's BBCode blocks ``[quote="user, post:1, topic:2"]`` and ``[details="…"]``, the
inline ``[img]url[/img]``, ``@mentions`` (``<span class="mention">``, as Discourse's
text-post-process: on text tokens after ``text_join``, so ``\\@name`` is a mention too, never
inside links), ``#hashtags`` in the same rule (features/hashtag-autocomplete.js: a category or
a tag the cooking user may see, looked up by ``HashtagLookup``, becomes
``<a class="hashtag-cooked">`` with its name; else ``<span class="hashtag-raw">``), and ``upload://`` short URLs resolved to real paths; the result is cleaned by
nh3. Never kinder than Discourse: a quote block may start anywhere on a line here (Discourse:
at a line start), but an escaped ``\\[quote`` is text in both.
"""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .. import markdown_memo
from ..mail import markdown_js
from ..mail.inert import DISCOURSE_TLDS, IMG_CLOSE, install_bbcode_terminator
from ..mail.linkify import QuickPretestLinkify, make_linkify_linear

UploadResolver = Callable[[str], "str | None"]
# A hashtag's slug → Discourse's lookup result (relative_url, text, type, slug, ref, id) or None.
HashtagLookup = Callable[[str], "dict | None"]

_OPEN = re.compile(r"(?<!\\)(?:\\\\)*\[(quote|details)(?:=(\"[^\"\]]*\"|[^\]]*))?\]", re.IGNORECASE)
# Discourse's mention matcher (features/mentions.js) with Python's Unicode \w: it covers the
# ASCII default and the unicode_usernames variant.
_MENTION = re.compile(r"@(\w[\w.-]{0,58}[^\W_])|@(\w)")
# Discourse's hashtag matcher (features/hashtag-autocomplete.js), its JavaScript \w ASCII.
_HASHTAG = r"#([A-Za-z0-9_:\-\u00c0-\u1fff\u2c00-\ud7ff]{1,101})"
# text-post-process.js joins its rules' matchers into one alternation, scanned left to right.
_TEXT_RULES = re.compile(f"(?:{_MENTION.pattern})|{_HASHTAG}")
_IMG_OPEN, _IMG_CLOSE = "[img]", "[/img]"


def _boundary(text: str, index: int) -> bool:
    """Discourse's allowedBoundary: a whitespace or a punctuation character (markdown-it
    14's isPunctChar: Unicode P and S categories)."""
    char = text[index]
    return char.isspace() or unicodedata.category(char)[0] == "P" or markdown_js.unicode_symbol(char) or (
        char.isascii() and not char.isalnum())


def _mentions(state) -> None:
    """Core rule after text_join (Discourse's text-post-process): @name and #slug in text
    tokens outside links → span.mention, and a.hashtag-cooked or span.hashtag-raw."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out, link_level = [], 0
        for token in block.children:
            if token.type in ("link_open", "link_close"):
                link_level += token.nesting
            elif token.type == "html_inline":
                if re.match(r"^<a(\s.*)?>", token.content, re.I | re.S):
                    link_level += 1
                elif token.content[:4].lower() == "</a>":
                    link_level -= 1
            if token.type != "text" or link_level > 0 or ("@" not in token.content
                                                          and "#" not in token.content):
                out.append(token)
                continue
            out.extend(_split_mentions(state, token))
        block.children = out


def _split_mentions(state, token) -> list:
    content, pieces, pos = token.content, [], 0
    for match in _TEXT_RULES.finditer(content):
        start, end = match.span()
        if start > 0 and not _boundary(content, start - 1):
            continue
        if end < len(content) and not _boundary(content, end):
            continue
        if start > pos:
            pieces.append(_text(state, content[pos:start]))
        if match.group(3) is not None:
            pieces += _hashtag(state, match.group(3), match.group(0))
        else:
            opening = Token("mention_open", "span", 1)
            opening.attrs = {"class": "mention"}
            pieces += [opening, _text(state, "@" + (match.group(1) or match.group(2))),
                       Token("mention_close", "span", -1)]
        pos = end
    if not pieces:
        return [token]
    if pos < len(content):
        pieces.append(_text(state, content[pos:]))
    return pieces


def _hashtag(state, slug: str, written: str) -> list:
    """Discourse's addHashtag: the lookup's result as a link showing its name, else the text
    as written in span.hashtag-raw (the lookup runs only when the server cooks)."""
    lookup = state.env.get("hashtag_lookup")
    result = lookup(slug) if lookup is not None else None
    if result is None:
        opening = Token("span_open", "span", 1)
        opening.attrs = {"class": "hashtag-raw"}
        return [opening, _text(state, written), Token("span_close", "span", -1)]
    opening = Token("link_open", "a", 1)
    opening.attrs = {"class": "hashtag-cooked", "href": result["relative_url"],
                     "data-type": result["type"], "data-slug": result["slug"],
                     "data-id": str(result["id"])}
    if result["slug"] != result["ref"]:
        opening.attrs["data-ref"] = result["ref"]
    icon = Token("span_open", "span", 1)
    icon.attrs = {"class": "hashtag-icon-placeholder"}
    return [opening, icon, Token("span_close", "span", -1), Token("span_open", "span", 1),
            _text(state, result["text"]), Token("span_close", "span", -1),
            Token("link_close", "a", -1)]


def _text(state, content: str):
    token = Token("text", "", 0)
    token.content = content
    return token


def _img_bbcode(state, silent: bool) -> bool:
    """Discourse's inline ``[img]url[/img]`` (features/bbcode-inline.js) → an image."""
    src = state.src
    if src[state.pos:state.pos + len(_IMG_OPEN)].lower() != _IMG_OPEN:
        return False
    found = IMG_CLOSE.search(src, state.pos + len(_IMG_OPEN), state.posMax)  # (no src.lower(): mail.inert)
    if found is None:
        return False
    end = found.start()
    if not silent:
        token = state.push("image", "img", 0)
        token.attrs = {"src": src[state.pos + len(_IMG_OPEN):end], "alt": ""}
        token.children = []
    state.pos = end + len(_IMG_CLOSE)
    return True


make_linkify_linear()  # the same tokens, in linear time (mail.linkify)
_md = (MarkdownIt("commonmark", {"breaks": True, "linkify": True, "html": True})
       .enable(["table", "strikethrough", "linkify"]))
# As markdown-it (JavaScript) parses, where markdown-it-py differs: 14.1.1, the version of
# Discourse's 2026 lockfile (14.1.1 fixes linkify's ReDoS, CVE-2026-2327; the check reads
# both versions, mail.inert.live_syntax).
markdown_js.install(_md, markdown_js.VERSIONS[-1])
_md.linkify = QuickPretestLinkify().tlds(DISCOURSE_TLDS)  # Discourse's TLDs, its case folding
_md.inline.ruler.push("bbcode_img", _img_bbcode)
install_bbcode_terminator(_md)  # a "[tag…]" line ends a paragraph, list or quote, as in Discourse
_md.core.ruler.push("mentions", _mentions)
markdown_memo.install(_md)  # a reply's quotes were cooked with the posts they quote
_UPLOAD = re.compile(r"upload://([a-zA-Z0-9]+)(\.[a-zA-Z0-9]+)?")

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class", "name", "data-type", "data-slug", "data-id", "data-ref"},
    "img": {"src", "alt", "title", "width", "height", "class"},
    "aside": {"class", "data-username", "data-post", "data-topic"},
    "div": {"class"},
    "details": {"open", "class"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "th": {"style", "align"},
    "td": {"style", "align"},
    "ol": {"start"},
}
# Built once (nh3.Cleaner): nh3.clean builds its sanitizer again on every call (~40 % of the
# call for a post). Same settings, same output.
_SANITIZER = nh3.Cleaner(attributes=ALLOWED_ATTRIBUTES, link_rel=None,
                         url_schemes={"http", "https", "mailto", "upload"})
_TEXT_ONLY = nh3.Cleaner(tags=set())


def cook(raw: str, resolve_upload: UploadResolver | None = None,
         hashtag_lookup: HashtagLookup | None = None) -> str:
    """Cook RAW Markdown into the sanitized HTML Discourse would store in ``cooked``.
    HASHTAG_LOOKUP: the server's lookup of ``#slug`` (none: every hashtag stays raw)."""
    # Discourse's markdown-it is JavaScript: its \s holds U+FEFF, so "<img\ufeffsrc=…>" is a
    # tag there; markdown-it-py's Python \s does not. Read as Discourse reads it.
    env = {"hashtag_lookup": hashtag_lookup} if hashtag_lookup is not None else None
    html_out = _cook_blocks((raw or "").replace("\ufeff", " "), env)
    if resolve_upload is not None:
        html_out = _UPLOAD.sub(lambda m: resolve_upload(m.group(1)) or m.group(0), html_out)
    return _SANITIZER.clean(html_out).strip()


def _cook_blocks(raw: str, env: dict | None = None) -> str:
    """Render outermost BBCode blocks separately, Markdown for the rest."""
    blocks: list[str] = []
    out: list[str] = []
    pos = 0
    while True:
        match = _OPEN.search(raw, pos)
        if not match:
            out.append(raw[pos:])
            break
        end, close_end = _find_close(raw, match)
        if end is None:
            out.append(raw[pos:match.end()])
            pos = match.end()
            continue
        out.append(raw[pos:match.start()])
        inner = raw[match.end():end]
        kind = match.group(1).lower()
        argument = (match.group(2) or "").strip().strip('"')
        blocks.append(_quote(argument, inner, env) if kind == "quote" else _details(argument, inner, env))
        out.append(f"\n\nLFBBCODEBLOCK{len(blocks) - 1}X\n\n")
        pos = close_end
    rendered = _md.render("".join(out), dict(env) if env else None)
    for index, block in enumerate(blocks):
        rendered = rendered.replace(f"<p>LFBBCODEBLOCK{index}X</p>", block)
    return rendered


def _find_close(raw: str, match: re.Match) -> tuple[int | None, int]:
    """Position of the matching [/kind] (nesting-aware) and the index just past it."""
    kind = match.group(1).lower()
    tag = re.compile(rf"\[(/?){kind}(?:=[^\]]*)?\]", re.IGNORECASE)
    depth = 1
    for m in tag.finditer(raw, match.end()):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return m.start(), m.end()
    return None, len(raw)


def _quote(argument: str, inner: str, env: dict | None = None) -> str:
    body = _cook_blocks(inner.strip("\n"), env)
    if not argument:
        return f'<aside class="quote no-group">\n<blockquote>\n{body}</blockquote>\n</aside>\n'
    parts = [p.strip() for p in argument.split(",")]
    username = parts[0]
    attrs = {"data-username": username}
    for part in parts[1:]:
        key, _, value = part.partition(":")
        if key.strip() in ("post", "topic") and value.strip().isdigit():
            attrs[f"data-{key.strip()}"] = value.strip()
    attr_html = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
    return (f'<aside class="quote no-group"{attr_html}>\n<div class="title">\n'
            f'<div class="quote-controls"></div>\n{html.escape(username)}:</div>\n'
            f"<blockquote>\n{body}</blockquote>\n</aside>\n")


def _details(argument: str, inner: str, env: dict | None = None) -> str:
    body = _cook_blocks(inner.strip("\n"), env)
    return f"<details>\n<summary>\n{html.escape(argument)}</summary>\n{body}</details>\n"


def excerpt(cooked: str, length: int = 200) -> str:
    """Plain-text beginning of a cooked post (topic lists)."""
    text = _TEXT_ONLY.clean(cooked).strip()
    text = html.unescape(re.sub(r"\s+", " ", text))
    return text if len(text) <= length else text[:length].rstrip() + "…"
