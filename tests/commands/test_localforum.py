"""`forumsync localforum` serves the forum on FORUM_URL with the admin user and key."""
import os
import signal
import subprocess
import sys
import time

import requests

from tests.conftest import ROOT
from tests.fixtures.database import free_port


def test_command_serves_forum_with_admin(tmp_path):
    port = free_port()
    settings = tmp_path / "settings.py"
    settings.write_text(
        f'DATABASE_URL = "sqlite:///{tmp_path}/fs.sqlite3"\n'
        f'FORUM_URL = "http://127.0.0.1:{port}"\n'
        'FORUM_API_KEY = "cle-de-test"\n'
        'FORUM_API_USERNAME = "admin"\n')
    process = subprocess.Popen([sys.executable, "-m", "forumsync", "--settings", str(settings),
                                "localforum", "--no-webhooks"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        headers = {"Api-Key": "cle-de-test", "Api-Username": "admin"}
        # A process starting on a loaded machine: a generous wait, and a slow first answer
        # (ReadTimeout) is not mistaken for a failure.
        deadline = time.monotonic() + 90
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/u/admin.json", headers=headers,
                                        timeout=30)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert response is not None, process.stderr.read() if process.poll() is not None else ""
        assert response.status_code == 200
        assert response.json()["user"]["admin"] is True
        assert (tmp_path / "fs-localforum.sqlite3").exists()
        wrong = requests.get(f"http://127.0.0.1:{port}/u/admin.json", timeout=30,
                             headers={"Api-Key": "autre", "Api-Username": "admin"})
        assert wrong.status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
    assert "Forum local sur" in out


def test_command_reports_busy_port_in_french(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = tmp_path / "settings.py"
        settings.write_text(f'DATABASE_URL = "sqlite:///{tmp_path}/fs.sqlite3"\n'
                            f'FORUM_URL = "http://127.0.0.1:{port}"\n')
        result = subprocess.run([sys.executable, "-m", "forumsync", "--settings", str(settings),
                                 "localforum", "--no-webhooks"], cwd=ROOT, capture_output=True,
                                text=True, timeout=30, env={**os.environ})
    assert result.returncode != 0
    assert "impossible d'écouter" in result.stderr
    assert "Traceback" not in result.stderr
