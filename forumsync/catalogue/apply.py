"""Apply a catalogue plan: upload the exports, write each topic, record what was written.

One topic change at a time, each recorded right after its writes (an interrupted run resumes
without duplicates). The forum down stops the run; a topic the forum refuses is reported and
the others go on. Progress goes to the caller's callback; this module prints nothing.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import select

from ..forum.gateway import ForumNotFound, ForumRejected, ForumUnavailable
from ..mail.inert import live_syntax
from ..mail.raw_readers import raw_reader_claims
from ..models import utcnow
from ..models.catalogue_topic import CatalogueTopic
from ..models.catalogue_variant import CatalogueVariant
from ..title_form import forum_settings, stored_title
from .model import Demarche, Group
from .plan import CataloguePlan, Stored, TopicChange, render
from .render import Rendered

Progress = Callable[[str, int, int], None]
STAGE_GROUPS = "groups"  # writing each démarche's topic
CATEGORY_DESCRIPTION = ("Les démarches (formulaires et workflows w.c.s.) proposées par les "
                        "collectivités du club, tenues à jour automatiquement par forumsync.")
MAX_CATEGORY_NAME = 50


class Categories:
    """The catalogue category and its subcategories, found in the gateway's category list
    (``forum.facts``, re-read at the run's first lookup) and created when missing."""

    def __init__(self, forum, root_name: str):
        self.forum = forum
        self.root_name = root_name
        self._ids: dict[str, int] = {}  # this run's answers: name -> id

    def _find(self, name: str, parent_id: int | None) -> int | None:
        for c in self.forum.facts.categories(refresh=not self._ids):
            if c.get("name") == name and c.get("parent_category_id") == parent_id:
                return c["id"]
        return None

    def ensure(self, name: str) -> int:
        if name in self._ids:
            return self._ids[name]
        root = self._ids.get("") or self._find(self.root_name, None)
        if root is None:
            root = self.forum.category_create(self.root_name,
                                              description=CATEGORY_DESCRIPTION)["id"]
        self._ids[""] = root
        if not name:
            return root
        sub_name = name[:MAX_CATEGORY_NAME]
        sub = self._find(sub_name, root)
        if sub is None:
            sub = self.forum.category_create(sub_name, parent_category_id=root)["id"]
        self._ids[name] = sub
        return sub


class ForumDown(Exception):
    """The forum did not answer: the run stops here."""


class TopicRefused(Exception):
    """The forum refused one topic (French message); the others go on."""


def apply(ctx, planned: CataloguePlan, stored: Stored, summary,
          progress: Progress | None = None) -> None:
    """Execute PLANNED's topic changes in order, counting each in SUMMARY (``count(change)``,
    ``errors``, ``interrupted``); the stale records of unchanged topics are stored at the end."""
    report = progress if callable(progress) else (lambda stage, done, total: None)
    categories = Categories(ctx.forum, ctx.settings.CATALOGUE_CATEGORY)
    done = len(planned.unchanged)
    total = done + len(planned.changes)
    report(STAGE_GROUPS, 0, total)
    if done:
        report(STAGE_GROUPS, done, total)  # unchanged topics: nothing to write
    try:
        for change in planned.changes:
            try:
                apply_change(ctx, categories, change, stored)
            except ForumDown as exc:
                summary.errors.append(f"forum indisponible, synchronisation interrompue : {exc}")
                summary.interrupted = True
                break
            except TopicRefused as exc:
                summary.errors.append(str(exc))
                continue
            finally:
                done += 1
                report(STAGE_GROUPS, done, total)
            summary.count(change.summary)
    finally:
        if planned.records:
            persist(ctx, planned.records, None, {})


def apply_change(ctx, categories: Categories, change: TopicChange, stored: Stored) -> None:
    forum, group, eid = ctx.forum, change.group, change.group.external_id
    try:
        links = upload_exports(forum, group, stored)
        rendered = render(group, links, change.title_suffix)
        _check_inert(rendered)
        try:
            record, outcome = write_topic(forum, categories, change.topic, rendered, eid,
                                          change.reason)
        except ForumNotFound:
            # the topic vanished from the forum (deleted by hand): publish it again
            record, outcome = write_topic(forum, categories, None, rendered, eid, change.reason)
        if outcome == "added" or (outcome and change.action == "added"):
            change.summary.action = outcome
    except ForumUnavailable as exc:
        raise ForumDown(str(exc)) from None
    except ForumRejected as exc:
        errors = "; ".join(getattr(exc, "errors", None) or []) or str(exc)
        raise TopicRefused(f"« {change.summary.title} » refusée par le forum : {errors}") from None
    record.update(title=rendered.title, category=rendered.category, tags=rendered.tags,
                  closed=rendered.closed, raw_sha256=rendered.raw_sha256,
                  content_hash=change.content_hash)
    persist(ctx, [(eid, v) for v in group.variants], record, links)


def _check_inert(rendered: Rendered) -> None:
    """An export is a claim too: its text is escaped when rendered, and the rendered topic is
    checked as Discourse would cook it (``live_syntax``, as a post from mail is) and as its
    server reads the raw (``raw_reader_claims``: quote BBCode), so a gap in
    the escaping refuses the topic instead of mentioning, quoting or loading an image."""
    problems = live_syntax(rendered.raw, (), onebox=True) + raw_reader_claims(rendered.raw)
    if problems:
        raise TopicRefused(f"« {rendered.title} » non publiée : son texte serait actif sur le "
                           f"forum ({', '.join(problems[:5])}) ; export à vérifier")


def upload_exports(forum, group: Group, stored: Stored) -> dict:
    """Each variant's .wcs export link: the recorded upload while unchanged, else a new one."""
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


def _first_post_id(topic: dict) -> int | None:
    posts = (topic.get("post_stream") or {}).get("posts") or []
    return posts[0]["id"] if posts else None


def _tag_names(tags) -> list[str]:
    return [t["name"] if isinstance(t, dict) else t for t in tags or []]


def write_topic(forum, categories, topic: CatalogueTopic | None, r: Rendered, eid: str,
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
        return _reconcile(forum, categories, existing, r, reason)
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


def _reconcile(forum, categories, existing: dict, r: Rendered, reason: str):
    """A topic known to the forum but not to us (database restored…): align what is there."""
    topic_id, post_id = existing["id"], _first_post_id(existing)
    wrote = False
    if post_id is not None and (forum.post_get(post_id).get("raw") or "") != r.raw:
        forum.post_update(post_id, r.raw, edit_reason=reason)
        wrote = True
    category_id = categories.ensure(r.category)
    # the forum stores the title cleaned (Topic's before_validation): compared in that form,
    # else a topic found again was retitled to the same title at each reconcile
    title = existing.get("title")
    if (title not in (r.title, stored_title(r.title, forum_settings(forum)))
            or existing.get("category_id") != category_id
            or sorted(_tag_names(existing.get("tags"))) != sorted(r.tags)):
        forum.topic_update(topic_id, title=r.title, category_id=category_id, tags=r.tags)
        wrote = True
    if bool(existing.get("closed")) != r.closed:
        forum.topic_status_set(topic_id, "closed", r.closed)
        wrote = True
    return dict(topic_id=topic_id, post_id=post_id), "updated" if wrote else "unchanged"


def persist(ctx, variants: list[tuple[str, Demarche]], record: dict | None,
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
