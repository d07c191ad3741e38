"""Reading a w.c.s. instance over its API (against the w.c.s. test server)."""
import socket

import pytest

from forumsync.catalogue.model import Field
from forumsync.catalogue.sources import SourceError, load_source
from forumsync.catalogue.sources.wcs_api import WcsApiSource


@pytest.fixture
def server(wcs_server):
    wcs_server.add_instance("lyon", "Grand Lyon")
    wcs_server.add_form("lyon", "acte-naissance", "Demande d'acte de naissance",
                        description="Copie ou extrait.", keywords=["état civil"], count=1234,
                        fields=[("Nom", "string", True), ("Motif", "text", False),
                                ("Explications", "comment", False)],
                        statuses=["Nouveau", "Traité"], workflow="Workflow état civil")
    return wcs_server


@pytest.mark.parametrize("bare_list", [False, True], ids=["err-data", "bare-list"])
def test_formdefs_become_demarches(server, bare_list):
    server.instances["lyon"].bare_list = bare_list
    [d] = load_source(server.source("lyon"))
    assert (d.source, d.collectivity, d.slug, d.kind) == ("lyon", "Grand Lyon", "acte-naissance", "form")
    assert d.title == "Demande d'acte de naissance"
    assert d.description == "Copie ou extrait."
    assert d.keywords == ("état civil",)
    assert d.category == "État civil"
    assert d.count == 1234
    assert d.fields == (Field("Nom", "string", True), Field("Motif", "text", False))
    assert d.workflow == "Workflow état civil"
    assert d.statuses == ("Nouveau", "Traité")
    assert d.url == f"{server.url}/lyon/acte-naissance/"
    assert d.export.startswith(b'<?xml version="1.0"?>\n<formdef')
    assert d.export_filename == "acte-naissance.wcs"


def test_down_instance_is_a_source_error(server):
    server.instances["lyon"].down = True
    with pytest.raises(SourceError, match="erreur HTTP 503"):
        load_source(server.source("lyon"))


def test_malformed_export_is_a_source_error(server):
    server.instances["lyon"].malformed.add("acte-naissance")
    with pytest.raises(SourceError, match="export de « acte-naissance » illisible"):
        load_source(server.source("lyon"))


def test_unreachable_and_slow_servers_are_source_errors(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError, match="injoignable"):
        load_source(dict(server.source("lyon"), url=f"http://127.0.0.1:{port}"))
    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(SourceError, match="délai de réponse dépassé"):
            WcsApiSource(dict(server.source("lyon"), url=url), timeout=0.5).fetch()


def test_oversized_answers_are_refused_even_compressed(server, monkeypatch):
    import gzip

    from flask import Response

    from forumsync.catalogue.sources import wcs_api

    bomb = gzip.compress(b"[" + b" " * (3 * 1024 * 1024) + b"]")
    assert len(bomb) < 10_000

    @server.app.get("/bomb/api/categories/")
    def compressed_bomb():
        return Response(bomb, content_type="application/json", headers={"Content-Encoding": "gzip"})

    monkeypatch.setattr(wcs_api, "MAX_JSON_BYTES", 1024 * 1024)
    source = dict(server.source("lyon"), url=f"{server.url}/bomb")
    with pytest.raises(SourceError, match="réponse trop volumineuse"):
        WcsApiSource(source).fetch()


def test_modern_api_schema_optional_field_is_not_required():
    from forumsync.catalogue.sources.wcs_api import schema_fields

    fields = schema_fields([
        {"id": "1", "label": "Nom de naissance", "type": "string", "required": "required"},
        {"id": "2", "label": "Téléphone", "type": "string", "required": "optional"},
    ])
    required = {f.label: f.required for f in fields}
    assert required == {"Nom de naissance": True, "Téléphone": False}
