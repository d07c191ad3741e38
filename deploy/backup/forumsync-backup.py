"""forumsync — sauvegarde de la base et des réglages (lancée chaque nuit par
forumsync-backup.service ; docs/deploy.md, « Sauvegardes »).

La base est celle de DATABASE_URL dans le fichier de réglages :
- PostgreSQL : pg_dump au format « custom » (restauration : pg_restore), forumsync-AAAA-MM-JJ.dump ;
- SQLite : copie à chaud par l'API de sauvegarde de SQLite (celle de « sqlite3 … .backup »),
  forumsync-AAAA-MM-JJ.sqlite3, vérifiée (PRAGMA quick_check).
Le fichier de réglages est copié à côté (settings-AAAA-MM-JJ.py) ; les fichiers de plus de
--keep-days jours sont effacés.

Usage : python forumsync-backup.py [--settings /etc/forumsync/settings.py]
                                   [--dest /var/backups/forumsync] [--keep-days 14]
(lancé avec le Python de forumsync : /srv/forumsync/.venv/bin/python).
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

PREFIXES = ("forumsync-", "settings-")


class BackupError(Exception):
    """A backup that cannot be made; the message is French."""


def backup_sqlite(url: str, target: Path) -> None:
    path = url.split("///", 1)[1].split("?", 1)[0]
    if path == ":memory:" or not Path(path).is_file():
        raise BackupError(f"base SQLite introuvable : {path}")
    # mode=rw: never create an empty database where the real one is missing
    source = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # consistent even while the worker writes (WAL)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        result = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if result != "ok":
        raise BackupError(f"copie SQLite abîmée ({result})")


def backup_postgresql(url: str, target: Path) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:  # kept out of pg_dump's command line (visible in ps)
        env["PGPASSWORD"] = str(parsed.password)
    # URL.set() ignores None: _replace drops the password (libpq decodes the %-escapes)
    uri = parsed._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)
    result = subprocess.run(["pg_dump", "--format=custom", f"--file={target}", f"--dbname={uri}"], env=env)
    if result.returncode != 0:
        raise BackupError(f"pg_dump a échoué (code {result.returncode})")


def prune(dest: Path, keep_days: int, now: float, keep: tuple[Path, ...] = ()) -> list[Path]:
    """Files older than KEEP_DAYS days, never those of KEEP (the backup just written: with
    --keep-days 0 it was deleted right after « Sauvegarde écrite »)."""
    removed = []
    for file in sorted(dest.iterdir()):
        if file in keep:
            continue
        if file.name.startswith(PREFIXES) and file.is_file() and now - file.stat().st_mtime > keep_days * 86400:
            file.unlink()
            removed.append(file)
    return removed


def run(settings_path: str, dest: Path, keep_days: int) -> list[Path]:
    from forumsync.settings import load_settings

    url = load_settings(settings_path).DATABASE_URL
    if not dest.is_dir():
        raise BackupError(f"dossier de sauvegarde introuvable : {dest}")
    day = datetime.date.today().isoformat()
    if url.startswith("sqlite"):
        made, backup = dest / f"forumsync-{day}.sqlite3", backup_sqlite
    else:  # the settings accept only sqlite and postgresql URLs
        made, backup = dest / f"forumsync-{day}.dump", backup_postgresql
    partial = made.with_name(made.name + ".tmp")
    partial.unlink(missing_ok=True)
    try:
        backup(url, partial)
        partial.chmod(0o600)
        partial.replace(made)  # a half-written copy never has the final name
    finally:
        partial.unlink(missing_ok=True)
    settings_copy = dest / f"settings-{day}.py"
    shutil.copyfile(settings_path, settings_copy)
    settings_copy.chmod(0o600)  # SECRET_KEY and the API key
    prune(dest, keep_days, time.time(), keep=(made, settings_copy))
    return [made, settings_copy]


# argparse's own words in the errors it builds (« argument --dest: expected one argument »).
ARGPARSE_FRENCH = (("argument ", "option "), ("expected one argument", "une valeur est attendue"))


class FrenchParser(argparse.ArgumentParser):
    """argparse's usage, help and errors in French: the operator reads them (terminal, journal)."""

    def __init__(self, **kwargs):
        super().__init__(add_help=False, **kwargs)
        self.add_argument("-h", "--help", action="help", help="affiche cette aide et quitte")

    def format_usage(self):
        return super().format_usage().replace("usage: ", "Utilisation : ", 1)

    def format_help(self):
        text = super().format_help().replace("usage: ", "Utilisation : ", 1)
        return text.replace("\noptions:\n", "\nOptions :\n", 1)

    def parse_args(self, args=None, namespace=None):
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            self.error(f"argument(s) inconnu(s) : {' '.join(unknown)}")
        return parsed

    def error(self, message):
        for english, french in ARGPARSE_FRENCH:
            message = message.replace(english, french)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def days(text: str) -> int:
    """--keep-days: a whole number of days, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un nombre entier de jours") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} : gardez au moins 1 jour de sauvegardes")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = FrenchParser(description="Sauvegarde la base de forumsync et ses réglages.")
    parser.add_argument("--settings", metavar="FICHIER",
                        default=os.environ.get("FORUMSYNC_SETTINGS") or "/etc/forumsync/settings.py",
                        help="fichier de réglages (défaut : $FORUMSYNC_SETTINGS, sinon /etc/forumsync/settings.py)")
    parser.add_argument("--dest", metavar="DOSSIER", default="/var/backups/forumsync", type=Path,
                        help="dossier des sauvegardes")
    parser.add_argument("--keep-days", metavar="JOURS", default=14, type=days,
                        help="jours de sauvegardes gardés (défaut : 14)")
    args = parser.parse_args(argv)
    from forumsync.settings import SettingsError

    try:
        made = run(args.settings, args.dest, args.keep_days)
    except (BackupError, SettingsError, OSError, sqlite3.Error) as exc:
        print(f"Sauvegarde impossible : {exc}", file=sys.stderr)
        return 1
    for file in made:
        print(f"Sauvegarde écrite : {file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
