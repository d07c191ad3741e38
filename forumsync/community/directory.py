"""The collectivities directory: one topic per collectivity in « Annuaire des collectivités »,
and the business-software census in a category only the members group can read.

``COLLECTIVITIES`` entries: ``{"name": "Meyzieu", "summary": "…", "themes": ["sve"],
"software": ["Ciril GF", "Arpège Concerto"], "url": "https://…" (optional)}``.

Kept in sync like the catalogue: each topic has an external_id and a content hash; an unchanged
entry costs no write, a changed one is edited in place, a removed one is closed (never deleted)
and reopened if it comes back. Running it twice writes nothing the second time.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from ..forum.gateway import ForumRejected
from ..models import set_state, utcnow
from ..models.directory_entry import DirectoryEntry
from .common import (CENSUS_CATEGORY, DIRECTORY_CATEGORY, ensure_category, ensure_group,
                     external_id, find_category)

log = logging.getLogger(__name__)


@dataclass
class DirectoryReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.closed) + len(self.reopened)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "closed": self.closed,
                "reopened": self.reopened, "unchanged": len(self.unchanged), "errors": self.errors}


def theme_names(settings, slugs) -> list[str]:
    names = []
    for slug in slugs or []:
        theme = settings.theme(slug)
        names.append(theme["name"] if theme else slug)
    return names


def render_entry(settings, coll: dict) -> tuple[str, str]:
    """(title, raw) of the collectivity's directory topic."""
    name = coll["name"].strip()
    lines = [f"**{name}**", ""]
    if coll.get("summary"):
        lines += [coll["summary"].strip(), ""]
    themes = theme_names(settings, coll.get("themes"))
    if themes:
        lines.append("**Thèmes animés ou suivis** : " + ", ".join(themes))
    if coll.get("url"):
        lines.append(f"**Site** : {coll['url']}")
    lines += ["", "_Fiche tenue à jour automatiquement à partir des réglages du club ; "
              "pour la corriger, écrivez à l'équipe d'animation._"]
    return f"{name} : fiche de la collectivité", "\n".join(lines).strip() + "\n"


def render_census(settings, coll: dict) -> tuple[str, str]:
    name = coll["name"].strip()
    lines = [f"Logiciels métier utilisés par **{name}** :", ""]
    lines += [f"- {software}" for software in coll.get("software") or []]
    lines += ["", "_Recensement réservé aux membres du club ; jamais diffusé sur la liste._"]
    return f"{name} : logiciels métier", "\n".join(lines) + "\n"


def content_hash(title: str, raw: str) -> str:
    return hashlib.sha256(f"{title}\x00{raw}".encode("utf-8")).hexdigest()


def desired_entries(settings) -> list[dict]:
    """What the forum should hold: [{external_id, kind, name, title, raw, hash}]."""
    entries = []
    for coll in settings.COLLECTIVITIES:
        if not coll.get("name"):
            continue
        title, raw = render_entry(settings, coll)
        entries.append({"external_id": external_id("coll", coll["name"].strip().casefold()),
                        "kind": "annuaire", "name": coll["name"].strip(), "title": title, "raw": raw,
                        "hash": content_hash(title, raw)})
        if coll.get("software"):
            title, raw = render_census(settings, coll)
            entries.append({"external_id": external_id("logi", coll["name"].strip().casefold()),
                            "kind": "census", "name": coll["name"].strip(), "title": title,
                            "raw": raw, "hash": content_hash(title, raw)})
    return entries


class CensusCategoryPublic(Exception):
    """The census category exists and anyone may read it: no census is published there."""


def ensure_census_category(ctx, *, dry_run: bool = False) -> int | None:
    """The census category, readable only by the members group (group created if missing).
    An existing one that anyone may read is refused (``CensusCategoryPublic``): the census
    never leaves the members."""
    group = ctx.settings.MEMBERS_GROUP
    existing = find_category(ctx.forum, CENSUS_CATEGORY)
    if existing is not None:
        if not existing.get("read_restricted"):
            raise CensusCategoryPublic(
                f"la catégorie « {existing.get('name')} » existe et tout le monde peut la lire : le "
                f"recensement n'y est pas publié ; réservez-la au groupe {group} (Sécurité de la "
                f"catégorie) puis relancez")
        return existing["id"]
    ensure_group(ctx.forum, group, "Membres du club", dry_run=dry_run)
    return ensure_category(ctx.forum, CENSUS_CATEGORY, permissions={group: 1}, dry_run=dry_run)


