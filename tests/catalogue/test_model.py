"""Grouping the same démarche across collectivities, and stable external ids."""
import re

from forumsync.catalogue.model import Demarche, Field, external_id_for, group_demarches


def d(source, slug, title, kind="form", **kw):
    return Demarche(source=source, collectivity=source.title(), slug=slug, title=title, kind=kind, **kw)


def ids(groups):
    return {g.external_id: sorted(v.source for v in g.variants) for g in groups}


def test_same_slug_is_one_group_whatever_the_titles():
    groups = group_demarches([d("a", "acte-naissance", "Acte de naissance"),
                              d("b", "acte-naissance", "Demander une copie d'acte")], 90)
    assert ids(groups) == {"wcs-acte-naissance": ["a", "b"]}


def test_similar_titles_are_grouped_above_the_threshold_only():
    variants = [d("a", "acte-naissance", "Demande d'acte de naissance"),
                d("b", "naissance-acte", "Demande d’acte de naissance"),   # other apostrophe
                d("c", "naiss", "DEMANDE D'ACTE DE NAISSANCE !"),          # case, punctuation
                d("d", "mariage", "Demande d'acte de mariage")]
    assert ids(group_demarches(variants, 90)) == {"wcs-acte-naissance": ["a", "b", "c"],
                                                  "wcs-mariage": ["d"]}
    # "naissance" vs "mariage": about 80 % similar; a lower threshold merges them
    assert len(group_demarches(variants, 70)) == 1


def test_one_collectivity_offers_one_variant_per_topic():
    variants = [d("a", "acte-naissance", "Demande d'acte de naissance"),
                d("a", "acte-naissance-bis", "Demande d'acte de naissance")]
    assert len(group_demarches(variants, 90)) == 2


def test_forms_and_workflows_never_mix_and_workflow_ids_are_prefixed():
    groups = group_demarches([d("a", "suivi", "Suivi des demandes"),
                              d("b", "suivi", "Suivi des demandes", kind="workflow")], 90)
    assert ids(groups) == {"wcs-suivi": ["a"], "wcs-wf-suivi": ["b"]}


def test_known_variants_keep_their_topic():
    known = {("b", "form", "naissance-acte"): "wcs-naissance-acte"}
    variants = [d("a", "acte-naissance", "Demande d'acte de naissance"),
                d("b", "naissance-acte", "Demande d'acte de naissance")]
    # b already had its own topic: it stays there, and a (new) joins it by title
    assert ids(group_demarches(variants, 90, known)) == {"wcs-naissance-acte": ["a", "b"]}


def test_external_ids_are_short_safe_and_unique():
    long_slug = "demande-de-" + "tres-" * 20 + "longue"
    eid = external_id_for("form", long_slug)
    assert len(eid) <= 50 and re.fullmatch(r"[\w-]+", eid) and eid.startswith("wcs-demande-de-")
    assert external_id_for("form", long_slug + "-2") != eid
    assert external_id_for("form", "Démarche Été/2024") == "wcs-demarche-ete-2024"
    # two slugs that clean up to the same id get distinct ids
    groups = group_demarches([d("a", "Ete-2024", "Premier formulaire d'été"),
                              d("b", "ete-2024", "Tout autre chose ici")], 90)
    assert len({g.external_id for g in groups}) == 2
    assert all(len(g.external_id) <= 50 for g in groups)


def test_data_round_trip_drops_the_export_bytes():
    v = d("a", "x", "Titre", fields=(Field("Nom", "string", True),), export=b"<formdef/>")
    data = v.to_data()
    assert "export" not in data and data["export_sha256"] and data["export_size"] == 10
    back = Demarche.from_data(data)
    assert back == v and back.export is None
