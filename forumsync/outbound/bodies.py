"""Mail bodies from forum HTML: sanitised with absolute links, a plain-text twin, the
« Répondre sur … » footer, and the multipart/alternative that carries both."""
from __future__ import annotations

import html
import re
from email.message import EmailMessage
from urllib.parse import urljoin, urlsplit

import html2text
import nh3
from bs4 import BeautifulSoup

_ABSOLUTE_ATTRS = {("a", "href"), ("img", "src"), ("source", "src"), ("video", "src"),
                   ("audio", "src"), ("video", "poster")}
# What a mail client loads by itself when the mail is opened: kept only from the forum's own
# host. From elsewhere, a 1×1 image in a post told its author who read the list mail, when
# and with which client (red team, eighth pass): an image becomes a link, the rest goes.
_LOADED_ATTRS = {("img", "src"), ("img", "srcset"), ("source", "src"), ("source", "srcset"),
                 ("video", "src"), ("video", "poster"), ("audio", "src")}

_AMBIGUOUS_URL = re.compile(r"[\\\s\x00-\x1f\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(parts) -> tuple | None:
    """A URL's origin as a browser compares it (scheme, host, port), None for a port that is
    none: another port of the forum's host is another service, whoever runs it."""
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.scheme, parts.hostname or "", port or _DEFAULT_PORTS.get(parts.scheme)


def absolute_html(settings, cooked: str) -> str:
    """Sanitised HTML (nh3) with every link and image made absolute against FORUM_URL, and
    no image or media loaded from another host than the forum's."""
    base = settings.FORUM_URL + "/"
    forum_origin = _origin(urlsplit(base))

    def absolute(value: str) -> str:
        return urljoin(base, value) if not urlsplit(value).scheme else value  # "/uploads/…", "//host/…"

    def own_url(url: str) -> bool:
        # Python's urlsplit and a browser's URL parser disagree on "\\" (a browser ends the
        # host there: "https://evil.example\\@forum/p.gif" is evil.example's), on tabs and
        # newlines (a browser drops them) and on user info: any of these is not ours (red
        # team, ninth pass).
        if _AMBIGUOUS_URL.search(url):
            return False
        parts = urlsplit(absolute(url))
        return parts.scheme in ("http", "https") and "@" not in parts.netloc \
            and _origin(parts) == forum_origin

    def own(value: str, srcset: bool = False) -> bool:
        if not srcset:
            return own_url(value.strip())
        urls = [item.split()[0] for item in value.split(",") if item.split()] or [value]
        return all(own_url(url) for url in urls)

    def attribute_filter(tag, attr, value):
        if (tag, attr) in _LOADED_ATTRS and value and not own(value, srcset=attr == "srcset"):
            return None
        if (tag, attr) in _ABSOLUTE_ATTRS and value:
            return absolute(value)
        return value

    return nh3.clean(_remote_images_as_links(cooked or "", own, absolute), attribute_filter=attribute_filter,
                     url_schemes={"http", "https", "mailto"})


_IMG = re.compile(r"<img\b[^<>]*>", re.I)
_SRC = re.compile(r"""\bsrc\s*=\s*("[^"]*"|'[^']*'|[^\s"'<>]+)""", re.I)
_ALT = re.compile(r"""\balt\s*=\s*("[^"]*"|'[^']*'|[^\s"'<>]+)""", re.I)


def _remote_images_as_links(cooked: str, own, absolute) -> str:
    """Each ``<img>`` of COOKED whose source is on another host → a link to it (« image : alt »)."""
    def replace(match):
        tag = match.group(0)
        src = _SRC.search(tag)
        if src is None:
            return tag
        url = html.unescape(src.group(1).strip("\"'"))
        if own(url):
            return tag
        alt = _ALT.search(tag)
        label = html.unescape(alt.group(1).strip("\"'")) if alt else ""
        return (f'<a href="{html.escape(absolute(url), quote=True)}">'
                f'[image{" : " + html.escape(label) if label.strip() else ""}]</a>')

    return _IMG.sub(replace, cooked)


# What a list mail carries of a post at most, in each of its two parts. A post of Discourse's
# 32,000 characters cooks to some tens of KB; but a reference link written 300 times cooked 22 KB
# of Markdown into 6 MB of HTML, and the list sent 12.5 MB to every subscriber (red team,
# twentieth pass). Beyond this, the mail carries the beginning and says where the rest is.
MAX_LIST_HTML_CHARS = 200_000
MAX_LIST_TEXT_CHARS = 200_000


def bounded_html(safe_html: str, limit: int = MAX_LIST_HTML_CHARS) -> tuple[str, bool]:
    """(SAFE_HTML, False), or (its beginning, True) when longer than LIMIT: cut before a tag
    (in sanitised HTML every "<" starts one), the tags left open closed by nh3, which keeps
    what the first sanitising kept."""
    if len(safe_html) <= limit:
        return safe_html, False
    cut = safe_html[:limit]
    at = cut.rfind("<")
    return nh3.clean(cut[:at] if at > 0 else cut, url_schemes={"http", "https", "mailto"}), True


def bounded_text(text: str, limit: int = MAX_LIST_TEXT_CHARS) -> str:
    """TEXT, or its beginning up to its last line end within LIMIT."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[:cut.rfind("\n") + 1] if "\n" in cut else cut


# How deep lists and quotes go in the plain-text twin: html2text indents each line by its
# depth, so 2,000 nested lists in a 32,000-character post made 25 M characters of text, kept
# 200,000 (red team, twenty-first pass). Deeper tags are left out, their text kept.
MAX_TEXT_NESTING = 24
_NESTING_TAG = re.compile(r"<(/?)(?:ul|ol|li|blockquote|dl|dd|dt)\b[^<>]*>", re.I)


def flattened(safe_html: str, limit: int = MAX_TEXT_NESTING) -> str:
    """SAFE_HTML (sanitised: its tags balanced) without the list and quote tags nested deeper
    than LIMIT."""
    out, pos, depth = [], 0, 0
    for match in _NESTING_TAG.finditer(safe_html):
        closing = match.group(1) == "/"
        depth += 0 if closing else 1
        if depth > limit:
            # an item's or a quote's end still ends a line (items ran together: 22nd pass)
            out.append(safe_html[pos:match.start()] + ("<br>" if closing else ""))
            pos = match.end()
        depth -= 1 if closing else 0
    out.append(safe_html[pos:])
    return "".join(out)


def text_ready(cooked: str, limit: int = 2 * MAX_LIST_TEXT_CHARS) -> str:
    """COOKED (Discourse's HTML, before sanitising: its classes say what each image is) as the
    plain-text part should read it, not as Markdown image syntax with long URLs (red team,
    twenty-third pass): an emoji as its name (« :smile: »), no avatar, a quote's header as
    « Marie a écrit : », an uploaded image (Discourse's lightbox) as a link to the original
    named by its file, any other image as « image : alt » linking to it. Only the first
    LIMIT characters are read: the text part is bounded anyway (``bounded_text``)."""
    cooked = (cooked or "")[:limit]
    if "<img" not in cooked and "<aside" not in cooked:
        return cooked
    soup = BeautifulSoup(cooked, "html.parser")
    for node in soup.select(".quote-controls, img.avatar"):
        node.decompose()
    for img in soup.select("img.emoji"):
        img.replace_with(img.get("alt") or img.get("title") or "")
    for title in soup.select("aside.quote > div.title"):
        name = " ".join(title.get_text(" ", strip=True).split()).rstrip(":").strip()
        said = soup.new_tag("p")
        said.string = f"{name} a écrit :" if name else "Citation :"
        title.replace_with(said)
    for link in soup.select("a.lightbox"):
        filename = link.select_one(".filename")
        details = link.select_one(".informations")
        image = link.find("img")
        label = (filename.get_text(strip=True) if filename else "") or link.get("title") \
            or (image.get("alt") if image else "") or "image"
        link.clear()
        link.attrs = {"href": link.get("href") or ""}  # (a title would follow the URL in the text)
        link.append(f"{label} ({details.get_text(' ', strip=True)})" if details else label)
    for img in soup.find_all("img"):
        alt = " ".join((img.get("alt") or "").split())
        link = soup.new_tag("a", href=img.get("src") or "")
        link.string = f"image : {alt}" if alt else "image"
        img.replace_with(link)
    return str(soup)


def html_to_text(settings, safe_html: str) -> str:
    """Plain text from the (already absolute) HTML: quotes as ``>``, links kept as URLs, lists
    and quotes at most MAX_TEXT_NESTING deep."""
    safe_html = flattened(safe_html)
    converter = html2text.HTML2Text(bodywidth=0)  # links are already absolute
    converter.unicode_snob = True
    converter.inline_links = True
    converter.ignore_emphasis = False
    converter.wrap_links = False
    text = converter.handle(safe_html)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def footer_text(settings, url: str) -> str:
    return f"-- \nRépondre sur {settings.FORUM_NAME} : {url}\n"


def footer_html(settings, url: str) -> str:
    href = html.escape(url, quote=True)
    return (f'<hr><p style="font-size:small;color:#666">Répondre sur {html.escape(settings.FORUM_NAME)}'
            f' : <a href="{href}">{html.escape(url)}</a></p>')


def set_bodies(msg: EmailMessage, text: str, html_body: str) -> None:
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
                        f"<body>{html_body}</body></html>\n",
                        subtype="html", charset="utf-8", cte="quoted-printable")
