"""Render a catalogue topic (title, first post in French Markdown, tags, category).

The output depends only on the group's variants and the download links given, in a fixed
order, with no date of rendering: the same démarches give the same text, byte for byte, so
the content hash the sync keeps is stable.
"""
from __future__ import annotations


import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass

from ..raw_form import stored_raw
from ..mail.html import safe_destination
from ..mail.text import inline_markdown
from .model import Demarche, Group, fold

RETIRED_TAG = "retiree"
MAX_TAGS = 5
MAX_TAG_LENGTH = 20
MIN_TITLE = 15
MAX_TITLE = 250

TYPE_LABELS = {
    "string": "Texte", "text": "Texte long", "email": "Courriel", "bool": "Case à cocher",
    "file": "Fichier", "date": "Date", "item": "Liste", "items": "Choix multiples",
    "table": "Tableau", "tablerows": "Tableau (lignes)", "table-select": "Tableau de listes",
    "map": "Carte", "password": "Mot de passe", "ranked-items": "Classement",
    "numeric": "Nombre", "block": "Bloc de champs", "computed": "Donnée calculée",
    "page": "Page", "title": "Titre", "subtitle": "Sous-titre",
}


def type_label(field_type: str) -> str:
    """A field type in French; a block field's type is ``block:<the block's slug>``
    (w.c.s. ``BlockField.key``), shown as « Bloc de champs »."""
    kind = field_type.split(":", 1)[0]
    return TYPE_LABELS.get(field_type) or TYPE_LABELS.get(kind) or md(field_type)


SECTION_LABELS = {"": "Champ du formulaire", "options": "Option du workflow",
                  "backoffice": "Champ de back-office"}


