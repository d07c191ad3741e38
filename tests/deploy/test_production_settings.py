"""deploy/settings.production.py: its secrets are placeholders that no command accepts (an
operator walkthrough, 28th pass, found them accepted and masked by check-settings, and `serve`
started with them); filled in, `forumsync check-settings` accepts it, it sets the public WEB_URL
apart from where serve listens (WEB_LISTEN), uses PostgreSQL, and would not start with the
demo's secrets."""
import subprocess
import sys

import pytest

from forumsync.settings import SettingsError, load_settings
from forumsync.settings_secrets import PLACEHOLDER, demo_secrets_refusal
from tests.deploy.guide import DEPLOY

PRODUCTION = DEPLOY / "settings.production.py"
SECRETS = ("FORUM_API_KEY", "FORUM_WEBHOOK_SECRET", "SECRET_KEY", "INBOUND_TOKEN")


def filled_in(tmp_path):
    """The model as an operator leaves it: every « À REMPLACER … » replaced."""
    lines = []
    for line in PRODUCTION.read_text(encoding="utf-8").splitlines():
        name = line.split("=", 1)[0].strip()
        lines.append(f'{name} = "valeur-secrete-de-{name.lower()}-0123456789"' if PLACEHOLDER in line
                     and not line.lstrip().startswith("#") else line)
    path = tmp_path / "settings.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check_settings(path):
    return subprocess.run([sys.executable, "-m", "forumsync.cli", "--settings", str(path), "check-settings"],
                          capture_output=True, text=True, timeout=120)


def test_the_models_placeholders_are_refused_by_every_command():
    assert [name for name in SECRETS if f'{name} = "{PLACEHOLDER}' in PRODUCTION.read_text(encoding="utf-8")] \
        == list(SECRETS)
    with pytest.raises(SettingsError, match="FORUM_API_KEY.*garde le texte du modèle"):
        load_settings(PRODUCTION)
    result = _check_settings(PRODUCTION)
    assert result.returncode == 1, result.stdout
    assert "garde le texte du modèle" in result.stderr and "valides" not in result.stdout


@pytest.mark.parametrize("name", SECRETS)
def test_each_placeholder_left_is_named(tmp_path, name):
    path = filled_in(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + f'{name} = "{PLACEHOLDER} : oublié"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=f"« {name} » garde le texte du modèle"):
        load_settings(path)


def test_check_settings_accepts_the_filled_in_model(tmp_path):
    path = filled_in(tmp_path)
    result = _check_settings(path)
    assert result.returncode == 0, result.stderr
    assert f"Réglages lus dans {path} : valides." in result.stdout
    assert "WEB_LISTEN = '127.0.0.1:5000'" in result.stdout


def test_production_model_is_postgresql_behind_a_proxy(tmp_path):
    settings = load_settings(filled_in(tmp_path))
    assert settings.DATABASE_URL.startswith("postgresql")
    assert settings.WEB_URL.startswith("https://") and settings.WEB_LISTEN == "127.0.0.1:5000"
    assert demo_secrets_refusal(settings) is None
    assert demo_secrets_refusal(settings.replace(SECRET_KEY="change-me-demo-secret"))


def test_lmtp_port_is_not_mailmans_and_the_same_everywhere(tmp_path):
    """Mailman 3's own LMTP runner listens on 8024 ([mta] lmtp_port), often on the same host:
    the production files use another port, the same in the settings, the unit and Postfix's
    transport table (a helper's review of the deploy files, 28th pass)."""
    port = load_settings(filled_in(tmp_path)).LMTP_LISTEN.rpartition(":")[2]
    assert port != "8024"
    assert f"--listen 127.0.0.1:{port} " in (DEPLOY / "systemd" / "forumsync-lmtp.service").read_text()
    assert f"lmtp:inet:127.0.0.1:{port}" in (DEPLOY / "postfix" / "forumsync_transport").read_text()
