"""`forumsync worker`: --once drains the inbox; the long-running form stops on SIGTERM."""
import os
import signal
import subprocess
import sys

from click.testing import CliRunner

from forumsync.cli import cli
from tests.conftest import ROOT
from tests.fixtures.pipeline import make_mail
from tests.waiting import wait_until


def _settings_file(tmp_path, pipe) -> str:
    s = pipe.ctx.settings
    path = tmp_path / "settings_worker.py"
    path.write_text(
        f"DATABASE_URL = {s.DATABASE_URL!r}\nFORUM_URL = {s.FORUM_URL!r}\n"
        f"FORUM_API_KEY = {s.FORUM_API_KEY!r}\nFORUM_API_USERNAME = {s.FORUM_API_USERNAME!r}\n"
        f"LOCALFORUM_DATABASE_URL = {s.LOCALFORUM_DATABASE_URL!r}\nTHEMES = {s.THEMES!r}\n"
        f"DEFAULT_THEME = {s.DEFAULT_THEME!r}\n", encoding="utf-8")
    return str(path)


def test_worker_once_publishes_what_waits(tmp_path, pipe):
    ids = [pipe.feed(make_mail(f"Sujet du worker {n}")) for n in range(3)]
    result = CliRunner().invoke(cli, ["--settings", _settings_file(tmp_path, pipe), "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "3 élément(s) traité(s)." in result.output
    assert [pipe.row(i).state for i in ids] == ["published"] * 3


def test_worker_runs_until_sigterm(tmp_path, pipe):
    settings = _settings_file(tmp_path, pipe)
    proc = subprocess.Popen([sys.executable, "-m", "forumsync", "--settings", settings, "worker"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        inbox_id = pipe.feed(make_mail("Publié par le worker en marche"))
        # the worker process starts first (seconds on a loaded machine): a generous wait
        wait_until(lambda: pipe.row(inbox_id).state == "published", 90, "la publication par le worker")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "Worker arrêté." in output
