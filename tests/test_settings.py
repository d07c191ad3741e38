"""Settings: every key has a default; unknown or invalid keys are named in a French error."""
import subprocess
import sys
import textwrap

import pytest

from forumsync.settings import KEYS, Settings, SettingsError, load_settings
from tests.conftest import ROOT

CONTRACT_KEYS = ["DATABASE_URL", "FORUM_URL", "FORUM_API_KEY", "FORUM_API_USERNAME",
                 "FORUM_WEBHOOK_SECRET", "LIST_ADDRESS", "LIST_TAG", "BRIDGE_ADDRESS",
                 "PARENT_CATEGORY", "DEFAULT_THEME", "WEB_URL", "LMTP_LISTEN", "SMTP_URL",
                 "LOCALFORUM_WEBHOOK_URL", "CATALOGUE_SOURCES", "THEMES"]


def write(tmp_path, text):
    path = tmp_path / "s.py"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_contract_keys_exist():
    for key in CONTRACT_KEYS:
        assert key in KEYS


def test_example_settings_document_every_key():
    text = (ROOT / "settings.example.py").read_text(encoding="utf-8")
    for key in KEYS:
        assert f"\n{key} =" in text or f"\n# {key} =" in text, key
    settings = load_settings(ROOT / "settings.example.py")
    assert settings.THEMES and settings.DEFAULT_THEME in {t["slug"] for t in settings.THEMES}


def test_unknown_key_is_named_with_a_suggestion(tmp_path):
    path = write(tmp_path, 'FORUM_ULR = "http://x"\n')
    with pytest.raises(SettingsError, match="FORUM_ULR.*FORUM_URL"):
        load_settings(path)


@pytest.mark.parametrize("text,key", [
    ('FORUM_URL = "ftp://x"', "FORUM_URL"),
    ('LMTP_LISTEN = "localhost"', "LMTP_LISTEN"),
    ('SMTP_URL = "http://x"', "SMTP_URL"),
    ('DATABASE_URL = "mysql://x"', "DATABASE_URL"),
    ('LIST_ADDRESS = "pas une adresse"', "LIST_ADDRESS"),
    ('THEMES = [{"slug": "sve"}]', "THEMES"),
    ('THEMES = [{"slug": "sve", "name": "SVE", "lead_mails": []}]', "lead_mails"),
    ('CATALOGUE_SOURCES = [{"name": "a", "collectivity": "b", "type": "ftp"}]', "CATALOGUE_SOURCES"),
    ('DEFAULT_THEME = "nope"\nTHEMES = [{"slug": "sve", "name": "SVE"}]', "DEFAULT_THEME"),
])
def test_invalid_values_are_named(tmp_path, text, key):
    with pytest.raises(SettingsError, match=key):
        load_settings(write(tmp_path, text))


def test_an_unknown_theme_key_lists_every_key_and_suggests_one(tmp_path):
    """Operator review: « colour » was answered with the possible keys without « color »,
    « mirrored » or « group », the very keys settings.example.py documents."""
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, 'THEMES = [{"slug": "sve", "name": "SVE", "colour": "fff"}]'))
    message = str(raised.value)
    assert "vouliez-vous dire « color » ?" in message
    assert all(key in message.split("clés possibles :")[1] for key in ("color", "mirrored", "group"))


def test_defaults_and_derived_values(tmp_path):
    s = Settings({"DATABASE_URL": "sqlite:///var/x.sqlite3", "WEB_URL": "http://127.0.0.1:5001"},
                 base_dir=tmp_path)
    assert s.DATABASE_URL == f"sqlite:///{tmp_path}/var/x.sqlite3"
    assert s.LOCALFORUM_DATABASE_URL == f"sqlite:///{tmp_path}/var/x-localforum.sqlite3"
    assert s.LOCALFORUM_WEBHOOK_URL == "http://127.0.0.1:5001/webhooks/discourse"
    assert s.forum_host == "127.0.0.1"


