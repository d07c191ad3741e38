"""Release notes: poll feeds and publish each new release as a topic in « Évolutions ».

``RELEASE_FEEDS`` entries:

- ``{"name": "Publik", "url": "https://…/releases.atom", "announce": False}``: RSS or Atom,
  read by feedparser (``file://`` URLs are read from disk);
- ``{"name": "w.c.s.", "url": "https://…/notes.html", "type": "html",
  "selector": "article.release"}``: an HTML page. The selector is ``tag.class`` (or ``tag``
  or ``.class``): every matching element is one release; its title is the text of its first
  heading (``h1``…``h6``, else its whole text), its link the first ``<a href>`` inside (made
  absolute), its id the element's ``id`` attribute (else the link, else the title), its date a
  ``<time datetime="…">`` inside when present.

A release is identified by ``external_id = "rel-" + sha1(feed name, entry id)``: polling twice
creates nothing twice. With ``"announce": True``, releases that appear after the feed's first
poll are also announced to the list through the outbox (the first poll announces nothing).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests
from sqlalchemy import select

from ..forum.gateway import ForumRejected
from ..models import get_state, set_state, utcnow
from ..models.release import Release
from .common import RELEASES_CATEGORY, claim_due, ensure_category, external_id

log = logging.getLogger(__name__)

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


# ------------------------------------------------------------------------------------ reading
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
        response = requests.get(url, timeout=FETCH_TIMEOUT, headers={"User-Agent": "forumsync"},
                                stream=True)
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


# ------------------------------------------------------------------------------------ publishing
def feed_name(feed: dict) -> str:
    return feed.get("name") or feed.get("url", "?")


def release_title(feed: dict, entry: Entry) -> str:
    name = feed_name(feed)
    title = entry.title if entry.title.lower().startswith(name.lower()) else f"{name} : {entry.title}"
    if len(title) < 15:
        title = f"Nouvelle version : {title}"
    return title[:250]


def release_raw(feed: dict, entry: Entry) -> str:
    from markdownify import markdownify

    body = markdownify(entry.summary, heading_style="ATX").strip() if "<" in entry.summary else entry.summary.strip()
    lines = []
    if entry.published_at:
        lines.append(f"Publiée le {entry.published_at.strftime('%d/%m/%Y')}.")
        lines.append("")
    if body:
        lines += [body, ""]
    if entry.link:
        lines.append(f"Notes de version complètes : {entry.link}")
    lines += ["", f"_Publié automatiquement depuis le flux « {feed_name(feed)} »._"]
    return "\n".join(lines).strip() + "\n"


def announcement_text(settings, feed: dict, entry: Entry, topic_id: int) -> str:
    return (f"Bonjour,\n\nUne nouvelle version vient de paraître : {entry.title}\n\n"
            + (f"Notes de version : {entry.link}\n" if entry.link else ""))


@dataclass
class PollReport:
    feed: str
    new: list[str] = field(default_factory=list)
    known: int = 0
    announced: int = 0
    first_poll: bool = False
    errors: list[str] = field(default_factory=list)


def poll_feed(ctx, feed: dict, *, dry_run: bool = False) -> PollReport:
    """Read FEED and publish its unseen entries (idempotent by external_id)."""
    name = feed_name(feed)
    entries = read_feed(feed)
    state_key = f"releases:feed:{name}"
    with ctx.db.session() as session:
        first_poll = get_state(session, state_key) is None
        seen = set(session.scalars(select(Release.external_id).where(Release.feed == name)))
    report = PollReport(feed=name, first_poll=first_poll)
    fresh = []
    for entry in entries:
        ext = external_id("rel", name, entry.entry_id)
        if ext in seen:
            report.known += 1
        else:
            fresh.append((ext, entry))
            seen.add(ext)
    report.new = [e.title for _, e in fresh]
    if dry_run:
        return report
    category_id = ensure_category(ctx.forum, RELEASES_CATEGORY) if fresh else None
    # Oldest first, so topics appear in release order.
    fresh.sort(key=lambda pair: pair[1].published_at or datetime.min.replace(tzinfo=timezone.utc))
    for ext, entry in fresh:
        topic = ctx.forum.topic_by_external_id(ext)
        try:
            if topic is not None:
                topic_id = topic["id"]
            else:
                post = ctx.forum.topic_create(release_title(feed, entry), release_raw(feed, entry),
                                              category_id, external_id=ext,
                                              created_at=entry.published_at)
                topic_id = post["topic_id"]
        except ForumRejected as exc:  # recorded without a topic: never retried in a loop
            log.error("flux %s : « %s » refusée par le forum : %s", name, entry.title, exc)
            report.errors.append(f"{entry.title} : {exc}")
            topic_id = None
        announce = bool(feed.get("announce")) and not first_poll and topic_id is not None
        with ctx.db.session() as session:
            session.add(Release(feed=name, external_id=ext, entry_id=entry.entry_id[:2000],
                                title=entry.title, link=entry.link, summary=entry.summary[:20000],
                                published_at=entry.published_at, topic_id=topic_id,
                                announced=announce))
            if announce:
                from ..outbound import compose, outbox

                message = compose.compose_personal(
                    ctx.settings, to=ctx.settings.LIST_ADDRESS, to_name=ctx.settings.LIST_NAME,
                    subject=f"Nouvelle version : {entry.title}",
                    text=announcement_text(ctx.settings, feed, entry, topic_id),
                    link=compose.topic_url(ctx.settings, topic_id))
                outbox.enqueue(session, f"release:{ext}", message, [ctx.settings.LIST_ADDRESS])
                report.announced += 1
    with ctx.db.session() as session:
        set_state(session, state_key, {"at": utcnow().isoformat(), "entries": len(entries),
                                       "error": "; ".join(report.errors)[:2000]})
    if fresh:
        log.info("flux %s : %d nouvelle(s) version(s)", name, len(fresh))
    return report


def run_scheduled(ctx, worker_id: str) -> int:
    """Worker task: every RELEASES_INTERVAL_MINUTES, poll each RELEASE_FEEDS entry."""
    feeds = ctx.settings.RELEASE_FEEDS
    if not feeds:
        return 0
    with ctx.db.session() as session:
        if not claim_due(session, "releases:last_run", ctx.settings.RELEASES_INTERVAL_MINUTES):
            return 0
    handled = 0
    for feed in feeds:
        try:
            handled += len(poll_feed(ctx, feed).new)
        except FeedError as exc:
            log.warning("notes de version : %s", exc)
            with ctx.db.session() as session:
                key = f"releases:feed:{feed_name(feed)}"
                previous = get_state(session, key)
                if previous is not None:  # keep "first poll" semantics: only mark errors on known feeds
                    set_state(session, key, {**previous, "error": str(exc)})
    return handled


def releases_of_year(session, year: int) -> list[Release]:
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    return list(session.scalars(select(Release).where(Release.published_at >= start,
                                                      Release.published_at < end)
                                .order_by(Release.published_at)))
