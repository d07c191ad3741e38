"""The French first post: content, escaping, tags, and byte-for-byte stability."""
from forumsync.catalogue.model import Demarche, Field, Group, group_demarches
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
    assert "plus de 1 000 demandes" in raw and "moins de 10 demandes" in raw
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


def test_a_pipe_in_an_address_stays_in_its_link():
    """Red team, ninth pass: a "|" in a démarche's address (its url_name, or the w.c.s. API's
    url) ended the table cell inside the link, and the rest of the address became live text in
    the topic: a mention, an image from an internal address. The address is percent-encoded
    whole, and the row keeps its six cells."""
    from forumsync.mail.inert import live_syntax

    for tail in ("|@staff", "|[img]http://169.254.169.254/latest/p.png[/img]",
                 "|![x](http://evil.example/p.png)", "|[quote=admin]faux[/quote]"):
        v = Demarche(source="s", collectivity="Meyzieu", slug="form", title="Formulaire de test",
                     url=f"https://demarches.example/form/{tail}", export=b"<formdef/>",
                     export_filename="form.wcs")
        raw = render([v], {v.key: "upload://abc.wcs"}).raw
        row = next(line for line in raw.splitlines() if line.startswith("| [Meyzieu]"))
        assert "%7C" in row and row.count("|") == 7, row
        assert live_syntax(raw, ("upload://abc.wcs",)) == [], (tail, live_syntax(raw))


def test_a_rendered_topic_with_live_text_is_refused_not_published():
    """The rendered topic is checked as Discourse would cook it (as a post from mail is): a
    gap in the escaping refuses that topic with a French reason instead of publishing it."""
    import pytest

    from dataclasses import replace

    from forumsync.catalogue.apply import TopicRefused, _check_inert

    r = render(variants())
    _check_inert(r)  # the real rendering passes
    with pytest.raises(TopicRefused, match=r"« Demande d'acte de naissance » non publiée : son texte "
                                           r"serait actif sur le forum \(mention @staff\)"):
        _check_inert(replace(r, raw=r.raw + "\nMerci @staff\n"))
    with pytest.raises(TopicRefused, match=r"quoted admin"):  # read in the raw, code included
        _check_inert(replace(r, raw=r.raw + '\n`[quote="admin, post:1"]`\n'))


def test_required_fields_of_a_modern_export_read_oui():
    from tests.catalogue.test_wcs_xml import MODERN_EXPORT
    from forumsync.catalogue.sources.wcs_xml import parse_export

    form = parse_export(MODERN_EXPORT)
    d = Demarche(source="meyzieu", collectivity="Meyzieu", slug=form.slug, title=form.title,
                 fields=tuple(form.fields))
    raw = render_group(Group("wcs-acte-naissance", [d]), {}).raw
    assert "| Nom de naissance | Texte | oui |" in raw
    assert "| Téléphone | Texte | non |" in raw


BLOCK_EXPORT = b"""<?xml version="1.0"?>
<formdef><name>Demande de raccordement</name><url_name>raccordement</url_name>
<fields>
  <field><type>block:adresse-postale</type><label type="str">Adresse du terrain</label>
    <required type="bool">True</required></field>
</fields></formdef>"""


def test_block_field_is_labelled_bloc_de_champs():
    """A w.c.s. block field's type is ``block:<slug du bloc>`` (BlockField.key): the topic
    should say « Bloc de champs », the label the renderer has for it, not the raw key."""
    from forumsync.catalogue.sources.wcs_xml import parse_export

    form = parse_export(BLOCK_EXPORT)
    d = Demarche(source="lyon", collectivity="Grand Lyon", slug=form.slug, title=form.title,
                 fields=tuple(form.fields))
    raw = render_group(Group("wcs-raccordement", [d]), {}).raw
    assert "| Adresse du terrain | Bloc de champs | oui |" in raw
