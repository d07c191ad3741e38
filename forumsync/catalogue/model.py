"""The normalised démarche, and the grouping of the same démarche across collectivities.

Every source (w.c.s. API, directory of ``.wcs`` exports, application bundle) turns what it
reads into :class:`Demarche` objects, one per form (or per workflow offered on its own) and
per collectivity. :func:`group_demarches` then gathers the variants that are the same
démarche (same slug, else a normalised title similar enough) under one stable
``external_id``: one forum topic per group.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from typing import Iterable

from rapidfuzz import fuzz, process

EXTERNAL_ID_MAX = 50  # Discourse: external_id ≤ 50 chars, [\w-]+


@dataclass(frozen=True)
class Field:
    """One form field, described without any value (no personal data)."""

    label: str
    type: str
    required: bool = False
    section: str = ""  # "" for a form field; "options" / "backoffice" for a workflow's fields


# Characters of a title, category, workflow, status, keyword or field label; of a
# description; how many fields; how many statuses or keywords.
LIMITS = {"text": 300, "description": 10_000, "fields": 500, "items": 200}


def _bounded(text, limit: int) -> str:
    """TEXT (a str, else empty: a JSON answer chooses its types) at most LIMIT characters."""
    text = text if isinstance(text, str) else ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass
class Demarche:
    """One collectivity's variant of a démarche (a w.c.s. form, or a workflow shared alone)."""

    source: str
    collectivity: str
    slug: str
    title: str
    kind: str = "form"  # "form" | "workflow"
    description: str = ""
    keywords: tuple[str, ...] = ()
    category: str | None = None
    fields: tuple[Field, ...] = ()
    workflow: str | None = None
    statuses: tuple[str, ...] = ()
    count: int | None = None
    url: str | None = None
    disabled: bool = False
    export_filename: str | None = None
    export_sha256: str | None = None
    export_size: int | None = None
    # Set by the sync from its own records: date (YYYY-MM-DD) the source stopped offering it.
    retired_on: str | None = None
    export: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        # Bounded as read: a form's author writes these, and an export of 5 MB of « a.fr » in
        # its description took 17 s to render and 78 s to check, at every sync (red team,
        # twelfth pass). Far above what a real form holds (the shared exports: see LIMITS).
        self.title = _bounded(self.title, LIMITS["text"])
        self.description = _bounded(self.description, LIMITS["description"])
        self.category = _bounded(self.category, LIMITS["text"]) if self.category else self.category
        self.workflow = _bounded(self.workflow, LIMITS["text"]) if self.workflow else self.workflow
        self.keywords = tuple(_bounded(k, LIMITS["text"]) for k in self.keywords)[:LIMITS["items"]]
        self.fields = tuple(replace(f, label=_bounded(f.label, LIMITS["text"]))
                            for f in (Field(**f) if isinstance(f, dict) else f
                                      for f in tuple(self.fields)[:LIMITS["fields"]]))
        self.statuses = tuple(_bounded(s, LIMITS["text"]) for s in self.statuses)[:LIMITS["items"]]
        if self.export is not None:
            self.export_sha256 = hashlib.sha256(self.export).hexdigest()
            self.export_size = len(self.export)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.kind, self.slug)

    @property
    def active(self) -> bool:
        return self.retired_on is None

    def to_data(self) -> dict:
        """JSON-able description (what the sync stores), without the export bytes."""
        data = asdict(self)
        data.pop("export")
        data["keywords"] = list(self.keywords)
        data["statuses"] = list(self.statuses)
        data["fields"] = [asdict(f) for f in self.fields]
        return data

    @classmethod
    def from_data(cls, data: dict) -> "Demarche":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "export"}
        return cls(**known)

    def content_data(self) -> dict:
        """What describes the démarche itself (not its sync status): compared between runs."""
        data = self.to_data()
        data.pop("retired_on")
        return data

    def with_retired(self, retired_on: str | None) -> "Demarche":
        return replace(self, retired_on=retired_on)


# ------------------------------------------------------------------------ normalisation
def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation turned into spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\w]+", " ", text)
    return " ".join(text.split())


