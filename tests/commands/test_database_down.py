"""Commands that store mail open the database first: when it is down they say so in French,
with exit code 1 and no traceback, before reading or accepting anything."""
import pytest
from click.testing import CliRunner

from forumsync.cli import cli
from tests.fixtures.database import free_port


@pytest.mark.parametrize("command", [["import-mbox", "archive.mbox"], ["lmtp"]])
def test_database_down_is_a_french_error(tmp_path, command):
    (tmp_path / "archive.mbox").write_bytes(b"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nx\n")
    settings = tmp_path / "settings.py"
    settings.write_text(f'DATABASE_URL = "postgresql+psycopg://forumsync@127.0.0.1:{free_port()}/absente"\n'
                        f'LMTP_LISTEN = "127.0.0.1:{free_port()}"\n', encoding="utf-8")
    args = [str(tmp_path / a) if a.endswith(".mbox") else a for a in command]
    result = CliRunner().invoke(cli, ["--settings", str(settings), *args])
    assert result.exit_code == 1
    assert "Erreur : base de données inaccessible (OperationalError) : vérifiez DATABASE_URL" in result.output
    assert "Traceback" not in result.output
