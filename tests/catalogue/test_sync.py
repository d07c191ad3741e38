"""The catalogue sync against the w.c.s. test server and the real local forum over HTTP."""
import pytest

from forumsync.catalogue.sync import CatalogueError, sync_catalogue
from forumsync.context import Context
from tests.conftest import real_data
from tests.fixtures.database import make_settings

NAISSANCE = "Demande d'acte de naissance"


class Env:
    """Three collectivities on the w.c.s. test server, forumsync pointed at the local forum."""

    def __init__(self, tmp_path, db_url, localforum, wcs_server, extra_sources=()):
        self.forum, self.wcs, self.tmp_path, self.db_url = localforum, wcs_server, tmp_path, db_url
        wcs = wcs_server
        wcs.add_instance("meyzieu", "Meyzieu")
        wcs.add_instance("lyon", "Grand Lyon")
        wcs.add_instance("grenoble", "Grenoble")
        wcs.add_form("meyzieu", "acte-naissance", NAISSANCE, keywords=["naissance"], count=40)
        wcs.add_form("lyon", "acte-naissance", NAISSANCE, keywords=["naissance"], count=4000,
                     description="Copie intégrale ou extrait.")
        wcs.add_form("meyzieu", "inscription-cantine", "Inscription à la cantine scolaire",
                     category=("ecole", "École"), keywords=["cantine", "périscolaire"])
        wcs.add_form("grenoble", "cantine-inscription", "Inscription a la cantine scolaire.",
                     category=("ecole", "École"), keywords=["cantine"])
        wcs.add_form("lyon", "voirie", "Signaler un problème de voirie", category=None)
        self.sources = [wcs.source("meyzieu"), wcs.source("lyon"), wcs.source("grenoble"),
                        *extra_sources]
        self.settings = make_settings(tmp_path, db_url, CATALOGUE_SOURCES=self.sources,
                                      **localforum.settings_overrides)
        self.ctx = Context(self.settings)

    def sync(self, **kw):
        kw.setdefault("progress", False)
        return sync_catalogue(self.ctx, **kw)

    def topic(self, external_id):
        return self.ctx.forum.topic_by_external_id(external_id)

    def first_post(self, external_id):
        topic = self.topic(external_id)
        return self.ctx.forum.post_get(topic["post_stream"]["posts"][0]["id"])

    def close(self):
        self.ctx.close()


@pytest.fixture
def env(tmp_path, sqlite_url, localforum, wcs_server):
    e = Env(tmp_path, sqlite_url, localforum, wcs_server)
    yield e
    e.close()


def writes(forum_requests, since):
    return [(m, p) for m, p in list(forum_requests)[since:] if m != "GET"]


def test_sync_then_resync_makes_zero_writes(tmp_path, db_url, localforum, wcs_server):
    env = Env(tmp_path, db_url, localforum, wcs_server)
    try:
        summary = env.sync()
        assert summary.errors == []
        assert (summary.added, summary.updated, summary.unchanged, summary.retired) == (3, 0, 0, 0)
        # grouped: same slug (Meyzieu + Grand Lyon), similar titles (Meyzieu + Grenoble)
        naissance = env.topic("wcs-acte-naissance")
        cantine = env.topic("wcs-cantine-inscription")
        voirie = env.topic("wcs-voirie")
        assert naissance["title"] == NAISSANCE
        assert sorted(t["name"] for t in naissance["tags"]) == ["naissance"]
        raw = env.first_post("wcs-acte-naissance")["raw"]
        assert "[Grand Lyon](" in raw and "[Meyzieu](" in raw
        assert raw.count("|attachment](upload://") == 2  # one .wcs export per collectivity
        assert "plus de 1 000 demandes" in raw
        assert "Grenoble" in env.first_post("wcs-cantine-inscription")["raw"]
        # one category, one subcategory per w.c.s. category
        categories = {c["id"]: c for c in env.ctx.forum.category_list()}
        root = next(c for c in categories.values() if c["name"] == "Catalogue des démarches")
        assert categories[naissance["category_id"]]["name"] == "État civil"
        assert categories[naissance["category_id"]]["parent_category_id"] == root["id"]
        assert categories[cantine["category_id"]]["name"] == "École"
        assert voirie["category_id"] == root["id"]

        # re-sync, with a fresh context (a new process): no forum call at all
        env.close()
        env.ctx = Context(env.settings)
        before_log = len(localforum.requests)
        again = env.sync()
        assert (again.added, again.updated, again.unchanged, again.retired) == (0, 0, 3, 0)
        assert again.errors == []
        assert env.ctx.forum.stats["writes"] == 0 and env.ctx.forum.stats["requests"] == 0
        assert list(localforum.requests)[before_log:] == []
    finally:
        env.close()