def sync_directory(ctx, *, dry_run: bool = False) -> DirectoryReport:
    """Make the directory and census topics match COLLECTIVITIES (idempotent)."""
    report = DirectoryReport(dry_run=dry_run)
    desired = desired_entries(ctx.settings)
    with ctx.db.session() as session:
        known = {e.external_id: e for e in session.scalars(select(DirectoryEntry))}
        for entry in known.values():
            session.expunge(entry)
    wanted_ids = {d["external_id"] for d in desired}
    todo = [d for d in desired
            if d["external_id"] not in known or known[d["external_id"]].content_hash != d["hash"]
            or known[d["external_id"]].state != "open"]
    report.unchanged = [d["name"] for d in desired if d not in todo]
    categories = {}
    if todo:
        if any(d["kind"] == "annuaire" for d in todo):
            categories["annuaire"] = ensure_category(ctx.forum, DIRECTORY_CATEGORY, dry_run=dry_run)
        if any(d["kind"] == "census" for d in todo):
            try:
                categories["census"] = ensure_census_category(ctx, dry_run=dry_run)
            except CensusCategoryPublic as exc:
                report.errors.append(str(exc))
                log.error("annuaire : %s", exc)
                todo = [d for d in todo if d["kind"] != "census"]
    for d in todo:
        try:
            _apply(ctx, d, known.get(d["external_id"]), categories, report, dry_run)
        except ForumRejected as exc:  # one bad entry must not block the others
            report.errors.append(f"{d['name']} ({d['kind']}) : {exc}")
            log.error("annuaire : %s refusée par le forum : %s", d["name"], exc)
    _close_removed(ctx, known, wanted_ids, report, dry_run)
    if not dry_run and (report.writes or report.errors):
        with ctx.db.session() as session:
            set_state(session, "directory:last_sync", {"at": utcnow().isoformat(), **report.as_dict()})
    if report.writes:
        log.info("annuaire : %d créées, %d modifiées, %d fermées, %d rouvertes", len(report.created),
                 len(report.updated), len(report.closed), len(report.reopened))
    return report


def _apply(ctx, d, row, categories, report, dry_run):
    """Create, edit, or reopen one entry's topic."""
    label = f"{d['name']} ({d['kind']})"
    if row is None:
        report.created.append(label)
        if dry_run:
            return
        topic = ctx.forum.topic_by_external_id(d["external_id"])  # created before a crash?
        if topic is not None:
            post = topic["post_stream"]["posts"][0]
            topic_id, post_id = topic["id"], post["id"]
            ctx.forum.post_update(post_id, d["raw"], edit_reason="Mise à jour de l'annuaire")
        else:
            post = ctx.forum.topic_create(d["title"], d["raw"], categories[d["kind"]],
                                          external_id=d["external_id"])
            topic_id, post_id = post["topic_id"], post["id"]
        with ctx.db.session() as session:
            session.add(DirectoryEntry(external_id=d["external_id"], kind=d["kind"],
                                       name=d["name"], topic_id=topic_id, post_id=post_id,
                                       content_hash=d["hash"], state="open",
                                       updated_at=utcnow()))
        return
    if row.state != "open":
        report.reopened.append(label)
        if not dry_run:
            ctx.forum.topic_status_set(row.topic_id, "closed", False)
    if row.content_hash != d["hash"]:
        if row.state == "open":
            report.updated.append(label)
        if not dry_run:
            ctx.forum.post_update(row.post_id, d["raw"], edit_reason="Mise à jour de l'annuaire")
            ctx.forum.topic_update(row.topic_id, title=d["title"])
    if not dry_run:
        with ctx.db.session() as session:
            stored = session.get(DirectoryEntry, d["external_id"])
            stored.content_hash, stored.state, stored.updated_at = d["hash"], "open", utcnow()


def _close_removed(ctx, known, wanted_ids, report, dry_run):
    for ext, row in known.items():
        if ext not in wanted_ids and row.state == "open":
            report.closed.append(f"{row.name} ({row.kind})")
            if not dry_run:
                ctx.forum.topic_status_set(row.topic_id, "closed", True)
                with ctx.db.session() as session:
                    session.get(DirectoryEntry, ext).state = "closed"
