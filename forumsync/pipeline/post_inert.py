"""The last check of a post's text before it leaves: nothing from the mail may be live.

The parse stage already made the mail's text inert (``mail.inert``); this checks the post
as Discourse would cook it (``live_syntax``) and neutralises by force whatever is still live
(never expected): mentions, hashtags, quotes, images (``![``, ``[img]``, ``<img`` and any raw HTML tag
Discourse keeps, such as ``<details>``), block BBCode, oneboxes. Pure: text in, text out;
what it cannot make inert raises ``Quarantine`` (never published).
"""
from __future__ import annotations

import re
from urllib.parse import unquote

from ..mail.html import safe_destination
from ..mail.raw_readers import break_raw_readers, raw_reader_claims
from ..mail.inert import (LINE_CONTAINERS, discourse_parser, fence_lines, live_syntax,
                          neutralise_all_hashtags, neutralise_all_mentions, neutralise_block_bbcode,
                          normalised)
from .errors import Quarantine

_RAW_READ = ("quoted", "chat quoted", "file reference")  # raw_reader_claims's kinds
_QUOTE_START = re.compile(rf"^({LINE_CONTAINERS})\[(quote)(?![a-z])", re.I | re.M | re.A)


def inert(parts: list[str], tail: list[str], own: set) -> tuple[list[str], list[str]]:
    """PARTS and TAIL (all from the mail) checked as Discourse would cook them; whatever is
    still live is neutralised by force (never expected: the parse stage made them inert).
    Every kind ``live_syntax`` reports is handled: mentions, hashtags, quotes, images (``![``, ``[img]``,
    ``<img``, and with them any raw HTML tag such as ``<details>``), oneboxes."""
    # U+FEFF: invisible, and a space between a tag's attributes for Discourse (inert.JS_ONLY_SPACE)
    # and line ends as markdown-it normalises them ("\r" ends a line there): one line model
    parts, tail = [normalised(p) for p in parts], [normalised(t) for t in tail]
    checked = "\n\n".join(parts + tail)
    found = live_syntax(checked, own, onebox=True)
    problems = list(found)
    if _raw_html(checked):  # the attachments' links too: a file name is the sender's text
        problems.append("html")
    # What the server reads in the raw apart from cooking (code, addresses and labels too)
    problems += raw_reader_claims(checked, own)
    if not problems:
        return parts, tail
    if any(p.startswith(_RAW_READ) for p in problems):
        parts, tail = [break_raw_readers(p, own) for p in parts], [break_raw_readers(t, own) for t in tail]
    parts, tail = _forced_names(parts, tail, problems)
    if "quote" in problems:
        parts = [_QUOTE_START.sub(r"\1\\[\2", p) for p in parts]
    if any(p.startswith(("image", "html")) for p in problems):
        parts = [_force_inert_images(p) for p in parts]
        tail = [t if all(u in own for u in re.findall(r"!\[[^\]]*\]\(([^)]*)\)", t)) and not _raw_html(t)
                else _force_inert_images(t) for t in tail]
    if any(p.startswith("bbcode") for p in problems):  # after the images: "[img]" is escaped once
        parts = [neutralise_block_bbcode(p) for p in parts]
    if any(not p.startswith(("html", *_RAW_READ)) for p in problems):
        # neutralising may leave a bare URL: checked again
        again = "\n\n".join(parts)
        # (the same text when nothing was neutralised and there is no tail: the same answer,
        # live_syntax being a function of the text, without a second parse of the whole post)
        problems = list(found) if again == checked else live_syntax(again, own, onebox=True)
    for href in {p[len("onebox "):] for p in problems if p.startswith("onebox ")}:
        for url in sorted(_written_forms(href), key=len, reverse=True):  # autolinks: never oneboxed
            target = url if re.match(r"[a-z][a-z0-9+.-]*:", url, re.I) else href  # "<evil.com>" is no link
            target = "https:" + target if target.startswith("//") else target  # nor is "<//evil.com>"
            # (inside a "[t](u)" destination too: "(<u>)" is the same link; never inside "<…>")
            # (nor inside a longer address: "x.fr/a" in "http://x.fr/a", already rewritten)
            # (after an escaped punctuation mark too: "\_https://x.fr/doc\_", an address the
            # sender underlined, is linkified there, the escape ending a text token: 45th pass)
            bare = re.compile(r"(?:(?<![<\w/:.@-])|(?<=\\[!-/:-@\[-`{-~]))" + re.escape(url) + r"(?![\w/])")
            parts = [bare.sub(lambda m, t=target: f"<{safe_destination(t)}>", p) for p in parts]
    # A link rewritten above changes how linkify reads the text beside it: a mention or a
    # hashtag may come alive there ("www.~.fr;a@b.fr#staff": red team, 42nd pass), forced again.
    left = live_syntax("\n\n".join(parts + tail), own, onebox=True)
    if any(p.startswith(("mention", "hashtag")) for p in left):
        parts, tail = _forced_names(parts, tail, left)
        left = live_syntax("\n\n".join(parts + tail), own, onebox=True)
    # The net under the net: what is still live after all this is not published.
    if _raw_html("\n\n".join(parts + tail)):
        left.append("html")
    left += raw_reader_claims("\n\n".join(parts + tail), own)
    if left:
        raise Quarantine("contenu actif que forumsync ne sait pas neutraliser ("
                         + ", ".join(left[:3]) + ") : message retenu, rien n'est publié ; à lire "
                         "tel quel (forumsync inbox show --raw) avant de le publier à la main")
    return parts, tail




