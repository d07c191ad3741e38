"""The Mailman 3 archiver plugin against a real Mailman 3: delivered, or spooled and delivered later."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from forumsync.context import Context
from forumsync.models import InboxMessage
from tests.fixtures.database import make_settings
from tests.fixtures.inbound import forumsync_serving
from tests.fixtures.pipeline import make_mail

pytestmark = pytest.mark.mailman
MEMBER = "Marie Dupont <marie.dupont@meyzieu.fr>"


@pytest.fixture(scope="module")
def club(mailman):
    return mailman.create_list("club@listes.example.org", members=["marie.dupont@meyzieu.fr",
                                                                   "paul@grandlyon.fr"])


@pytest.fixture
def fs_ctx(tmp_path, sqlite_url, mailman):
    ctx = Context(make_settings(tmp_path, sqlite_url, INBOUND_TOKEN=mailman.token))
    yield ctx
    ctx.close()


def inbox(ctx):
    with ctx.db.session() as s:
        return list(s.execute(select(InboxMessage.id, InboxMessage.message_id, InboxMessage.channel)
                              .order_by(InboxMessage.id)))


def post(mailman, message_id, subject):
    raw = make_mail(subject=subject, sender=MEMBER, message_id=f"<{message_id}>",
                    date=datetime.now(timezone.utc))
    assert mailman.post(raw) == {}


def test_a_distributed_message_is_stored_by_forumsync(mailman, club, fs_ctx):
    with forumsync_serving(fs_ctx, mailman.forumsync_port):
        post(mailman, "mm-live-1@meyzieu.fr", "Question sur la SVE")
        rows = mailman.wait(lambda: inbox(fs_ctx), timeout=90, what="le message dans forumsync")
    assert [(r.message_id, r.channel) for r in rows] == [("mm-live-1@meyzieu.fr", "mailman")]
    # Mailman distributed it too (the archiver is one more consumer, not a detour)
    mailman.wait(lambda: any(b"mm-live-1@meyzieu.fr" in raw for _, raw in mailman.outgoing),
                 what="la diffusion aux abonnés")
    assert mailman.spool_dir.exists() is False or not list(mailman.spool_dir.glob("*.eml"))


def test_forumsync_down_spools_then_delivers_in_order(mailman, club, fs_ctx):
    post(mailman, "mm-down-1@meyzieu.fr", "Pendant la panne")  # nobody listens on forumsync_port
    mailman.wait(lambda: list(mailman.spool_dir.glob("*.eml")), timeout=90, what="le message en attente")
    assert b"mm-down-1@meyzieu.fr" in list(mailman.spool_dir.glob("*.eml"))[0].read_bytes()
    assert inbox(fs_ctx) == []
    with forumsync_serving(fs_ctx, mailman.forumsync_port):
        post(mailman, "mm-down-2@meyzieu.fr", "Après la panne")
        rows = mailman.wait(lambda: len(inbox(fs_ctx)) == 2 and inbox(fs_ctx), timeout=90,
                            what="les deux messages dans forumsync")
    assert [r.message_id for r in rows] == ["mm-down-1@meyzieu.fr", "mm-down-2@meyzieu.fr"]
    assert not list(mailman.spool_dir.glob("*.eml"))


def test_the_plugin_implements_iarchiver_inside_mailman():
    """Mailman's venv has none of forumsync's dependencies: the plugin must import there alone."""
    import subprocess

    from tests.fixtures.mailman import MAILMAN_VENV

    code = ("from zope.interface.verify import verifyClass\n"
            "from mailman.interfaces.archiver import IArchiver\n"
            "from forumsync.inbound.mailman import Archiver\n"
            "assert verifyClass(IArchiver, Archiver) and IArchiver.implementedBy(Archiver)\n")
    result = subprocess.run([str(MAILMAN_VENV / "bin" / "python"), "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
