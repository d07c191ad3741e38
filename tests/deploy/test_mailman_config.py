"""The Mailman 3 side: deploy/mailman's extract, appended to a mailman.cfg, is loaded by the
installed Mailman 3.3 (.venv-mailman): the forumsync archiver is found, enabled, and reads its
own configuration file (endpoint, token, forum)."""
import json
import subprocess
import textwrap

import pytest

from tests.deploy.guide import DEPLOY, ROOT

MAILMAN_PY = ROOT / ".venv-mailman" / "bin" / "python"
pytestmark = pytest.mark.skipif(not MAILMAN_PY.exists(), reason="Mailman 3 absent (.venv-mailman : ./run test l'installe)")

PROBE = textwrap.dedent("""\
    import json, sys
    from mailman.core.initialize import initialize
    initialize(sys.argv[1])
    from mailman.config import config
    found = [a for a in config.archivers if a.name == "forumsync"]
    archiver = found[0]
    print(json.dumps({"class": type(archiver).__module__ + "." + type(archiver).__name__,
                      "enabled": archiver.is_enabled,
                      "endpoint": archiver.config.endpoint, "token": archiver.config.token,
                      "list_url": archiver.list_url(None),
                      "clobber": config.archiver.forumsync.clobber_date}))
""")


def test_mailman_loads_the_forumsync_archiver(tmp_path):
    extract = (DEPLOY / "mailman" / "mailman-forumsync.cfg").read_text(encoding="utf-8")
    extract = extract.replace("/etc/mailman3/forumsync-archiver.cfg", str(DEPLOY / "mailman" / "forumsync-archiver.cfg"))
    config = tmp_path / "mailman.cfg"
    config.write_text(textwrap.dedent(f"""\
        [mailman]
        layout: deploytest
        site_owner: postmaster@listes.example.org
        [paths.deploytest]
        var_dir: {tmp_path / 'var'}
        [database]
        class: mailman.database.sqlite.SQLiteDatabase
        url: sqlite:///{tmp_path / 'var' / 'mailman.db'}
        """) + extract, encoding="utf-8")
    result = subprocess.run([str(MAILMAN_PY), "-c", PROBE, str(config)], capture_output=True, text=True,
                            timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["class"] == "forumsync.inbound.mailman.Archiver"
    assert seen["enabled"] is True
    assert seen["endpoint"] == "http://127.0.0.1:5000/inbound/mail?channel=mailman"
    assert seen["token"] == "remplacez-par-INBOUND_TOKEN"
    assert seen["list_url"] == "https://bistro.example.org"
    assert seen["clobber"] == "never"
