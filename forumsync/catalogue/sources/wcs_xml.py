"""Parse w.c.s. ``.wcs`` exports (``<formdef>`` and ``<workflow>`` XML).

Handles both export styles: typed leaf nodes (``<label type="str">…``, ``<required
type="bool">True``) and plain ones, HTML inside labels (``&lt;p&gt;…`` and doubly escaped
entities such as ``&amp;eacute;``). Parsing goes through defusedxml with DTDs forbidden,
so no entity (internal or external) is ever expanded, and the input size is capped.

Only descriptions are extracted: field label, type and whether it is required; never a
prefill, a default value or any submitted data.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import defusedxml
import defusedxml.ElementTree as DET
from xml.etree.ElementTree import ParseError

from ..model import Demarche, Field
from . import MAX_EXPORT_BYTES, SourceError

# Field types that only lay the form out; "comment" holds free HTML and is never listed.
LAYOUT_TYPES = {"page", "title", "subtitle"}
SKIPPED_TYPES = {"comment"}
TEMPLATE_MARKERS = ("{{", "{%")


@dataclass
class WorkflowExport:
    slug: str
    name: str
    statuses: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)


@dataclass
class FormExport:
    slug: str
    title: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    category: str | None = None
    workflow_slug: str | None = None
    workflow_name: str | None = None
    fields: list[Field] = field(default_factory=list)
    disabled: bool = False
    url: str | None = None


def parse_xml(data: bytes, what: str = "export"):
    """The root element of DATA, parsed safely; SourceError with a French reason otherwise."""
    if len(data) > MAX_EXPORT_BYTES:
        raise SourceError(f"{what} trop volumineux ({len(data)} octets, maximum "
                          f"{MAX_EXPORT_BYTES})")
    try:
        return DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise SourceError(f"{what} refusé : déclaration DTD/entités XML interdite") from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise SourceError(f"{what} refusé : entités XML interdites") from None
    except defusedxml.DefusedXmlException as exc:
        raise SourceError(f"{what} refusé : XML dangereux ({exc.__class__.__name__})") from None
    except ParseError as exc:
        raise SourceError(f"{what} illisible : XML mal formé ({exc})") from None


def clean_text(text: str | None) -> str:
    """Plain text from a label that may hold HTML and (doubly) escaped entities. A w.c.s. API
    answer chooses its JSON types: anything but a string is refused (TypeError, which makes
    that source fail alone, ``sync._read_sources``)."""
    if not text:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"texte attendu, reçu {type(text).__name__} ({str(text)[:40]})")
    text = re.sub(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table)\b[^>]*>", " ", text, flags=re.I)
    text = re.sub(r"<[a-z/!][^>]*>", "", text, flags=re.I)  # a tag; « enfants < 3 ans et > 1 an » is text
    text = html.unescape(text)
    return " ".join(text.split())


def _text(element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes", "oui")


def required_value(value) -> bool:
    """A field's « required » as any w.c.s. writes it: a boolean in older exports (``True``),
    since 2023 a word (``wcs/fields/base.py``, ``WidgetField.is_required``): « required »,
    « frontoffice » (required of the user, what the catalogue's readers fill in) or
    « optional »."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("true", "1", "yes", "oui", "required", "frontoffice")


def parse_fields(container, section: str = "") -> list[Field]:
    """Fields of a ``<fields>`` element: (label, type, required), layout and comments apart."""
    fields = []
    if container is None:
        return fields
    for element in container.findall("field"):
        ftype = _text(element, "type") or "string"
        if ftype in SKIPPED_TYPES:
            continue
        label = clean_text(_text(element, "label"))
        if not label:
            continue
        required = required_value(_text(element, "required")) if ftype not in LAYOUT_TYPES else False
        fields.append(Field(label=label, type=ftype, required=required, section=section))
    return fields


def _description(root) -> str:
    """The form's description; else its first explanatory comment that is not a template."""
    text = clean_text(_text(root, "description"))
    if text:
        return text
    fields = root.find("fields")
    for element in fields.findall("field") if fields is not None else ():
        if _text(element, "type") == "comment":
            text = clean_text(_text(element, "label"))
            if len(text) > 20 and not any(m in text for m in TEMPLATE_MARKERS):
                return text
    return ""


def _public_url(root, slug: str) -> str | None:
    """``https://host/<slug>/`` from the back-office URL the export carries."""
    parts = urlsplit(root.get("url") or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/{slug}/"
    return None


def slugify(text: str) -> str:
    from ..model import fold

    return fold(text).replace(" ", "-")


def parse_formdef(root) -> FormExport:
    title = clean_text(_text(root, "name"))
    slug = _text(root, "url_name") or slugify(title)
    if not title or not slug:
        raise SourceError("formulaire sans nom (<name>) : export incomplet")
    keywords_text = _text(root, "keywords")
    keywords = [k.strip() for k in keywords_text.split(",") if k.strip()]
    category = root.find("category")
    workflow = root.find("workflow")
    return FormExport(
        slug=slug,
        title=title,
        description=_description(root),
        keywords=keywords,
        category=clean_text(category.text) or None if category is not None else None,
        workflow_slug=(workflow.get("slug") or None) if workflow is not None else None,
        workflow_name=clean_text(workflow.text) or None if workflow is not None else None,
        fields=parse_fields(root.find("fields")),
        disabled=_bool(_text(root, "disabled")),
        url=_public_url(root, slug),
    )


def parse_workflow(root) -> WorkflowExport:
    name = clean_text(_text(root, "name"))
    if not name:
        raise SourceError("workflow sans nom (<name>) : export incomplet")
    statuses = [clean_text(_text(s, "name")) for s in root.findall("possible_status/status")]
    fields = parse_fields(root.find("variables/formdef/fields"), "options")
    fields += parse_fields(root.find("backoffice-fields/formdef/fields"), "backoffice")
    return WorkflowExport(slug=_text(root, "slug") or slugify(name), name=name,
                          statuses=[s for s in statuses if s], fields=fields)


def parse_export(data: bytes, what: str = "export"):
    """A FormExport or WorkflowExport; None for another kind of export (cards, blocks…)."""
    root = parse_xml(data, what)
    if root.tag == "formdef":
        return parse_formdef(root)
    if root.tag == "workflow":
        return parse_workflow(root)
    return None


def demarches_from_exports(exports: list[tuple[str, bytes]], *, source: str,
                           collectivity: str) -> list[Demarche]:
    """Démarches from a set of exports of one collectivity (a directory, a bundle).

    A form gets the statuses of the workflow its ``<workflow slug=…>`` names when that
    workflow is among the exports; a workflow no form uses is published on its own.
    """
    forms: list[tuple[str, bytes, FormExport]] = []
    workflows: dict[str, tuple[str, bytes, WorkflowExport]] = {}
    for filename, data in exports:
        parsed = parse_export(data, f"export {filename}")
        if isinstance(parsed, FormExport):
            forms.append((filename, data, parsed))
        elif isinstance(parsed, WorkflowExport):
            workflows.setdefault(parsed.slug, (filename, data, parsed))
    by_name = {w.name: slug for slug, (_f, _d, w) in workflows.items()}
    used: set[str] = set()
    demarches = []
    seen_forms: set[str] = set()
    for filename, data, form in forms:
        if form.slug in seen_forms:
            raise SourceError(f"deux exports pour le même formulaire « {form.slug} »")
        seen_forms.add(form.slug)
        wf_slug = form.workflow_slug if form.workflow_slug in workflows else by_name.get(
            form.workflow_name or "")
        statuses: tuple[str, ...] = ()
        if wf_slug:
            used.add(wf_slug)
            statuses = tuple(workflows[wf_slug][2].statuses)
        demarches.append(Demarche(
            source=source, collectivity=collectivity, slug=form.slug, title=form.title,
            kind="form", description=form.description, keywords=tuple(form.keywords),
            category=form.category, fields=tuple(form.fields), workflow=form.workflow_name,
            statuses=statuses, url=form.url, disabled=form.disabled,
            export=data, export_filename=_filename(form.slug)))
    for slug, (filename, data, wf) in sorted(workflows.items()):
        if slug in used:
            continue
        demarches.append(Demarche(
            source=source, collectivity=collectivity, slug=slug, title=wf.name,
            kind="workflow", fields=tuple(wf.fields), workflow=wf.name,
            statuses=tuple(wf.statuses), export=data,
            export_filename=_filename("workflow-" + slug)))
    return demarches


def _filename(slug: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", slug)[:80] + ".wcs"