@dataclass
class Rendered:
    title: str
    raw: str
    tags: list[str]
    category: str  # w.c.s. category name, "" for the catalogue category itself
    closed: bool

    def content_hash(self) -> str:
        payload = json.dumps([self.title, self.raw, self.tags, self.category, self.closed],
                             ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def raw_sha256(self) -> str:
        return hashlib.sha256(self.raw.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------ helpers
def md(text: str | None) -> str:
    """Inline Markdown-safe text: no HTML, no table break, no accidental formatting, and, as
    for mail (an export is written by its collectivity, not by us), no mention and no bare
    address linkify would link (and Discourse onebox): an explicit ``<https://…>`` instead."""
    return inline_markdown(text)


def tag_for(keyword: str) -> str:
    tag = re.sub(r"[^a-z0-9-]+", "-", fold(keyword).replace(" ", "-")).strip("-")
    return tag[:MAX_TAG_LENGTH].strip("-")


def _most_common(values: list[str]) -> str | None:
    values = [v for v in values if v]
    if not values:
        return None
    counts = Counter(values)
    return sorted(counts, key=lambda v: (-counts[v], fold(v), v))[0]


def popularity(count: int | None) -> str:
    """Order of magnitude only, so daily submissions don't rewrite the topic."""
    if count is None:
        return "—"
    if count <= 0:
        return "aucune demande"
    if count < 10:
        return "moins de 10 demandes"
    floor = 10 ** int(math.log10(count))
    return f"plus de {floor:,} demandes".replace(",", "\u202f")


def human_size(size: int | None) -> str:
    if not size:
        return ""
    if size < 1024:
        return f"{size} o"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} Ko"
    return f"{size / 1024 / 1024:.1f} Mo".replace(".", ",")


def french_date(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def topic_title(group: Group) -> str:
    pool = group.active or group.variants
    title = _most_common([v.title for v in pool]) or group.external_id
    title = " ".join(title.split())[:MAX_TITLE]
    if group.kind == "workflow":
        title = f"Workflow : {title}"
    if len(title) < MIN_TITLE:
        title = f"{title} (démarche)"
    return title


def topic_category(group: Group) -> str:
    pool = group.active or group.variants
    return _most_common([v.category or "" for v in pool]) or ""


def topic_tags(group: Group) -> list[str]:
    pool = group.active or group.variants
    counts: Counter = Counter()
    for v in pool:
        for tag in {tag_for(k) for k in v.keywords}:
            if tag and tag != RETIRED_TAG:
                counts[tag] += 1
    tags = sorted(counts, key=lambda t: (-counts[t], t))
    if group.retired:
        return [RETIRED_TAG] + sorted(tags[:MAX_TAGS - 1])
    return sorted(tags[:MAX_TAGS])


# ------------------------------------------------------------------------ the post
def render_group(group: Group, links: dict[tuple, str | None]) -> Rendered:
    """LINKS maps a variant key to its download URL (None: not uploaded)."""
    lines: list[str] = []
    kind_word = "workflow" if group.kind == "workflow" else "démarche"
    lines.append(f"> Fiche du catalogue des démarches, tenue à jour automatiquement par "
                 f"forumsync à partir des exports w.c.s. des collectivités. Ce premier message "
                 f"est réécrit à chaque synchronisation : discutez de cette {kind_word} "
                 f"dans les réponses.")
    lines.append("")
    if group.retired:
        lines.append("**Démarche retirée** : plus aucune collectivité ne la propose. "
                     "Le sujet est fermé et conservé pour mémoire.")
        lines.append("")
    retired = [v for v in group.variants if not v.active]
    if retired and not group.retired:
        names = ", ".join(f"{md(v.collectivity)} (le {french_date(v.retired_on)})"
                          for v in retired)
        lines.append(f"**Retirée par** : {names}.")
        lines.append("")

    description = next((v.description for v in group.active + group.variants if v.description), "")
    lines.append("## Description")
    lines.append("")
    lines.append(md(description) if description else "_Aucune description fournie._")
    lines.append("")

    lines.append("## Proposée par")
    lines.append("")
    lines.append("| Collectivité | Intitulé | Catégorie | Workflow | Popularité | État |")
    lines.append("|---|---|---|---|---|---|")
    for v in group.variants:
        name = f"[{md(v.collectivity)}]({_url(v.url)})" if v.url else md(v.collectivity)
        if not v.active:
            state = f"retirée le {french_date(v.retired_on)}"
        elif v.disabled:
            state = "désactivée"
        else:
            state = "en service"
        lines.append(f"| {name} | {md(v.title)} | {md(v.category) or '—'} | "
                     f"{md(v.workflow) or '—'} | {popularity(v.count)} | {state} |")
    lines.append("")

    lines.append("## Champs")
    lines.append("")
    for heading, variants in _by_identical(group.variants, lambda v: v.fields):
        if len(group.variants) > 1:
            lines.append(f"### {heading}")
            lines.append("")
        fields = variants[0].fields
        if not fields:
            lines.append("_Aucun champ de saisie._")
            lines.append("")
            continue
        with_section = any(f.section for f in fields)
        if with_section:
            lines.append("| Champ | Type | Obligatoire | Rôle |")
            lines.append("|---|---|---|---|")
        else:
            lines.append("| Champ | Type | Obligatoire |")
            lines.append("|---|---|---|")
        for f in fields:
            row = (f"| {md(f.label)} | {type_label(f.type)} | "
                   f"{'oui' if f.required else 'non'} |")
            if with_section:
                row += f" {SECTION_LABELS.get(f.section, md(f.section))} |"
            lines.append(row)
        lines.append("")

    lines.append("## Statuts du workflow")
    lines.append("")
    for heading, variants in _by_identical(group.variants, lambda v: (v.workflow, v.statuses)):
        first = variants[0]
        if len(group.variants) > 1:
            lines.append(f"### {heading}")
            lines.append("")
        if first.workflow:
            lines.append(f"Workflow : {md(first.workflow)}")
            lines.append("")
        if first.statuses:
            for number, status in enumerate(first.statuses, start=1):
                lines.append(f"{number}. {md(status)}")
        else:
            lines.append("_Statuts non fournis par l'export._")
        lines.append("")

    lines.append("## Téléchargements")
    lines.append("")
    any_download = False
    for v in group.variants:
        link = links.get(v.key)
        if not link or not v.export_filename:
            continue
        any_download = True
        size = human_size(v.export_size)
        lines.append(f"- {md(v.collectivity)} : [{md(v.export_filename)}|attachment]({link})"
                     f"{f' ({size})' if size else ''}")
    if not any_download:
        lines.append("_Aucun export disponible._")
    lines.append("")
    keywords = sorted({k for v in group.variants for k in v.keywords}, key=lambda k: (fold(k), k))
    if keywords:
        lines.append("Mots-clés : " + ", ".join(md(k) for k in keywords))
        lines.append("")
    raw = stored_raw("\n".join(lines))  # as the forum will store it: compared with its raw
    return Rendered(title=topic_title(group), raw=raw, tags=topic_tags(group),
                    category=topic_category(group), closed=group.retired)


def _url(url: str) -> str:
    return safe_destination(url)  # (a url_name may hold a newline or a tab: never raw here)


def _by_identical(variants: list[Demarche], key) -> list[tuple[str, list[Demarche]]]:
    """Variants sharing the same KEY, each set headed by its collectivities' names."""
    sets: dict = {}
    for v in variants:
        sets.setdefault(key(v), []).append(v)
    if len(sets) == 1 and len(variants) > 1:
        return [("Identique chez toutes les collectivités", variants)]
    return [(", ".join(md(v.collectivity) for v in vs), vs) for vs in sets.values()]
