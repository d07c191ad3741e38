"""Publik application bundles: parsing, and the archive-bomb refusals."""
import io
import json
import tarfile
from pathlib import Path

import pytest

from forumsync.catalogue.sources import MAX_EXPORT_BYTES, SourceError
from forumsync.catalogue.sources import bundle as bundle_module
from forumsync.catalogue.sources.bundle import load_bundle

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "catalogue" / "ville-exemple"
FORM = (TESTDATA / "formulaires" / "demande-acte-naissance.wcs").read_bytes()
WORKFLOW = (TESTDATA / "workflows" / "etat-civil-simple.wcs").read_bytes()
MANIFEST = {"application": "État civil", "slug": "etat-civil", "version_number": "1.0",
            "elements": [{"type": "forms", "slug": "demande-acte-naissance", "name": "Acte"},
                         {"type": "workflows", "slug": "etat-civil-simple", "name": "WF"},
                         {"type": "roles", "slug": "agents", "name": "Agents"}]}


def make_bundle(path: Path, members: list, mode="w") -> Path:
    """MEMBERS: (name, bytes) or ready TarInfo objects (with optional bytes)."""
    with tarfile.open(path, mode) as tar:
        for item in members:
            if isinstance(item, tarfile.TarInfo):
                tar.addfile(item)
                continue
            name, data = item
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def source(path):
    return {"name": "bundle", "collectivity": "Ville Exemple", "type": "bundle", "path": str(path)}


def good_members():
    return [("manifest.json", json.dumps(MANIFEST).encode()),
            ("forms/demande-acte-naissance", FORM), ("workflows/etat-civil-simple", WORKFLOW),
            ("roles/agents", b"{}")]


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_bundle_gives_the_form_with_its_workflow(tmp_path, mode):
    path = make_bundle(tmp_path / "app.tar", good_members(), mode)
    demarches = load_bundle(source(path))
    assert len(demarches) == 1
    form = demarches[0]
    assert (form.source, form.collectivity, form.slug) == ("bundle", "Ville Exemple",
                                                           "demande-acte-naissance")
    assert form.statuses == ("Nouvelle demande", "En cours de traitement", "Acte envoyé")
    assert form.export == FORM


def test_manifest_is_required_and_must_list_present_files(tmp_path):
    with pytest.raises(SourceError, match="manifest.json absent"):
        load_bundle(source(make_bundle(tmp_path / "a.tar", good_members()[1:])))
    missing = [("manifest.json", json.dumps(MANIFEST).encode()), ("forms/demande-acte-naissance", FORM)]
    with pytest.raises(SourceError, match="workflows/etat-civil-simple"):
        load_bundle(source(make_bundle(tmp_path / "b.tar", missing)))


@pytest.mark.parametrize("name", ["/etc/passwd", "../evil", "forms/../../evil"])
def test_paths_outside_the_bundle_are_refused(tmp_path, name):
    path = make_bundle(tmp_path / "x.tar", good_members() + [(name, b"x")])
    with pytest.raises(SourceError, match="chemin interdit"):
        load_bundle(source(path))


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_links_are_refused(tmp_path, kind):
    link = tarfile.TarInfo("forms/lien")
    link.type = kind
    link.linkname = "/etc/passwd"
    path = make_bundle(tmp_path / "x.tar", good_members() + [link])
    with pytest.raises(SourceError, match="lien interdit"):
        load_bundle(source(path))


def test_special_files_are_refused(tmp_path):
    fifo = tarfile.TarInfo("forms/fifo")
    fifo.type = tarfile.FIFOTYPE
    with pytest.raises(SourceError, match="fichier spécial"):
        load_bundle(source(make_bundle(tmp_path / "x.tar", good_members() + [fifo])))


def test_too_many_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_module, "MAX_FILES", 10)
    members = good_members() + [(f"forms/f{i}", b"<formdef/>") for i in range(20)]
    with pytest.raises(SourceError, match="plus de 10 éléments"):
        load_bundle(source(make_bundle(tmp_path / "x.tar", members)))


def test_compressed_bomb_is_refused_before_being_inflated(tmp_path):
    # 6 MB of zeros compress to a few kB: refused on its declared size, never read
    bomb = b"\0" * (MAX_EXPORT_BYTES + 1024 * 1024)
    path = make_bundle(tmp_path / "bomb.tar.gz", good_members() + [("forms/bombe", bomb)], "w:gz")
    assert path.stat().st_size < 100_000
    with pytest.raises(SourceError, match="trop volumineux"):
        load_bundle(source(path))


def test_total_size_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", 30_000)
    members = good_members() + [(f"forms/f{i}", b"x" * 8000) for i in range(5)]
    path = make_bundle(tmp_path / "x.tar.gz", members, "w:gz")  # small file, big content
    with pytest.raises(SourceError, match="contenu total trop volumineux"):
        load_bundle(source(path))


def test_not_a_tar_and_truncated_archives_are_reported(tmp_path):
    (tmp_path / "bad.tar").write_bytes(b"this is not a tar archive" * 40)
    with pytest.raises(SourceError, match="paquet illisible"):
        load_bundle(source(tmp_path / "bad.tar"))
    good = make_bundle(tmp_path / "good.tar.gz", good_members(), "w:gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(SourceError, match="paquet illisible"):
        load_bundle(source(tmp_path / "cut.tar.gz"))
    with pytest.raises(SourceError, match="introuvable"):
        load_bundle(source(tmp_path / "absent.tar"))
