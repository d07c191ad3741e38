"""Welcoming newcomers: poll the list's roster, welcome new subscribers on the forum and by email.

Sources (setting ``SUBSCRIBER_SOURCES``) are read by rosters.py. The roster is diffed against
what forumsync recorded. The first run of a source records the existing roster without
welcoming anyone; afterwards each new subscriber gets a topic in « Présentations » and a
welcome email whose signed reply address is bound to that topic, so that replying posts their
introduction there (welcome.py). Unsubscribes are recorded, never announced. Like
mailman2discourse, each step is idempotent and writes nothing when nothing changed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from ..models import get_state, set_state, utcnow
from ..models.subscriber import Subscriber
from .common import claim_due
from .rosters import SourceError, read_source, source_name
from .welcome import send_digest, welcome_pending

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------ diffing
@dataclass
class RosterDiff:
    source: str
    baseline: bool = False            # first run: roster recorded, nobody welcomed
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)  # came back after unsubscribing
    renamed: list[str] = field(default_factory=list)
    before: int = 0                   # subscribed count before
    after: int = 0                    # subscribed count after

    @property
    def changed(self) -> bool:
        return bool(self.baseline or self.added or self.removed or self.returned or self.renamed)


def apply_roster(session, name: str, roster: dict[str, str], *, dry_run: bool = False) -> RosterDiff:
    """Record ROSTER ({email: name}) for source NAME; nothing is written when it is unchanged."""
    state_key = f"subscribers:baseline:{name}"
    first_run = get_state(session, state_key) is None
    rows = {s.email: s for s in session.scalars(select(Subscriber).where(Subscriber.source == name))}
    diff = RosterDiff(source=name, baseline=first_run)
    diff.before = sum(1 for s in rows.values() if s.state == "subscribed")
    now = utcnow()
    for email, display in sorted(roster.items()):
        row = rows.get(email)
        if row is None:
            diff.added.append(email)
            if not dry_run:
                session.add(Subscriber(source=name, email=email, name=display or "",
                                       state="subscribed",
                                       welcome="baseline" if first_run else "pending",
                                       first_seen_at=now, subscribed_at=now))
        elif row.state != "subscribed":
            diff.returned.append(email)
            if not dry_run:
                row.state, row.subscribed_at, row.unsubscribed_at = "subscribed", now, None
        elif display and display != row.name:
            diff.renamed.append(email)
            if not dry_run:
                row.name = display
    for email, row in sorted(rows.items()):
        if row.state == "subscribed" and email not in roster:
            diff.removed.append(email)
            if not dry_run:
                row.state, row.unsubscribed_at = "unsubscribed", now
    if first_run and not dry_run:
        set_state(session, state_key, {"at": now.isoformat(), "count": len(roster)})
    if first_run:
        diff.added = []  # recorded as the baseline, not as newcomers
    diff.after = diff.before + len(diff.added) + len(diff.returned) - len(diff.removed)
    if first_run:
        diff.after = len(roster)
    return diff


def sync_source(ctx, source: dict, *, dry_run: bool = False) -> RosterDiff:
    name = source_name(source)
    roster = read_source(source, getattr(ctx.settings, "_base_dir", None))
    with ctx.db.session() as session:
        diff = apply_roster(session, name, roster, dry_run=dry_run)
    if diff.changed:
        log.info("abonnés %s : %d nouveaux, %d départs, %d retours%s", name, len(diff.added),
                 len(diff.removed), len(diff.returned), " (état initial)" if diff.baseline else "")
    return diff


# ------------------------------------------------------------------------------------ worker task
def run_scheduled(ctx, worker_id: str) -> int:
    """Worker task: every SUBSCRIBERS_INTERVAL_MINUTES, diff each roster and welcome newcomers;
    also keeps the collectivities directory in sync and sends the weekly digest when enabled."""
    settings = ctx.settings
    if not settings.SUBSCRIBER_SOURCES and not settings.COLLECTIVITIES:
        return 0
    with ctx.db.session() as session:
        if not claim_due(session, "subscribers:last_run", settings.SUBSCRIBERS_INTERVAL_MINUTES):
            return 0
    handled = 0
    errors = []
    for source in settings.SUBSCRIBER_SOURCES:
        try:
            diff = sync_source(ctx, source)
            handled += len(diff.added) + len(diff.removed) + len(diff.returned)
        except SourceError as exc:
            errors.append(str(exc))
            log.warning("abonnés : %s", exc)
    handled += welcome_pending(ctx)
    if settings.COLLECTIVITIES:
        from .directory import sync_directory

        report = sync_directory(ctx)
        handled += report.writes
    if settings.NEWCOMERS_DIGEST:
        with ctx.db.session() as session:
            due = claim_due(session, "subscribers:digest", 7 * 24 * 60)
        if due:
            handled += send_digest(ctx)
    with ctx.db.session() as session:
        set_state(session, "subscribers:status", {"at": utcnow().isoformat(), "errors": errors})
    return handled


def summary(session) -> dict:
    """Counts for the dashboard and the CLI."""
    from sqlalchemy import func

    subscribed = session.scalar(select(func.count()).select_from(Subscriber)
                                .where(Subscriber.state == "subscribed")) or 0
    unsubscribed = session.scalar(select(func.count()).select_from(Subscriber)
                                  .where(Subscriber.state == "unsubscribed")) or 0
    week_ago = utcnow() - timedelta(days=7)
    recent = list(session.scalars(select(Subscriber).where(Subscriber.welcome == "welcomed")
                                  .order_by(Subscriber.welcomed_at.desc()).limit(10)))
    new_week = session.scalar(select(func.count()).select_from(Subscriber).where(
        Subscriber.welcome == "welcomed", Subscriber.welcomed_at >= week_ago)) or 0
    pending = session.scalar(select(func.count()).select_from(Subscriber)
                             .where(Subscriber.welcome == "pending", Subscriber.state == "subscribed")) or 0
    status = get_state(session, "subscribers:status", {}) or {}
    return {"subscribed": subscribed, "unsubscribed": unsubscribed, "recent": recent,
            "new_week": new_week, "pending": pending, "last_run": status.get("at"),
            "errors": status.get("errors", [])}
