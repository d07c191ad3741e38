"""`forumsync provision` against the real local forum over HTTP, write calls counted."""
from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from forumsync.cli import cli
from forumsync.context import Context
from forumsync.localforum.models import Category, Group, GroupUser, Post, User
from forumsync.themes.desired import PALETTE, group_name, theme_color
from forumsync.themes.provision import category_id_for_theme, provision
from tests.fixtures.database import make_settings

WRITE_METHODS = {"POST", "PUT", "DELETE", "PATCH"}
# Each test provisions the forum several times within a minute (about 35 requests a run): the
# forum's admin API limit is raised as an operator would (DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE);
# pacing under Discourse's default is tested in tests/forum and tests/localforum.
pytestmark = pytest.mark.admin_api_limit(600)


class Runner:
    """Runs provisioning with a fresh Context (fresh gateway counters) on one forumsync DB."""

    def __init__(self, tmp_path, sqlite_url, forum):
        self.tmp_path = tmp_path
        self.sqlite_url = sqlite_url
        self.forum = forum
        self.overrides: dict = {}
        self.ctx = None

    def settings(self):
        return make_settings(self.tmp_path, self.sqlite_url, **self.forum.settings_overrides,
                             **self.overrides)

    def run(self, **kw):
        """(result, gateway writes, write requests the forum received)."""
        if self.ctx is not None:
            self.ctx.close()
        self.ctx = Context(self.settings())
        seen = len(self.forum.requests)
        result = provision(self.ctx, **kw)
        received = [r for r in self.forum.requests[seen:] if r[0] in WRITE_METHODS]
        return result, self.ctx.forum.stats["writes"], received

    def close(self):
        if self.ctx is not None:
            self.ctx.close()


@pytest.fixture
def runner(tmp_path, sqlite_url, localforum):
    localforum.create_user("animatrice", "animatrice@meyzieu.fr", "Anne Animatrice")
    localforum.set_site_setting("enable_category_group_moderation", True)
    localforum.set_site_setting("retry_web_hook_events", True)
    r = Runner(tmp_path, sqlite_url, localforum)
    yield r
    r.close()


def categories(forum) -> dict[str, Category]:
    with forum.session() as s:
        return {c.slug: c for c in s.scalars(select(Category))}


def theme_category(forum, slug: str) -> Category:
    with forum.session() as s:
        parent = s.scalar(select(Category).where(Category.name == "Club Publik"))
        return s.scalar(select(Category).where(Category.slug == slug,
                                               Category.parent_category_id == parent.id))


def memberships(forum, group: str) -> dict[str, bool]:
    """{username: owner} of GROUP."""
    with forum.session() as s:
        rows = s.execute(select(User.username, GroupUser.owner).join(GroupUser.user)
                         .join(GroupUser.group).where(Group.name == group))
        return dict(rows.all())


def test_from_empty_creates_everything_with_exactly_the_needed_writes(runner, localforum):
    result, writes, received = runner.run()
    # 1 parent + 4 groups + 1 owners call (the one lead with an account) + 4 categories, and
    # each category's description written in its About topic (Discourse's category_params
    # has no description)
    assert writes == 15
    assert len(received) == 15
    about_posts = [("PUT", f"/posts/{post_id}.json") for post_id in _about_post_ids(localforum)]
    assert sorted(received) == sorted([("POST", "/categories.json")] * 5
                                      + [("POST", "/admin/groups.json")] * 4
                                      + [("PUT", f"/groups/{_group_id(localforum, 'animateurs-sve')}/owners.json")]
                                      + about_posts)
    with localforum.session() as s:
        parent = s.scalar(select(Category).where(Category.name == "Club Publik"))
        assert parent.parent_category_id is None and parent.slug == "club-publik"
        subs = {c.slug: c for c in s.scalars(select(Category).where(
            Category.parent_category_id == parent.id))}
        assert set(subs) == {"sve", "open-data", "famille", "general"}
        sve = subs["sve"]
        assert sve.name == "SVE"
        assert sve.description == "Thème animé par Meyzieu. Saisine par voie électronique."
        assert sve.color == theme_color({"slug": "sve"}) and sve.color in PALETTE
        group = s.scalar(select(Group).where(Group.name == "animateurs-sve"))
        assert group.full_name == "Animateurs SVE"
        assert sve.moderating_group_ids == [group.id]
        assert subs["open-data"].custom_fields == {"forumsync_theme": "open-data",
                                                   "forumsync_lead": "Montpellier"}
        assert subs["general"].description == "Thème animé par Entr'ouvert. Tout le reste."
    assert memberships(localforum, "animateurs-sve") == {"animatrice": True}
    assert category_id_for_theme(runner.ctx, "sve") == theme_category(localforum, "sve").id
    assert all(c.before is None for c in result.changes if c.field is None)
    assert result.warnings == []


