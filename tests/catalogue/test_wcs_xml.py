"""Parsing .wcs exports: the two real ones in shared/wcs, our own, and hostile XML."""
from pathlib import Path

import pytest

from forumsync.catalogue.model import Field
from forumsync.catalogue.sources import MAX_EXPORT_BYTES, SourceError
from forumsync.catalogue.sources.directory import load_directory
from forumsync.catalogue.sources.wcs_xml import (FormExport, WorkflowExport, parse_export,
                                                 demarches_from_exports)
from tests.conftest import real_data

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "catalogue"


def real_form() -> Path:
    return real_data("wcs", "imio-form-signaler-un-luminaire-en-panne.wcs")


def real_workflow() -> Path:
    return real_data("wcs", "imio-workflow-candidature-enseignement.wcs")


def test_real_formdef_export_parses_into_a_sensible_form():
    form = parse_export(real_form().read_bytes())
    assert isinstance(form, FormExport)
    assert form.slug == "signaler-un-luminaire-en-panne"
    assert form.title == "Signaler un luminaire en panne"
    assert form.category == "Environnement"
    assert form.workflow_slug == "imio-redirection-signaler-un-nid-de-frelons-asiatiques"
    assert form.workflow_name == "iMio - Redirection Signaler un luminaire en panne"
    assert form.disabled is True
    # typed leaf nodes, entities decoded; the two comment fields (free HTML) are not fields
    assert form.fields == [
        Field("Signaler un luminaire en panne", "page", False),
        Field("Signaler un problème d'éclairage sur la voie publique", "title", False),
    ]
    # no <description>: the explanatory comment (doubly escaped HTML) is used, the template one not
    assert form.description.startswith("Le gestionnaire de réseau est compétent pour intervenir")
    assert "&" not in form.description and "<" not in form.description
    assert "{{" not in form.description
    assert form.url == "https://staging-formulaires.guichet-citoyen.be/signaler-un-luminaire-en-panne/"


def test_real_workflow_export_parses_statuses_and_fields():
    wf = parse_export(real_workflow().read_bytes())
    assert isinstance(wf, WorkflowExport)
    assert wf.slug == "imio-candidature-enseignement"
    assert wf.name == "iMio - Candidature Enseignement"
    assert wf.statuses == ["Juste envoyé", "Boucle Fiche", "Création fiche",
                           "Candidature enregistrée"]
    assert wf.fields == [
        Field("Commentaire", "text", False, "options"),
        Field("Lien du règlement communal", "string", True, "options"),
        Field("Compteur", "string", True, "backoffice"),
    ]


def test_real_exports_directory_gives_a_form_and_a_standalone_workflow():
    demarches = load_directory({"name": "imio", "collectivity": "iMio", "type": "directory",
                                "path": str(real_data("wcs"))})
    by_kind = {d.kind: d for d in demarches}
    assert sorted(by_kind) == ["form", "workflow"]
    form = by_kind["form"]
    assert (form.collectivity, form.slug, form.category) == ("iMio", "signaler-un-luminaire-en-panne",
                                                             "Environnement")
    assert form.statuses == ()  # its workflow is not among the exports
    assert form.export == real_form().read_bytes()
    assert form.export_filename == "signaler-un-luminaire-en-panne.wcs"
    wf = by_kind["workflow"]
    assert wf.title == "iMio - Candidature Enseignement"
    assert wf.statuses[0] == "Juste envoyé" and len(wf.statuses) == 4


