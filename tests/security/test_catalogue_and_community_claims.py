"""Red-team pass 12: w.c.s. authors, forum members, list senders against the catalogue,
the themes and the community jobs."""
from forumsync.catalogue.sync import sync_catalogue
from forumsync.community import directory
from forumsync.community.common import CENSUS_CATEGORY
from forumsync.context import Context
from tests.community.test_directory import COLLECTIVITIES
from tests.fixtures.database import make_settings


def _forum_category(ctx, category_id):
    return next(c for c in ctx.forum.category_list() if c["id"] == category_id)


def test_a_wcs_category_named_like_the_census_does_not_receive_the_census(
        tmp_path, sqlite_url, localforum, wcs_server):
    # a w.c.s. form author names their category like forumsync's members-only census
    # (case and accents differ: the catalogue compares names exactly, the census by fold)
    wcs_server.add_instance("evil", "Commune piégée")
    wcs_server.add_form("evil", "piege", "Une démarche tout à fait banale",
                        category=("recensement", "RECENSEMENT DES LOGICIELS METIER"))
    settings = make_settings(tmp_path, sqlite_url, CATALOGUE_SOURCES=[wcs_server.source("evil")],
                             COLLECTIVITIES=COLLECTIVITIES, **localforum.settings_overrides)
    ctx = Context(settings)
    try:
        summary = sync_catalogue(ctx, progress=False)
        assert summary.errors == []
        # later, the operator turns on the directory: the census must be members-only
        report = directory.sync_directory(ctx)
        assert report.errors == []
        census_topics = [t for t in (ctx.forum.topic_by_external_id(e["external_id"])
                                     for e in directory.desired_entries(settings)
                                     if e["kind"] == "census")]
        for topic in census_topics:
            category = _forum_category(ctx, topic["category_id"])
            assert category.get("read_restricted"), (
                f"census topic « {topic['title']} » published in public category "
                f"« {category['name']} »")
    finally:
        ctx.close()


def test_a_wrongly_typed_api_answer_fails_its_source_only(tmp_path, sqlite_url, localforum,
                                                          wcs_server):
    # one collectivity's w.c.s. answers a status name that is a number (a hostile or broken
    # server: JSON types are its choice); the other collectivities must still be published
    wcs_server.add_instance("meyzieu", "Meyzieu")
    wcs_server.add_form("meyzieu", "acte-naissance", "Demande d'acte de naissance")
    wcs_server.add_instance("evil", "Commune piégée")
    wcs_server.add_form("evil", "piege", "Une démarche tout à fait banale",
                        statuses=["Nouveau", 5])
    settings = make_settings(tmp_path, sqlite_url,
                             CATALOGUE_SOURCES=[wcs_server.source("meyzieu"),
                                                wcs_server.source("evil")],
                             **localforum.settings_overrides)
    ctx = Context(settings)
    try:
        summary = sync_catalogue(ctx, progress=False)  # TypeError today: the whole sync stops
        assert summary.added == 1
        assert any("evil" in e for e in summary.errors)
        assert ctx.forum.topic_by_external_id("wcs-acte-naissance") is not None
    finally:
        ctx.close()


def test_a_huge_export_description_is_bounded_before_render_and_check():
    # an export well under MAX_EXPORT_BYTES whose description is bare domain names: every one
    # becomes an explicit link (x4.4), then the whole text goes through live_syntax, in the
    # worker's loop, with no budget (a 5 Mo export: 23 Mo of Markdown, 17 s to render and
    # 100+ s to check, at every sync since the forum refuses the post and nothing is recorded)
    from forumsync.catalogue.model import group_demarches
    from forumsync.catalogue.render import render_group
    from forumsync.catalogue.sources.wcs_xml import demarches_from_exports

    xml = (b"<formdef><name>Une d\xc3\xa9marche banale</name><url_name>banale</url_name>"
           b"<description>" + b"a.fr " * 40_000 + b"</description><fields/></formdef>")
    assert len(xml) < 5 * 1024 * 1024
    demarches = demarches_from_exports([("banale.wcs", xml)], source="evil",
                                       collectivity="Commune piégée")
    rendered = render_group(group_demarches(demarches, 90)[0], {})
    assert len(rendered.raw) <= 120_000, len(rendered.raw)


def test_a_census_category_anyone_may_read_receives_no_census(tmp_path, sqlite_url, localforum):
    """Defence in depth: whoever made a public top-level category of the census's name (an
    operator's slip, an earlier version), the census is not published there; the reason is
    reported."""
    settings = make_settings(tmp_path, sqlite_url, COLLECTIVITIES=COLLECTIVITIES,
                             **localforum.settings_overrides)
    ctx = Context(settings)
    try:
        ctx.forum.category_create(CENSUS_CATEGORY)
        report = directory.sync_directory(ctx)
        assert any("tout le monde peut la lire" in e for e in report.errors), report.errors
        census = [e for e in directory.desired_entries(settings) if e["kind"] == "census"]
        assert census and all(ctx.forum.topic_by_external_id(e["external_id"]) is None for e in census)
        annuaire = [e for e in directory.desired_entries(settings) if e["kind"] == "annuaire"]
        assert all(ctx.forum.topic_by_external_id(e["external_id"]) is not None for e in annuaire)
    finally:
        ctx.close()