def _about_post_ids(forum) -> list[int]:
    """The first post of every About topic of a non-default category."""
    with forum.session() as s:
        topic_ids = [c.topic_id for c in s.scalars(select(Category)) if c.topic_id]
        return list(s.scalars(select(Post.id).where(Post.topic_id.in_(topic_ids),
                                                    Post.post_number == 1)))


def _group_id(forum, name):
    with forum.session() as s:
        return s.scalar(select(Group.id).where(Group.name == name))


def test_second_run_makes_no_write(runner, localforum):
    runner.run()
    result, writes, received = runner.run()
    assert result.changes == []
    assert writes == 0 and received == []
    assert result.report()[0] == "Le forum est déjà conforme aux thèmes des réglages."
    assert result.before["themes"]["sve"] == result.after["themes"]["sve"]


def test_progress_reaches_the_callback_given_by_the_caller(runner, capsys):
    """The library reports progress(stage, done, total) while applying, and prints nothing."""
    calls = []
    result, _, _ = runner.run(dry_run=True, progress=lambda *call: calls.append(call))
    assert calls == [] and result.applied == []  # planning only: nothing to report
    result, _, _ = runner.run(progress=lambda *call: calls.append(call))
    total = len(result.applied)
    assert total == 10 and calls == [("changes", done, total) for done in range(total + 1)]
    assert capsys.readouterr().out == ""


def test_progress_bar_only_on_a_terminal_for_provision(capsys):
    """The command draws the bar (tqdm on stderr); provision's only on a terminal."""
    from forumsync.commands.progress import TerminalProgress

    for terminal_only in (True, False):
        with TerminalProgress({"changes": ("Provisionnement", "modification")},
                              terminal_only=terminal_only) as bar:
            bar("changes", 0, 2)
            bar("changes", 2, 2)
        shown = capsys.readouterr().err
        assert ("Provisionnement" in shown) is not terminal_only  # capsys: not a terminal
    assert "2/2" in shown


def test_lost_state_matches_existing_categories_instead_of_duplicating(runner, localforum, tmp_path):
    runner.run()
    runner.sqlite_url = f"sqlite:///{tmp_path / 'other.sqlite3'}"  # forumsync's memory is gone
    result, writes, _ = runner.run()
    assert (result.changes, writes) == ([], 0)
    assert category_id_for_theme(runner.ctx, "famille") == theme_category(localforum, "famille").id


