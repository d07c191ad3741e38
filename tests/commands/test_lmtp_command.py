"""`forumsync lmtp` as a real process: ready file, stores over LMTP, stops cleanly on SIGTERM."""
import os
import signal
import smtplib
import subprocess
import sys
import time

from sqlalchemy import select

from forumsync.db import Database
from forumsync.models import InboxMessage
from tests.conftest import ROOT
from tests.fixtures.pipeline import make_mail


def test_serves_until_sigterm(tmp_path, settings_file, settings):
    ready = tmp_path / "lmtp.ready"
    process = subprocess.Popen([sys.executable, "-m", "forumsync", "--settings", str(settings_file), "lmtp",
                                "--listen", "127.0.0.1:0", "--ready-file", str(ready)],
                               stderr=subprocess.PIPE, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        host, port = ready.read_text().strip().rsplit(":", 1)
        with smtplib.LMTP(host, int(port)) as c:
            c.ehlo("mta")
            assert c.sendmail("a@b.fr", ["club@listes.example.org"], make_mail(message_id="<p@x>")) == {}
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        err = process.stderr.read().decode()
        assert "à l'écoute" in err and "arrêté (1 message(s) enregistré(s))" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    db = Database(settings.DATABASE_URL)
    with db.session() as s:
        assert s.scalars(select(InboxMessage.message_id)).all() == ["p@x"]
    db.dispose()


def test_refuses_a_non_loopback_address(settings_file):
    from tests.fixtures.inbound import run_cli

    result = run_cli(settings_file, "lmtp", "--listen", "0.0.0.0:0")
    assert result.returncode == 1 and "--allow-remote" in result.stderr.decode()
