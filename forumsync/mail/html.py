"""HTML mail → Markdown: Outlook/Word noise removed, sanitised by nh3, converted by markdownify.

The Markdown must say only what the HTML said: text is escaped (brackets too, so no
``[quote=…]`` or ``[img]`` BBCode), bare URLs become explicit links (no onebox), and the
only images are the mail's own (``cid:``, swapped for uploads by publish); a remote
``<img>`` becomes a link to it (see ``mail.inert``).
"""
from __future__ import annotations

import re
from urllib.parse import quote

import markdownify
import nh3

from ..raw_form import spaces_as_stored

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}

# Linear in the text, whatever it holds: a tag's body stops at the next "<" too ("[^<>]*", not
# "[^>]*": thousands of "<img " without any ">" after them made each one scan to the end of a
# 200 KB text, seconds per message; red-team finding), and conditional comments are cut by
# two searches (a lazy ".*?" tried again from every "<!--[if" lacking its end was quadratic).
_IF_START = re.compile(r"<!--\[if", re.I)
_IF_END = re.compile(r"<!\[endif\]-->", re.I)
_OFFICE_TAGS = re.compile(r"</?(?:o|v|w|m|st1):[^<>]*>", re.I)
_IMG = re.compile(r"<img\b[^<>]*>", re.I)
_ATTR = r"""\b{name}\s*=\s*["']?\s*([^"'\s>]*)"""
_TRACKING_SRC = re.compile(r"(?:track|pixel|beacon|open\.aspx|/o\.gif|/wf/open|mailtrack|"
                           r"emltrk|/open/|spacer\.gif)", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.I)
_BLANK_LINES = re.compile(r"\n{3,}")


def _attr(tag: str, name: str) -> str:
    match = re.search(_ATTR.format(name=name), tag, re.I)
    return match.group(1) if match else ""


def _is_tracking_pixel(tag: str) -> bool:
    width, height = _attr(tag, "width"), _attr(tag, "height")
    if width in ("0", "1", "1px") or height in ("0", "1", "1px"):
        return True
    if _HIDDEN.search(tag):
        return True
    src = _attr(tag, "src")
    return bool(src and not src.lower().startswith("cid:") and _TRACKING_SRC.search(src))


def _without_conditional_comments(html: str) -> str:
    """HTML without its ``<!--[if …]> … <![endif]-->`` blocks (Outlook's), each from its start
    to the first end after it; from a start with no end after it, nothing is cut."""
    out, pos = [], 0
    while (start := _IF_START.search(html, pos)) is not None:
        end = _IF_END.search(html, start.end())
        if end is None:
            break
        out.append(html[pos:start.start()])
        pos = end.end()
    out.append(html[pos:])
    return "".join(out)


def clean_office_html(html: str) -> str:
    """Drop Outlook/Word noise: conditional comments, <o:p>, hidden blocks, tracking pixels."""
    html = _without_conditional_comments(html)
    html = _OFFICE_TAGS.sub("", html)
    return _IMG.sub(lambda m: "" if _is_tracking_pixel(m.group(0)) else m.group(0), html)


