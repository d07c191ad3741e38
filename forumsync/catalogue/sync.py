"""Publish the démarches catalogue into the forum, idempotently.

``sync_catalogue`` reads every configured source (or one), groups the démarches across
collectivities, renders each group and compares the rendering with the content hash kept in
``CatalogueTopic``: equal means no forum call at all. Otherwise it creates the topic
(``external_id`` = ``wcs-…``), or edits its first post with an edit reason saying what
changed, retitles/recategorises/retags it, and closes it when no collectivity offers the
démarche any more (never deletes). A source that cannot be read is reported and its
démarches are left exactly as they were: nothing is retired because a source was down.

Categories: one « Catalogue des démarches » category (CATALOGUE_CATEGORY) and one
subcategory per w.c.s. category, created when first needed.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from typing import Callable

from ..models import get_state, set_state, utcnow
from ..community.common import claim_due
from ..models.catalogue_topic import CatalogueTopic
from ..models.catalogue_variant import CatalogueVariant
from .model import Demarche, Group, group_demarches
from .render import Rendered, popularity, render_group
from .sources import SourceError, load_source

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # progress(stage, done, total), given by the command
STAGE_SOURCES = "sources"  # reading the configured sources
STAGE_GROUPS = "groups"  # writing each démarche's topic

STATE_KEY = "catalogue:last-run"
SOURCE_TIMEOUT = 30.0
PARALLEL_SOURCES = 4  # sources read at the same time
RETRY_MINUTES = 10     # the worker's next try after the forum was down
MAX_REASON = 300
CATEGORY_DESCRIPTION = ("Les démarches (formulaires et workflows w.c.s.) proposées par les "
                        "collectivités du club, tenues à jour automatiquement par forumsync.")


class CatalogueError(Exception):
    """A user mistake (unknown source…); the message is French."""


@dataclass
class Change:
    external_id: str
    title: str
    action: str  # added | updated | retired | unchanged
    reason: str = ""
    before: str | None = None  # content hash before
    after: str | None = None   # content hash after


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


# ------------------------------------------------------------------------ what changed
def _field_key(f) -> tuple:
    return (f.section, f.label)


def describe_changes(before: dict[tuple, Demarche], after: list[Demarche]) -> str:
    """French edit reason: what differs between the stored variants and the new ones."""
    parts: list[str] = []
    several = len(after) > 1
    for v in after:
        who = f" ({v.collectivity})" if several else ""
        old = before.get(v.key)
        if old is None:
            parts.append(f"Nouvelle collectivité : {v.collectivity}")
            continue
        if old.active and not v.active:
            parts.append(f"Retirée par {v.collectivity}")
            continue
        if not old.active and v.active:
            parts.append(f"De nouveau proposée par {v.collectivity}")
        fields = []
        old_fields = {_field_key(f): f for f in old.fields}
        new_fields = {_field_key(f): f for f in v.fields}
        for key, f in new_fields.items():
            previous = old_fields.get(key)
            if previous is None:
                fields.append(f"{f.label} (ajouté)")
            elif previous.required != f.required:
                fields.append(f"{f.label} ({'obligatoire' if f.required else 'facultatif'})")
            elif previous.type != f.type:
                fields.append(f"{f.label} (type)")
        fields += [f"{f.label} (retiré)" for key, f in old_fields.items() if key not in new_fields]
        if not fields and [_field_key(f) for f in old.fields] != [_field_key(f) for f in v.fields]:
            fields.append("ordre")
        if fields:
            parts.append(f"Champs modifiés{who} : " + ", ".join(fields))
        for attr, label in (("title", "Titre modifié"), ("description", "Description modifiée"),
                            ("category", "Catégorie modifiée"), ("keywords", "Mots-clés modifiés"),
                            ("url", "Adresse modifiée"), ("disabled", "Activation modifiée")):
            if getattr(old, attr) != getattr(v, attr):
                parts.append(label + who)
        if (old.workflow, old.statuses) != (v.workflow, v.statuses):
            parts.append(f"Statuts du workflow modifiés{who}")
        if old.export_sha256 != v.export_sha256:
            parts.append(f"Export .wcs mis à jour{who}")
        if popularity(old.count) != popularity(v.count):
            parts.append(f"Popularité mise à jour{who}")
    reason = " ; ".join(parts) or "Mise à jour du catalogue"
    return reason if len(reason) <= MAX_REASON else reason[:MAX_REASON - 1] + "…"


# ------------------------------------------------------------------------ forum side
class Categories:
    """The catalogue category and its subcategories, looked up once and created on demand."""

    def __init__(self, forum, root_name: str):
        self.forum = forum
        self.root_name = root_name
        self._all: list[dict] | None = None
        self._ids: dict[str, int] = {}

    def _find(self, name: str, parent_id: int | None) -> int | None:
        for c in self._all:
            if c.get("name") == name and c.get("parent_category_id") == parent_id:
                return c["id"]
        return None

    def ensure(self, name: str) -> int:
        if name in self._ids:
            return self._ids[name]
        if self._all is None:
            self._all = list(self.forum.category_list())
        root = self._find(self.root_name, None)
        if root is None:
            created = self.forum.category_create(self.root_name, description=CATEGORY_DESCRIPTION)
            self._all.append(created)
            root = created["id"]
        self._ids[""] = root
        if not name:
            return root
        sub_name = name[:50]
        sub = self._find(sub_name, root)
        if sub is None:
            created = self.forum.category_create(sub_name, parent_category_id=root)
            created.setdefault("parent_category_id", root)
            self._all.append(created)
            sub = created["id"]
        self._ids[name] = sub
        return sub


def _first_post_id(topic: dict) -> int | None:
    posts = (topic.get("post_stream") or {}).get("posts") or []
    return posts[0]["id"] if posts else None


# ------------------------------------------------------------------------ the sync
@dataclass
class _Stored:
    variants: dict[tuple, CatalogueVariant]
    topics: dict[str, CatalogueTopic]


def _load(ctx) -> _Stored:
    with ctx.db.session() as session:
        variants = {(r.source, r.kind, r.slug): r
                    for r in session.scalars(select(CatalogueVariant))}
        topics = {t.external_id: t for t in session.scalars(select(CatalogueTopic))}
        session.expunge_all()
    return _Stored(variants, topics)


def _stored_demarche(row: CatalogueVariant) -> Demarche:
    return Demarche.from_data(row.data).with_retired(row.retired_on)


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
            report(STAGE_SOURCES, done, len(futures))

    stored = _load(ctx)
    today = datetime.now(timezone.utc).date().isoformat()
    before = {key: _stored_demarche(row) for key, row in stored.variants.items()}
    current: dict[tuple, Demarche] = {}
    for key, old in before.items():
        if old.source not in fetched:
            current[key] = old  # not read this time (down, or not selected): left as it was
    for name, demarches in fetched.items():
        for d in demarches:
            current[d.key] = d
        for key, old in before.items():
            if old.source == name and key not in current:
                current[key] = old.with_retired(old.retired_on or today)

    known = {key: row.external_id for key, row in stored.variants.items()}
    groups = group_demarches(current.values(), settings.CATALOGUE_MATCH_THRESHOLD, known)
    titles = _unique_titles(groups)

    forum = ctx.forum
    categories = Categories(forum, settings.CATALOGUE_CATEGORY)
    pending: list[tuple[str, Demarche]] = []
    report(STAGE_GROUPS, 0, len(groups))
    try:
        for done, group in enumerate(groups, 1):
            report(STAGE_GROUPS, done, len(groups))
            try:
                change = _sync_group(ctx, forum, categories, group, titles[group.external_id],
                                     stored, before, dry_run, pending)
            except _ForumDown as exc:
                summary.errors.append(f"forum indisponible, synchronisation interrompue : {exc}")
                summary.interrupted = True
                break
            except _GroupRefused as exc:
                summary.errors.append(str(exc))
                continue
            summary.count(change)
    finally:
        if pending:
            _persist(ctx, pending, None, {})
    if not dry_run:
        record_sync(ctx, summary, source)
    return summary


LAST_SYNC_KEY = "catalogue:last_sync"  # every real sync, manual or scheduled (the dashboard's)


def record_sync(ctx, summary: Summary, source: str | None) -> None:
    """What the dashboard shows as the last sync: kept apart from STATE_KEY, which schedules
    the worker's runs (a manual `catalogue sync` must not be hidden behind the worker's)."""
    value = {"at": utcnow().isoformat(), "summary": summary.french(), "errors": summary.errors,
             "source": source or "toutes"}
    with ctx.db.session() as session:
        set_state(session, LAST_SYNC_KEY, value)


class _ForumDown(Exception):
    pass


class _GroupRefused(Exception):
    pass


def _unique_titles(groups: list[Group]) -> dict[str, str | None]:
    """A title suffix for groups whose title another group also has (Discourse may refuse)."""
    from .render import topic_title

    seen: dict[str, int] = {}
    suffix: dict[str, str | None] = {}
    for group in groups:
        title = topic_title(group).casefold()
        seen[title] = seen.get(title, 0) + 1
        suffix[group.external_id] = None if seen[title] == 1 else f" ({group.variants[0].slug})"
    return suffix


def _render(group: Group, links: dict, suffix: str | None) -> Rendered:
    rendered = render_group(group, links)
    if suffix:
        rendered.title = rendered.title[:250 - len(suffix)] + suffix
    return rendered


def _variant_dirty(v: Demarche, row: CatalogueVariant | None, external_id: str) -> bool:
    if row is None:
        return True
    return (row.external_id != external_id or row.retired_on != v.retired_on
            or Demarche.from_data(row.data).content_data() != v.content_data())


def _sync_group(ctx, forum, categories, group: Group, suffix, stored: _Stored, before,
                dry_run: bool, pending: list) -> Change:
    from ..forum.gateway import ForumNotFound, ForumRejected, ForumUnavailable

    eid = group.external_id
    topic = stored.topics.get(eid)
    hash_links = {v.key: f"sha256:{v.export_sha256}" for v in group.variants if v.export_sha256}
    target = _render(group, hash_links, suffix)
    content_hash = target.content_hash()
    dirty = [v for v in group.variants if _variant_dirty(v, stored.variants.get(v.key), eid)]
    old_hash = topic.content_hash if topic else None

    if topic is not None and topic.topic_id and topic.content_hash == content_hash:
        if dirty and not dry_run:
            pending.extend((eid, v) for v in dirty)  # stored at the end, in one transaction
        return Change(eid, target.title, "unchanged", before=old_hash, after=content_hash)

    if topic is None or not topic.topic_id:
        action = "added"
    elif group.retired and not topic.closed:
        action = "retired"
    else:
        action = "updated"
    reason = describe_changes({v.key: before[v.key] for v in group.variants if v.key in before},
                              group.variants) if action != "added" else \
        "Resynchronisation du catalogue"  # used only if the forum already has the topic
    change = Change(eid, target.title, action, reason, old_hash, content_hash)
    if dry_run:
        return change

    try:
        links = _upload_exports(forum, group, stored)
        rendered = _render(group, links, suffix)
        try:
            record, outcome = _write_topic(forum, categories, topic, rendered, eid, reason)
        except ForumNotFound:
            # the topic vanished from the forum (deleted by hand): publish it again
            record, outcome = _write_topic(forum, categories, None, rendered, eid, reason)
        if outcome == "added" or (outcome and action == "added"):
            change.action = outcome
    except ForumUnavailable as exc:
        raise _ForumDown(str(exc)) from None
    except ForumRejected as exc:
        errors = "; ".join(getattr(exc, "errors", None) or []) or str(exc)
        raise _GroupRefused(f"« {target.title} » refusée par le forum : {errors}") from None
    record.update(title=rendered.title, category=rendered.category, tags=rendered.tags,
                  closed=rendered.closed, raw_sha256=rendered.raw_sha256,
                  content_hash=content_hash)
    _persist(ctx, [(eid, v) for v in group.variants], record, links)
    return change


def _upload_exports(forum, group: Group, stored: _Stored) -> dict:
    links = {}
    for v in group.variants:
        row = stored.variants.get(v.key)
        if row is not None and row.export_url and row.export_sha256 == v.export_sha256:
            links[v.key] = row.export_url
        elif v.export is not None:
            upload = forum.upload_create(v.export_filename or f"{v.slug}.wcs", v.export,
                                         "application/xml")
            links[v.key] = upload.get("short_url") or upload.get("url")
        elif row is not None and row.export_url:
            links[v.key] = row.export_url
    return links


def _write_topic(forum, categories, topic: CatalogueTopic | None, r: Rendered, eid: str,
                 reason: str) -> tuple[dict, str | None]:
    """Forum writes for one group: the topic record's new values, and the outcome when it
    differs from the expected one (created, or found already on the forum)."""
    if topic is None or not topic.topic_id:
        existing = forum.topic_by_external_id(eid)
        if existing is None:
            post = forum.topic_create(r.title, r.raw, categories.ensure(r.category),
                                      external_id=eid, tags=r.tags)
            if r.closed:
                forum.topic_status_set(post["topic_id"], "closed", True)
            return dict(topic_id=post["topic_id"], post_id=post["id"]), "added"
        # known to the forum but not to us (database restored…): reconcile with what is there
        topic_id, post_id = existing["id"], _first_post_id(existing)
        wrote = False
        if post_id is not None and (forum.post_get(post_id).get("raw") or "") != r.raw:
            forum.post_update(post_id, r.raw, edit_reason=reason)
            wrote = True
        category_id = categories.ensure(r.category)
        if (existing.get("title") != r.title or existing.get("category_id") != category_id
                or sorted(_tag_names(existing.get("tags"))) != sorted(r.tags)):
            forum.topic_update(topic_id, title=r.title, category_id=category_id, tags=r.tags)
            wrote = True
        if bool(existing.get("closed")) != r.closed:
            forum.topic_status_set(topic_id, "closed", r.closed)
            wrote = True
        return dict(topic_id=topic_id, post_id=post_id), "updated" if wrote else "unchanged"

    if topic.raw_sha256 != r.raw_sha256:
        forum.post_update(topic.post_id, r.raw, edit_reason=reason)
    changes = {}
    if topic.title != r.title:
        changes["title"] = r.title
    if topic.category != r.category:
        changes["category_id"] = categories.ensure(r.category)
    if list(topic.tags or []) != r.tags:
        changes["tags"] = r.tags
    if changes:
        forum.topic_update(topic.topic_id, **changes)
    if bool(topic.closed) != r.closed:
        forum.topic_status_set(topic.topic_id, "closed", r.closed)
    return dict(topic_id=topic.topic_id, post_id=topic.post_id), None


def _tag_names(tags) -> list[str]:
    return [t["name"] if isinstance(t, dict) else t for t in tags or []]


def _persist(ctx, variants: list[tuple[str, Demarche]], record: dict | None,
             links: dict) -> None:
    """Store VARIANTS (external_id, démarche) and, with RECORD, their topic."""
    now = utcnow()
    with ctx.db.session() as session:
        for external_id, v in variants:
            row = session.scalar(select(CatalogueVariant).filter_by(
                source=v.source, kind=v.kind, slug=v.slug))
            if row is None:
                row = CatalogueVariant(source=v.source, kind=v.kind, slug=v.slug)
                session.add(row)
            row.collectivity = v.collectivity
            row.external_id = external_id
            row.data = v.to_data()
            row.retired_on = v.retired_on
            if v.key in links:
                row.export_sha256 = v.export_sha256
                row.export_url = links[v.key]
            row.updated_at = now
        if record is not None:
            external_id = variants[0][0]
            topic = session.get(CatalogueTopic, external_id)
            if topic is None:
                topic = CatalogueTopic(external_id=external_id, created_at=now)
                session.add(topic)
            for name, value in record.items():
                setattr(topic, name, value)
            topic.updated_at = now
        session.flush()
        session.expunge_all()


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
