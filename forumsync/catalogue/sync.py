"""Publish the démarches catalogue into the forum, idempotently.

``sync_catalogue`` reads every configured source (or one), groups the démarches across
collectivities (the desired state) and plans against what ``CatalogueTopic`` recorded of the
forum (``catalogue.plan``, no I/O): a group whose rendering has the recorded content hash
costs no forum call at all. ``catalogue.apply`` then creates the topic (``external_id`` =
``wcs-…``), or edits its first post with an edit reason saying what changed,
retitles/recategorises/retags it, and closes it when no collectivity offers the démarche any
more (never deletes). A source that cannot be read is reported and its démarches are left
exactly as they were: nothing is retired because a source was down.

Categories: one « Catalogue des démarches » category (CATALOGUE_CATEGORY) and one
subcategory per w.c.s. category, created when first needed.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from ..community.common import claim_due
from ..models import get_state, set_state, utcnow
from ..models.catalogue_topic import CatalogueTopic
from ..models.catalogue_variant import CatalogueVariant
from .apply import STAGE_GROUPS, Progress, apply
from .model import Demarche, group_demarches
from .plan import Change, Stored, current_demarches, plan
from .sources import SourceError, load_source

log = logging.getLogger(__name__)

__all__ = ["STAGE_SOURCES", "Summary",
           "CatalogueError", "sync_catalogue", "record_sync", "run_scheduled", "last_run"]

STAGE_SOURCES = "sources"  # reading the configured sources
STATE_KEY = "catalogue:last-run"
LAST_SYNC_KEY = "catalogue:last_sync"  # every real sync, manual or scheduled (the dashboard's)
SOURCE_TIMEOUT = 30.0
PARALLEL_SOURCES = 4  # sources read at the same time
RETRY_MINUTES = 10     # the worker's next try after the forum was down


class CatalogueError(Exception):
    """A user mistake (unknown source…); the message is French."""


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    errors: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    interrupted: bool = False  # the forum went down: the run stopped before the end

    def count(self, change: Change) -> None:
        setattr(self, change.action, getattr(self, change.action) + 1)
        if change.action != "unchanged":
            self.changes.append(change)

    def french(self) -> str:
        head = "Simulation (rien n'a été écrit) : " if self.dry_run else ""
        text = (f"{head}{self.added} ajoutée(s), {self.updated} mise(s) à jour, "
                f"{self.unchanged} inchangée(s), {self.retired} retirée(s), "
                f"{len(self.errors)} erreur(s)")
        return text


def _read_sources(selected: list[dict], summary: Summary, report) -> dict[str, list[Demarche]]:
    """Every selected source, read in parallel; one that fails is an error in SUMMARY."""
    fetched: dict[str, list[Demarche]] = {}
    with ThreadPoolExecutor(max_workers=PARALLEL_SOURCES) as pool:
        futures = [(src, pool.submit(load_source, src, timeout=SOURCE_TIMEOUT)) for src in selected]
        report(STAGE_SOURCES, 0, len(futures))
        for done, (src, future) in enumerate(futures, 1):
            try:
                fetched[src["name"]] = future.result()
            except SourceError as exc:
                message = f"source « {src['name']} » ({src['collectivity']}) ignorée : {exc}"
                log.warning("%s", message)
                summary.errors.append(message)
            except Exception as exc:  # noqa: BLE001 - a source's surprise stops that source only
                message = (f"source « {src['name']} » ({src['collectivity']}) ignorée : réponse "
                           f"inattendue ({type(exc).__name__} : {exc})")
                log.exception("%s", message)
                summary.errors.append(message)
            report(STAGE_SOURCES, done, len(futures))
    return fetched


def load_stored(ctx) -> Stored:
    """What we recorded of the forum's catalogue topics (the plan's actual state)."""
    with ctx.db.session() as session:
        variants = {(r.source, r.kind, r.slug): r
                    for r in session.scalars(select(CatalogueVariant))}
        topics = {t.external_id: t for t in session.scalars(select(CatalogueTopic))}
        session.expunge_all()
    return Stored(variants, topics)


def sync_catalogue(ctx, source: str | None = None, dry_run: bool = False,
                   progress: Progress | None = None) -> Summary:
    """Bring the forum's catalogue in line with the sources; see the module docstring.

    PROGRESS, when given, is called as progress(stage, done, total) so the command (not the
    library) decides how it reaches the terminal; a falsy value means no progress.
    """
    report = progress if callable(progress) else (lambda stage, done, total: None)
    settings = ctx.settings
    configured = settings.CATALOGUE_SOURCES
    selected = [s for s in configured if source is None or s["name"] == source]
    if source is not None and not selected:
        names = ", ".join(s["name"] for s in configured) or "aucune"
        raise CatalogueError(f"source inconnue « {source} » (sources configurées : {names})")
    summary = Summary(dry_run=dry_run)
    fetched = _read_sources(selected, summary, report)

    stored = load_stored(ctx)
    today = datetime.now(timezone.utc).date().isoformat()
    current = current_demarches(stored.demarches(), fetched, today)
    known = {key: row.external_id for key, row in stored.variants.items()}
    groups = group_demarches(current.values(), settings.CATALOGUE_MATCH_THRESHOLD, known)
    planned = plan(groups, stored)
    for change in planned.unchanged:
        summary.count(change)
    if dry_run:
        for change in planned.changes:
            summary.count(change.summary)
        report(STAGE_GROUPS, 0, len(groups))
        report(STAGE_GROUPS, len(groups), len(groups))
        return summary
    apply(ctx, planned, stored, summary, report)
    record_sync(ctx, summary, source)
    return summary


def record_sync(ctx, summary: Summary, source: str | None) -> None:
    """What the dashboard shows as the last sync: kept apart from STATE_KEY, which schedules
    the worker's runs (a manual `catalogue sync` must not be hidden behind the worker's)."""
    value = {"at": utcnow().isoformat(), "summary": summary.french(), "errors": summary.errors,
             "source": source or "toutes"}
    with ctx.db.session() as session:
        set_state(session, LAST_SYNC_KEY, value)


# ------------------------------------------------------------------------ the worker
def run_scheduled(ctx, worker_id: str) -> int:
    """Worker task: sync every CATALOGUE_INTERVAL_MINUTES; returns topics written."""
    settings = ctx.settings
    if not settings.CATALOGUE_SOURCES or settings.CATALOGUE_INTERVAL_MINUTES <= 0:
        return 0
    now = utcnow()
    with ctx.db.session() as session:
        if not claim_due(session, STATE_KEY, settings.CATALOGUE_INTERVAL_MINUTES, now=now):
            return 0
        set_state(session, STATE_KEY, {"at": now.isoformat(), "worker": worker_id})
    summary = sync_catalogue(ctx, progress=False)
    at = now
    if summary.interrupted:  # forum down: try again in RETRY_MINUTES, not a whole interval later
        at = now - timedelta(minutes=settings.CATALOGUE_INTERVAL_MINUTES) + timedelta(
            minutes=min(RETRY_MINUTES, settings.CATALOGUE_INTERVAL_MINUTES))
    with ctx.db.session() as session:
        set_state(session, STATE_KEY, {"at": at.isoformat(), "worker": worker_id,
                                       "summary": summary.french(), "errors": summary.errors})
    log.info("catalogue : %s", summary.french())
    for error in summary.errors:
        log.warning("catalogue : %s", error)
    return summary.added + summary.updated + summary.retired


def last_run(ctx) -> dict | None:
    with ctx.db.session() as session:
        return get_state(session, STATE_KEY)