def test_change_edits_the_first_post_with_a_reason(env):
    env.sync()
    post_before = env.first_post("wcs-acte-naissance")
    env.wcs.change_form("lyon", "acte-naissance",
                        fields=[("Nom", "string", False), ("Prénom", "string", True),
                                ("Lieu de naissance", "string", True)])
    summary = env.sync()
    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 2)
    [change] = summary.changes
    assert change.external_id == "wcs-acte-naissance" and change.before != change.after
    post = env.first_post("wcs-acte-naissance")
    assert post["id"] == post_before["id"]  # edited in place, never re-created
    assert post["edit_reason"].startswith(
        "Champs modifiés (Grand Lyon) : Nom (facultatif), Lieu de naissance (ajouté), "
        "Courriel (retiré)")
    assert "| Lieu de naissance | Texte | oui |" in post["raw"]
    # and once published, the change costs nothing more
    mark = len(env.forum.requests)
    assert env.sync().unchanged == 3
    assert writes(env.forum.requests, mark) == []


def test_removal_marks_retired_then_closes_when_nobody_offers_it(env):
    env.sync()
    env.wcs.remove_form("meyzieu", "acte-naissance")
    partial = env.sync()
    assert (partial.updated, partial.retired) == (1, 0)
    assert partial.changes[0].reason == "Retirée par Meyzieu"
    topic = env.topic("wcs-acte-naissance")
    assert not topic["closed"]
    assert "**Retirée par** : Meyzieu" in env.first_post("wcs-acte-naissance")["raw"]

    env.wcs.remove_form("lyon", "acte-naissance")
    gone = env.sync()
    assert (gone.updated, gone.retired, gone.unchanged) == (0, 1, 2)
    topic = env.topic("wcs-acte-naissance")  # never deleted
    assert topic["closed"] is True
    assert "retiree" in [t["name"] for t in topic["tags"]]
    assert "**Démarche retirée**" in env.first_post("wcs-acte-naissance")["raw"]
    mark = len(env.forum.requests)
    assert env.sync().unchanged == 3
    assert writes(env.forum.requests, mark) == []

    # offered again: reopened, the notice and the tag go away
    env.wcs.add_form("lyon", "acte-naissance", NAISSANCE, keywords=["naissance"])
    back = env.sync()
    assert back.updated == 1 and "De nouveau proposée par Grand Lyon" in back.changes[0].reason
    topic = env.topic("wcs-acte-naissance")
    assert topic["closed"] is False and "retiree" not in [t["name"] for t in topic["tags"]]


def test_a_down_source_is_reported_and_nothing_is_closed(env):
    env.sync()
    env.wcs.instances["grenoble"].down = True
    env.wcs.instances["lyon"].forms.clear()  # lyon really withdrew everything
    summary = env.sync()
    assert len(summary.errors) == 1
    assert summary.errors[0].startswith("source « grenoble » (Grenoble) ignorée : ")
    assert "erreur HTTP 503" in summary.errors[0]
    assert summary.retired == 1  # voirie (lyon only) is closed: lyon answered
    assert env.topic("wcs-voirie")["closed"] is True
    cantine = env.topic("wcs-cantine-inscription")
    assert cantine["closed"] is False
    raw = env.first_post("wcs-cantine-inscription")["raw"]
    assert "Retirée par" not in raw and "[Grenoble](" in raw and "retirée le" not in raw

    # even all sources down: nothing retired, nothing written
    for inst in env.wcs.instances.values():
        inst.down = True
    mark = len(env.forum.requests)
    down = env.sync()
    assert len(down.errors) == 3 and down.retired == 0 and down.updated == 0
    assert writes(env.forum.requests, mark) == []