def test_env_variable_and_cli_error(tmp_path):
    path = write(tmp_path, 'FORUM_URL = 42\n')
    result = subprocess.run([sys.executable, "-m", "forumsync.cli", "--settings", str(path),
                             "check-settings"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "FORUM_URL" in result.stderr and "Traceback" not in result.stderr
    ok = write(tmp_path, 'FORUM_API_KEY = "s3cret"\n')
    result = subprocess.run([sys.executable, "-m", "forumsync.cli", "check-settings"],
                            capture_output=True, text=True, env={"FORUMSYNC_SETTINGS": str(ok),
                                                                 "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "s3cret" not in result.stdout and "FORUM_API_KEY = '********'" in result.stdout


def test_a_settings_file_that_fails_says_where_and_that_python_says_so(tmp_path):
    from forumsync.settings import SettingsError, load_settings

    broken = tmp_path / "syntaxe.py"
    broken.write_text('THEMES = [\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"erreur de syntaxe Python ligne 1 \(Python dit : "):
        load_settings(broken)
    failing = tmp_path / "import.py"
    failing.write_text('LIST_NAME = "Club"\nimport module_absent_du_club\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"erreur à l'exécution du fichier ligne 2 \(ModuleNotFoundError, "
                                            r"Python dit : No module named"):
        load_settings(failing)


@pytest.mark.parametrize("name", ["settings", "settings.conf", "réglages.txt"])
def test_a_settings_file_not_named_py_is_read(tmp_path, name):
    """Operator review: « --settings /etc/forumsync/settings » (no « .py ») crashed with an
    AttributeError traceback (importlib finds no loader without the suffix); in a Postfix
    pipe that exit 1 bounced the list's mail."""
    path = tmp_path / name
    path.write_text('LIST_NAME = "Club des utilisateurs"\n', encoding="utf-8")
    assert load_settings(path).LIST_NAME == "Club des utilisateurs"


def test_a_directory_is_named_as_one(tmp_path):
    with pytest.raises(SettingsError, match="est un répertoire : donnez le fichier de réglages"):
        load_settings(tmp_path)


@pytest.mark.parametrize("source,said", [
    ({"type": "csv"}, "SUBSCRIBER_SOURCES[0] : la clé « path » (chaîne) est obligatoire pour csv"),
    ({"type": "mailman", "url": "http://127.0.0.1:8001/3.1"}, "la clé « list » (chaîne) est obligatoire pour mailman"),
    ({"name": "club", "path": "abonnes.csv"}, "la clé « type » est obligatoire (mailman ou csv)"),
    ({"type": "ldap", "path": "x"}, "SUBSCRIBER_SOURCES[0].type « ldap » inconnu (mailman ou csv)"),
])
def test_subscriber_sources_are_checked_when_loaded(tmp_path, source, said):
    """Operator review: check-settings called a csv source without « path » valid, then
    `community subscribers` died on a KeyError traceback."""
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, f"SUBSCRIBER_SOURCES = [{source!r}]"))
    assert said in str(raised.value)
    good = {"type": "csv", "name": "club", "path": "abonnes.csv"}
    assert load_settings(write(tmp_path, f"SUBSCRIBER_SOURCES = [{good!r}]")).SUBSCRIBER_SOURCES == [good]


@pytest.mark.parametrize("entry,said", [
    ({"name": "Vienne", "summary": 3}, "COLLECTIVITIES[0].summary doit être une chaîne"),
    ({"name": "Vienne", "software": "Publik"}, "COLLECTIVITIES[0].software doit être une liste de chaînes"),
    ({"summary": "Sans nom"}, "la clé « name » (nom de la collectivité) est obligatoire"),
    ({"name": "Vienne", "theme": ["sve"]}, "clé inconnue « theme » ; vouliez-vous dire « themes » ?"),
])
def test_collectivities_are_checked_when_loaded(tmp_path, entry, said):
    """Operator review: these passed check-settings, then `community directory` died on an
    AttributeError traceback, listed « P », « u », « b »… as software, or skipped the entry."""
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, f"COLLECTIVITIES = [{entry!r}]"))
    assert said in str(raised.value)
    from forumsync.demo.community import COLLECTIVITIES

    assert load_settings(write(tmp_path, f"COLLECTIVITIES = {COLLECTIVITIES!r}")).COLLECTIVITIES == COLLECTIVITIES


def test_a_subscriber_source_path_may_be_a_pathlib_path(tmp_path):
    """Red team, 49th pass: the new check refused a ``pathlib.Path`` as a csv « path », which
    always worked (community/rosters.py opens it); it is read as its string."""
    path = tmp_path / "settings.py"
    path.write_text("from pathlib import Path\n"
                    "SUBSCRIBER_SOURCES = [{'type': 'csv', 'name': 'club', 'path': Path('/srv/abonnes.csv')}]\n",
                    encoding="utf-8")
    assert load_settings(path).SUBSCRIBER_SOURCES == [{"type": "csv", "name": "club", "path": "/srv/abonnes.csv"}]
