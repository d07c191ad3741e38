"""Mail bodies from forum HTML: sanitised with absolute links, a plain-text twin, the
« Répondre sur … » footer, and the multipart/alternative that carries both."""
from __future__ import annotations

import html
import re
from email.message import EmailMessage
from urllib.parse import urljoin, urlsplit

import html2text
import nh3

_ABSOLUTE_ATTRS = {("a", "href"), ("img", "src"), ("source", "src"), ("video", "src"),
                   ("audio", "src"), ("video", "poster")}


def absolute_html(settings, cooked: str) -> str:
    """Sanitised HTML (nh3) with every link and image made absolute against FORUM_URL."""
    base = settings.FORUM_URL + "/"

    def attribute_filter(tag, attr, value):
        if (tag, attr) in _ABSOLUTE_ATTRS and value:
            scheme = urlsplit(value).scheme
            if not scheme:  # "/uploads/…", "//host/…", "relative"
                return urljoin(base, value)
        return value

    return nh3.clean(cooked or "", attribute_filter=attribute_filter,
                     url_schemes={"http", "https", "mailto"})


def html_to_text(settings, safe_html: str) -> str:
    """Plain text from the (already absolute) HTML: quotes as ``>``, links kept as URLs."""
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
