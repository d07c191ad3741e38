"""deploy/backup/forumsync-backup.py, what forumsync-backup.service runs each night: it reads
DATABASE_URL from the settings file and backs up a real SQLite database (WAL, written to while
it copies) or calls pg_dump for PostgreSQL; the unit creates its backup directory itself."""
import datetime
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.deploy.guide import DEPLOY, ROOT

SCRIPT = DEPLOY / "backup" / "forumsync-backup.py"
UNIT = DEPLOY / "systemd" / "forumsync-backup.service"
DAY = datetime.date.today().isoformat()


def run_backup(settings, dest, *extra, path=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), FORUMSYNC_SETTINGS=str(settings))
    if path:
        env["PATH"] = f"{path}:{env['PATH']}"
    return subprocess.run([sys.executable, str(SCRIPT), "--dest", str(dest), *extra],
                          capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def sqlite_install(tmp_path):
    """A settings file naming a SQLite database in WAL mode, as forumsync opens it."""
    db = tmp_path / "lib" / "forumsync.sqlite3"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT)")
    conn.executemany("INSERT INTO messages (message_id) VALUES (?)", [(f"<{i}@liste>",) for i in range(500)])
    conn.commit()
    settings = tmp_path / "settings.py"
    settings.write_text(f'DATABASE_URL = "sqlite:///{db}"\nSECRET_KEY = "secret"\n', encoding="utf-8")
    dest = tmp_path / "backups"
    dest.mkdir()
    yield settings, db, dest, conn
    conn.close()


def test_sqlite_backup_is_a_complete_standalone_copy(sqlite_install):
    settings, db, dest, writer = sqlite_install
    writer.execute("INSERT INTO messages (message_id) VALUES ('<pendant@liste>')")  # in the WAL only
    writer.commit()
    result = run_backup(settings, dest)
    assert result.returncode == 0, result.stderr
    copy = dest / f"forumsync-{DAY}.sqlite3"
    assert f"Sauvegarde écrite : {copy}" in result.stdout
    assert sorted(p.name for p in dest.iterdir()) == [copy.name, f"settings-{DAY}.py"]  # no .tmp, no -wal
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (501,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert (dest / f"settings-{DAY}.py").read_text(encoding="utf-8") == settings.read_text(encoding="utf-8")
    assert {p.stat().st_mode & 0o777 for p in dest.iterdir()} == {0o600}


def test_old_backups_are_removed_recent_ones_kept(sqlite_install):
    settings, db, dest, writer = sqlite_install
    old, recent, other = dest / "forumsync-2020-01-01.dump", dest / "settings-2020-01-10.py", dest / "notes.txt"
    for file in (old, recent, other):
        file.write_text("x")
    ancient = time.time() - 20 * 86400
    os.utime(old, (ancient, ancient))
    os.utime(other, (ancient, ancient))
    os.utime(recent, (time.time() - 3 * 86400,) * 2)
    assert run_backup(settings, dest, "--keep-days", "14").returncode == 0
    assert not old.exists() and recent.exists() and other.exists()


def test_a_missing_sqlite_database_is_an_error_not_an_empty_backup(sqlite_install):
    settings, db, dest, writer = sqlite_install
    settings.write_text(f'DATABASE_URL = "sqlite:///{db.with_name("absente.sqlite3")}"\n', encoding="utf-8")
    result = run_backup(settings, dest)
    assert result.returncode == 1 and "Sauvegarde impossible : base SQLite introuvable" in result.stderr
    assert not db.with_name("absente.sqlite3").exists() and list(dest.iterdir()) == []


def test_postgresql_is_dumped_with_pg_dump(tmp_path):
    """A pg_dump stand-in records how it is called: custom format, the libpq form of the URL,
    the password in PGPASSWORD rather than on the command line."""
    bin_dir, dest = tmp_path / "bin", tmp_path / "backups"
    bin_dir.mkdir(), dest.mkdir()
    log = tmp_path / "pg_dump.log"
    fake = bin_dir / "pg_dump"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" "PGPASSWORD=$PGPASSWORD" > {log}\n'
                    'for a; do case $a in --file=*) echo dump > "${a#--file=}";; esac; done\n')
    fake.chmod(0o755)
    settings = tmp_path / "settings.py"
    settings.write_text('DATABASE_URL = "postgresql+psycopg://forumsync:s%40cret@/forumsync?host=/run/postgresql"\n',
                        encoding="utf-8")
    result = run_backup(settings, dest, path=bin_dir)
    assert result.returncode == 0, result.stderr
    dump = dest / f"forumsync-{DAY}.dump"
    assert dump.read_text() == "dump\n"
    args = log.read_text().splitlines()
    assert args[0] == "--format=custom" and args[1] == f"--file={dump}.tmp"
    assert args[2] == "--dbname=postgresql://forumsync@/forumsync?host=%2Frun%2Fpostgresql"  # libpq decodes %2F
    assert args[3] == "PGPASSWORD=s@cret"


