"""Markdown → sanitized HTML the way Discourse cooks posts.

markdown-it-py (CommonMark + tables, strikethrough, linkify, Discourse's hard line breaks),
Discourse's BBCode blocks ``[quote="user, post:1, topic:2"]`` and ``[details="…"]``, and
``upload://`` short URLs resolved to real paths; the result is cleaned by nh3.
"""
from __future__ import annotations

import html
import re
from typing import Callable

import nh3
from markdown_it import MarkdownIt

UploadResolver = Callable[[str], "str | None"]

_md = (MarkdownIt("commonmark", {"breaks": True, "linkify": True, "html": True})
       .enable(["table", "strikethrough", "linkify"]))

_OPEN = re.compile(r"\[(quote|details)(?:=(\"[^\"\]]*\"|[^\]]*))?\]", re.IGNORECASE)
_UPLOAD = re.compile(r"upload://([a-zA-Z0-9]+)(\.[a-zA-Z0-9]+)?")

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class", "name"},
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


def cook(raw: str, resolve_upload: UploadResolver | None = None) -> str:
    """Cook RAW Markdown into the sanitized HTML Discourse would store in ``cooked``."""
    html_out = _cook_blocks(raw or "")
    if resolve_upload is not None:
        html_out = _UPLOAD.sub(lambda m: resolve_upload(m.group(1)) or m.group(0), html_out)
    return nh3.clean(html_out, attributes=ALLOWED_ATTRIBUTES, link_rel=None,
                     url_schemes={"http", "https", "mailto", "upload"}).strip()


def _cook_blocks(raw: str) -> str:
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
        blocks.append(_quote(argument, inner) if kind == "quote" else _details(argument, inner))
        out.append(f"\n\nLFBBCODEBLOCK{len(blocks) - 1}X\n\n")
        pos = close_end
    rendered = _md.render("".join(out))
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


def _quote(argument: str, inner: str) -> str:
    body = _cook_blocks(inner.strip("\n"))
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


def _details(argument: str, inner: str) -> str:
    body = _cook_blocks(inner.strip("\n"))
    return f"<details>\n<summary>\n{html.escape(argument)}</summary>\n{body}</details>\n"


def excerpt(cooked: str, length: int = 200) -> str:
    """Plain-text beginning of a cooked post (topic lists)."""
    text = nh3.clean(cooked, tags=set()).strip()
    text = html.unescape(re.sub(r"\s+", " ", text))
    return text if len(text) <= length else text[:length].rstrip() + "…"
