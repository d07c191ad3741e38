"""Roster diffing against a real GNU Mailman 3 (from .venv-mailman), through its REST API."""
import shutil
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import requests

from forumsync.community import rosters, subscribers
from forumsync.context import Context
from forumsync.models.subscriber import Subscriber
from tests.conftest import ROOT
from tests.fixtures.database import free_port, make_settings

pytestmark = pytest.mark.mailman
MAILMAN = ROOT / ".venv-mailman" / "bin" / "mailman"
LIST = "club@listes.example.org"


class Mailman:
    """``mailman start`` with a throw-away var_dir and REST port; no MTA (NullMTA)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="forumsync-mailman-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/3.1"
        self.user, self.password = "restadmin", "restpass"
        self.config = self.dir / "mailman.cfg"
        self.config.write_text(textwrap.dedent(f"""\
            [mailman]
            layout: custom
            site_owner: admin@example.org
            [paths.custom]
            var_dir: {self.dir / 'var'}
            [webservice]
            hostname: 127.0.0.1
            port: {self.port}
            admin_user: {self.user}
            admin_pass: {self.password}
            [mta]
            incoming: mailman.mta.null.NullMTA
            smtp_host: 127.0.0.1
            smtp_port: {free_port()}
            lmtp_host: 127.0.0.1
            lmtp_port: {free_port()}
            [archiver.prototype]
            enable: no
            """))

    def _mailman(self, *args):
        with open(self.dir / "mailman.log", "ab") as log:
            subprocess.run([str(MAILMAN), "-C", str(self.config), "--run-as-root", *args],
                           stdout=log, stderr=subprocess.STDOUT, check=False, timeout=120)

    def start(self):
        self._mailman("start")
        deadline = time.monotonic() + 120  # Mailman's runners start slowly on a loaded machine
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/system/versions", auth=(self.user, self.password),
                                timeout=10).ok:
                    return self
            except requests.RequestException:  # not listening yet, or too slow to answer yet
                pass
            time.sleep(0.3)
        log = (self.dir / "mailman.log").read_text(errors="replace")[-2000:]
        self.stop()
        pytest.fail(f"Mailman 3 n'a pas démarré :\n{log}")

    def stop(self):
        self._mailman("stop")
        pid_file = self.dir / "var" / "master.pid"
        deadline = time.monotonic() + 20
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self):
        from mailmanclient import Client

        return Client(self.url, self.user, self.password)


@pytest.fixture(scope="module")
def mailman_rest():
    if not MAILMAN.exists():
        pytest.fail("Mailman 3 absent de .venv-mailman : lancez ./run test pour l'installer")
    server = Mailman().start()
    client = server.client()
    domain = client.create_domain("listes.example.org")
    domain.create_list("club")
    yield server
    server.stop()


@pytest.fixture
def mlist(mailman_rest):
    mlist = mailman_rest.client().get_list(LIST)
    for member in mlist.members:
        member.unsubscribe()
    return mlist


def subscribe(mlist, email, name):
    mlist.subscribe(email, name, pre_verified=True, pre_confirmed=True, pre_approved=True,
                    send_welcome_message=False)


def test_mailman_roster_first_run_then_diff(tmp_path, sqlite_url, mailman_rest, mlist):
    source = {"type": "mailman", "url": mailman_rest.url, "user": mailman_rest.user,
              "password": mailman_rest.password, "list": LIST}
    settings = make_settings(tmp_path, sqlite_url, SUBSCRIBER_SOURCES=[source])
    ctx = Context(settings)
    subscribe(mlist, "anne.leroy@meyzieu.fr", "Anne Leroy")
    subscribe(mlist, "Paul.Girard@Montpellier3m.fr", "Paul Girard")

    assert rosters.read_mailman(source) == {"anne.leroy@meyzieu.fr": "Anne Leroy",
                                                "paul.girard@montpellier3m.fr": "Paul Girard"}
    first = subscribers.sync_source(ctx, source)
    assert first.baseline and first.added == [] and first.after == 2

    assert not subscribers.sync_source(ctx, source).changed  # unchanged roster: nothing written

    subscribe(mlist, "jeanne.martin@grandlyon.com", "Jeanne Martin")
    mlist.unsubscribe("anne.leroy@meyzieu.fr", pre_approved=True, pre_confirmed=True)
    diff = subscribers.sync_source(ctx, source)
    assert diff.added == ["jeanne.martin@grandlyon.com"]
    assert diff.removed == ["anne.leroy@meyzieu.fr"]
    with ctx.db.session() as session:
        rows = {s.email: (s.state, s.welcome, s.name) for s in session.query(Subscriber)}
    assert rows == {"anne.leroy@meyzieu.fr": ("unsubscribed", "baseline", "Anne Leroy"),
                    "paul.girard@montpellier3m.fr": ("subscribed", "baseline", "Paul Girard"),
                    "jeanne.martin@grandlyon.com": ("subscribed", "pending", "Jeanne Martin")}
    ctx.close()


def test_unreachable_mailman_is_a_french_error():
    source = {"type": "mailman", "url": f"http://127.0.0.1:{free_port()}/3.1", "user": "u",
              "password": "p", "list": LIST}
    with pytest.raises(rosters.SourceError, match="illisible"):
        rosters.read_mailman(source)
