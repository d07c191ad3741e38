"""A w.c.s.-like HTTP server for the catalogue tests and bench (werkzeug thread, port 0).

One server hosts several instances (one per collectivity) under ``/<instance>/``, each with
its own ``orig`` → key. Like w.c.s., every API call must carry a Publik signature: known
``orig``, ``algo=sha256``, ``timestamp`` within ±30 s, a ``nonce`` never seen before, and
``signature`` = base64 HMAC-SHA256 of the query string before ``&signature=``; otherwise
403 with ``{"err": 1, "err_desc": …}``.

Served: ``/api/categories/``, ``/api/formdefs/`` (``include-count=on`` adds ``count``; an
instance can answer with the old bare list), ``/api/formdefs/<slug>/schema`` and
``/api/export-import/forms/<slug>/`` (a ``.wcs`` XML generated from the form's data).
Tests change an instance (``add_form``, ``change_form``, ``remove_form``, ``down``,
``malformed``) between two syncs.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

SKEW = timedelta(seconds=30)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the server keeps its own log (.requests)
        pass


@dataclass
class Form:
    slug: str
    title: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    category: tuple[str, str] | None = ("etat-civil", "État civil")  # (slug, title)
    fields: list[tuple[str, str, bool]] = field(default_factory=lambda: [
        ("Nom", "string", True), ("Prénom", "string", True), ("Courriel", "email", False)])
    workflow: str = "Workflow simple"
    statuses: list[str] = field(default_factory=lambda: ["Nouveau", "En cours", "Terminé"])
    count: int = 12


@dataclass
class Instance:
    name: str
    collectivity: str
    orig: str
    key: str
    forms: dict[str, Form] = field(default_factory=dict)
    down: bool = False          # answer 503 to everything
    bare_list: bool = False     # /api/formdefs/ answers a bare list, like older w.c.s.
    malformed: set[str] = field(default_factory=set)  # slugs whose export is broken XML
    typed: bool = True          # typed leaf nodes (<label type="str">) in exports


class WcsServer:
    def __init__(self):
        self.instances: dict[str, Instance] = {}
        self.nonces: set[str] = set()
        self.requests: list[tuple[str, str, int]] = []  # (instance, path, status)
        self.clock_offset = timedelta(0)  # the server's clock minus the real one
        self._lock = threading.Lock()
        self.app = self._make_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        name="wcs-server", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- configuration
    def add_instance(self, name: str, collectivity: str, *, orig: str = "bistro",
                     key: str | None = None) -> Instance:
        instance = Instance(name, collectivity, orig, key or f"secret-{name}-0123456789")
        self.instances[name] = instance
        return instance

    def source(self, name: str, **overrides) -> dict:
        """The CATALOGUE_SOURCES entry reading instance NAME."""
        inst = self.instances[name]
        entry = {"name": name, "collectivity": inst.collectivity, "type": "wcs-api",
                 "url": f"{self.url}/{name}", "orig": inst.orig, "key": inst.key}
        entry.update(overrides)
        return entry

    def add_form(self, instance: str, slug: str, title: str, **kw) -> Form:
        form = Form(slug, title, **kw)
        self.instances[instance].forms[slug] = form
        return form

    def change_form(self, instance: str, slug: str, **changes) -> Form:
        form = self.instances[instance].forms[slug]
        for name, value in changes.items():
            setattr(form, name, value)
        return form

    def remove_form(self, instance: str, slug: str) -> None:
        del self.instances[instance].forms[slug]

    def count(self, path_part: str = "", instance: str | None = None) -> int:
        return sum(1 for inst, path, _status in self.requests
                   if path_part in path and (instance is None or inst == instance))

    # ---------------------------------------------------------------- signature
    def check_signature(self, inst: Instance, query: str) -> str | None:
        """None when the signed query is acceptable, else the refusal reason."""
        params = parse_qs(query, keep_blank_values=True)
        missing = [p for p in ("orig", "algo", "timestamp", "nonce", "signature") if p not in params]
        if missing:
            return f"missing parameters: {', '.join(missing)}"
        if not query.split("&")[-1].startswith("signature="):
            return "signature must be the last parameter"
        if params["orig"][0] != inst.orig:
            return "unknown orig"
        if params["algo"][0] != "sha256":
            return "unsupported algo"
        try:
            stamp = datetime.strptime(params["timestamp"][0], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc)
        except ValueError:
            return "invalid timestamp"
        if abs(datetime.now(timezone.utc) + self.clock_offset - stamp) > SKEW:
            return "timestamp out of range"
        unsigned = query.split("&signature=")[0]
        expected = hmac.new(inst.key.encode(), unsigned.encode(), hashlib.sha256).digest()
        try:
            given = base64.b64decode(params["signature"][0], validate=True)
        except ValueError:
            return "invalid signature encoding"
        if not hmac.compare_digest(given, expected):
            return "invalid signature"
        nonce = params["nonce"][0]
        with self._lock:
            if nonce in self.nonces:
                return "nonce already used"
            self.nonces.add(nonce)
        return None

    # ---------------------------------------------------------------- the app
    def _make_app(self) -> Flask:
        app = Flask("wcs-test-server")
        server = self

        @app.after_request
        def log(response):
            parts = request.path.split("/", 2)
            server.requests.append((parts[1] if len(parts) > 1 else "", request.path,
                                    response.status_code))
            return response

        def guard(name: str):
            inst = server.instances.get(name)
            if inst is None:
                return None, (jsonify(err=1, err_desc="no such instance"), 404)
            if inst.down:
                return None, Response("<h1>503 Service Unavailable</h1>", 503)
            reason = server.check_signature(inst, request.query_string.decode("latin-1"))
            if reason:
                return None, (jsonify(err=1, err_class="access denied", err_desc=reason), 403)
            return inst, None

        def guard_form(name: str, slug: str):
            """(instance, form, None), or (…, refusal) for a refused request or unknown form."""
            inst, refusal = guard(name)
            if refusal:
                return inst, None, refusal
            form = inst.forms.get(slug)
            if form is None:
                return inst, None, (jsonify(err=1, err_desc="no such form"), 404)
            return inst, form, None

        @app.get("/<name>/api/categories/")
        def categories(name):
            inst, refusal = guard(name)
            if refusal:
                return refusal
            seen = {}
            for form in inst.forms.values():
                if form.category:
                    seen[form.category[0]] = form.category[1]
            return jsonify(data=[{"slug": s, "title": t, "url": f"{server.url}/{name}/{s}/"}
                                 for s, t in sorted(seen.items())])

        @app.get("/<name>/api/formdefs/")
        def formdefs(name):
            inst, refusal = guard(name)
            if refusal:
                return refusal
            with_count = request.args.get("include-count") == "on"
            data = []
            for form in inst.forms.values():
                item = {"title": form.title, "slug": form.slug,
                        "url": f"{server.url}/{name}/{form.slug}/",
                        "description": form.description, "keywords": form.keywords,
                        "authentication_required": False, "redirection": False,
                        "functions": {}}
                if form.category:
                    item["category_slug"], item["category"] = form.category
                if with_count:
                    item["count"] = form.count
                data.append(item)
            return jsonify(data) if inst.bare_list else jsonify(err=0, data=data)

        @app.get("/<name>/api/formdefs/<slug>/schema")
        def schema(name, slug):
            inst, form, refusal = guard_form(name, slug)
            if refusal:
                return refusal
            return jsonify({
                "name": form.title, "slug": form.slug, "url_name": form.slug,
                "fields": [{"id": str(i), "label": label, "type": ftype, "required": required,
                            "varname": f"var{i}"}
                           for i, (label, ftype, required) in enumerate(form.fields, start=1)],
                "workflow": {"name": form.workflow, "id": "1",
                             "statuses": [{"id": str(i), "name": s, "forced_endpoint": False}
                                          for i, s in enumerate(form.statuses, start=1)],
                             "fields": []},
            })

        @app.get("/<name>/api/export-import/forms/<slug>/")
        def export(name, slug):
            inst, form, refusal = guard_form(name, slug)
            if refusal:
                return refusal
            if slug in inst.malformed:
                body = b"<?xml version='1.0'?>\n<formdef><name>Cass\xc3\xa9</name><fields>"
            else:
                body = export_xml(form, f"{server.url}/{name}", typed=inst.typed)
            return Response(body, content_type="text/xml; charset=utf-8")

        return app

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def export_xml(form: Form, base_url: str, typed: bool = True) -> bytes:
    """A .wcs formdef export of FORM, shaped like w.c.s.'s."""
    root = ET.Element("formdef", id="1", url=f"{base_url}/backoffice/forms/1/")
    ET.SubElement(root, "name").text = form.title
    ET.SubElement(root, "url_name").text = form.slug
    if form.description:
        ET.SubElement(root, "description").text = f"<p>{form.description}</p>"
    if form.keywords:
        ET.SubElement(root, "keywords").text = ",".join(form.keywords)
    ET.SubElement(root, "disabled").text = "false"
    if form.category:
        ET.SubElement(root, "category", slug=form.category[0], category_id="1").text = form.category[1]
    ET.SubElement(root, "workflow", slug="workflow-" + form.slug, workflow_id="1").text = form.workflow
    fields = ET.SubElement(root, "fields")
    attrs = {"type": "str"} if typed else {}
    for i, (label, ftype, required) in enumerate(form.fields, start=1):
        f = ET.SubElement(fields, "field")
        ET.SubElement(f, "type").text = ftype
        ET.SubElement(f, "label", attrs).text = label
        ET.SubElement(f, "required", {"type": "bool"} if typed else {}).text = str(required)
        ET.SubElement(f, "varname", attrs).text = f"var{i}"
        ET.SubElement(f, "id", attrs).text = str(i)
    return b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8")