def test_a_malformed_export_skips_its_source_only(env):
    env.sync()
    env.wcs.instances["meyzieu"].malformed.add("inscription-cantine")
    env.wcs.remove_form("meyzieu", "acte-naissance")  # would be a retirement if meyzieu were read
    env.wcs.change_form("grenoble", "cantine-inscription", statuses=["Reçue", "Validée"])
    summary = env.sync()
    assert len(summary.errors) == 1
    assert "meyzieu" in summary.errors[0] and "export de « inscription-cantine » illisible" \
        in summary.errors[0]
    assert [(c.external_id, c.action) for c in summary.changes] == [
        ("wcs-cantine-inscription", "updated")]
    assert summary.changes[0].reason == "Statuts du workflow modifiés (Grenoble)"
    raw = env.first_post("wcs-acte-naissance")["raw"]
    assert "Retirée par" not in raw and "[Meyzieu](" in raw


def test_dry_run_writes_nothing_and_reports_what_would_change(env):
    mark = len(env.forum.requests)
    dry = env.sync(dry_run=True)
    assert (dry.added, dry.updated, dry.retired) == (3, 0, 0) and dry.dry_run
    assert "Simulation" in dry.french()
    assert writes(env.forum.requests, mark) == []
    assert env.ctx.forum.stats["writes"] == 0
    real = env.sync()
    assert real.added == 3  # the dry run stored nothing either
    env.wcs.remove_form("lyon", "voirie")
    mark = len(env.forum.requests)
    dry = env.sync(dry_run=True)
    assert dry.retired == 1 and writes(env.forum.requests, mark) == []
    assert env.topic("wcs-voirie")["closed"] is False
    assert env.sync().retired == 1


def test_one_source_only_and_unknown_source(env):
    summary = env.sync(source="lyon")
    assert summary.added == 2  # acte-naissance and voirie, lyon's variants only
    assert env.wcs.count(instance="meyzieu") == 0 and env.wcs.count(instance="grenoble") == 0
    assert "[Meyzieu](" not in env.first_post("wcs-acte-naissance")["raw"]
    # the others join later without touching lyon's
    summary = env.sync()
    assert (summary.added, summary.updated, summary.unchanged) == (1, 1, 1)
    assert summary.changes[0].reason == "Nouvelle collectivité : Meyzieu"
    with pytest.raises(CatalogueError, match="source inconnue « paris »"):
        env.sync(source="paris")


def test_forum_state_is_found_again_when_our_records_are_lost(tmp_path, localforum, wcs_server):
    first = Env(tmp_path, f"sqlite:///{tmp_path / 'one.sqlite3'}", localforum, wcs_server)
    first.sync()
    first.close()
    settings = first.settings.replace(DATABASE_URL=f"sqlite:///{tmp_path / 'two.sqlite3'}",
                                      LOCALFORUM_DATABASE_URL=localforum.database_url)
    ctx = Context(settings)
    try:
        summary = sync_catalogue(ctx, progress=False)
        # same topics (by external_id), same first posts: no topic created, no post edited
        assert summary.errors == [] and (summary.added, summary.unchanged) == (0, 3)
        assert ctx.forum.stats["POST"] == 5  # only the five .wcs uploads are sent again
        assert ctx.forum.stats["PUT"] == 0
    finally:
        ctx.close()


def test_real_exports_directory_is_published(tmp_path, sqlite_url, localforum):
    source = {"name": "imio", "collectivity": "iMio", "type": "directory",
              "path": str(real_data("wcs"))}
    settings = make_settings(tmp_path, sqlite_url, CATALOGUE_SOURCES=[source],
                             **localforum.settings_overrides)
    ctx = Context(settings)
    try:
        summary = sync_catalogue(ctx, progress=False)
        assert summary.errors == [] and summary.added == 2
        form = ctx.forum.topic_by_external_id("wcs-signaler-un-luminaire-en-panne")
        assert form["title"] == "Signaler un luminaire en panne"
        raw = ctx.forum.post_get(form["post_stream"]["posts"][0]["id"])["raw"]
        assert ("| [iMio](https://staging-formulaires.guichet-citoyen.be/signaler-un-luminaire-en-panne/)"
                " | Signaler un luminaire en panne | Environnement |") in raw
        assert "désactivée" in raw
        assert "[signaler-un-luminaire-en-panne.wcs|attachment](upload://" in raw
        wf = ctx.forum.topic_by_external_id("wcs-wf-imio-candidature-enseignement")
        assert wf["title"] == "Workflow : iMio - Candidature Enseignement"
        raw = ctx.forum.post_get(wf["post_stream"]["posts"][0]["id"])["raw"]
        assert "1. Juste envoyé\n2. Boucle Fiche\n3. Création fiche\n4. Candidature enregistrée" in raw
        assert "| Lien du règlement communal | Texte | oui | Option du workflow |" in raw
        assert sync_catalogue(ctx, progress=False).unchanged == 2
    finally:
        ctx.close()


