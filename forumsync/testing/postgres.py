"""A throwaway PostgreSQL 15 server (initdb + pg_ctl in a temporary directory)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from forumsync.db import Database
from forumsync.testing.settings import free_port

PG_BIN = Path(os.environ.get("FORUMSYNC_PG_BIN", "/usr/lib/postgresql/15/bin"))


def migrated(url: str) -> None:
    """Bring the database at URL to the newest revision."""
    database = Database(url)
    try:
        database.migrate()
    finally:
        database.dispose()


class PostgresServer:
    """initdb + pg_ctl in a temporary directory, as the postgres user when we are root."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="forumsync-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = "forumsync"
        self.template: str | None = None  # the migrated database copied for each test

    def _run(self, *args):
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            os.chmod(self.dir, 0o755)
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", self.user, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "log", "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                  f"-c max_connections=200", "start")
        return self

    def create_database(self, *, empty: bool = False) -> str:
        """A new database, with the current schema unless EMPTY."""
        import psycopg

        if not empty and self.template is None:
            self.template = self.create_database(empty=True).rsplit("/", 1)[1]
            migrated(self.url(self.template))
        name = "t_" + uuid.uuid4().hex[:12]
        template = "" if empty else f' TEMPLATE "{self.template}"'
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return self.url(name)

    def admin_url(self, name):
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def url(self, name):
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def stop(self):
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
