"""Plan a catalogue sync: which démarche topics to create, update or retire. No I/O.

The desired state is the groups of démarches read from the sources; the actual state is what
we recorded of the forum (``CatalogueTopic``: content hash, ids; ``CatalogueVariant``: the
last data read). A group whose rendering has the recorded content hash plans no change and
costs no forum call; ``catalogue.apply`` executes the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models.catalogue_topic import CatalogueTopic
from ..models.catalogue_variant import CatalogueVariant
from .model import Demarche, Group
from .render import Rendered, popularity, render_group, topic_title

MAX_REASON = 300
MAX_TITLE = 250


@dataclass
class Change:
    """One line of the sync's summary."""

    external_id: str
    title: str
    action: str  # added | updated | retired | unchanged
    reason: str = ""
    before: str | None = None  # content hash before
    after: str | None = None   # content hash after


@dataclass
class Stored:
    """What we recorded of the forum: the actual state."""

    variants: dict[tuple, CatalogueVariant]
    topics: dict[str, CatalogueTopic]

    def demarches(self) -> dict[tuple, Demarche]:
        return {key: Demarche.from_data(row.data).with_retired(row.retired_on)
                for key, row in self.variants.items()}


@dataclass
class TopicChange:
    """Create (``added``), edit (``updated``) or close (``retired``) one group's topic."""

    group: Group
    title_suffix: str | None      # set when another group has the same title
    topic: CatalogueTopic | None  # our record of its topic (None: never published)
    reason: str                   # the first post's French edit reason
    content_hash: str
    summary: Change               # its line in the summary (action set by the outcome)

    @property
    def action(self) -> str:
        return self.summary.action


@dataclass
class CataloguePlan:
    changes: list[TopicChange] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    # variants whose record is stale (a daily count…) while their topic is not: stored only
    records: list[tuple[str, Demarche]] = field(default_factory=list)


# ------------------------------------------------------------------------ desired state
def current_demarches(before: dict[tuple, Demarche], fetched: dict[str, list[Demarche]],
                      today: str) -> dict[tuple, Demarche]:
    """Every démarche as it now stands: read this time, else as recorded; a recorded one its
    source no longer lists is retired (TODAY), one whose source was not read is left as is."""
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
    return current


def unique_titles(groups: list[Group]) -> dict[str, str | None]:
    """A title suffix for groups whose title another group also has (Discourse may refuse)."""
    seen: dict[str, int] = {}
    suffix: dict[str, str | None] = {}
    for group in groups:
        title = topic_title(group).casefold()
        seen[title] = seen.get(title, 0) + 1
        suffix[group.external_id] = None if seen[title] == 1 else f" ({group.variants[0].slug})"
    return suffix


def render(group: Group, links: dict, suffix: str | None) -> Rendered:
    rendered = render_group(group, links)
    if suffix:
        rendered.title = rendered.title[:MAX_TITLE - len(suffix)] + suffix
    return rendered


# ------------------------------------------------------------------------ what changed
def _field_key(f) -> tuple:
    return (f.section, f.label)


def _field_changes(old: Demarche, new: Demarche) -> list[str]:
    fields = []
    old_fields = {_field_key(f): f for f in old.fields}
    new_fields = {_field_key(f): f for f in new.fields}
    for key, f in new_fields.items():
        previous = old_fields.get(key)
        if previous is None:
            fields.append(f"{f.label} (ajouté)")
        elif previous.required != f.required:
            fields.append(f"{f.label} ({'obligatoire' if f.required else 'facultatif'})")
        elif previous.type != f.type:
            fields.append(f"{f.label} (type)")
    fields += [f"{f.label} (retiré)" for key, f in old_fields.items() if key not in new_fields]
    if not fields and [_field_key(f) for f in old.fields] != [_field_key(f) for f in new.fields]:
        fields.append("ordre")
    return fields


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
        fields = _field_changes(old, v)
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


# ------------------------------------------------------------------------ the plan
def _variant_dirty(v: Demarche, row: CatalogueVariant | None, external_id: str) -> bool:
    if row is None:
        return True
    return (row.external_id != external_id or row.retired_on != v.retired_on
            or Demarche.from_data(row.data).content_data() != v.content_data())


def plan(groups: list[Group], stored: Stored) -> CataloguePlan:
    """The topic changes that bring the forum (as STORED recorded it) to GROUPS, in order."""
    result = CataloguePlan()
    before = stored.demarches()
    titles = unique_titles(groups)
    for group in groups:
        eid = group.external_id
        topic = stored.topics.get(eid)
        hash_links = {v.key: f"sha256:{v.export_sha256}" for v in group.variants if v.export_sha256}
        target = render(group, hash_links, titles[eid])
        content_hash = target.content_hash()
        old_hash = topic.content_hash if topic else None
        if topic is not None and topic.topic_id and topic.content_hash == content_hash:
            result.records.extend((eid, v) for v in group.variants
                                  if _variant_dirty(v, stored.variants.get(v.key), eid))
            result.unchanged.append(Change(eid, target.title, "unchanged", before=old_hash,
                                           after=content_hash))
            continue
        if topic is None or not topic.topic_id:
            action = "added"
            reason = "Resynchronisation du catalogue"  # used only if the forum already has it
        else:
            action = "retired" if group.retired and not topic.closed else "updated"
            reason = describe_changes({v.key: before[v.key] for v in group.variants
                                       if v.key in before}, group.variants)
        result.changes.append(TopicChange(
            group, titles[eid], topic, reason, content_hash,
            Change(eid, target.title, action, reason, old_hash, content_hash)))
    return result