def test_new_category_and_keywords_move_and_retag_the_topic(env):
    env.sync()
    env.wcs.change_form("lyon", "voirie", category=("voirie", "Voirie"), keywords=["Espace public"])
    summary = env.sync()
    assert summary.updated == 1
    assert summary.changes[0].reason == ("Catégorie modifiée ; Mots-clés modifiés ; "
                                         "Export .wcs mis à jour")
    topic = env.topic("wcs-voirie")
    category = next(c for c in env.ctx.forum.category_list() if c["id"] == topic["category_id"])
    assert category["name"] == "Voirie"
    assert [t["name"] for t in topic["tags"]] == ["espace-public"]


def test_daily_submissions_do_not_rewrite_topics(env):
    env.sync()
    env.wcs.change_form("lyon", "acte-naissance", count=4321)  # still "plus de 1 000"
    mark = len(env.forum.requests)
    summary = env.sync()
    assert summary.unchanged == 3 and writes(env.forum.requests, mark) == []
    from sqlalchemy import select

    from forumsync.models.catalogue_variant import CatalogueVariant
    with env.ctx.db.session() as s:  # the figure itself is kept up to date in our records
        row = s.scalar(select(CatalogueVariant).filter_by(source="lyon", slug="acte-naissance"))
        assert row.data["count"] == 4321
    env.wcs.change_form("lyon", "acte-naissance", count=12000)  # "plus de 10 000"
    summary = env.sync()
    assert summary.updated == 1 and summary.changes[0].reason == "Popularité mise à jour (Grand Lyon)"


def test_forum_down_interrupts_and_the_next_run_resumes_without_duplicates(
        tmp_path, sqlite_url, localforum, wcs_server):
    env = Env(tmp_path, sqlite_url, localforum, wcs_server)
    env.settings = env.settings.replace(FORUM_RETRIES=0)
    env.ctx.close()
    env.ctx = Context(env.settings)
    try:
        # uploads go through, then every topic creation answers 500
        localforum.faults.fail(500, seconds=60, method="POST", path=r"^/posts")
        summary = env.sync()
        assert summary.added == 0
        assert summary.errors and summary.errors[-1].startswith(
            "forum indisponible, synchronisation interrompue")
        localforum.faults.clear()
        again = env.sync()
        assert again.errors == [] and again.added == 3
        assert env.sync().unchanged == 3
        with localforum.session() as s:
            from sqlalchemy import func, select

            from forumsync.localforum.models import Topic
            assert s.scalar(select(func.count()).select_from(Topic).where(
                Topic.external_id.like("wcs-%"))) == 3
    finally:
        env.close()


def test_a_refused_topic_is_reported_and_the_others_are_published(env):
    env.forum.set_site_setting("min_topic_title_length", 28)
    summary = env.sync()
    # "Demande d'acte de naissance" (27 characters) is refused, the two others go through
    assert summary.added == 2 and len(summary.errors) == 1
    assert summary.errors[0].startswith(f"« {NAISSANCE} » refusée par le forum : Title is too short")
    env.forum.set_site_setting("min_topic_title_length", 15)
    retry = env.sync()
    assert (retry.added, retry.unchanged, retry.errors) == (1, 2, [])


def test_progress_reaches_the_callback_given_by_the_caller(env, capsys):
    """The library reports progress(stage, done, total) and prints nothing itself."""
    calls = []
    summary = env.sync(progress=lambda stage, done, total: calls.append((stage, done, total)))
    sources = [c for c in calls if c[0] == "sources"]
    groups = [c for c in calls if c[0] == "groups"]
    assert sources[0] == ("sources", 0, 3) and sources[-1] == ("sources", 3, 3)
    total = groups[0][2]
    assert total == summary.added + summary.updated + summary.retired + summary.unchanged
    assert groups[-1] == ("groups", total, total)
    assert [d for _, d, _ in groups] == list(range(total + 1))
    captured = capsys.readouterr()
    assert captured.out == "" and "Catalogue" not in captured.err
