"""Red-team pass 12: the demo-secrets refusal looks at FORUM_URL and WEB_URL only, never at
WEB_LISTEN, the address serve actually binds. WEB_LISTEN = "0.0.0.0:…" with the default
(loopback) WEB_URL serves webhooks, /inbound/mail and the dashboard to the network with
FORUM_WEBHOOK_SECRET = "demo-webhook-secret", INBOUND_TOKEN = "demo-inbound-token"."""
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from forumsync.settings_secrets import demo_secrets_refusal
from tests.fixtures.database import make_settings

FORUMSYNC = Path(sys.executable).with_name("forumsync")


@pytest.mark.parametrize("listen", ["0.0.0.0:5000", "[::]:5000", "192.0.2.10:5000"])
def test_demo_secrets_are_refused_when_serve_listens_off_the_loopback(tmp_path, sqlite_url, listen):
    settings = make_settings(tmp_path, sqlite_url, FORUM_URL="http://127.0.0.1:4200",
                             WEB_URL="http://127.0.0.1:5000", WEB_LISTEN=listen)
    refusal = demo_secrets_refusal(settings)
    assert refusal is not None and "WEB_LISTEN" in refusal


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_all_interfaces_with_demo_secrets_does_not_start(tmp_path):
    port = _free_port()
    settings = tmp_path / "reglages.py"
    settings.write_text(f"DATABASE_URL = 'sqlite:///{tmp_path / 'f.sqlite3'}'\n"
                        f"WEB_LISTEN = '0.0.0.0:{port}'\n", encoding="utf-8")
    proc = subprocess.Popen([str(FORUMSYNC), "--settings", str(settings), "serve", "--no-worker"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        answered = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:  # the demo token, from outside the loopback's point of view as well
                answered = requests.post(f"http://127.0.0.1:{port}/inbound/mail", data=b"x",
                                         headers={"Authorization": "Bearer demo-inbound-token"}, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answered is None or answered.status_code == 401, \
            f"serve accepted the demo INBOUND_TOKEN on 0.0.0.0:{port} (HTTP {answered.status_code})"
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