def normalise_title(title: str) -> str:
    return fold(title)


def external_id_for(kind: str, slug: str) -> str:
    """Stable topic external_id: ``wcs-<slug>`` (``wcs-wf-<slug>`` for a workflow), ≤ 50 chars."""
    clean = re.sub(r"[^a-z0-9_-]+", "-", fold(slug).replace(" ", "-")).strip("-") or "demarche"
    base = "wcs-" + ("wf-" if kind == "workflow" else "") + clean
    if len(base) > EXTERNAL_ID_MAX:
        digest = hashlib.sha1(slug.encode("utf-8")).hexdigest()[:8]
        base = base[:EXTERNAL_ID_MAX - 9].rstrip("-") + "-" + digest
    return base


def _unique_id(base: str, used: set[str], salt: str) -> str:
    candidate, n = base, 0
    while candidate in used:
        n += 1
        digest = hashlib.sha1(f"{salt}/{n}".encode("utf-8")).hexdigest()[:6]
        candidate = base[:EXTERNAL_ID_MAX - 7].rstrip("-") + "-" + digest
    return candidate


# ------------------------------------------------------------------------ grouping
@dataclass
class Group:
    """One forum topic: the variants of one démarche, across collectivities."""

    external_id: str
    variants: list[Demarche] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.variants[0].kind

    @property
    def active(self) -> list[Demarche]:
        return [v for v in self.variants if v.active]

    @property
    def retired(self) -> bool:
        """No collectivity offers it any more."""
        return not self.active


def group_demarches(variants: Iterable[Demarche], threshold: float,
                    known: dict[tuple[str, str, str], str] | None = None) -> list[Group]:
    """Group variants into topics.

    ``known`` maps a variant key to the external_id it already has (from earlier runs): such
    a variant stays in its topic, so ids never move. A new variant joins the topic holding
    the same slug (same kind), else the topic whose normalised title is at least
    ``threshold`` similar (rapidfuzz ratio, 0-100) and that has no variant from the same
    source yet, else it starts a topic ``wcs-<slug>``.
    """
    known = known or {}
    groups: dict[str, Group] = {}
    new: list[Demarche] = []
    for v in variants:
        eid = known.get(v.key)
        if eid:
            groups.setdefault(eid, Group(eid)).variants.append(v)
        else:
            new.append(v)
    by_slug: dict[tuple[str, str], str] = {}
    titles: list[str] = []
    owners: list[tuple[str, str, str]] = []  # (external_id, kind, source) for titles[i]

    def remember(v: Demarche, eid: str):
        by_slug.setdefault((v.kind, v.slug), eid)
        titles.append(normalise_title(v.title))
        owners.append((eid, v.kind, v.source))

    for group in groups.values():
        for v in sorted(group.variants, key=lambda d: (d.source, d.slug)):
            remember(v, group.external_id)
    used = set(groups)
    for v in sorted(new, key=lambda d: (d.kind, d.slug, d.source)):
        eid = by_slug.get((v.kind, v.slug))
        if eid is None and titles:
            eid = _title_match(v, titles, owners, groups, threshold)
        if eid is None:
            eid = _unique_id(external_id_for(v.kind, v.slug), used, f"{v.source}/{v.slug}")
            used.add(eid)
            groups[eid] = Group(eid)
        groups[eid].variants.append(v)
        remember(v, eid)
    for group in groups.values():
        group.variants.sort(key=lambda d: (fold(d.collectivity), d.source, d.slug))
    return sorted(groups.values(), key=lambda g: g.external_id)


def _title_match(v: Demarche, titles, owners, groups, threshold) -> str | None:
    wanted = normalise_title(v.title)
    for _title, score, index in process.extract(wanted, titles, scorer=fuzz.ratio,
                                                score_cutoff=threshold, limit=20):
        eid, kind, _source = owners[index]
        if kind != v.kind:
            continue
        if any(other.source == v.source for other in groups[eid].variants):
            continue  # a collectivity offers one variant per démarche
        return eid
    return None
