"""Release notes: poll feeds (read by feeds.py, where ``RELEASE_FEEDS`` is described) and
publish each new release as a topic in « Évolutions ».

A release is identified by ``external_id = "rel-" + sha1(feed name, entry id)``: polling twice
creates nothing twice. With ``"announce": True``, releases that appear after the feed's first
poll are also announced to the list through the outbox (the first poll announces nothing).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from ..forum.gateway import ForumRejected
from ..models import get_state, set_state, utcnow
from ..models.release import Release
from .common import RELEASES_CATEGORY, claim_due, ensure_category, external_id
from .feeds import Entry, FeedError, read_feed

log = logging.getLogger(__name__)


def feed_name(feed: dict) -> str:
    return feed.get("name") or feed.get("url", "?")


def release_title(feed: dict, entry: Entry) -> str:
    from ..mail.inert import strip_bidi

    name = feed_name(feed)
    entry_title = strip_bidi(entry.title)  # another site's text: no reordering of ours
    title = entry_title if entry_title.lower().startswith(name.lower()) else f"{name} : {entry_title}"
    if len(title) < 15:
        title = f"Nouvelle version : {title}"
    return title[:250]


def release_raw(feed: dict, entry: Entry) -> str:
    """The topic's Markdown. A feed's text is another site's writing: converted as mail is
    (sanitised HTML, escapes, explicit links: no image, onebox or raw HTML), mentions
    neutralised, then checked and made inert as a post from mail is (``post_inert``: red
    team, eleventh pass: the tricks of passes 4 and 6 reached the forum through a feed)."""
    from ..mail.html import html_to_markdown, safe_destination
    from ..mail.inert import neutralise_text
    from ..mail.raw_readers import break_raw_readers
    from ..mail.text import plain_to_markdown
    from ..pipeline.post_inert import inert

    summary = entry.summary or ""
    body = html_to_markdown(summary) if "<" in summary else plain_to_markdown(summary.strip())
    body = neutralise_text(body.strip())
    if body:
        [body], _ = inert([body], [], set())
    lines = []
    if entry.published_at:
        lines.append(f"Publiée le {entry.published_at.strftime('%d/%m/%Y')}.")
        lines.append("")
    if body:
        lines += [body, ""]
    if web_link(entry.link):  # the feed's link too: no quote the server reads (43rd pass)
        lines.append(break_raw_readers(f"Notes de version complètes : <{safe_destination(entry.link)}>"))
    lines += ["", f"_Publié automatiquement depuis le flux « {feed_name(feed)} »._"]
    return "\n".join(lines).strip() + "\n"


def web_link(link: str | None) -> str | None:
    """LINK when it is an http(s) address, else None: a feed's link is another site's text
    ("javascript:…" reached the dashboard's timeline: red team, eleventh pass)."""
    link = (link or "").strip()
    return link if link.lower().startswith(("http://", "https://")) and link.isprintable() else None


def announcement_text(settings, feed: dict, entry: Entry, topic_id: int) -> str:
    from ..mail.inert import strip_bidi

    link = web_link(entry.link)
    return (f"Bonjour,\n\nUne nouvelle version vient de paraître : {strip_bidi(entry.title)}\n\n"
            + (f"Notes de version : {link}\n" if link else ""))


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
                post = ctx.forum.topic_create(release_title(feed, entry), _composed(ctx, feed, entry),
                                              category_id, external_id=ext,
                                              created_at=entry.published_at)
                topic_id = post["topic_id"]
        except (ForumRejected, Unpublishable) as exc:  # recorded without a topic: never retried in a loop
            log.error("flux %s : « %s » non publiée : %s", name, entry.title, exc)
            report.errors.append(f"{entry.title} : {exc}")
            topic_id = None
        announce = bool(feed.get("announce")) and not first_poll and topic_id is not None
        with ctx.db.session() as session:
            session.add(Release(feed=name, external_id=ext, entry_id=entry.entry_id[:2000],
                                title=entry.title, link=web_link(entry.link) or "",
                                summary=entry.summary[:20000],
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


class Unpublishable(Exception):
    """An entry whose text cannot be made into a post (French reason)."""


def _composed(ctx, feed: dict, entry: Entry) -> str:
    """``release_raw`` under a message's processor budget; what cannot be converted (thousands
    of nested tags, over the budget, still live after ``post_inert``) is refused with its
    reason, and the feed's other entries go on (red team, eleventh pass: one entry stopped
    every feed behind it)."""
    from ..pipeline.budget import OverBudget, cpu_budget
    from ..pipeline.errors import Quarantine

    try:
        with cpu_budget(ctx.settings.PIPELINE_MESSAGE_CPU_SECONDS):
            return release_raw(feed, entry)
    except RecursionError:
        raise Unpublishable("texte trop imbriqué pour être converti") from None
    except OverBudget as exc:
        raise Unpublishable(f"conversion trop longue (plus de {exc.seconds:g} s de processeur)") from None
    except Quarantine as exc:
        raise Unpublishable(exc.reason or "texte actif impossible à neutraliser") from None


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
        except Exception as exc:  # FeedError, or a fault of ours: the other feeds go on
            if not isinstance(exc, FeedError):
                log.exception("notes de version : flux %s en échec", feed_name(feed))
                exc = FeedError(f"flux {feed_name(feed)} en échec : {exc.__class__.__name__}")
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
