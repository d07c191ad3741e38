"""A database that is down (or a path that cannot be created) is a French error with exit code 1
and no traceback, in every command that uses it (an operator walkthrough found tracebacks in
all but three: 28th pass); commands that store mail say it before reading or accepting anything."""
import pytest
from click.testing import CliRunner

from forumsync.cli import cli
from tests.fixtures.database import free_port

COMMANDS = [["import-mbox", "archive.mbox"], ["lmtp"], ["inbox", "list"], ["outbox", "list"],
            ["events", "list"], ["themes"], ["worker", "--once"], ["catalogue", "list"]]


def _settings(tmp_path, database_url):
    (tmp_path / "archive.mbox").write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nx\n")
    settings = tmp_path / "settings.py"
    settings.write_text(f'DATABASE_URL = "{database_url}"\n'
                        f'LMTP_LISTEN = "127.0.0.1:{free_port()}"\n'
                        f'FORUM_URL = "http://127.0.0.1:{free_port()}"\n', encoding="utf-8")
    return settings


def _run(tmp_path, settings, command):
    args = [str(tmp_path / a) if a.endswith(".mbox") else a for a in command]
    return CliRunner().invoke(cli, ["--settings", str(settings), *args])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_database_down_is_a_french_error(tmp_path, command):
    settings = _settings(tmp_path, f"postgresql+psycopg://forumsync@127.0.0.1:{free_port()}/absente")
    result = _run(tmp_path, settings, command)
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a traceback
    assert result.exit_code == 1, result.output
    assert "Erreur : base de données inaccessible (OperationalError : " in result.output, result.output
    assert "vérifiez DATABASE_URL" in result.output


def test_a_sqlite_path_that_cannot_be_made_is_a_french_error(tmp_path):
    (tmp_path / "fichier").write_text("pas un dossier")
    settings = _settings(tmp_path, f"sqlite:///{tmp_path}/fichier/sous/forumsync.sqlite3")
    # (a command that writes: a listing names the missing database without opening it)
    result = _run(tmp_path, settings, ["inbox", "retry", "--all-quarantined"])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "Erreur : base de données inaccessible (" in result.output, result.output


def test_doctor_reports_the_database_as_down(tmp_path):
    settings = _settings(tmp_path, f"postgresql+psycopg://forumsync@127.0.0.1:{free_port()}/absente")
    result = _run(tmp_path, settings, ["doctor"])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "EN PANNE base de données : inaccessible (OperationalError : " in result.output, result.output


def test_a_command_without_a_settings_file_says_so(tmp_path, monkeypatch):
    """Operator walkthrough, 28th pass: « forumsync inbox list » without --settings (a forgotten
    FORUMSYNC_SETTINGS under sudo) answered « Aucun message. » from a new demo database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FORUMSYNC_SETTINGS", raising=False)
    result = CliRunner().invoke(cli, ["inbox", "list"])
    assert "Attention : aucun fichier de réglages (--settings FICHIER ou FORUMSYNC_SETTINGS)" in result.stderr
    assert f"base sqlite:///{tmp_path}/var/forumsync.sqlite3" in result.stderr
    # and no new demo database either: the listing names the one it did not find
    assert result.exit_code == 1 and f"aucune base forumsync à {tmp_path}/var/forumsync.sqlite3" in result.stderr
    assert not (tmp_path / "var").exists()
    quiet = CliRunner().invoke(cli, ["check-settings"])  # says it in its own words
    assert "Attention" not in quiet.stderr
