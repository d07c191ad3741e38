"""A w.c.s. instance read over its API, with Publik signed URLs.

Signature (as Publik does it): append ``orig``, ``algo`` (sha256), ``timestamp`` (UTC
``YYYY-MM-DDTHH:MM:SSZ``) and ``nonce`` (random hex) to the query string, then
``signature`` = URL-quoted base64 of HMAC-SHA256(key, the exact query string before
``&signature=``), last. The server accepts ±30 s of clock skew and refuses a reused nonce,
so every request is signed afresh.

Read: ``/api/categories/``, ``/api/formdefs/?include-count=on`` (``{"err": 0, "data": […]}``
or, from older servers, a bare list), ``/api/formdefs/{slug}/schema`` (fields, workflow
statuses) and ``/api/export-import/forms/{slug}/`` (the ``.wcs`` XML, offered for download).

The configured URL is the only place asked: no redirect is followed (a redirect could send the
signed request, and our trust, to an internal address), and no byte of an answer is ever copied
into an error or a log line, only its HTTP status.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import quote, urlencode, urlsplit

import requests

from ..model import Demarche, Field
from . import MAX_EXPORT_BYTES, MAX_FILES, MAX_JSON_BYTES, SourceError
from .wcs_xml import FormExport, LAYOUT_TYPES, SKIPPED_TYPES, clean_text, parse_export, required_value

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PARALLEL_REQUESTS = 4  # per instance: enough to hide latency, gentle on a w.c.s. server


def sign_query(query: str, orig: str, key: str, *, timestamp: datetime | None = None,
               nonce: str | None = None, algo: str = "sha256") -> str:
    """QUERY with orig, algo, timestamp, nonce and, last, signature appended."""
    if algo != "sha256":
        raise ValueError("seul l'algorithme sha256 est pris en charge")
    when = (timestamp or datetime.now(timezone.utc)).astimezone(timezone.utc)
    extra = urlencode([("orig", orig), ("algo", algo),
                       ("timestamp", when.strftime(TIMESTAMP_FORMAT)),
                       ("nonce", nonce or secrets.token_hex(16))])
    unsigned = f"{query}&{extra}" if query else extra
    digest = hmac.new(key.encode("utf-8"), unsigned.encode("utf-8"), hashlib.sha256).digest()
    return unsigned + "&signature=" + quote(base64.b64encode(digest))


def sign_url(url: str, orig: str, key: str, **kwargs) -> str:
    base, _, query = url.partition("?")
    return base + "?" + sign_query(query, orig, key, **kwargs)


class WcsApiSource:
    """One ``wcs-api`` entry of CATALOGUE_SOURCES."""

    def __init__(self, source: dict, *, timeout: float = 30.0, session=None):
        self.source = source
        self.name = source["name"]
        self.collectivity = source["collectivity"]
        self.url = source["url"].rstrip("/")
        self.orig = source["orig"]
        self.key = source["key"]
        self.timeout = (min(5.0, timeout), timeout)
        self.session = session or requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=PARALLEL_REQUESTS)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    # ------------------------------------------------------------------ HTTP
    def get(self, path: str, query: str = "", *, limit: int | None = None) -> bytes:
        limit = MAX_JSON_BYTES if limit is None else limit
        url = self.url + path + "?" + sign_query(query, self.orig, self.key)
        where = f"{self.url}{path}"
        try:
            response = self.session.get(url, timeout=self.timeout, stream=True, allow_redirects=False,
                                        headers={"Accept": "application/json, */*",
                                                 "Accept-Encoding": "identity"})
        except requests.Timeout:
            raise SourceError(f"{where} : délai de réponse dépassé") from None
        except requests.ConnectionError:
            raise SourceError(f"{where} : serveur injoignable") from None
        except requests.RequestException as exc:
            raise SourceError(f"{where} : requête impossible ({exc.__class__.__name__})") from None
        with response:
            if 300 <= response.status_code < 400:
                raise SourceError(f"{where} : redirection refusée (HTTP {response.status_code}) : "
                                  f"forumsync ne suit aucune redirection, indiquez l'adresse finale "
                                  f"dans CATALOGUE_SOURCES")
            body = bytearray()
            try:
                # small chunks: even a compressed answer is inflated a bounded amount at a time
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise SourceError(f"{where} : réponse trop volumineuse (maximum {limit} "
                                          f"octets)")
            except (requests.RequestException, OSError) as exc:
                raise SourceError(f"{where} : réponse interrompue ({exc.__class__.__name__})") from None
            body = bytes(body)
            if response.status_code == 403:
                raise SourceError(f"{where} : accès refusé (signature, orig ou clé refusés)"
                                  f"{_known_refusal(body)}")
            if response.status_code == 404:
                raise SourceError(f"{where} : introuvable (HTTP 404)")
            if response.status_code >= 400:
                raise SourceError(f"{where} : erreur HTTP {response.status_code}")
        return body

    def get_json(self, path: str, query: str = ""):
        body = self.get(path, query)
        where = f"{self.url}{path}"
        try:
            data = json.loads(body)
        except ValueError:
            raise SourceError(f"{where} : réponse illisible (JSON invalide)") from None
        if isinstance(data, dict):
            if data.get("err"):
                raise SourceError(f"{where} : erreur signalée par w.c.s. (réponse non recopiée)")
            if "data" in data:
                return data["data"]
        return data

    # ------------------------------------------------------------------ reading
    def fetch(self) -> list[Demarche]:
        categories = self.get_json("/api/categories/")
        if not isinstance(categories, list):
            raise SourceError(f"{self.url}/api/categories/ : liste de catégories attendue")
        category_titles = {c.get("slug"): c.get("title") for c in categories if isinstance(c, dict)}
        formdefs = self.get_json("/api/formdefs/", "include-count=on")
        if not isinstance(formdefs, list):
            raise SourceError(f"{self.url}/api/formdefs/ : liste de formulaires attendue")
        if len(formdefs) > MAX_FILES:
            raise SourceError(f"{self.url}/api/formdefs/ : plus de {MAX_FILES} formulaires")
        items = {}
        for item in formdefs:
            if not isinstance(item, dict) or not isinstance(item.get("slug"), str):
                raise SourceError(f"{self.url}/api/formdefs/ : formulaire sans slug")
            items.setdefault(item["slug"], item)
        # a few requests in flight at once (schema + export per form), results in list order
        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
            futures = [pool.submit(self.demarche, item, category_titles) for item in items.values()]
            try:
                return [future.result() for future in futures]
            except SourceError:
                for future in futures:
                    future.cancel()
                raise

    def demarche(self, item: dict, category_titles: dict) -> Demarche:
        slug = item["slug"]
        if "/" in slug or slug in (".", ".."):
            raise SourceError(f"{self.url}/api/formdefs/ : slug invalide « {slug} »")
        schema = self.get_json(f"/api/formdefs/{quote(slug)}/schema")
        if not isinstance(schema, dict):
            raise SourceError(f"schéma de « {slug} » : objet JSON attendu")
        export = self.get(f"/api/export-import/forms/{quote(slug)}/", limit=MAX_EXPORT_BYTES)
        parsed = parse_export(export, f"export de « {slug} »")
        if not isinstance(parsed, FormExport):
            raise SourceError(f"export de « {slug} » : un <formdef> était attendu")
        workflow = schema.get("workflow") if isinstance(schema.get("workflow"), dict) else {}
        statuses = tuple(clean_text(s.get("name")) for s in workflow.get("statuses") or ()
                         if isinstance(s, dict) and s.get("name"))
        keywords = item.get("keywords") or []
        if isinstance(keywords, str):
            keywords = [k.strip() for k in keywords.split(",")]
        category = item.get("category") or category_titles.get(item.get("category_slug"))
        count = item.get("count")
        return Demarche(
            source=self.name, collectivity=self.collectivity, slug=slug,
            title=clean_text(item.get("title")) or parsed.title, kind="form",
            description=clean_text(item.get("description")) or parsed.description,
            keywords=tuple(k for k in keywords if isinstance(k, str) and k),
            category=clean_text(category) if isinstance(category, str) else parsed.category,
            fields=tuple(schema_fields(schema.get("fields"))),
            workflow=clean_text(workflow.get("name")) or parsed.workflow_name,
            statuses=statuses,
            count=count if isinstance(count, int) and not isinstance(count, bool) else None,
            url=_public_url(item.get("url"), self.url, slug),
            export=export, export_filename=f"{slug}.wcs")


def schema_fields(fields) -> list[Field]:
    result = []
    for f in fields or ():
        if not isinstance(f, dict):
            continue
        ftype = f.get("type") or "string"
        label = clean_text(f.get("label"))
        if ftype in SKIPPED_TYPES or not label:
            continue
        required = required_value(f.get("required")) and ftype not in LAYOUT_TYPES
        result.append(Field(label=label, type=str(ftype), required=required))
    return result


def _public_url(url, base: str, slug: str) -> str:
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
        return url
    return f"{base}/{slug}/"


# The refusals w.c.s. states in ``err_desc`` (Publik signatures): named in French, with the
# known code; anything else the server writes is not repeated.
KNOWN_REFUSALS = {
    "invalid signature": "signature invalide : vérifiez la clé",
    "invalid signature encoding": "signature mal encodée",
    "unknown orig": "orig inconnu du serveur",
    "unsupported algo": "algorithme non pris en charge",
    "invalid timestamp": "horodatage illisible",
    "timestamp out of range": "horodatage hors délai : horloges désynchronisées ?",
    "nonce already used": "nonce déjà utilisé",
}


def _known_refusal(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    desc = data.get("err_desc") if isinstance(data, dict) else None
    if isinstance(desc, str) and desc.strip().lower() in KNOWN_REFUSALS:
        code = desc.strip().lower()
        return f" : {KNOWN_REFUSALS[code]} ({code})"
    return ""