def test_untyped_export_with_escaped_html_and_linked_workflow():
    demarches = load_directory({"name": "ex", "collectivity": "Ville Exemple", "type": "directory",
                                "path": str(TESTDATA / "ville-exemple")})
    forms = [d for d in demarches if d.kind == "form"]
    workflows = [d for d in demarches if d.kind == "workflow"]
    assert len(forms) == 1  # the carddef export is recognised and left out
    form = forms[0]
    assert form.title == "Demande d'acte de naissance"
    assert form.description == "Obtenir une copie intégrale ou un extrait d'acte de naissance."
    assert form.keywords == ("état civil", "naissance")
    assert form.category == "État civil"
    assert form.fields == (Field("Votre demande", "page", False),
                           Field("Nom de naissance", "string", True),
                           Field("Date de naissance", "date", True),
                           Field("Type d'acte souhaité", "item", False))
    # <workflow slug="etat-civil-simple"> names the workflow found in another sub-directory
    assert form.workflow == "État civil simple"
    assert form.statuses == ("Nouvelle demande", "En cours de traitement", "Acte envoyé")
    # the workflow used by the form is not published alone; the unused one is
    assert [w.slug for w in workflows] == ["relance-automatique"]
    assert workflows[0].fields == (Field("Délai de relance (jours)", "string", True, "options"),)
    data = repr(form.to_data())
    assert "Jean Dupont" not in data and "06 12 34 56 78" not in data  # no prefill, no comment


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<formdef><name>&lol3;</name><url_name>bombe</url_name></formdef>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE formdef [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<formdef><name>&xxe;</name><url_name>xxe</url_name></formdef>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_entities_are_refused(payload):
    with pytest.raises(SourceError, match="refusé"):
        parse_export(payload)


def test_oversized_and_malformed_exports_are_refused():
    big = b"<formdef><name>x</name>" + b" " * MAX_EXPORT_BYTES + b"</formdef>"
    with pytest.raises(SourceError, match="trop volumineux"):
        parse_export(big)
    with pytest.raises(SourceError, match="XML mal formé"):
        parse_export(b"<formdef><name>cass\xc3\xa9</name>")


def test_a_malformed_file_fails_its_whole_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "ok.wcs").write_bytes(real_form().read_bytes())
    (tmp_path / "sub" / "broken.wcs").write_bytes(b"<formdef><name>")
    with pytest.raises(SourceError, match="sub/broken.wcs"):
        load_directory({"name": "t", "collectivity": "T", "type": "directory", "path": str(tmp_path)})
    with pytest.raises(SourceError, match="introuvable"):
        load_directory({"name": "t", "collectivity": "T", "type": "directory",
                        "path": str(tmp_path / "absent")})


def test_two_exports_of_the_same_form_are_reported():
    data = real_form().read_bytes()
    with pytest.raises(SourceError, match="même formulaire"):
        demarches_from_exports([("a.wcs", data), ("b.wcs", data)], source="s", collectivity="C")


# Since 2023 w.c.s. writes a field's « required » as a word (wcs/fields/base.py,
# WidgetField.is_required: "required", "frontoffice", "optional"): every field read « non »
# (red team, twenty-fourth pass).

MODERN_EXPORT = """<?xml version="1.0"?>
<formdef id="12" url="https://demarches.meyzieu.fr/backoffice/forms/12/">
  <name>Demande d'acte de naissance</name>
  <url_name>acte-naissance</url_name>
  <fields>
    <field>
      <type>string</type>
      <label type="str">Nom de naissance</label>
      <required type="str">required</required>
      <id type="str">1</id>
    </field><field>
      <type>string</type>
      <label type="str">Téléphone</label>
      <required type="str">optional</required>
      <id type="str">2</id>
    </field><field>
      <type>email</type>
      <label type="str">Courriel</label>
      <required type="str">frontoffice</required>
      <id type="str">3</id>
    </field>
  </fields>
</formdef>
""".encode("utf-8")


def test_modern_xml_export_required_string_is_read():
    form = parse_export(MODERN_EXPORT)
    required = {f.label: f.required for f in form.fields}
    assert required["Nom de naissance"] is True      # « required » : obligatoire
    assert required["Téléphone"] is False            # « optional » : facultatif
    assert required["Courriel"] is True              # obligatoire pour l'usager (front-office)


def test_a_form_name_holding_angle_brackets_keeps_them():
    """A w.c.s. name is plain text: « enfants < 3 ans et > 1 an » lost its middle, read as a tag."""
    from forumsync.catalogue.sources.wcs_xml import parse_export as parse

    export = ("<formdef><name>Accueil des enfants &lt; 3 ans et &gt; 1 an</name>"
              "<url_name>accueil-petite-enfance</url_name></formdef>").encode("utf-8")
    assert parse(export).title == "Accueil des enfants < 3 ans et > 1 an"

