"""The French first post: content, escaping, tags, and byte-for-byte stability."""
from forumsync.catalogue.model import Demarche, Field, group_demarches
from forumsync.catalogue.render import popularity, render_group


def variants():
    common = dict(slug="acte-naissance", category="État civil", keywords=("État civil", "naissance"),
                  fields=(Field("Nom", "string", True), Field("Date", "date", False)),
                  workflow="WF", statuses=("Nouveau", "Traité"))
    return [
        Demarche(source="b", collectivity="Meyzieu", title="Demande d'acte de naissance",
                 url="https://meyzieu.example/acte-naissance/", count=1500, export=b"<formdef/>",
                 export_filename="acte-naissance.wcs", description="Une <b>copie</b> | intégrale",
                 **common),
        Demarche(source="a", collectivity="Grand Lyon", title="Demande d'acte de naissance",
                 count=3, **common),
    ]


def render(vs, links=None):
    [group] = group_demarches(vs, 90)
    return render_group(group, links or {("b", "form", "acte-naissance"): "upload://abc.wcs"})


def test_post_sections_in_french():
    r = render(variants())
    assert r.title == "Demande d'acte de naissance"
    assert r.category == "État civil"
    assert r.tags == ["etat-civil", "naissance"]
    assert not r.closed
    raw = r.raw
    for heading in ("## Description", "## Proposée par", "## Champs", "## Statuts du workflow",
                    "## Téléchargements"):
        assert heading in raw
    # collectivities in alphabetical order, with their link when known
    assert raw.index("| Grand Lyon |") < raw.index("| [Meyzieu](https://meyzieu.example/acte-naissance/)")
    assert "plus de 1\u202f000 demandes" in raw and "moins de 10 demandes" in raw
    assert "### Identique chez toutes les collectivités" in raw
    assert "| Nom | Texte | oui |" in raw and "| Date | Date | non |" in raw
    assert "1. Nouveau\n2. Traité" in raw
    assert "- Meyzieu : [acte-naissance.wcs|attachment](upload://abc.wcs) (10 o)" in raw
    # HTML and table separators from a source are escaped, never interpreted
    assert "Une &lt;b>copie&lt;/b> \\| intégrale" in raw


def test_rendering_is_stable_whatever_the_input_order():
    one, two = render(variants()), render(list(reversed(variants())))
    assert one.raw == two.raw and one.content_hash() == two.content_hash()
    changed = variants()
    changed[1].fields = (Field("Nom", "string", False),)
    assert render(changed).content_hash() != one.content_hash()


def test_different_fields_are_listed_per_collectivity():
    vs = variants()
    vs[1].fields = (Field("Nom", "string", False),)
    raw = render(vs).raw
    assert "### Grand Lyon\n\n| Champ | Type | Obligatoire |\n|---|---|---|\n| Nom | Texte | non |" in raw
    assert "### Meyzieu" in raw


def test_retired_variants_and_retired_topic():
    vs = variants()
    vs[1].retired_on = "2026-11-28"
    partial = render(vs)
    assert "**Retirée par** : Grand Lyon (le 28/11/2026)." in partial.raw
    assert "retirée le 28/11/2026" in partial.raw
    assert not partial.closed and "retiree" not in partial.tags
    vs[0].retired_on = "2026-11-29"
    gone = render(vs)
    assert gone.closed and gone.tags[0] == "retiree"
    assert "**Démarche retirée** : plus aucune collectivité ne la propose." in gone.raw


def test_short_titles_and_popularity_buckets():
    short = Demarche(source="a", collectivity="A", slug="pv", title="PV")
    assert render([short], {}).title == "PV (démarche)"
    assert [popularity(n) for n in (None, 0, 9, 10, 99, 12345)] == [
        "—", "aucune demande", "moins de 10 demandes", "plus de 10 demandes",
        "plus de 10 demandes", "plus de 10\u202f000 demandes"]
