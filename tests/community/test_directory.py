"""The collectivities directory and the restricted business-software census, on the local forum."""
import pytest

from forumsync.community import directory
from forumsync.community.common import CENSUS_CATEGORY, DIRECTORY_CATEGORY
from forumsync.context import Context
from tests.community import forumdb
from tests.fixtures.database import make_settings

COLLECTIVITIES = [
    {"name": "Meyzieu", "summary": "Démarches SVE et portail citoyen depuis 2019.",
     "themes": ["sve"], "software": ["Ciril GF", "Arpège Mélodie"]},
    {"name": "Montpellier Méditerranée Métropole", "summary": "Open data et démarches en ligne.",
     "themes": ["open-data"], "software": []},
    {"name": "Grand Lyon", "summary": "Portail famille métropolitain.", "themes": ["famille"],
     "software": ["Concerto"]},
]


def make_ctx(tmp_path, sqlite_url, localforum, collectivities):
    settings = make_settings(tmp_path, sqlite_url, COLLECTIVITIES=collectivities,
                             **localforum.settings_overrides)
    return Context(settings)


@pytest.fixture
def ctx(tmp_path, sqlite_url, localforum):
    context = make_ctx(tmp_path, sqlite_url, localforum, COLLECTIVITIES)
    yield context
    context.close()


def test_directory_and_census_created_then_zero_writes(ctx, localforum):
    report = directory.sync_directory(ctx)
    assert len(report.created) == 5  # 3 directory topics + 2 census topics (Montpellier lists none)
    annuaire = forumdb.topics(localforum, DIRECTORY_CATEGORY)
    assert [t["title"] for t in annuaire] == [
        "Meyzieu : fiche de la collectivité",
        "Montpellier Méditerranée Métropole : fiche de la collectivité",
        "Grand Lyon : fiche de la collectivité"]
    assert "Démarches SVE" in annuaire[0]["raw"] and "**Thèmes animés ou suivis** : SVE" in annuaire[0]["raw"]
    assert "Ciril" not in annuaire[0]["raw"]  # the software list never leaves the census
    census = forumdb.topics(localforum, CENSUS_CATEGORY)
    assert [t["title"] for t in census] == ["Meyzieu : logiciels métier", "Grand Lyon : logiciels métier"]
    assert "- Ciril GF" in census[0]["raw"]
    # the census category is readable only by the members group, which exists
    assert forumdb.category(localforum, CENSUS_CATEGORY)["permissions"] == {"membres": 1}
    assert ctx.forum.group_get("membres") is not None

    # second run: nothing written, not even a category lookup
    writes, requests = ctx.forum.stats["writes"], ctx.forum.stats["requests"]
    again = directory.sync_directory(ctx)
    assert again.writes == 0 and len(again.unchanged) == 5
    assert ctx.forum.stats["writes"] == writes
    assert ctx.forum.stats["requests"] == requests


def test_changes_are_edited_in_place_removals_closed(tmp_path, sqlite_url, localforum, ctx):
    directory.sync_directory(ctx)
    ctx.close()
    changed = [dict(COLLECTIVITIES[0], summary="Nouvelle fiche : SVE et prise de rendez-vous."),
               COLLECTIVITIES[1]]
    ctx2 = make_ctx(tmp_path, sqlite_url, localforum, changed)
    report = directory.sync_directory(ctx2)
    assert report.updated == ["Meyzieu (annuaire)"]
    assert sorted(report.closed) == ["Grand Lyon (annuaire)", "Grand Lyon (census)"]
    assert report.created == []
    annuaire = {t["title"]: t for t in forumdb.topics(localforum, DIRECTORY_CATEGORY)}
    assert len(annuaire) == 3  # edited in place, never duplicated nor deleted
    assert "prise de rendez-vous" in annuaire["Meyzieu : fiche de la collectivité"]["raw"]
    assert annuaire["Grand Lyon : fiche de la collectivité"]["closed"]
    writes = ctx2.forum.stats["writes"]
    assert directory.sync_directory(ctx2).writes == 0
    assert ctx2.forum.stats["writes"] == writes
    ctx2.close()
    # Grand Lyon comes back: its topic is reopened, not recreated
    ctx3 = make_ctx(tmp_path, sqlite_url, localforum, changed + [COLLECTIVITIES[2]])
    report = directory.sync_directory(ctx3)
    assert sorted(report.reopened) == ["Grand Lyon (annuaire)", "Grand Lyon (census)"]
    assert not forumdb.topics(localforum, DIRECTORY_CATEGORY)[2]["closed"]
    assert len(forumdb.topics(localforum, DIRECTORY_CATEGORY)) == 3
    ctx3.close()


def test_dry_run_writes_nothing(ctx, localforum):
    report = directory.sync_directory(ctx, dry_run=True)
    assert len(report.created) == 5
    assert ctx.forum.stats["writes"] == 0
    assert forumdb.category(localforum, DIRECTORY_CATEGORY) is None
