"""`forumsync doctor` reports each health check in French and fails when something is down."""
from click.testing import CliRunner

from forumsync.cli import cli
from tests.fixtures.database import free_port


def write_settings(tmp_path, forum_url):
    path = tmp_path / "settings.py"
    path.write_text(f'DATABASE_URL = "sqlite:///{tmp_path}/f.sqlite3"\n'
                    f'FORUM_URL = "{forum_url}"\nFORUM_API_KEY = "test-api-key-0123456789"\n'
                    f'LMTP_LISTEN = "127.0.0.1:{free_port()}"\n'
                    f'SMTP_URL = "smtp://127.0.0.1:{free_port()}"\n', encoding="utf-8")
    return path


def test_doctor_names_what_is_down(tmp_path, localforum):
    result = CliRunner().invoke(cli, ["--settings", str(write_settings(tmp_path, localforum.url)),
                                      "doctor"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    forum_line = next(line for line in lines if "forum" in line.lower())
    assert forum_line.startswith("OK")
    assert any(line.startswith("EN PANNE") and "LMTP" in line for line in lines)


def test_doctor_with_the_forum_down(tmp_path):
    path = write_settings(tmp_path, f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(cli, ["--settings", str(path), "doctor"])
    assert result.exit_code == 1
    assert any(line.startswith("EN PANNE") and "orum" in line for line in result.output.splitlines())
    assert "Traceback" not in result.output
