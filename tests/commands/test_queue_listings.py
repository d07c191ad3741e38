"""`forumsync outbox list` and `events list`: every state they offer is shown in French, and
a row count that SQL would read as « no limit » (SQLite) or refuse (PostgreSQL) is refused."""
import pytest
from click.testing import CliRunner

from forumsync.cli import cli
from forumsync.context import Context
from forumsync.models.outbox import OUTBOX_STATES
from forumsync.outbound import compose, outbox
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import write_settings_file


@pytest.fixture
def context(tmp_path, sqlite_url):
    ctx = Context(make_settings(tmp_path, sqlite_url))
    yield ctx
    ctx.close()


@pytest.fixture
def settings_file(tmp_path, context):
    return str(write_settings_file(tmp_path, context.settings))


def invoke(settings_file, *args):
    return CliRunner().invoke(cli, ["--settings", settings_file, *args])


def test_every_outbox_state_is_listed_in_french(context, settings_file):
    for state in OUTBOX_STATES:  # none stored yet: « Aucun courriel <état> »
        result = invoke(settings_file, "outbox", "list", "--state", state)
        assert result.exit_code == 0 and result.exception is None, result.output
        assert result.output.startswith("Aucun courriel ") and state not in result.output
    mail = compose.compose_personal(context.settings, to="marie@meyzieu.fr", subject="Essai",
                                    text="Bonjour.")
    with context.db.session() as s:
        outbox.enqueue(s, "mail:essai", mail, ["club@listes.example.org"])
    with context.db.session() as s:
        assert outbox.drop(s, 1, "écarté à la main")
    listed = invoke(settings_file, "outbox", "list", "--state", "dropped")
    assert listed.exit_code == 0 and " écarté " in listed.output and "dropped" not in listed.output
    again = invoke(settings_file, "outbox", "retry", "1")
    assert again.exit_code == 1 and "courriel n° 1 écarté : rien à relancer" in again.output


@pytest.mark.parametrize("family", ["outbox", "events"])
@pytest.mark.parametrize("limit", ["0", "-1"])
def test_list_limit_must_be_positive(settings_file, family, limit):
    result = invoke(settings_file, family, "list", "--limit", limit)
    assert result.exit_code == 2 and "--limit" in result.output, result.output


def test_a_state_has_one_french_word_in_every_listing_and_on_the_dashboard():
    """Operator review: a dropped message was « ignoré » in inbox list, « écarté » in outbox
    list and on the dashboard. The command line (singular) and the dashboard (plural) agree."""
    from forumsync.commands.inbox import STATE_FR
    from forumsync.commands.outbox import STATE_LABELS
    from forumsync.web.stats import INBOX_LABELS, OUTBOX_LABELS

    for singular, plural in ((STATE_FR, INBOX_LABELS), (STATE_LABELS, OUTBOX_LABELS)):
        for state in ("dropped", "published", "sent", "quarantined", "failed", "retry"):
            if state in singular and state in plural:
                assert plural[state] in (singular[state], singular[state] + "s"), state
    assert STATE_FR["dropped"] == STATE_LABELS["dropped"] == "écarté"


@pytest.mark.parametrize("command", [["inbox", "list"], ["inbox", "show", "1"], ["outbox", "list"],
                                     ["events", "list"]])
def test_a_listing_of_a_database_that_does_not_exist_names_its_path(tmp_path, command):
    """Operator review: a mistyped DATABASE_URL showed « Aucun message. » (an empty inbox) and
    left a new empty database behind; the listing names the missing file instead."""
    missing = tmp_path / "erreur-de-frappe" / "forumsync.sqlite3"
    settings = tmp_path / "settings.py"
    settings.write_text(f"DATABASE_URL = 'sqlite:///{missing}'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--settings", str(settings), *command])
    assert result.exit_code == 1, result.output
    assert f"aucune base forumsync à {missing} (DATABASE_URL)" in result.output
    assert not missing.exists() and not missing.parent.exists()


def test_a_command_that_writes_says_when_it_creates_the_database(tmp_path, caplog):
    """Operator review: a command that writes creates a SQLite database that does not exist
    (the first run needs it); a mistyped DATABASE_URL went unnoticed. It is said, once."""
    new = tmp_path / "ailleurs" / "forumsync.sqlite3"
    settings = tmp_path / "settings.py"
    settings.write_text(f"DATABASE_URL = 'sqlite:///{new}'\n", encoding="utf-8")
    first = CliRunner().invoke(cli, ["--settings", str(settings), "inbox", "retry", "--all-quarantined"])
    assert new.exists(), first.output
    # (the command's log goes to stderr; under pytest, to caplog)
    assert f"Note : nouvelle base forumsync créée à {new}" in caplog.text
    caplog.clear()
    again = CliRunner().invoke(cli, ["--settings", str(settings), "inbox", "retry", "--all-quarantined"])
    assert again.exit_code == first.exit_code and "nouvelle base" not in caplog.text
