"""deploy/settings.production.py is accepted by `forumsync check-settings`, sets the public
WEB_URL apart from where serve listens (WEB_LISTEN), uses PostgreSQL, and would not start with
the demo's secrets."""
import subprocess
import sys

from forumsync.settings import load_settings
from forumsync.settings_secrets import demo_secrets_refusal
from tests.deploy.guide import DEPLOY

PRODUCTION = DEPLOY / "settings.production.py"


def test_check_settings_accepts_the_production_model():
    result = subprocess.run([sys.executable, "-m", "forumsync.cli", "--settings", str(PRODUCTION),
                             "check-settings"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"Réglages lus dans {PRODUCTION} : valides." in result.stdout
    assert "WEB_LISTEN = '127.0.0.1:5000'" in result.stdout


def test_production_model_is_postgresql_behind_a_proxy():
    settings = load_settings(PRODUCTION)
    assert settings.DATABASE_URL.startswith("postgresql")
    assert settings.WEB_URL.startswith("https://") and settings.WEB_LISTEN == "127.0.0.1:5000"
    assert demo_secrets_refusal(settings) is None
    assert demo_secrets_refusal(settings.replace(SECRET_KEY="change-me-demo-secret"))