def _forced_names(parts, tail, problems):
    """PARTS and TAIL with every mention and every hashtag forced inert, as PROBLEMS ask."""
    if any(p.startswith("mention") for p in problems):
        parts, tail = [neutralise_all_mentions(p) for p in parts], [neutralise_all_mentions(t) for t in tail]
    if any(p.startswith("hashtag") for p in problems):
        parts, tail = [neutralise_all_hashtags(p) for p in parts], [neutralise_all_hashtags(t) for t in tail]
    return parts, tail


def _written_forms(href: str) -> set[str]:
    """How the text may have written the address linkify made HREF from: as is, with its
    %-escapes decoded, and with its host's punycode labels as Unicode (``xn--exmple-cua.fr``
    was written ``exämple.fr``)."""
    forms = {href, unquote(href)}
    if href.lower().startswith("http://"):  # a link without scheme ("evil.com/x"): linkify adds it
        forms |= {form[len("http://"):] for form in forms}
    match = re.match(r"((?:[a-z][a-z0-9+.-]*:)?//)([^/?#:]+)(.*)", href, re.I | re.S)
    if match and "xn--" in match.group(2).lower():
        try:
            host = match.group(2).encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            host = None
        if host:
            written = {match.group(1) + host + rest for rest in (match.group(3), unquote(match.group(3)))}
            forms |= written | {form[len("http://"):] for form in written if form.lower().startswith("http://")}
    return forms


# A raw HTML tag: a tag name right after "<". Only looked for in the fallback (the parse
# stage writes "<" as "&lt;" outside code). Any tag, not a list of the allowed ones (h1, mark, blockquote… are allowed too: a fifth
# red-team pass split a code span with a table's "|" and got "<h1>"). "<https:…>" and
# "<a@b.fr>" are autolinks, not tags: a tag name is followed by a space, "/" or ">".
_LIVE_TAG = re.compile(r"<(?=/?[a-z][a-z0-9-]*(?:[\s/>]|$))", re.I | re.A)


def _raw_html(raw: str) -> bool:
    """RAW holds a raw HTML tag (a token of markdown-it's html rules)."""
    if not _LIVE_TAG.search(raw):
        return False
    for token in discourse_parser().parse(raw):
        if token.type == "html_block" and _LIVE_TAG.search(token.content):
            return True
        if token.type == "inline" and any(c.type == "html_inline" and _LIVE_TAG.search(c.content)
                                          for c in token.children or ()):
            return True
    return False


def _force_inert_images(text: str) -> str:
    """TEXT with no image or raw HTML left outside fenced code: ``![`` → ``!\\[``,
    ``[img]`` → ``\\[img]``, ``<tag`` → ``&lt;tag``."""
    lines = text.split("\n")
    code = fence_lines(discourse_parser().parse(text))  # as markdown-it reads the fences
    return "\n".join(line if index in code else _LIVE_TAG.sub("&lt;", re.sub(
        r"\[(img\])", r"\\[\1", line.replace("![", "!\\["), flags=re.I))
        for index, line in enumerate(lines))
