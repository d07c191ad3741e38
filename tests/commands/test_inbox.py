"""`forumsync inbox list|show|retry|drop`: French, aligned, and acting on the rows."""
from forumsync.inbound.ingest import ingest
from forumsync.models import InboxMessage
import pytest

from forumsync.context import Context
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import run_cli, write_settings_file
from tests.fixtures.pipeline import make_mail


@pytest.fixture
def context(tmp_path, sqlite_url):
    """SQLite only: these tests are about the commands, storage is tested elsewhere."""
    ctx = Context(make_settings(tmp_path, sqlite_url))
    yield ctx
    ctx.close()


@pytest.fixture
def settings_file(tmp_path, context):
    return write_settings_file(tmp_path, context.settings)


def seed(context):
    ids = [ingest(context, make_mail(subject=f"Sujet n°{n}", message_id=f"<i{n}@x.fr>"), "lmtp").inbox_id
           for n in range(3)]
    with context.db.session() as s:
        row = s.get(InboxMessage, ids[1])
        row.state, row.reason, row.attempts = "quarantined", "KeyError('x')", 3
        s.get(InboxMessage, ids[2]).state = "quarantined"
    return ids


def row(context, inbox_id):
    with context.db.session() as s:
        return s.get(InboxMessage, inbox_id)


def test_list_and_show(context, settings_file):
    ids = seed(context)
    listing = run_cli(settings_file, "inbox", "list")
    assert listing.returncode == 0
    lines = listing.stdout.decode().splitlines()
    assert lines[0].split()[:4] == ["N°", "Reçu", "le", "Canal"]
    state_column = lines[0].index("État")
    assert all(line[state_column - 2:state_column] == "  " for line in lines[1:4])  # aligned
    assert "Sujet n°1 — KeyError('x')" in listing.stdout.decode()
    assert "en quarantaine : 2" in lines[-1] and "nouveau : 1" in lines[-1]
    only = run_cli(settings_file, "inbox", "list", "--state", "new").stdout.decode()
    assert "Sujet n°0" in only and "Sujet n°1" not in only
    shown = run_cli(settings_file, "inbox", "show", ids[1]).stdout.decode()
    assert "Message-ID     : i1@x.fr" in shown and "État           : en quarantaine" in shown
    assert "Essais         : 3" in shown and "Sujet          : Sujet n°1" in shown
    raw = run_cli(settings_file, "inbox", "show", "--raw", ids[0]).stdout
    assert raw == row(context, ids[0]).raw
    missing = run_cli(settings_file, "inbox", "show", "999")
    assert missing.returncode == 1 and "aucun message n° 999" in missing.stderr.decode()
    assert "Traceback" not in missing.stderr.decode()


def test_retry_and_drop(context, settings_file):
    ids = seed(context)
    one = run_cli(settings_file, "inbox", "retry", ids[1])
    assert one.returncode == 0 and "remis à l'état « nouveau »" in one.stdout.decode()
    r = row(context, ids[1])
    assert (r.state, r.reason, r.attempts) == ("new", "", 3)  # kept: the next one reconciles
    everything = run_cli(settings_file, "inbox", "retry", "--all-quarantined")
    assert "1 message(s) sorti(s) de quarantaine" in everything.stdout.decode()
    assert row(context, ids[2]).state == "new"
    # Operator review: with nothing in quarantine it said « 0 message(s) sorti(s)… Le processus
    # « forumsync worker » va le traiter. »
    nothing = run_cli(settings_file, "inbox", "retry", "--all-quarantined").stdout.decode()
    assert nothing == "Aucun message en quarantaine : rien à remettre en traitement.\n"
    dropped = run_cli(settings_file, "inbox", "drop", ids[0], "--reason", "hors sujet")
    assert dropped.returncode == 0
    assert (row(context, ids[0]).state, row(context, ids[0]).reason) == (
        "dropped", "abandonné par l'opérateur : hors sujet")
    neither = run_cli(settings_file, "inbox", "retry")
    assert neither.returncode == 2 and "--all-quarantined" in neither.stderr.decode()


def test_drop_a_message_left_in_hand_by_a_dead_worker(context, settings_file):
    """A message a worker died on (``processing``, its pid gone, or its lock past the
    stale-lock delay) can be dropped by hand; one a live worker holds cannot."""
    import os
    import socket
    import subprocess
    import sys
    from datetime import timedelta

    from forumsync.models import utcnow
    from forumsync.queues import INBOX

    ids = seed(context)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # a pid that ran and ended
    long_ago = utcnow() - INBOX.stale_after - timedelta(seconds=5)
    holders = {ids[0]: (f"{socket.gethostname()}:{gone}:1#en-cours", utcnow()),
               # this live process, for long (a claimed batch waiting its turn): not abandoned
               ids[1]: (f"{socket.gethostname()}:{os.getpid()}:1", long_ago),
               ids[2]: ("autre-hote:1:1", long_ago)}  # another host's: its lock expired
    with context.db.session() as s:
        for inbox_id, (locked_by, locked_at) in holders.items():
            r = s.get(InboxMessage, inbox_id)
            r.state, r.locked_by, r.locked_at = "processing", locked_by, locked_at
    dead = run_cli(settings_file, "inbox", "drop", ids[0])
    assert dead.returncode == 0, dead.stderr.decode()
    r = row(context, ids[0])
    assert (r.state, r.locked_by, r.locked_at) == ("dropped", None, None)
    live = run_cli(settings_file, "inbox", "drop", ids[1])
    assert live.returncode == 1
    assert "un worker en vie l'a en main" in live.stderr.decode() and "Traceback" not in live.stderr.decode()
    assert row(context, ids[1]).state == "processing"
    stale = run_cli(settings_file, "inbox", "drop", ids[2], "--reason", "bloqué")
    assert stale.returncode == 0 and row(context, ids[2]).state == "dropped"


def test_show_reads_an_8bit_utf8_subject_as_written(context, settings_file):
    """Operator walkthrough, 28th pass: the demo's swaks mail (an 8-bit UTF-8 Subject) showed
    as « Accus�� de r��ception »."""
    raw = (b"From: Marie Dupont <marie@meyzieu.fr>\r\nTo: club@listes.example.org\r\n"
           b"Subject: [SVE] Accus\xc3\xa9 de r\xc3\xa9ception\r\nMessage-ID: <raw8-show@meyzieu.fr>\r\n\r\nBonjour\r\n")
    inbox_id = ingest(context, raw, "lmtp").inbox_id
    shown = run_cli(settings_file, "inbox", "show", inbox_id).stdout.decode()
    assert "Sujet          : [SVE] Accusé de réception" in shown, shown
    assert "Accusé de réception" in run_cli(settings_file, "inbox", "list").stdout.decode()
