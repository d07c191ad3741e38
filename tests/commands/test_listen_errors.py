"""A port already in use is a French error with exit code 1 (operator walkthrough, 28th pass:
``serve`` showed an OSError traceback, ``lmtp`` asyncio's English « error while attempting to
bind on address … »)."""
import socket

import pytest
from click.testing import CliRunner

from forumsync.cli import cli


@pytest.fixture
def busy_port():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    yield busy.getsockname()[1]
    busy.close()


@pytest.mark.parametrize("command", ["serve", "lmtp"])
def test_a_port_in_use_is_a_french_error(tmp_path, busy_port, command):
    settings = tmp_path / "settings.py"
    settings.write_text(f'DATABASE_URL = "sqlite:///{tmp_path}/fs.sqlite3"\n'
                        f'WEB_URL = "http://127.0.0.1:{busy_port}"\n'
                        f'LMTP_LISTEN = "127.0.0.1:{busy_port}"\n', encoding="utf-8")
    args = ["serve", "--no-worker"] if command == "serve" else ["lmtp"]
    result = CliRunner().invoke(cli, ["--settings", str(settings), *args])
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert (f"Erreur : impossible d'écouter sur 127.0.0.1:{busy_port} : adresse déjà utilisée"
            in result.output), result.output
    assert "error while" not in result.output and "Errno" not in result.output
