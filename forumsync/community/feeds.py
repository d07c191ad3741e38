"""Reading release feeds into entries: RSS or Atom through feedparser, or an HTML page.

``RELEASE_FEEDS`` entries:

- ``{"name": "Publik", "url": "https://…/releases.atom", "announce": False}``: RSS or Atom,
  read by feedparser (``file://`` URLs are read from disk);
- ``{"name": "w.c.s.", "url": "https://…/notes.html", "type": "html",
  "selector": "article.release"}``: an HTML page. The selector is ``tag.class`` (or ``tag``
  or ``.class``): every matching element is one release; its title is the text of its first
  heading (``h1``…``h6``, else its whole text), its link the first ``<a href>`` inside (made
  absolute), its id the element's ``id`` attribute (else the link, else the title), its date a
  ``<time datetime="…">`` inside when present.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

FETCH_TIMEOUT = 15
MAX_FEED_BYTES = 5 * 1024 * 1024


class FeedError(Exception):
    """A feed that cannot be read (French message)."""


@dataclass
class Entry:
    entry_id: str
    title: str
    link: str = ""
    summary: str = ""          # HTML or text from the feed
    published_at: datetime | None = None


def fetch(url: str) -> tuple[bytes, str]:
    """The document at URL (http(s), or file:// for bundled or mirrored feeds)."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        path = Path(unquote(urlsplit(url).path))
        try:
            if path.stat().st_size > MAX_FEED_BYTES:
                raise FeedError(f"flux {url} trop volumineux (plus de {MAX_FEED_BYTES} octets)")
            return path.read_bytes(), ""
        except OSError as exc:
            raise FeedError(f"flux {url} illisible : {exc.strerror}") from None
    try:
        # No redirect followed: a feed's host could send forumsync to an internal address and
        # have the answer published (red team, eleventh pass); the operator sets the final URL.
        response = requests.get(url, timeout=FETCH_TIMEOUT, headers={"User-Agent": "forumsync"},
                                stream=True, allow_redirects=False)
        if response.is_redirect:
            raise FeedError(f"flux {url} redirigé vers {response.headers.get('Location', '?')[:200]} : "
                            f"redirection non suivie, indiquez l'adresse finale dans RELEASE_FEEDS")
        response.raise_for_status()
        body = response.raw.read(MAX_FEED_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise FeedError(f"flux {url} illisible : {exc.__class__.__name__}") from None
    if len(body) > MAX_FEED_BYTES:
        raise FeedError(f"flux {url} trop volumineux (plus de {MAX_FEED_BYTES} octets)")
    return body, response.headers.get("Content-Type", "")


def _struct_time(value) -> datetime | None:
    if not value:
        return None
    return datetime(*value[:6], tzinfo=timezone.utc)


def parse_feed(body: bytes, url: str = "") -> list[Entry]:
    import feedparser

    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"flux {url} invalide : {parsed.get('bozo_exception')!r}")
    entries = []
    for item in parsed.entries:
        link = item.get("link", "")
        entry_id = item.get("id") or link or item.get("title", "")
        if not entry_id:
            continue
        summary = ""
        if item.get("content"):
            summary = item["content"][0].get("value", "")
        summary = summary or item.get("summary", "")
        entries.append(Entry(entry_id=entry_id, title=(item.get("title") or "").strip(), link=link,
                             summary=summary,
                             published_at=_struct_time(item.get("published_parsed")
                                                       or item.get("updated_parsed"))))
    return entries


class _SelectorParser(HTMLParser):
    """Collects elements matching a ``tag.class`` selector (no nesting of matches)."""

    VOID = {"br", "img", "hr", "input", "meta", "link", "area", "base", "col", "embed",
            "source", "track", "wbr"}

    def __init__(self, selector: str):
        super().__init__(convert_charrefs=True)
        tag, _, cls = selector.strip().partition(".")
        self.tag, self.cls = tag.lower() or None, cls or None
        self.items: list[dict] = []
        self.current: dict | None = None
        self.depth = 0
        self.in_heading = False
        self.in_time = False

    def _matches(self, tag, attrs) -> bool:
        if self.tag and tag != self.tag:
            return False
        if self.cls and self.cls not in (attrs.get("class") or "").split():
            return False
        return True

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.current is None:
            if self._matches(tag, attrs):
                self.current = {"id": attrs.get("id", ""), "heading": "", "text": "", "href": "",
                                "datetime": "", "html": ""}
                self.depth = 0 if tag in self.VOID else 1
            return
        if tag not in self.VOID:
            self.depth += 1
        if re.fullmatch(r"h[1-6]", tag) and not self.current["heading"]:
            self.in_heading = True
        if tag == "a" and not self.current["href"] and attrs.get("href"):
            self.current["href"] = attrs["href"]
        if tag == "time" and attrs.get("datetime") and not self.current["datetime"]:
            self.current["datetime"] = attrs["datetime"]

    def handle_endtag(self, tag):
        if self.current is None:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self.in_heading = False
        self.depth -= 1
        if self.depth <= 0:
            self.items.append(self.current)
            self.current = None
            self.in_heading = False

    def handle_data(self, data):
        if self.current is None:
            return
        self.current["text"] += data
        if self.in_heading:
            self.current["heading"] += data


def parse_html(body: bytes, selector: str, url: str = "") -> list[Entry]:
    parser = _SelectorParser(selector)
    parser.feed(body.decode("utf-8", errors="replace"))
    parser.close()
    entries = []
    for item in parser.items:
        title = " ".join((item["heading"] or item["text"]).split())
        link = urljoin(url, item["href"]) if item["href"] else ""
        summary = " ".join(item["text"].split())
        if title and summary.startswith(title):
            summary = summary[len(title):].strip()
        published = None
        if item["datetime"]:
            try:
                published = datetime.fromisoformat(item["datetime"].replace("Z", "+00:00"))
                if published.tzinfo is None:
                    published = published.replace(tzinfo=timezone.utc)
            except ValueError:
                published = None
        entry_id = item["id"] or link or title
        if entry_id and title:
            entries.append(Entry(entry_id=entry_id, title=title, link=link, summary=summary,
                                 published_at=published))
    return entries


def read_feed(feed: dict) -> list[Entry]:
    if not feed.get("url"):
        raise FeedError(f"flux « {feed.get('name', '?')} » sans url")
    body, _content_type = fetch(feed["url"])
    if feed.get("type") == "html":
        return parse_html(body, feed.get("selector") or "article", feed["url"])
    return parse_feed(body, feed["url"])