def sanitize_html(html: str) -> str:
    """Only harmless markup survives; scripts, styles and heads go with their content."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, clean_content_tags={"script", "style", "title", "head"},
                     link_rel=None, strip_comments=True)


_SAFE_CID = re.compile(r"[\w.@$%+=-]{1,200}")  # a cid: that cannot end a Markdown destination
# U+FEFF too: JavaScript's \s holds it (Python's does not), so Discourse's markdown-it takes it
# for a space between a tag's attributes: "<img\ufeffsrc=…>" is a tag there.
# "|" too: in a table cell (the catalogue's, a mail's table) it ends the cell, link or not,
# and what followed it in the address became live text (red team, ninth pass).
# U+180E: no space for Python's \s, but one once the forum stores the post (raw_form): the
# address would be cut there (red team, 45th pass); every other stored space is in \s.
_UNSAFE_URL_CHARS = re.compile(r"[\s<>()\\`|\x00-\x1f\ufeff\u180e]")
# The only destinations written as "<href>" (markdownify's shortcut when a link's text is its
# address): any other "<…>" may be read as a raw HTML tag ("<details>", "<img\ufeffsrc=…>").
_AUTOLINK_HREF = re.compile(r"(?:https?|mailto):", re.I)
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def safe_destination(url: str) -> str:
    """URL percent-encoded where Markdown would end or bend a link destination (spaces of any
    script included, UTF-8 encoded), its brackets too (``bracket_safe``)."""
    return bracket_safe(_UNSAFE_URL_CHARS.sub(lambda m: "%{:02X}".format(ord(m.group(0))) if ord(m.group(0)) < 128
                                              else quote(m.group(0)), url.strip()))


# An IPv6 host (« http://[::1]/ », after an optional user info): its brackets are the address.
_IPV6_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@\[\]]*@)?\[[0-9A-Fa-f:.]+\]")


def bracket_safe(url: str) -> str:
    """URL with « [ » and « ] » percent-encoded (but an IPv6 host's): a sender's
    « https://x.fr/a[quote]b[/quote] » kept as an autolink held a BBCode tag, which the local
    forum (never kinder than Discourse) opens anywhere on a line; encoded, the address is the
    same for every server (53rd pass, found by the property test at 4,000 examples)."""
    if "[" not in url and "]" not in url:
        return url
    host = _IPV6_HOST.match(url)
    cut = host.end() if host else 0
    return url[:cut] + url[cut:].replace("[", "%5B").replace("]", "%5D")


class _Converter(markdownify.MarkdownConverter):
    """markdownify, plus: literal ``<`` in text must not become HTML in Discourse, brackets and
    backslashes are escaped (BBCode, images), bare URLs become explicit links."""

    def convert_li(self, el, text, parent_tags):
        # markdownify numbers an <ol>'s item by counting its previous siblings: quadratic in
        # pure Python (8,000 items took 6 s, 20,000 the whole CPU budget: red team, twenty-first
        # pass). Each item's rank is read from an index built once per list instead.
        parent = el.parent
        if parent is not None and parent.name == "ol":
            rank = self._item_ranks(parent).get(id(el), 0)
            el.find_previous_siblings = lambda *_args, **_kwargs: range(rank)
        return super().convert_li(el, text, parent_tags)

    def _item_ranks(self, ol) -> dict[int, int]:
        """{id of an <li> child of OL: how many <li> children come before it}."""
        ranks = self.__dict__.setdefault("_ranks", {})  # one converter per document
        if id(ol) not in ranks:
            items = (child for child in ol.children if getattr(child, "name", None) == "li")
            ranks[id(ol)] = {id(item): rank for rank, item in enumerate(items)}
        return ranks[id(ol)]

    def escape(self, text, parent_tags):
        if not text:
            return text
        if "a" in parent_tags or not ("." in text or ":" in text):
            return self._escape_text(text, parent_tags)
        from .text import url_finder  # the same URL finder as plain text (Discourse's linkify)

        links = url_finder().match(text) if url_finder().test(text) else None
        if not links:
            return self._escape_text(text, parent_tags)
        out, pos = [], 0
        for link in links:
            out.append(self._escape_text(text[pos:link.index], parent_tags))
            if link.schema == "mailto:" or (not link.schema and "@" in link.text):
                out.append(link.text)
            elif link.url == link.text and link.schema != "//":  # ("<//x.fr>" is no autolink: text.py)
                out.append(f"<{safe_destination(link.text)}>")
            else:
                out.append(f"[{self._escape_text(link.text, parent_tags)}](<{safe_destination(link.url)}>)")
            pos = link.last_index
        out.append(self._escape_text(text[pos:], parent_tags))
        return "".join(out)

    def _escape_text(self, text, parent_tags):
        text = super().escape(text.replace("\\", "\\\\"), parent_tags)
        text = text.replace("<", "&lt;").replace("[", "\\[").replace("]", "\\]") if text else text
        # A "!" ending a text node would turn the link that may follow into an image.
        return text[:-1] + "\\!" if text.endswith("!") else text

    def convert_a(self, el, text, parent_tags):
        el.attrs.pop("title", None)  # the sender's text, raw inside the link: live if the link breaks
        # A link's text on one line: a block inside it (« <a><pre>…[quote]</pre></a> ») left a
        # code fence that is no fence inside a link, and a raw « [quote] » at a line's start,
        # which Discourse's block BBCode reads before any inline parsing (found by the property
        # test in CI, 7 December 2026), as convert_code does for code spans.
        if text and "\n" in text:
            text = " ".join(text.replace("\r", "\n").split("\n"))
        href = el.get("href")
        if href:
            el["href"] = safe_destination(href)
        if not href or _AUTOLINK_HREF.match(el["href"]):
            return super().convert_a(el, text, parent_tags)
        autolinks, self.options["autolinks"] = self.options["autolinks"], False
        try:  # "[text](href)": never markdownify's "<href>", a raw tag for any other scheme
            return super().convert_a(el, text, parent_tags)
        finally:
            self.options["autolinks"] = autolinks

    def convert_code(self, el, text, parent_tags):
        """Inline code on one line (CommonMark shows a code span's newlines as spaces anyway):
        a newline kept inside would let Discourse's block BBCode rules, which read lines before
        any inline parsing, open a sender's ``[details]`` or ``[quote]`` there (red-team)."""
        if "_noformat" not in parent_tags and text:
            text = " ".join(text.replace("\r", "\n").split("\n"))
        return super().convert_code(el, text, parent_tags)

    convert_kbd = convert_code
    convert_samp = convert_code

    def convert_td(self, el, text, parent_tags):
        """A cell's "|" escaped, in code too: a table row is cut at every "|" before inline
        parsing, so a code span's "|" ended it and left the rest live (red-team)."""
        return super().convert_td(el, _UNESCAPED_PIPE.sub(r"\\|", text or ""), parent_tags)

    def convert_th(self, el, text, parent_tags):
        return super().convert_th(el, _UNESCAPED_PIPE.sub(r"\\|", text or ""), parent_tags)

    def convert_pre(self, el, text, parent_tags):
        """A fence longer than any backtick run inside: a ``` line in <pre> cannot close it
        (markdownify's fixed ``` fence let the rest of the block be live Markdown/HTML)."""
        block = super().convert_pre(el, text, parent_tags)
        if not block:
            return block
        longest = max((len(run) for run in re.findall(r"`+", text or "")), default=0)
        fence = "`" * max(3, longest + 1)
        head, body = block.split("```", 1)
        body, tail = body.rsplit("```", 1)
        return f"{head}{fence}{body}{fence}{tail}"

    def convert_img(self, el, text, parent_tags):
        src = (el.attrs.get("src") or "").strip()
        alt = " ".join((el.attrs.get("alt") or "").replace("[", "").replace("]", "")
                       .replace("\\", "").split())
        if src.lower().startswith("cid:") and _SAFE_CID.fullmatch(src[4:]):
            return f"![{alt}]({src})"
        if src.lower().startswith(("http://", "https://")):
            # Not an image: the forum would fetch it (internal addresses too). A link to it.
            return f"[Image{' : ' + alt if alt else ''}](<{safe_destination(src)}>)"
        return ""


def html_to_markdown(html: str) -> str:
    """Markdown for Discourse from an HTML body (Outlook, Gmail, Apple Mail, webmails)."""
    html = sanitize_html(clean_office_html(html))
    text = _Converter(heading_style="atx", bullets="-", escape_misc=False,
                      newline_style="spaces", strip_document="strip").convert(html)
    # (U+FEFF, invisible, is a space between a tag's attributes for Discourse: see _UNSAFE_URL_CHARS)
    # (the spaces the forum stores as plain ones are written so: raw_form)
    text = spaces_as_stored(text).replace("\r", "").replace("\ufeff", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def html_text(html: str) -> str:
    """Visible text of HTML, whitespace-collapsed (to compare with a text/plain alternative)."""
    cleaned = nh3.clean(clean_office_html(html), tags=set(), clean_content_tags={"script", "style", "title", "head"})
    cleaned = re.sub(r"&nbsp;|&#160;", " ", cleaned)
    return " ".join(cleaned.split())
