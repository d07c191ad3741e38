"""What the dashboard shows, computed from the database (no forum call here)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from ..models import InboxMessage, OutboxMail, PostLink, TopicLink, WebhookEvent, get_state, utcnow

INBOX_LABELS = {"new": "à traiter", "processing": "en cours", "retry": "à réessayer",
                "published": "publiés", "dropped": "écartés", "quarantined": "en quarantaine"}
OUTBOX_LABELS = {"pending": "en attente", "sending": "en cours d'envoi", "sent": "envoyés",
                 "failed": "en échec", "dropped": "écartés"}
EVENT_LABELS = {"new": "à traiter", "processing": "en cours", "retry": "à réessayer",
                "done": "traités", "skipped": "sans effet", "failed": "en échec"}
MONTHS_FR = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
             "nov.", "déc."]
# Written by forumsync.catalogue.sync.run_scheduled ({"at", "summary", "errors"}).
CATALOGUE_STATE_KEYS = ("catalogue:last-run", "catalogue:last_sync")


def counts_by_state(session, model, labels: dict) -> list[tuple[str, str, int]]:
    counts = dict(session.execute(select(model.state, func.count()).group_by(model.state)).all())
    rows = [(state, label, counts.pop(state, 0)) for state, label in labels.items()]
    rows += [(state, state, n) for state, n in sorted(counts.items())]
    return rows


def inbox_failures(session, limit: int = 10) -> list[InboxMessage]:
    return list(session.scalars(
        select(InboxMessage).options(lazyload(InboxMessage.raw_row))  # the raw mail is not shown
        .where(InboxMessage.state.in_(("quarantined", "retry")))
        .order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc()).limit(limit)))


def outbox_failures(session, limit: int = 10) -> list[OutboxMail]:
    return list(session.scalars(
        select(OutboxMail).where((OutboxMail.state == "failed")
                                 | ((OutboxMail.state == "pending") & (OutboxMail.last_error != "")))
        .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc()).limit(limit)))


def event_failures(session, limit: int = 5) -> list[WebhookEvent]:
    return list(session.scalars(
        select(WebhookEvent).where(WebhookEvent.state.in_(("failed", "retry")))
        .order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit)))


def last_months(count: int = 12, today: date | None = None) -> list[tuple[int, int]]:
    today = today or utcnow().date()
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append((year, month))
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(months))


def month_label(year: int, month: int) -> str:
    return f"{MONTHS_FR[month - 1]} {str(year)[2:]}"


def activity(session, settings, months: int = 12) -> dict:
    """Messages (bridged posts) per theme per month, and list vs forum origin."""
    window = last_months(months)
    start = datetime(window[0][0], window[0][1], 1, tzinfo=timezone.utc)
    rows = session.execute(
        select(PostLink.created_at, PostLink.origin, TopicLink.theme)
        .join(TopicLink, TopicLink.topic_id == PostLink.topic_id, isouter=True)
        .where(PostLink.created_at >= start)).all()
    per_theme: dict[str, Counter] = defaultdict(Counter)
    origins: Counter = Counter()
    origin_month: dict[str, Counter] = defaultdict(Counter)
    for created_at, origin, theme in rows:
        key = (created_at.year, created_at.month)
        per_theme[theme or "autre"][key] += 1
        origins[origin] += 1
        origin_month[origin][key] += 1
    names = {t["slug"]: t["name"] for t in settings.THEMES}
    order = [t["slug"] for t in settings.THEMES if t["slug"] in per_theme]
    order += sorted(k for k in per_theme if k not in order)
    series = [(names.get(slug, "Autre" if slug == "autre" else slug),
               [per_theme[slug][m] for m in window]) for slug in order]
    return {
        "months": [month_label(*m) for m in window],
        "series": series,
        "origins": {"list": origins.get("list", 0), "forum": origins.get("forum", 0)},
        "origin_series": [("Depuis la liste", [origin_month["list"][m] for m in window]),
                          ("Depuis le forum", [origin_month["forum"][m] for m in window])],
        "total": sum(origins.values()),
    }


def catalogue(session) -> dict | None:
    """What the catalogue sync recorded (StateValue ``catalogue:last-run``, see CONTRACTS.md)."""
    value = None
    for key in CATALOGUE_STATE_KEYS:
        value = get_state(session, key)
        if value:
            break
    if not value:
        return None
    counts = {k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}
    errors = value.get("errors") or []
    if isinstance(errors, str):
        errors = [errors]
    return {"at": value.get("at"), "summary": value.get("summary") or "", "counts": counts,
            "errors": [str(e) for e in errors][:10]}


def directory(session) -> dict | None:
    return get_state(session, "directory:last_sync")


def timeline(session, settings, year: int | None = None) -> dict:
    """The year's releases and club events, for the timeline."""
    from ..community.releases import releases_of_year

    year = year or utcnow().year
    items = []
    for release in releases_of_year(session, year):
        items.append({"date": release.published_at.date(), "title": release.title, "kind": "release",
                      "url": f"{settings.FORUM_URL}/t/{release.topic_id}" if release.topic_id else release.link})
    for event in settings.CLUB_EVENTS:
        try:
            when = date.fromisoformat(str(event.get("date", "")))
        except ValueError:
            continue
        if when.year == year:
            items.append({"date": when, "title": str(event.get("title", "")), "kind": "event",
                          "url": event.get("url") or ""})
    items.sort(key=lambda item: item["date"])
    return {"year": year, "items": items}