def test_a_failed_pg_dump_leaves_no_backup(tmp_path):
    bin_dir, dest = tmp_path / "bin", tmp_path / "backups"
    bin_dir.mkdir(), dest.mkdir()
    (bin_dir / "pg_dump").write_text('#!/bin/sh\nfor a; do case $a in --file=*) echo half > "${a#--file=}";; esac; done\nexit 1\n')
    (bin_dir / "pg_dump").chmod(0o755)
    settings = tmp_path / "settings.py"
    settings.write_text('DATABASE_URL = "postgresql+psycopg://forumsync@/forumsync"\n', encoding="utf-8")
    result = run_backup(settings, dest, path=bin_dir)
    assert result.returncode == 1 and "pg_dump a échoué" in result.stderr
    assert list(dest.iterdir()) == []


def test_the_unit_runs_the_script_and_creates_its_directory_first():
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    value = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines if "=" in line and not line.startswith("#")}
    start = value["ExecStart"].split()
    assert start[0] == "/srv/forumsync/.venv/bin/python"
    assert start[1] == f"/srv/forumsync/{SCRIPT.relative_to(ROOT)}" and SCRIPT.is_file()
    backups = start[start.index("--dest") + 1]
    # ReadWritePaths= of a missing directory fails the sandboxed command: a fully privileged
    # (« + ») ExecStartPre creates it, owned by the service's user
    assert backups in value["ReadWritePaths"].split()
    assert value["ExecStartPre"] == f"+/usr/bin/install -d -o forumsync -g forumsync -m 0700 {backups}"
    assert "pg_dump" not in value["ExecStart"]


@pytest.mark.parametrize("days", ["0", "-1"])
def test_keep_days_below_one_is_refused_and_never_deletes_the_new_backup(sqlite_install, days):
    """Operator review: « --keep-days 0 » (or -1) printed « Sauvegarde écrite » twice, exit 0,
    and pruned both files it had just written: the backup directory was left empty."""
    settings, db, dest, _ = sqlite_install
    result = run_backup(settings, dest, "--keep-days", days)
    assert result.returncode == 2 and "gardez au moins 1 jour de sauvegardes" in result.stderr
    assert "Traceback" not in result.stderr and list(dest.iterdir()) == []
    module = load_script()
    made = module.run(str(settings), dest, 1)
    assert module.prune(dest, 0, time.time() + 10, keep=tuple(made)) == []
    assert sorted(dest.iterdir()) == sorted(made)


def test_usage_and_errors_are_french(sqlite_install):
    settings, _, dest, _ = sqlite_install
    shown = run_backup(settings, dest, "--help").stdout
    assert shown.startswith("Utilisation : ") and "Options :" in shown
    assert "show this help" not in shown and "usage:" not in shown
    for args, said in ((["--keep-days", "x"], "« x » n'est pas un nombre entier de jours"),
                       (["--inconnue"], "argument(s) inconnu(s) : --inconnue"),
                       (["--dest"], "option --dest: une valeur est attendue")):
        result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert "usage:" not in result.stderr and "error:" not in result.stderr


def load_script():
    """The script as a module (its name has a dash: not importable by name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("forumsync_backup", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