TITLES = ["Demande d'acte de naissance", "Demande d'acte de mariage", "Demande d'acte de décès",
          "Inscription sur les listes électorales", "Signaler un problème de voirie",
          "Réservation d'une salle municipale", "Inscription à la cantine scolaire",
          "Demande de carte de stationnement résident", "Déclaration de chantier",
          "Prise de rendez-vous carte d'identité"]


def populate(server: WcsServer, collectivities: int, forms_each: int, shared: int = 0) -> list[dict]:
    """Instances c1…cN with FORMS_EACH generated forms each; the first SHARED slugs are the
    same in every collectivity (grouped into one topic). Returns the CATALOGUE_SOURCES."""
    sources = []
    for c in range(1, collectivities + 1):
        name = f"c{c}"
        server.add_instance(name, f"Collectivité {c}")
        for n in range(forms_each):
            if n < shared:
                slug, title = f"demarche-commune-{n}", f"{TITLES[n % len(TITLES)]} n° {n}"
            else:
                token = hashlib.sha1(f"{name}/{n}".encode()).hexdigest()[:12]
                slug, title = f"{name}-demarche-{n}", f"Démarche {token}"
            server.add_form(name, slug, title, keywords=["etat-civil"] if n % 3 == 0 else [],
                            count=n * 7, description=f"Description de la démarche {n}.",
                            fields=[("Nom", "string", True), ("Prénom", "string", True),
                                    (f"Question {n}", "text", n % 2 == 0)])
        sources.append(server.source(name))
    return sources