def test_dry_run_prints_the_french_diff_and_writes_nothing(runner, localforum, tmp_path):
    settings_file = tmp_path / "reglages.py"
    values = runner.settings().as_dict()
    keys = ("DATABASE_URL", "FORUM_URL", "FORUM_API_KEY", "FORUM_API_USERNAME", "THEMES",
            "DEFAULT_THEME", "PARENT_CATEGORY", "LOCALFORUM_DATABASE_URL")
    settings_file.write_text("".join(f"{k} = {values[k]!r}\n" for k in keys), encoding="utf-8")
    before = len(localforum.requests)
    out = CliRunner().invoke(cli, ["--settings", str(settings_file), "provision", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "Modifications prévues (essai, rien n'est écrit) :" in out.output
    assert "catégorie parente « Club Publik » : à créer" in out.output
    assert ("catégorie « SVE » (sve) : à créer (nom « SVE » ; identifiant « sve » ; description "
            "« Thème animé par Meyzieu. Saisine par voie électronique. »") in out.output
    assert "groupe « animateurs-sve » : animateurs (membres et propriétaires) à ajouter : animatrice" in out.output
    assert "Compte absent du forum (thème open-data) : data@montpellier3m.fr" in out.output
    assert [r for r in localforum.requests[before:] if r[0] in WRITE_METHODS] == []
    assert set(categories(localforum)) == {"uncategorized"}
    # the real run then applies what the dry run announced, and says so
    out = CliRunner().invoke(cli, ["--settings", str(settings_file), "provision"])
    assert out.exit_code == 0, out.output
    assert "10 modification(s) appliquée(s), 15 appel(s) d'écriture au forum." in out.output
    assert "Provisionnement" not in out.output  # no progress bar when stderr is not a terminal


def test_dry_run_on_a_provisioned_forum_shows_before_and_after(runner, localforum):
    runner.run()
    runner.overrides = {"THEMES": [dict(t, name="Données ouvertes") if t["slug"] == "open-data" else t
                                   for t in runner.settings().THEMES]}
    result, writes, received = runner.run(dry_run=True)
    assert (writes, received) == (0, [])
    assert "  - catégorie « Données ouvertes » (open-data) : nom : « Open data » → « Données ouvertes »" \
        in result.report()
    assert theme_category(localforum, "open-data").name == "Open data"


def test_renamed_theme_renames_its_category(runner, localforum):
    runner.run()
    category_id = theme_category(localforum, "sve").id
    count = len(categories(localforum))
    runner.overrides = {"THEMES": [dict(t, name="Saisine électronique") if t["slug"] == "sve" else t
                                   for t in runner.settings().THEMES]}
    result, writes, received = runner.run()
    assert sorted((c.field, c.before, c.after) for c in result.changes) == [
        ("full_name", "Animateurs SVE", "Animateurs Saisine électronique"),
        ("name", "SVE", "Saisine électronique")]
    assert writes == 2
    group_id = localforum.client().group("animateurs-sve")["group"]["id"]
    assert sorted(received) == sorted([("PUT", f"/categories/{category_id}.json"),
                                       ("PUT", f"/groups/{group_id}.json")])
    assert localforum.client().group("animateurs-sve")["group"]["full_name"] == \
        "Animateurs Saisine électronique"
    renamed = theme_category(localforum, "sve")
    assert (renamed.id, renamed.name) == (category_id, "Saisine électronique")
    assert len(categories(localforum)) == count
    assert runner.run()[1] == 0


def test_changed_slug_keeps_the_category_found_by_name(runner, localforum):
    runner.run()
    category_id = theme_category(localforum, "famille").id
    runner.overrides = {"THEMES": [dict(t, slug="portail-famille") if t["slug"] == "famille" else t
                                   for t in runner.settings().THEMES]}
    result, writes, _ = runner.run()
    moved = theme_category(localforum, "portail-famille")
    assert moved.id == category_id
    assert moved.custom_fields["forumsync_theme"] == "portail-famille"
    assert category_id_for_theme(runner.ctx, "portail-famille") == category_id
    assert ("slug", "famille", "portail-famille") in [(c.field, c.before, c.after) for c in result.changes]


def test_hand_edit_is_reported_as_drift_and_repaired_on_request(runner, localforum):
    runner.run()
    with localforum.session() as s:
        sve = s.get(Category, theme_category(localforum, "sve").id)
        sve.color = "FF0000"
        sve.moderating_group_ids = []
        sve_id = sve.id
    result, writes, received = runner.run()
    assert (writes, received) == (0, [])
    assert sorted((c.field, c.before, c.after, c.drift) for c in result.changes) == sorted([
        ("color", "FF0000", theme_color({"slug": "sve"}), True),
        ("moderating_group_ids", [], [_group_id(localforum, "animateurs-sve")], True)])
    report = result.report()
    assert any(line.startswith("  - dérive : catégorie « SVE » (sve) : couleur : « FF0000 »")
               and line.endswith("(non réparée : relancer avec --repair)") for line in report)
    assert theme_category(localforum, "sve").color == "FF0000"

    result, writes, received = runner.run(repair=True)
    assert writes == 1 and received == [("PUT", f"/categories/{sve_id}.json")]
    repaired = theme_category(localforum, "sve")
    assert repaired.color == theme_color({"slug": "sve"})
    assert repaired.moderating_group_ids == [_group_id(localforum, "animateurs-sve")]
    assert runner.run()[0].changes == []


def test_drift_advice_names_the_command_whole(runner, localforum, tmp_path):
    """Operator review: doctor advised « Lancez « forumsync provision » --repair. » (the option
    outside the quotes), and « provision --repair --dry-run » told to rerun with --repair."""
    from forumsync.web.forum_health import themes_provisioned
    from tests.fixtures.inbound import write_settings_file

    runner.run()
    with localforum.session() as s:
        s.get(Category, theme_category(localforum, "sve").id).color = "FF0000"
    runner.run(dry_run=True)
    assert themes_provisioned(runner.ctx).fix.startswith("Lancez « forumsync provision --repair »")
    path = str(write_settings_file(tmp_path, runner.settings()))
    essay = CliRunner().invoke(cli, ["--settings", path, "provision", "--repair", "--dry-run", "--no-progress"])
    assert essay.exit_code == 0, essay.output
    assert "relancer avec" not in essay.output
    assert "1 dérive(s) à réparer : « forumsync provision --repair » (sans --dry-run) les répare." in essay.output
    plain = CliRunner().invoke(cli, ["--settings", path, "provision", "--dry-run", "--no-progress"])
    assert "1 dérive(s) non réparée(s) : relancer avec « forumsync provision --repair »." in plain.output


def test_settings_change_is_applied_even_where_the_forum_drifted(runner, localforum):
    runner.run()
    with localforum.session() as s:
        s.get(Category, theme_category(localforum, "general").id).color = "FF0000"
    runner.overrides = {"THEMES": [dict(t, color="#123abc") if t["slug"] == "general" else t
                                   for t in runner.settings().THEMES]}
    result, writes, _ = runner.run()
    assert [(c.field, c.drift) for c in result.changes] == [("color", False)]
    assert writes == 1 and theme_category(localforum, "general").color == "123ABC"


def test_category_deleted_by_hand_is_drift_and_recreated_with_repair(runner, localforum):
    runner.run()
    old_id = theme_category(localforum, "famille").id
    with localforum.session() as s:
        from forumsync.localforum import categories as lf_categories
        lf_categories.delete_category(s, s.get(Category, old_id))
    result, writes, _ = runner.run()
    assert writes == 0
    assert [(c.object, c.field, c.drift) for c in result.changes] == [
        ("catégorie « Portail famille » (famille)", None, True)]
    assert "dérive : catégorie « Portail famille » (famille) : à recréer (supprimé sur le forum)" \
        in result.report()[1]
    assert theme_category(localforum, "famille") is None

    result, writes, received = runner.run(repair=True)
    assert writes == 2 and received[0] == ("POST", "/categories.json")
    assert received[1][0] == "PUT" and received[1][1].startswith("/posts/")  # its About post
    new_id = theme_category(localforum, "famille").id
    assert new_id != old_id
    assert category_id_for_theme(runner.ctx, "famille") == new_id
    assert runner.run()[1] == 0


def test_lead_group_members_are_owners_and_missing_accounts_are_reported(runner, localforum):
    localforum.create_user("collegue", "collegue@meyzieu.fr", "Collègue")
    localforum.create_group("animateurs-sve", usernames=["animatrice"], full_name="Animateurs SVE")
    runner.overrides = {"THEMES": [dict(t, lead_emails=["animatrice@meyzieu.fr", "collegue@meyzieu.fr",
                                                        "absente@meyzieu.fr"])
                                   if t["slug"] == "sve" else t for t in runner.settings().THEMES]}
    result, _, received = runner.run()
    group_id = _group_id(localforum, "animateurs-sve")
    assert received.count(("PUT", f"/groups/{group_id}/owners.json")) == 1
    assert ("POST", "/admin/groups.json") in received  # the three other groups
    assert memberships(localforum, "animateurs-sve") == {"animatrice": True, "collegue": True}
    assert result.missing_accounts == [("sve", "absente@meyzieu.fr"),
                                       ("open-data", "data@montpellier3m.fr")]
    with localforum.session() as s:
        assert s.scalar(select(User).where(User.email == "absente@meyzieu.fr")) is None
    assert any("Compte absent du forum (thème sve) : absente@meyzieu.fr — non créé" in line
               for line in result.report())

    # the account is created later: the next run adds it, and only it
    localforum.create_user("data34", "data@montpellier3m.fr", "Service données")
    result, writes, received = runner.run()
    assert writes == 1
    assert received == [("PUT", f"/groups/{_group_id(localforum, 'animateurs-open-data')}/owners.json")]
    assert memberships(localforum, "animateurs-open-data") == {"data34": True}


def test_staged_lead_account_is_not_a_lead(runner, localforum):
    localforum.create_user("data_staged", "data@montpellier3m.fr", staged=True)
    result, _, _ = runner.run()
    assert ("open-data", "data@montpellier3m.fr") in result.missing_accounts
    assert memberships(localforum, "animateurs-open-data") == {}


def test_warns_when_category_group_moderation_is_off(runner, localforum):
    localforum.set_site_setting("enable_category_group_moderation", False)
    result, writes, _ = runner.run(dry_run=True)
    assert writes == 0
    assert len(result.warnings) == 1
    assert "« enable_category_group_moderation » du forum est désactivé" in result.warnings[0]
    assert "il serait activé" in result.warnings[0]
    assert result.report()[-1].startswith("Attention : le réglage")
    assert any(c.field == "enable_category_group_moderation" for c in result.changes)


def test_turns_webhook_retries_on(runner, localforum):
    """Jobs::EmitWebHookEvent retries only with retry_web_hook_events (off by default)."""
    localforum.set_site_setting("retry_web_hook_events", False)
    result, _, received = runner.run()
    assert received[0] == ("PUT", "/admin/site_settings/retry_web_hook_events.json")
    assert any("« retry_web_hook_events »" in w for w in result.warnings)
    from forumsync.localforum import sitesettings
    with localforum.session() as s:
        assert sitesettings.get(s, "retry_web_hook_events") is True


def test_turns_category_group_moderation_on_before_setting_moderating_groups(runner, localforum):
    """Discourse drops moderating_group_ids while the setting is off: provision enables it
    first, so the lead groups really moderate and a second run writes nothing."""
    localforum.set_site_setting("enable_category_group_moderation", False)
    result, _, received = runner.run()
    assert received[0] == ("PUT", "/admin/site_settings/enable_category_group_moderation.json")
    from forumsync.localforum import sitesettings
    with localforum.session() as s:
        assert sitesettings.get(s, "enable_category_group_moderation") is True
    assert theme_category(localforum, "sve").moderating_group_ids == [
        _group_id(localforum, "animateurs-sve")]
    result, writes, _ = runner.run()
    assert writes == 0 and result.changes == []


def test_forum_ignores_moderating_groups_while_the_setting_is_off(localforum):
    """The local forum, like CategoriesController#category_params, drops the parameter."""
    group = localforum.create_group("animateurs-x")
    url, headers = localforum.url, localforum.headers()
    created = requests.post(f"{url}/categories.json", headers=headers, timeout=10, json={
        "name": "Sans modération", "moderating_group_ids": [group["id"]]}).json()["category"]
    assert created["moderating_group_ids"] == []
    localforum.set_site_setting("enable_category_group_moderation", True)
    answer = requests.put(f"{url}/categories/{created['id']}.json", headers=headers, timeout=10,
                          json={"name": "Sans modération", "moderating_group_ids": [group["id"]]})
    assert answer.status_code == 200
    with localforum.session() as s:
        assert s.get(Category, created["id"]).moderating_group_ids == [group["id"]]


def test_description_lives_in_the_about_topic_and_a_second_run_writes_nothing(runner, localforum):
    runner.run()
    sve = theme_category(localforum, "sve")
    with localforum.session() as s:
        about = s.scalar(select(Post).where(Post.topic_id == sve.topic_id, Post.post_number == 1))
        assert about.raw == "Thème animé par Meyzieu. Saisine par voie électronique."
    # a hand edit of the About post is seen as drift of the description, and repaired
    with localforum.session() as s:
        from forumsync.localforum import posts as lf_posts
        post = s.scalar(select(Post).where(Post.topic_id == sve.topic_id, Post.post_number == 1))
        lf_posts.update_post(s, post.user, post, "Modifié à la main sur le forum.")
    assert theme_category(localforum, "sve").description == "Modifié à la main sur le forum."
    result, writes, _ = runner.run(repair=True)
    assert [c.field for c in result.changes] == ["description"]
    assert writes == 1
    assert theme_category(localforum, "sve").description == (
        "Thème animé par Meyzieu. Saisine par voie électronique.")
    result, writes, received = runner.run()
    assert writes == 0 and received == []


def test_without_the_plugin_no_custom_fields_are_written(runner, localforum):
    localforum.faults.fail(404, seconds=120, path=r"^/forumsync/")
    runner.run()
    sve = theme_category(localforum, "sve")
    assert sve.custom_fields == {}
    assert sve.moderating_group_ids == [_group_id(localforum, "animateurs-sve")]
    localforum.faults.clear()
    # the plugin appears: only the fields are added, one write per category
    result, writes, _ = runner.run()
    assert writes == 4
    assert {c.field for c in result.changes} == {"forumsync_theme", "forumsync_lead"}
    assert theme_category(localforum, "sve").custom_fields == {"forumsync_theme": "sve",
                                                               "forumsync_lead": "Meyzieu"}


def test_group_names_fit_discourse_limit():
    assert group_name("sve") == "animateurs-sve"
    assert group_name("open-data") == "animateurs-open-data"
    assert group_name("portail-famille") == "animateurs-portail"
    assert len(group_name("x" * 40)) == 20


def test_unreachable_forum_is_a_french_error_not_a_traceback(tmp_path, sqlite_url):
    settings_file = tmp_path / "reglages.py"
    settings_file.write_text(f"DATABASE_URL = {sqlite_url!r}\nFORUM_URL = 'http://127.0.0.1:9'\n"
                             "FORUM_RETRIES = 0\n", encoding="utf-8")
    out = CliRunner().invoke(cli, ["--settings", str(settings_file), "provision", "--dry-run"])
    assert out.exit_code == 1
    assert "Erreur : le forum a refusé ou n'a pas répondu : forum injoignable" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


PORTAILS = [
    dict(slug="portail-famille", name="Portail famille", description="Inscriptions scolaires.",
         lead="Grand Lyon", lead_emails=["famille@grandlyon.com"], tags=["FAMILLE"],
         keywords=["portail famille"]),
    dict(slug="portail-citoyen", name="Portail citoyen", description="Compte usager, démarches.",
         lead="Nîmes", lead_emails=["citoyen@nimes.fr"], tags=["CITOYEN"], keywords=["portail citoyen"]),
]


def test_two_themes_never_share_a_lead_group(tmp_path, sqlite_url, localforum):
    """Red team, 31st pass: « portail-famille » and « portail-citoyen » both gave the lead group
    « animateurs-portail » (names cut to 20 characters): one group moderated both categories,
    each lead the other's. The settings refuse it; a theme's « group » key settles it."""
    from forumsync.settings import SettingsError

    with pytest.raises(SettingsError, match="« animateurs-portail » serait aussi celui du thème "
                                            "« portail-famille ».*clé « group »"):
        make_settings(tmp_path, sqlite_url, THEMES=PORTAILS, DEFAULT_THEME="portail-famille")
    localforum.create_user("lyon", "famille@grandlyon.com", "Lucie Lyon")
    localforum.create_user("nimes", "citoyen@nimes.fr", "Noé Nîmes")
    localforum.set_site_setting("enable_category_group_moderation", True)
    localforum.set_site_setting("retry_web_hook_events", True)
    runner = Runner(tmp_path, sqlite_url, localforum)
    runner.overrides = dict(THEMES=[PORTAILS[0], dict(PORTAILS[1], group="animateurs-citoyen")],
                            DEFAULT_THEME="portail-famille")
    try:
        runner.run()
    finally:
        runner.close()
    with localforum.session() as s:
        names = {g.id: g.name for g in s.scalars(select(Group))}
    famille = {names[i] for i in theme_category(localforum, "portail-famille").moderating_group_ids}
    citoyen = {names[i] for i in theme_category(localforum, "portail-citoyen").moderating_group_ids}
    assert (famille, citoyen) == ({"animateurs-portail"}, {"animateurs-citoyen"})
    assert "nimes" not in memberships(localforum, "animateurs-portail")
    assert "lyon" not in memberships(localforum, "animateurs-citoyen")


def test_a_lead_removed_from_the_settings_leaves_the_group(runner, localforum):
    """Red team, 31st pass: SVE's lead_emails changed from Meyzieu's address to Grand Lyon's,
    and the former lead (made owner by forumsync) kept moderating the category. A member
    added by hand stays."""
    runner.run()
    assert memberships(localforum, "animateurs-sve") == {"animatrice": True}
    localforum.create_user("lyon_sve", "sve@grandlyon.com", "Service SVE Grand Lyon")
    localforum.create_user("renfort", "renfort@meyzieu.fr", "Renfort ajouté à la main")
    with localforum.session() as s:  # a member a moderator added by hand
        group = s.scalar(select(Group).where(Group.name == "animateurs-sve"))
        user = s.scalar(select(User).where(User.username == "renfort"))
        s.add(GroupUser(group_id=group.id, user_id=user.id, owner=False))
    runner.overrides = {"THEMES": [dict(t, lead="Grand Lyon", lead_emails=["sve@grandlyon.com"])
                                   if t["slug"] == "sve" else t for t in runner.settings().THEMES]}
    result, _, _ = runner.run()
    assert memberships(localforum, "animateurs-sve") == {"lyon_sve": True, "renfort": False}
    assert any("anciens animateurs (absents de lead_emails) à retirer du groupe : animatrice" in line
               for line in result.report()), result.report()
    again, writes, _ = runner.run()
    assert writes == 0  # nothing left to do


def test_a_member_added_by_hand_then_named_lead_then_unnamed_stays(runner, localforum):
    """Red team, 32nd pass: a co-moderator added by hand, later named in lead_emails and then
    removed from it, was taken out of the group: forumsync only records (and so only removes)
    the members it added itself."""
    runner.run()
    localforum.create_user("renfort", "renfort@meyzieu.fr", "Renfort ajouté à la main")
    with localforum.session() as s:
        group = s.scalar(select(Group).where(Group.name == "animateurs-sve"))
        user = s.scalar(select(User).where(User.username == "renfort"))
        s.add(GroupUser(group_id=group.id, user_id=user.id, owner=False))
    themes = runner.settings().THEMES
    runner.overrides = {"THEMES": [dict(t, lead_emails=[*t["lead_emails"], "renfort@meyzieu.fr"])
                                   if t["slug"] == "sve" else t for t in themes]}
    runner.run()
    assert memberships(localforum, "animateurs-sve")["renfort"] is True  # made owner
    runner.overrides = {"THEMES": themes}
    runner.run()
    assert "renfort" in memberships(localforum, "animateurs-sve")


def test_a_lead_forumsync_added_then_renamed_leaves_when_unnamed(runner, localforum):
    """Red team, 33rd pass: a lead forumsync made, who renamed her account on the forum, was
    no longer recorded under her new name and stayed in the group once her address left
    lead_emails. The address recorded for her keeps her recorded."""
    runner.run()
    assert memberships(localforum, "animateurs-sve") == {"animatrice": True}
    with localforum.session() as s:
        s.scalar(select(User).where(User.username == "animatrice")).username = "anne"
    runner.run()  # same settings: nothing to do, the memory is written again
    localforum.create_user("lyon_sve", "sve@grandlyon.com", "Service SVE Grand Lyon")
    runner.overrides = {"THEMES": [dict(t, lead_emails=["sve@grandlyon.com"]) if t["slug"] == "sve" else t
                                   for t in runner.settings().THEMES]}
    runner.run()
    assert memberships(localforum, "animateurs-sve") == {"lyon_sve": True}
