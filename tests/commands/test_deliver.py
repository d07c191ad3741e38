"""`forumsync deliver`: one message on stdin, sysexits exit codes, French stderr (real subprocess)."""
from sqlalchemy import select

from forumsync.db import Database
from forumsync.models import InboxMessage
from tests.fixtures.database import free_port, make_settings
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_mail


def messages(url):
    db = Database(url)
    try:
        with db.session() as s:
            return list(s.execute(select(InboxMessage.message_id, InboxMessage.channel, InboxMessage.meta)))
    finally:
        db.dispose()


def test_stored_then_duplicate_exit_0(settings_file, settings):
    raw = b"From bounces@listes.example.org Mon Mar  2 10:00:00 2026\n" + make_mail(message_id="<d1@x.org>")
    first = run_cli(settings_file, "deliver", "--recipient", "club@listes.example.org", input=raw)
    assert first.returncode == 0, first.stderr
    assert "enregistré" in first.stderr.decode()
    second = run_cli(settings_file, "deliver", input=raw)
    assert second.returncode == 0 and "déjà reçu" in second.stderr.decode()
    [row] = messages(settings.DATABASE_URL)
    assert row.message_id == "d1@x.org" and row.channel == "stdin"
    assert row.meta["from_line"].startswith("bounces@listes.example.org")


def test_not_mail_and_empty_exit_65(settings_file, settings):
    for data in (b"", b"bonjour\n"):
        result = run_cli(settings_file, "deliver", input=data)
        assert result.returncode == 65
        assert "Traceback" not in result.stderr.decode()
    assert "n'est pas un courriel" in result.stderr.decode()
    assert messages(settings.DATABASE_URL) == []


def test_too_big_exit_65_and_unknown_recipient_exit_67(tmp_path, sqlite_url):
    path = write_settings_file(tmp_path, make_settings(tmp_path, sqlite_url, MAX_MESSAGE_BYTES=2000))
    big = run_cli(path, "deliver", input=make_mail(body="x" * 5000))
    assert big.returncode == 65 and "trop volumineux" in big.stderr.decode()
    other = run_cli(path, "deliver", "--recipient", "quelquun@ailleurs.fr", input=make_mail())
    assert other.returncode == 67 and "Destinataire inconnu" in other.stderr.decode()


def test_storage_unavailable_exit_75(tmp_path):
    settings = make_settings(tmp_path, f"postgresql://nobody@127.0.0.1:{free_port()}/nothing")
    result = run_cli(write_settings_file(tmp_path, settings), "deliver", input=make_mail())
    assert result.returncode == 75
    assert "réessayez" in result.stderr.decode() and "Traceback" not in result.stderr.decode()


def test_bad_settings_defer_the_mail_exit_75(tmp_path):
    """Red team, 30th pass: exit 78 (EX_CONFIG) is a bounce for Postfix's pipe(8) (5.3.5):
    a typo in the settings lost list mail and made the list count the bridge's address as
    bouncing. The MTA keeps the message instead, until the settings are fixed."""
    path = tmp_path / "bad.py"
    path.write_text("FORUM_ULR = 'http://x'\n")
    result = run_cli(path, "deliver", input=make_mail())
    assert result.returncode == 75 and "FORUM_ULR" in result.stderr.decode()
    assert "le garde et réessaiera" in result.stderr.decode()


def test_several_recipients_as_postfix_expands_them(tmp_path):
    """Intake review (34th pass): Postfix's pipe(8) expands ${recipient} to one argument per
    recipient; a mail for two addresses gave « Argument en trop » and exit 2, a bounce. Every
    address is read; a usage error would defer the mail (75), never bounce it."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'fs.sqlite3'}")
    path = write_settings_file(tmp_path, settings)
    result = run_cli(path, "deliver", "--recipient", settings.BRIDGE_ADDRESS, settings.LIST_ADDRESS,
                     "--sender", "a@b.fr", input=make_mail(message_id="<multi@x.org>"))
    assert result.returncode == 0, (result.returncode, result.stderr.decode())
    wrong = run_cli(path, "deliver", "--recipent", "x@y.fr", input=make_mail(message_id="<typo@x.org>"))
    assert wrong.returncode == 75, (wrong.returncode, wrong.stderr.decode())


def test_a_usage_error_before_the_word_deliver_defers_the_mail(tmp_path):
    """Red team, 35th pass: a typo in master.cf before « deliver » (« --setings ») exited 2,
    a bounce for Postfix."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'fs.sqlite3'}")
    path = write_settings_file(tmp_path, settings)
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "forumsync", "--setings", str(path), "deliver",
                             "--recipient", settings.LIST_ADDRESS], input=make_mail(), capture_output=True,
                            timeout=120)
    assert result.returncode == 75, (result.returncode, result.stderr.decode())
    assert "Option inconnue" in result.stderr.decode() or "--setings" in result.stderr.decode()


def test_no_settings_file_defers_the_mail_exit_75(tmp_path):
    """Operator review: a master.cf line without --settings (as docs/channels.md showed it)
    ran on the demo's defaults, refused the real list's mail as « destinataire inconnu » (67,
    a bounce) and left a database in the pipe's directory. Deferred instead, with the fix."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k != "FORUMSYNC_SETTINGS"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "forumsync", "deliver", "--recipient",
                             "club@listes.mairie.fr"], input=make_mail(), capture_output=True,
                            timeout=120, env=env, cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 75, (result.returncode, err)
    assert "--settings /etc/forumsync/settings.py" in err and "réessaiera" in err
    assert not (tmp_path / "var").exists()  # no stray demo database next to the pipe
