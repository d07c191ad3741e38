"""catalogue.plan on hand-built states (démarches read, topics recorded): no forum, no database."""
from forumsync.catalogue.model import Demarche, Field, Group
from forumsync.catalogue.plan import (Stored, current_demarches, plan, render, unique_titles)
from forumsync.models.catalogue_topic import CatalogueTopic
from forumsync.models.catalogue_variant import CatalogueVariant

TODAY = "2026-12-06"


def naissance(source="lyon", collectivity="Grand Lyon", **changes) -> Demarche:
    values = dict(source=source, collectivity=collectivity, slug="acte-naissance",
                  title="Demande d'acte de naissance", category="État civil",
                  fields=(Field("Nom", "string", True),), count=40, export=b"<formdef/>")
    values.update(changes)
    return Demarche(**values)


def published(*groups: Group, closed=False) -> Stored:
    """The records a previous run left for GROUPS, exactly as rendered then."""
    stored = Stored(variants={}, topics={})
    for n, group in enumerate(groups, 1):
        links = {v.key: f"sha256:{v.export_sha256}" for v in group.variants if v.export_sha256}
        rendered = render(group, links, None)
        stored.topics[group.external_id] = CatalogueTopic(
            external_id=group.external_id, topic_id=n, post_id=100 + n, title=rendered.title,
            category=rendered.category, tags=rendered.tags, closed=closed,
            raw_sha256=rendered.raw_sha256, content_hash=rendered.content_hash())
        for v in group.variants:
            stored.variants[v.key] = CatalogueVariant(
                source=v.source, kind=v.kind, slug=v.slug, collectivity=v.collectivity,
                external_id=group.external_id, data=v.to_data(), retired_on=v.retired_on,
                export_sha256=v.export_sha256, export_url="upload://x.wcs")
    return stored


def test_nothing_recorded_plans_one_creation_per_group():
    groups = [Group("wcs-acte-naissance", [naissance()]),
              Group("wcs-voirie", [naissance(slug="voirie", title="Signaler un problème de voirie")])]
    result = plan(groups, Stored({}, {}))
    assert [(c.group.external_id, c.action, c.topic) for c in result.changes] == [
        ("wcs-acte-naissance", "added", None), ("wcs-voirie", "added", None)]
    assert result.changes[0].summary.title == "Demande d'acte de naissance"
    assert result.unchanged == [] and result.records == []


def test_same_rendering_as_recorded_plans_zero_changes():
    group = Group("wcs-acte-naissance", [naissance()])
    result = plan([group], published(group))
    assert result.changes == [] and result.records == []
    assert [(c.external_id, c.action) for c in result.unchanged] == [
        ("wcs-acte-naissance", "unchanged")]


def test_a_daily_count_is_recorded_without_a_topic_change():
    group = Group("wcs-acte-naissance", [naissance(count=40)])
    busier = Group("wcs-acte-naissance", [naissance(count=41)])  # same popularity band
    result = plan([busier], published(group))
    assert result.changes == []
    assert [(eid, v.count) for eid, v in result.records] == [("wcs-acte-naissance", 41)]


def test_changed_fields_plan_an_update_with_a_french_reason():
    group = Group("wcs-acte-naissance", [naissance()])
    changed = Group("wcs-acte-naissance", [naissance(fields=(Field("Nom", "string", False),
                                                            Field("Lieu", "string", True)))])
    stored = published(group)
    [change] = plan([changed], stored).changes
    assert change.action == "updated" and change.topic is stored.topics["wcs-acte-naissance"]
    assert change.reason == "Champs modifiés : Nom (facultatif), Lieu (ajouté)"
    assert change.summary.before == stored.topics["wcs-acte-naissance"].content_hash
    assert change.summary.after == change.content_hash != change.summary.before


def test_nobody_offers_it_any_more_plans_a_retirement_once():
    group = Group("wcs-acte-naissance", [naissance()])
    gone = Group("wcs-acte-naissance", [naissance(retired_on=TODAY)])
    [change] = plan([gone], published(group)).changes
    assert (change.action, change.reason) == ("retired", "Retirée par Grand Lyon")
    assert plan([gone], published(gone, closed=True)).changes == []


def test_current_demarches_retire_only_what_a_read_source_no_longer_lists():
    lyon, meyzieu = naissance(), naissance(source="meyzieu", collectivity="Meyzieu")
    before = {lyon.key: lyon, meyzieu.key: meyzieu}
    # lyon answered without the form, meyzieu was down (not read): only lyon's is retired
    current = current_demarches(before, {"lyon": []}, TODAY)
    assert current[lyon.key].retired_on == TODAY and current[meyzieu.key].retired_on is None
    # a form already retired keeps its first retirement date
    again = current_demarches({lyon.key: current[lyon.key]}, {"lyon": []}, "2027-01-01")
    assert again[lyon.key].retired_on == TODAY


def test_groups_with_the_same_title_get_a_suffix():
    a = Group("wcs-a", [naissance(slug="a")])
    b = Group("wcs-b", [naissance(slug="b", source="meyzieu", collectivity="Meyzieu")])
    assert unique_titles([a, b]) == {"wcs-a": None, "wcs-b": " (b)"}
    result = plan([a, b], Stored({}, {}))
    assert [c.summary.title for c in result.changes] == [
        "Demande d'acte de naissance", "Demande d'acte de naissance (b)"]
