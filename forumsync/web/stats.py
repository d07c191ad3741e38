"""What the dashboard shows, computed from the database (no forum call here)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import LargeBinary, func, select
from sqlalchemy.orm import lazyload

from ..inbound.copies import COPY_HELD
from ..models import InboxMessage, OutboxMail, PostLink, TopicLink, WebhookEvent, get_state, utcnow

INBOX_LABELS = {"new": "à traiter", "processing": "en cours", "retry": "à réessayer",
                "published": "publiés", "dropped": "écartés", "quarantined": "en quarantaine"}
OUTBOX_LABELS = {"pending": "en attente", "sending": "en cours d'envoi", "sent": "envoyés",
                 "failed": "en échec", "dropped": "écartés"}
EVENT_LABELS = {"new": "à traiter", "processing": "en cours", "retry": "à réessayer",
                "done": "traités", "skipped": "sans effet", "failed": "en échec"}
MONTHS_FR = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
             "nov.", "déc."]
# Written by forumsync.catalogue.sync: run_scheduled ({"at", "summary", "errors"}) and every
# real sync, manual ones included (record_sync).
CATALOGUE_STATE_KEYS = ("catalogue:last-run", "catalogue:last_sync")


def counts_by_state(session, model, labels: dict) -> list[tuple[str, str, int]]:
    counts = dict(session.execute(select(model.state, func.count()).group_by(model.state)).all())
    rows = [(state, label, counts.pop(state, 0)) for state, label in labels.items()]
    rows += [(state, state, n) for state, n in sorted(counts.items())]
    return rows


def inbox_failures(session, limit: int = 10) -> list[InboxMessage]:
    """What the operator may act on: quarantined, waiting for a retry, and the copies of a
    Message-ID held behind another (``inbound/copies``; « dropped » when from the same sender:
    without them here, a copy an operator's drop left held had no way out on the dashboard,
    red team, twenty-second pass)."""
    return list(session.scalars(
        select(InboxMessage).options(lazyload(InboxMessage.raw_row))  # the raw mail is not shown
        .where(InboxMessage.state.in_(("quarantined", "retry"))
               | ((InboxMessage.state == "dropped") & InboxMessage.reason.startswith(COPY_HELD)))
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


# inbox id → the message's own date (Date header); mail never changes, so a process keeps them.
_MESSAGE_DATES: dict[int, datetime] = {}
HEADER_BYTES = 8192  # the Date header lives in the header block: no need to read attachments
# How far the Date of list mail may precede its reception (delayed delivery, an import's
# envelope date) for the reception-date prefilter.
DATE_SLACK = timedelta(days=31)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _header_date(head: bytes, fallback: datetime) -> datetime:
    from email.parser import BytesHeaderParser

    from ..mail import POLICY
    from ..mail.dates import message_date

    try:
        headers = BytesHeaderParser(policy=POLICY).parsebytes(head)
        value = str(headers.get("Date") or "")
    except Exception:  # noqa: BLE001 - a broken header block: the reception time then
        value = ""
    return message_date(value, fallback)


def message_dates(session, rows: list[tuple[int, datetime]]) -> dict[int, datetime]:
    """The Date of each inbox message (id, received_at), read from the first bytes of its raw
    mail once per process; the reception time when the Date is missing or absurd."""
    from ..models import InboxRaw

    missing = [(i, r) for i, r in rows if i not in _MESSAGE_DATES]
    received = dict(missing)
    for chunk in range(0, len(missing), 500):
        ids = [i for i, _ in missing[chunk:chunk + 500]]
        for inbox_id, head in session.execute(
                select(InboxRaw.inbox_id, func.substr(InboxRaw.raw, 1, HEADER_BYTES, type_=LargeBinary))
                .where(InboxRaw.inbox_id.in_(ids))):
            head = bytes(head or b"")
            _MESSAGE_DATES[inbox_id] = _header_date(head.split(b"\r\n\r\n")[0].split(b"\n\n")[0],
                                                    _aware(received[inbox_id]))
    return {i: _MESSAGE_DATES.get(i, _aware(r)) for i, r in rows}


def activity(session, settings, months: int = 12) -> dict:
    """Messages (bridged posts) per theme per month, and list vs forum origin, counted by the
    message's own date: a history import shows up in the months the mail was written, not
    in the month it was processed. List mail: its Date header; forum posts: when written."""
    window = last_months(months)
    start = datetime(window[0][0], window[0][1], 1, tzinfo=timezone.utc)
    wanted = set(window)
    list_rows = session.execute(
        select(InboxMessage.id, InboxMessage.received_at, TopicLink.theme)
        .join(PostLink, PostLink.message_id == InboxMessage.message_id)
        .join(TopicLink, TopicLink.topic_id == PostLink.topic_id, isouter=True)
        .where(PostLink.origin == "list", InboxMessage.received_at >= start - DATE_SLACK)).all()
    dates = message_dates(session, [(i, r) for i, r, _ in list_rows])
    dated = [(dates[i], "list", theme) for i, _, theme in list_rows]
    # list posts with no inbox row left (dropped by the operator later…): their link's date
    dated += [(_aware(created), "list", theme) for created, theme in session.execute(
        select(PostLink.created_at, TopicLink.theme)
        .join(TopicLink, TopicLink.topic_id == PostLink.topic_id, isouter=True)
        .where(PostLink.origin == "list", PostLink.created_at >= start,
               ~PostLink.message_id.in_(select(InboxMessage.message_id)))).all()]
    dated += [(_aware(created), "forum", theme) for created, theme in session.execute(
        select(PostLink.created_at, TopicLink.theme)
        .join(TopicLink, TopicLink.topic_id == PostLink.topic_id, isouter=True)
        .where(PostLink.origin == "forum", PostLink.created_at >= start)).all()]
    per_theme: dict[str, Counter] = defaultdict(Counter)
    origins: Counter = Counter()
    origin_month: dict[str, Counter] = defaultdict(Counter)
    for when, origin, theme in dated:
        key = (when.year, when.month)
        if key not in wanted:
            continue
        per_theme[theme or "autre"][key] += 1
        origins[origin] += 1
        origin_month[origin][key] += 1
    names = {t["slug"]: t["name"] for t in settings.THEMES}
    order = [t["slug"] for t in settings.THEMES if t["slug"] in per_theme]
    order += sorted(k for k in per_theme if k not in order)
    series = [(names.get(slug, "Autre" if slug == "autre" else slug),
               [per_theme[slug][m] for m in window]) for slug in order]
    total = sum(origins.values())
    return {
        "months": [month_label(*m) for m in window],
        "series": series,
        "origins": {"list": origins.get("list", 0), "forum": origins.get("forum", 0)},
        "origin_series": [("Depuis la liste", [origin_month["list"][m] for m in window]),
                          ("Depuis le forum", [origin_month["forum"][m] for m in window])],
        "total": total,
        "sentence": activity_sentence(total, origins.get("list", 0), origins.get("forum", 0)),
    }


def activity_sentence(total: int, from_list: int, from_forum: int) -> str:
    """« 1 message relayé sur douze mois : 1 venu de la liste, 0 écrit sur le forum. »"""
    from ..mail.french import plural

    return (f"{total} {plural(total, 'message')} {plural(total, 'relayé')} sur douze mois : "
            f"{from_list} {plural(from_list, 'venu')} de la liste, "
            f"{from_forum} {plural(from_forum, 'écrit')} sur le forum.")


def catalogue(session) -> dict | None:
    """The most recent catalogue sync, manual (`forumsync catalogue sync`, key
    ``catalogue:last_sync``) or scheduled (``catalogue:last-run``, see CONTRACTS.md)."""
    candidates = []
    for key in CATALOGUE_STATE_KEYS:
        value = get_state(session, key)
        if value and value.get("summary") is not None:
            candidates.append(value)
    if not candidates:
        return None
    value = max(candidates, key=lambda v: str(v.get("at") or ""))
    counts = {k: v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)}
    errors = value.get("errors") or []
    if isinstance(errors, str):
        errors = [errors]
    return {"at": value.get("at"), "summary": value.get("summary") or "", "counts": counts,
            "errors": [str(e) for e in errors][:10], "source": value.get("source")}


def directory(session) -> dict | None:
    return get_state(session, "directory:last_sync")


def timeline(session, settings, year: int | None = None) -> dict:
    """The year's releases and club events, for the timeline."""
    from ..community.releases import releases_of_year, web_link
    from ..forum.links import topic_page_url

    year = year or utcnow().year
    items = []
    for release in releases_of_year(session, year):
        items.append({"date": release.published_at.date(), "title": release.title, "kind": "release",
                      "url": topic_page_url(settings, release.topic_id) if release.topic_id
                      else web_link(release.link)})
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
