"""`forumsync community …` against the local forum, with a settings file like a user's."""
from click.testing import CliRunner

from forumsync.cli import cli
from forumsync.demo import community as demo
from tests.community import forumdb


def settings_file(tmp_path, localforum, **extra):
    values = dict(localforum.settings_overrides, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
                  COLLECTIVITIES=demo.COLLECTIVITIES, RELEASE_FEEDS=demo.release_feeds(),
                  SUBSCRIBER_SOURCES=demo.subscriber_sources(), **extra)
    path = tmp_path / "reglages.py"
    path.write_text("".join(f"{k} = {v!r}\n" for k, v in values.items()), encoding="utf-8")
    return str(path)


def run(path, *args):
    result = CliRunner().invoke(cli, ["--settings", path, "community", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_community_commands_dry_run_then_real_then_idempotent(tmp_path, localforum):
    path = settings_file(tmp_path, localforum)
    out = run(path, "directory", "--dry-run")
    assert "Fiches créées : 9" in out and "Simulation" in out
    assert forumdb.category(localforum, "Annuaire des collectivités") is None
    assert "Fiches créées : 9" in run(path, "directory")
    again = run(path, "directory")
    assert "Fiches créées : 0" in again and "Fiches inchangées : 9" in again

    out = run(path, "releases")
    assert "Publik : 4 nouvelle(s) version(s), 0 déjà publiée(s)." in out
    assert "0 nouvelle(s) version(s), 4 déjà publiée(s)" in run(path, "releases")
    assert len(forumdb.topics(localforum, "Évolutions")) == 4

    out = run(path, "subscribers")
    assert "première lecture, 7 abonnés enregistrés" in out and "0 nouvel(s) abonné(s)" in out


def test_missing_sources_is_a_french_error(tmp_path, localforum):
    path = settings_file(tmp_path, localforum)
    text = open(path, encoding="utf-8").read().replace("SUBSCRIBER_SOURCES = [", "SUBSCRIBER_SOURCES = [] or [")
    text = text.replace("SUBSCRIBER_SOURCES = [] or [", "SUBSCRIBER_SOURCES = []\n_unused = [")
    open(path, "w", encoding="utf-8").write(text)
    result = CliRunner().invoke(cli, ["--settings", path, "community", "subscribers"])
    assert result.exit_code == 1 and "aucune source d'abonnés" in result.output
